// Issue 16, faults 1 and 2: the kube-apiserver, then etcd, killed with SIGKILL for 20 s while 20
// sessions run, some expiring during each outage and some after both. The invariants are counted from
// the cluster (test/faults/support.ts); the removal lag counts from the later of expiresAt and the
// instant the apiserver answered again.
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allowAllPolicy,
  createNamespace,
  deleteNamespace,
  installCRDs,
  kubectl,
  kubectlOk,
  startOperator,
  waitFor,
  type Operator,
} from "../support/kube.ts";
import {
  PodLedger,
  allExpired,
  createTargetPods,
  errorLines,
  expectInvariants,
  invariants,
  keepLogs,
  sessionOnItsPod,
  sessions,
  sleep,
} from "./support.ts";

const DOWN_MS = 20_000;
/** After the apiserver answers again: informers back off up to 30 s between attempts while it is down. */
const MAX_LAG_MS = 30_000;
const local = process.env.E2E_LOCAL_CLUSTER === "1";

function fault(action: "kill" | "start", component: "etcd" | "kube-apiserver"): void {
  const r = spawnSync("hack/cluster-fault.sh", [action, component], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cluster-fault.sh ${action} ${component}: ${r.stderr}`);
}

const answers = (): boolean => kubectl(["get", "--raw", "/readyz"], { timeoutMs: 5_000 }).code === 0;

describe.skipIf(!local)("apiserver and etcd outages", () => {
  let ns: string;
  let operator: Operator | undefined;
  let ledger: PodLedger;

  beforeAll(() => {
    installCRDs();
    ns = createNamespace("faults");
    allowAllPolicy(ns);
    ledger = new PodLedger(ns);
  });
  afterAll(async () => {
    await ledger.stop();
    await operator?.stop("SIGKILL");
    keepLogs("outages", operator?.logs() ?? "");
    // Whatever failed, the cluster is whole again for what runs after.
    if (!answers())
      for (const c of ["etcd", "kube-apiserver"] as const) spawnSync("hack/cluster-fault.sh", ["start", c]);
    deleteNamespace(ns);
  });

  /** Creates the sessions, waits for their injection, returns their expiresAt. */
  async function inject(group: string, count: number, ttl: string): Promise<number[]> {
    const names = Array.from({ length: count }, (_, i) => `${group}${i}`);
    kubectlOk(["-n", ns, "apply", "-f", "-"], { input: names.map((n) => sessionOnItsPod(n, ttl)).join("---\n") });
    kubectlOk(["-n", ns, "wait", "--for=condition=Injected", ...names.map((n) => `dbg/${n}`), "--timeout=120s"]);
    const all = await sessions(ns);
    return all.filter((s) => names.includes(s.metadata.name)).map((s) => Date.parse(s.status!.expiresAt!));
  }

  /** Kills `component` at `at` for DOWN_MS; returns the outage as [killed, answering again]. */
  async function outage(component: "etcd" | "kube-apiserver", at: number): Promise<[number, number]> {
    await sleep(at - Date.now());
    fault("kill", component);
    const killed = Date.now();
    await sleep(DOWN_MS);
    fault("start", component);
    await waitFor(answers, 60_000, `the apiserver to answer after ${component} came back`, 200);
    return [killed, Date.now()];
  }

  it("keeps every invariant through a 20 s apiserver outage, then a 20 s etcd outage", async () => {
    // a: expire during the apiserver outage; b (30 s later): during the etcd outage; c: after both.
    const groups = { a: 7, b: 7, c: 6 };
    const pods = Object.entries(groups).flatMap(([g, n]) => Array.from({ length: n }, (_, i) => `pod-${g}${i}`));
    createTargetPods(ns, pods);
    operator = startOperator([], { namespace: ns });
    ledger.start();
    const started = Date.now();
    const a = await inject("a", groups.a, "1m");
    const c = await inject("c", groups.c, "2m");
    await sleep(started + 30_000 - Date.now());
    const b = await inject("b", groups.b, "1m");
    expect(Math.max(...a), "group a expires within the apiserver outage").toBeLessThan(
      Math.min(...a) - 5_000 + DOWN_MS,
    );
    const apiserver = await outage("kube-apiserver", Math.min(...a) - 5_000);
    expect(Math.min(...b) - 5_000, "the etcd outage starts after the apiserver came back").toBeGreaterThan(
      apiserver[1],
    );
    const etcd = await outage("etcd", Math.min(...b) - 5_000);
    expect(Math.min(...c), "group c expires after both outages").toBeGreaterThan(etcd[1]);

    await allExpired(ns, Math.max(...c) - Date.now() + 90_000);
    const actsFrom = (t: number): number => [apiserver, etcd].find(([down, up]) => t >= down && t <= up)?.[1] ?? t;
    const figures = await invariants(ns, ledger, actsFrom);
    const errors = errorLines(operator.logs());
    console.log(
      `apiserver+etcd outages: ${JSON.stringify({ ...figures, apiserverDownMs: apiserver[1] - apiserver[0], etcdDownMs: etcd[1] - etcd[0], errorLines: errors.length })}`,
    );
    expectInvariants(figures, MAX_LAG_MS);
  });
});
