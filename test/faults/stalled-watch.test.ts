// Issue 16, fault 5: a TCP proxy of the test's own between the operator and the apiserver freezes every
// connection open at one instant: they stay open and nothing crosses them any more, so no error ever
// reaches the operator (what a load balancer that lost a connection's state looks like). Connections
// made afterwards work. The informers must notice their silent watches within the watch timeout and
// reopen them; requests caught on a frozen connection are abandoned at the request timeout.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allowAllPolicy,
  createNamespace,
  deleteNamespace,
  installCRDs,
  kubectlOk,
  operatorKubeconfig,
  operatorKubeconfigFor,
  startOperator,
  type Operator,
} from "../support/kube.ts";
import {
  PodLedger,
  createTargetPods,
  expectInvariants,
  invariants,
  keepLogs,
  sessionOnItsPod,
  sessions,
  sleep,
} from "./support.ts";
import { StallingProxy } from "../support/stalling.ts";
import { readFileSync } from "node:fs";

/** The client's watch idle timeout (30 s without a byte) + the informer's first retry + the reconcile. */
const NOTICED_WITHIN_MS = 45_000;
const local = process.env.E2E_LOCAL_CLUSTER === "1";

describe.skipIf(!local)("stalled connections between the operator and the apiserver", () => {
  let ns: string;
  let ledger: PodLedger;
  let proxy: StallingProxy;
  let operator: Operator | undefined;

  beforeAll(async () => {
    installCRDs();
    ns = createNamespace("stall");
    allowAllPolicy(ns);
    ledger = new PodLedger(ns);
    const server = /server: "https:\/\/([^:"]+):(\d+)"/.exec(readFileSync(operatorKubeconfig(), "utf8"));
    if (!server) throw new Error("no server in the operator's kubeconfig");
    proxy = new StallingProxy({ host: server[1]!, port: Number(server[2]) });
    const port = await proxy.port;
    // The apiserver's certificate names 127.0.0.1.
    operator = startOperator([], { kubeconfig: operatorKubeconfigFor(`https://127.0.0.1:${port}`), namespace: ns });
  });
  afterAll(async () => {
    await operator?.stop("SIGKILL");
    keepLogs("stalled-watch", operator?.logs() ?? "");
    await ledger.stop();
    await proxy.close();
    deleteNamespace(ns);
  });

  it("notices frozen watches, reopens them and keeps every invariant", async () => {
    ledger.start();
    createTargetPods(ns, ["pod-before", "pod-after"]);
    kubectlOk(["-n", ns, "apply", "-f", "-"], { input: sessionOnItsPod("before", "1m") });
    kubectlOk(["-n", ns, "wait", "--for=condition=Ready", "dbg/before", "--timeout=120s"]);
    const beforeExpires = Date.parse((await sessions(ns))[0]!.status!.expiresAt!);

    // Freeze 15 s before "before" expires, so its expiry falls while the watches are silent.
    await sleep(beforeExpires - 15_000 - Date.now());
    const frozen = await proxy.stall();
    const stalledAt = Date.now();
    // Seen only through a watch opened after the stall (or a relist).
    kubectlOk(["-n", ns, "apply", "-f", "-"], { input: sessionOnItsPod("after", "1m") });
    kubectlOk(["-n", ns, "wait", "--for=condition=Injected", "dbg/after", `--timeout=${NOTICED_WITHIN_MS / 1000}s`]);
    const noticedMs = Date.now() - stalledAt;

    const afterExpires = Date.parse((await sessions(ns)).find((s) => s.metadata.name === "after")!.status!.expiresAt!);
    await sleep(afterExpires - Date.now() + 5_000);
    kubectlOk(["-n", ns, "wait", "--for=jsonpath={.status.phase}=Expired", "dbg/before", "dbg/after", "--timeout=60s"]);
    await sleep(2_000); // one more poll of the pods
    const figures = await invariants(ns, ledger);
    console.log(`stalled watch: ${JSON.stringify({ ...figures, frozenConnections: frozen, noticedMs })}`);
    expect(frozen, "connections frozen").toBeGreaterThan(0);
    // "before" expired while its watches were frozen: the lag bound is the request timeout's.
    expectInvariants(figures, NOTICED_WITHIN_MS);
  });
});
