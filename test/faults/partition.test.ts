// Issue 16, fault 4: the operator runs in a network namespace of the test's own (a host joined by a veth
// pair) and every packet between it and the apiserver is dropped for 60 s, silently (no reset, no ICMP):
// requests hang rather than fail.
// - Alone, without leader election: sessions expire during the partition, one of them has its ttl
//   raised while the operator cannot see it (its cache says the old ttl), others are created during
//   the partition. After the partition the operator recovers by itself; no pod goes early, because a
//   removal is judged on a fresh read of the session, never on the cache alone.
// - Two replicas with leader election, the partitioned one leading: it steps down (exits 1) at its
//   renew deadline, before the other can take the Lease, so two leaders never overlap; the other
//   removes the pods that expire meanwhile; the partitioned one rejoins as a follower afterwards.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  allowAllPolicy,
  createNamespace,
  deleteNamespace,
  installCRDs,
  kubectlOk,
  operatorKubeconfig,
  waitFor,
} from "../support/kube.ts";
import {
  PodLedger,
  allExpired,
  Supervisor,
  createOperatorNetns,
  createTargetPods,
  errorLines,
  expectInvariants,
  heal,
  invariants,
  keepLogs,
  netnsPlacement,
  partition,
  removeOperatorNetns,
  sessionOnItsPod,
  sessions,
  sleep,
} from "./support.ts";

const PARTITION_MS = 60_000;
const local = process.env.E2E_LOCAL_CLUSTER === "1";

describe.skipIf(!local)("a 60 s partition between the operator and the apiserver", () => {
  let ns: string;
  let ledger: PodLedger | undefined;
  const replicas: Supervisor[] = [];

  beforeAll(() => {
    installCRDs();
    createOperatorNetns();
  });
  afterEach(async (ctx) => {
    heal();
    const stopped = replicas.splice(0);
    await Promise.all(stopped.map((r) => r.stop()));
    stopped.forEach((r, i) => keepLogs(`partition-${ctx.task.name.split(":")[0]}-${i}`, r.allLogs()));
    await ledger?.stop();
    deleteNamespace(ns);
  });
  afterAll(() => removeOperatorNetns());

  /** The test's namespace; its operators act in it alone (--namespace). */
  function namespace(prefix: string): string {
    ns = createNamespace(prefix);
    allowAllPolicy(ns);
    ledger = new PodLedger(ns);
    ledger.start();
    return ns;
  }

  /** `names` as sessions (ttl 1m) injected; returns the first expiresAt. */
  async function injected(names: string[]): Promise<number> {
    createTargetPods(
      ns,
      names.map((n) => `pod-${n}`),
    );
    kubectlOk(["-n", ns, "apply", "-f", "-"], { input: names.map((n) => sessionOnItsPod(n, "1m")).join("---\n") });
    kubectlOk(["-n", ns, "wait", "--for=condition=Injected", ...names.map((n) => `dbg/${n}`), "--timeout=120s"]);
    const all = await sessions(ns);
    return Math.min(...all.map((s) => Date.parse(s.status!.expiresAt!)));
  }

  it("alone: recovers by itself and removes nothing from a stale view", async () => {
    const kubeconfig = operatorKubeconfig();
    replicas.push(new Supervisor([], netnsPlacement(kubeconfig, namespace("partition"))));
    const expiresAt = await injected(["a0", "a1", "a2", "raised"]);

    // The partition starts 15 s before the first expiry; during it "raised" gets 2m instead of 1m and
    // two sessions are created that the operator cannot see yet.
    await sleep(expiresAt - 15_000 - Date.now());
    partition();
    const cut = Date.now();
    await sleep(5_000);
    kubectlOk(["-n", ns, "patch", "dbg", "raised", "--type=merge", "-p", '{"spec":{"ttl":"2m"}}']);
    createTargetPods(ns, ["pod-late0", "pod-late1"]);
    kubectlOk(["-n", ns, "apply", "-f", "-"], {
      input: ["late0", "late1"].map((n) => sessionOnItsPod(n, "1m")).join("---\n"),
    });
    await sleep(cut + PARTITION_MS - Date.now());
    heal();
    const healed = Date.now();

    await allExpired(ns, 3 * 60_000);
    const figures = await invariants(ns, ledger!, () => healed);
    const raised = (await sessions(ns)).find((s) => s.metadata.name === "raised")!;
    const errors = errorLines(replicas[0]!.allLogs());
    console.log(`partition, alone: ${JSON.stringify({ ...figures, errorLines: errors.length })}`);
    // Its expiresAt moved by the minute it was given, and its pod stayed until then.
    expect(Date.parse(raised.status!.expiresAt!) - expiresAt).toBeGreaterThanOrEqual(59_000);
    expect(replicas[0]!.exits, "the operator never exited").toEqual([]);
    expectInvariants(figures, 45_000);
  });

  it("with leader election: the partitioned leader steps down before the other replica leads", async () => {
    const lease = `partition-${Date.now().toString(36)}`;
    const args = ["--leader-elect", `--leader-election-id=${lease}`];
    const partitioned = new Supervisor(args, netnsPlacement(operatorKubeconfig(), namespace("partition-le")));
    replicas.push(partitioned);
    const holder = (): string =>
      kubectlOk([...["-n", "debugsession-system", "get", "lease", lease], "-o", "jsonpath={.spec.holderIdentity}"]);
    await waitFor(() => holder() !== "", 60_000, "the first replica to lead", 500);
    const other = new Supervisor(args, { namespace: ns });
    replicas.push(other);
    const expiresAt = await injected(["b0", "b1", "b2", "b3"]);
    const firstLeader = holder();

    await sleep(expiresAt - 15_000 - Date.now());
    partition();
    const cut = Date.now();
    const newLeader = await waitFor(
      () => (holder() !== firstLeader ? holder() : undefined),
      PARTITION_MS - 5_000,
      "the other replica to take the Lease",
      500,
    );
    const tookOver = Date.now();
    await sleep(cut + PARTITION_MS - Date.now());
    heal();

    await allExpired(ns, 2 * 60_000);
    const figures = await invariants(ns, ledger!);
    const stepDown = partitioned.exits[0];
    const logs = partitioned.allLogs();
    console.log(
      `partition, leader election: ${JSON.stringify({
        ...figures,
        stepDownAfterCutMs: stepDown && stepDown.at - cut,
        takeoverAfterCutMs: tookOver - cut,
        partitionedRestarts: partitioned.exits.length,
      })}`,
    );
    expect(newLeader).not.toBe(firstLeader);
    expect(stepDown?.code, "the partitioned leader exits 1").toBe(1);
    expect(logs).toContain("lost leadership");
    // It stopped before the other could lead: the exit was seen before the Lease changed hands.
    expect(stepDown!.at).toBeLessThan(tookOver);
    expect(other.exits, "the other replica never exited").toEqual([]);
    expectInvariants(figures, 45_000);
    // The partitioned replica came back as a follower by itself (started again, caches synced).
    await waitFor(
      () => /caches synced/.test(partitioned.allLogs().split("lost leadership")[1] ?? ""),
      60_000,
      "rejoin",
    );
    expect(holder()).toBe(newLeader);
  });
});
