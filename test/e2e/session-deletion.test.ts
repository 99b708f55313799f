// Deleting a session before expiry removes the pod it tainted, then the session; a namespace being
// deleted with a running session in it does not hang on the finalizer.
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
import { applySession, createBarePod, podJson } from "../support/workloads.ts";

describe("deleting sessions", () => {
  let operator: Operator;
  const namespaces: string[] = [];
  beforeAll(() => {
    installCRDs();
    operator = startOperator();
  });
  afterAll(async () => {
    await operator.stop();
    namespaces.forEach(deleteNamespace);
  });

  const runningSession = (prefix: string): { ns: string; uid: string } => {
    const ns = createNamespace(prefix);
    namespaces.push(ns);
    allowAllPolicy(ns);
    createBarePod(ns, "web");
    applySession(ns, "s", { targetPod: "web", ttl: "1h", command: ["sleep", "3600"], interactive: false });
    kubectlOk(["-n", ns, "wait", "--for=condition=Ready", "debugsession/s", "--timeout=60s"]);
    return { ns, uid: podJson(ns, "web")!.metadata.uid };
  };

  it("removes the tainted pod, then the session", async () => {
    const { ns, uid } = runningSession("del");
    kubectlOk(["-n", ns, "delete", "dbg", "s", "--wait=true", "--timeout=60s"]);
    await waitFor(
      () => {
        const p = podJson(ns, "web");
        return !p || p.metadata.uid !== uid || p.metadata.deletionTimestamp !== undefined;
      },
      30_000,
      "the tainted pod to be removed",
    );
    expect(kubectl(["-n", ns, "get", "dbg", "s"]).code).not.toBe(0);
  });

  it("lets a namespace with a running session be deleted", async () => {
    const { ns } = runningSession("nsdel");
    kubectlOk(["delete", "namespace", ns, "--wait=false"]);
    await waitFor(() => kubectl(["get", "namespace", ns]).code !== 0, 120_000, "the namespace to be gone", 1_000);
  });
});
