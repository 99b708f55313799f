// Issue 16, fault 3: two replicas with leader election, one of them SIGKILLed at random 5-20 s
// intervals and started again each time (as a Deployment's kubelet would), while 100 sessions with
// ttls of 1-3 minutes are created over about 4 minutes. A killed leader never releases its Lease: the
// other replica takes over once it has seen the Lease unrenewed for leaseDuration (15 s), so an expiry
// may wait up to that long plus the next kill; the invariants must hold all the same.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allowAllPolicy, createNamespace, deleteNamespace, installCRDs, kubectlOk, waitFor } from "../support/kube.ts";
import {
  PodLedger,
  Supervisor,
  createTargetPods,
  errorLines,
  expectInvariants,
  invariants,
  keepLogs,
  sessionOnItsPod,
  sessions,
  sleep,
  targetPodsYaml,
} from "./support.ts";

const SESSIONS = 100;
const CREATE_OVER_MS = 4 * 60_000;
const TTLS = ["1m", "2m", "3m"];
/** Takeover after a leader's SIGKILL (leaseDuration 15 s, seen at a 2 s retry) + the kill after it. */
const MAX_LAG_MS = 45_000;
const local = process.env.E2E_LOCAL_CLUSTER === "1";

describe.skipIf(!local)("operator kill loop", () => {
  let ns: string;
  let ledger: PodLedger;
  const replicas: Supervisor[] = [];

  beforeAll(() => {
    installCRDs();
    ns = createNamespace("kills");
    allowAllPolicy(ns);
    ledger = new PodLedger(ns);
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    replicas.forEach((r, i) => keepLogs(`kills-${i}`, r.allLogs()));
    await ledger.stop();
    deleteNamespace(ns);
  });

  it("keeps every invariant while a replica is SIGKILLed every 5-20 s", async () => {
    // A Lease of this test's own: a Lease left by another suite's operator cannot delay the first leader.
    const args = ["--leader-elect", `--leader-election-id=kills-${Date.now().toString(36)}`];
    replicas.push(new Supervisor(args), new Supervisor(args));
    ledger.start();

    const names = Array.from({ length: SESSIONS }, (_, i) => `k${i}`);
    // Pods ahead of their sessions, in batches of 10, so the node is not asked for 100 at once.
    const batches = Array.from({ length: SESSIONS / 10 }, (_, b) => names.slice(b * 10, b * 10 + 10));
    createTargetPods(
      ns,
      batches[0]!.map((n) => `pod-${n}`),
    );

    let killing = true;
    let kills = 0;
    const killer = (async () => {
      while (killing) {
        await sleep(5_000 + Math.random() * 15_000);
        if (!killing) break;
        replicas[Math.floor(Math.random() * replicas.length)]!.kill();
        kills++;
      }
    })();

    const start = Date.now();
    for (const [b, batch] of batches.entries()) {
      // The next batch's pods, not waited for: a session whose pod is not running yet waits Pending.
      const next = batches[b + 1]?.map((n) => `pod-${n}`);
      if (next) kubectlOk(["-n", ns, "apply", "-f", "-"], { input: targetPodsYaml(next) });
      for (const [i, name] of batch.entries()) {
        const n = b * 10 + i;
        await sleep(start + (n * CREATE_OVER_MS) / SESSIONS - Date.now());
        kubectlOk(["-n", ns, "apply", "-f", "-"], { input: sessionOnItsPod(name, TTLS[n % TTLS.length]!) });
      }
    }

    // The last session's expiry, then its removal and the Expired status.
    await waitFor(
      async () => (await sessions(ns)).every((s) => s.status?.phase === "Expired"),
      3 * 60_000 + MAX_LAG_MS + 60_000,
      "every session Expired",
      2_000,
    );
    killing = false;
    await killer;
    await sleep(3_000); // one more poll of the pods
    const figures = await invariants(ns, ledger);
    const restarts = replicas.map((r) => r.exits.length);
    const errors = replicas.flatMap((r) => errorLines(r.allLogs()));
    console.log(
      `operator kill loop: ${JSON.stringify({ ...figures, kills, restarts, errorLines: errors.length })}\n${errors.slice(0, 5).join("\n")}`,
    );
    expect(kills, "the loop killed replicas").toBeGreaterThan(10);
    expectInvariants(figures, MAX_LAG_MS);
  });
});
