// Issue 16, fault 3: two replicas with leader election, one of them SIGKILLed at random 5-20 s
// intervals and started again each time (as a Deployment's kubelet would), while 100 sessions with
// ttls of 1-3 minutes are created over about 4 minutes. A killed leader never releases its Lease: the
// other replica takes over once it has seen the Lease unrenewed for leaseDuration (15 s). The removal lag
// counts from expiresAt or, when no live leader held the Lease then, from when one held it again and
// lived on for STABLE_MS or past the removal (a poll of the Lease, the identity's pid, and the
// supervisors' record of every process they ran, from its start to its SIGKILL or exit of its own such
// as a Lease it could not renew).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allowAllPolicy,
  createNamespace,
  deleteNamespace,
  installCRDs,
  kubectlAsync,
  kubectlOk,
} from "../support/kube.ts";
import {
  PodLedger,
  allExpired,
  Supervisor,
  createTargetPods,
  errorLines,
  expectInvariants,
  invariants,
  iso,
  keepLogs,
  sessionOnItsPod,
  sleep,
  targetPodsYaml,
} from "./support.ts";

const SESSIONS = 100;
const CREATE_OVER_MS = 4 * 60_000;
const TTLS = ["1m", "2m", "3m"];
/** After a live leader holds the Lease: its queue holds every session's expiry already (warm caches). */
const MAX_LAG_MS = 15_000;
/**
 * A leader that lives this long after it holds the Lease is taken as back; one that dies sooner may not
 * have got to the expiry. A new leader works off what expired while nobody led in 0.7-3.5 s here (64
 * workers, every expired session's record and eviction); a slower machine takes longer. With 5 s, CI
 * failed on a lag of 27 s, which a leader killed 5-12 s into such a takeover produces: its successor's
 * 15 s wait counted as the operator's lag. A leader that lived past the removal counts too: on
 * 2026-12-06 one took over 17 s after its predecessor's SIGKILL, removed the pod 0.7 s later and was
 * killed 2 s after that, as was the next; with no leader living 10 s before the run ended, the lag was
 * counted from expiresAt (27 s).
 */
const STABLE_MS = 10_000;
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
    const lease = `kills-${Date.now().toString(36)}`;
    const args = ["--leader-elect", `--leader-election-id=${lease}`];
    replicas.push(new Supervisor(args, { namespace: ns }), new Supervisor(args, { namespace: ns }));
    ledger.start();
    const holders: { at: number; holder: string }[] = [];
    let watchingLease = true;
    const leaseWatch = (async () => {
      while (watchingLease) {
        const r = await kubectlAsync(
          [...["-n", "debugsession-system", "get", "lease", lease], "-o", "jsonpath={.spec.holderIdentity}"],
          { timeoutMs: 5_000 },
        );
        if (r.code === 0) holders.push({ at: Date.now(), holder: r.stdout.trim() });
        await sleep(500);
      }
    })();

    const names = Array.from({ length: SESSIONS }, (_, i) => `k${i}`);
    // Pods ahead of their sessions, in batches of 10, so the node is not asked for 100 at once.
    const batches = Array.from({ length: SESSIONS / 10 }, (_, b) => names.slice(b * 10, b * 10 + 10));
    createTargetPods(
      ns,
      batches[0]!.map((n) => `pod-${n}`),
    );

    let killing = true;
    const killer = (async () => {
      while (killing) {
        await sleep(5_000 + Math.random() * 15_000);
        if (!killing) break;
        replicas[Math.floor(Math.random() * replicas.length)]!.kill();
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
    await allExpired(ns, 3 * 60_000 + MAX_LAG_MS + 60_000);
    killing = false;
    await killer;
    watchingLease = false;
    await leaseWatch;
    await sleep(3_000); // one more poll of the pods
    const kills = replicas.flatMap((r) => r.kills);
    const exits = replicas.flatMap((r) => r.exits);
    const runs = replicas.flatMap((r) => r.runs);
    /** The identity's process (hostname-pid), seen holding the Lease at `seen`, still ran at `at`. */
    const alive = (identity: string, seen: number, at: number): boolean => {
      const pid = Number(identity.split("-").at(-1));
      const run = runs.findLast((r) => r.pid === pid && r.from <= seen);
      return identity !== "" && run !== undefined && (run.to === undefined || run.to > at);
    };
    // A holder counts once it lived on STABLE_MS, or past the removal itself (it got there: a leader
    // that removed the pod and was killed a second later is not a leader that never came back).
    const actsFrom = (t: number, removedAt: number): number => {
      const stable = holders.find(
        (h) =>
          h.at >= t - 1_000 &&
          alive(h.holder, h.at, h.at) &&
          (alive(h.holder, h.at, h.at + STABLE_MS) || alive(h.holder, h.at, removedAt)),
      );
      return stable === undefined ? t : Math.max(t, stable.at);
    };
    const figures = await invariants(ns, ledger, actsFrom);
    const fromExpiry = await invariants(ns, ledger);
    const restarts = replicas.map((r) => r.exits.length);
    const heldBy = (at: number): string => holders.findLast((h) => h.at <= at)?.holder ?? "";
    const leaderKills = kills.filter((k) => heldBy(k.at).endsWith(`-${k.pid}`)).length;
    const errors = replicas.flatMap((r) => errorLines(r.allLogs()));
    const summary = {
      ...figures,
      maxLagFromExpiresAtMs: fromExpiry.maxLagMs,
      kills: kills.length,
      leaderKills,
      restarts,
      errorLines: errors.length,
    };
    console.log(`operator kill loop: ${JSON.stringify(summary)}\n${errors.slice(0, 5).join("\n")}`);
    expect(kills.length, "the loop killed replicas").toBeGreaterThan(10);
    // A broken bound says who held the Lease and which processes ended around the worst session.
    expectInvariants(figures, MAX_LAG_MS, (w) => {
      const near = (at: number): boolean => at >= w.expiresAt - 20_000 && at <= w.removedAt;
      const held = holders.filter((h) => near(h.at)).filter((h, i, all) => h.holder !== all[i - 1]?.holder);
      return [
        `holders: ${held.map((h) => `${iso(h.at)} ${h.holder}`).join(", ")}`,
        `kills: ${kills
          .filter((k) => near(k.at))
          .map((k) => `${iso(k.at)} ${k.pid}`)
          .join(", ")}`,
        `exits: ${exits
          .filter((e) => near(e.at))
          .map((e) => `${iso(e.at)} ${e.pid} code ${e.code}`)
          .join(", ")}`,
      ].join("; ");
    });
  });
});
