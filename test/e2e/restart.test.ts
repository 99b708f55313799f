// The deadline lives in status, not in the operator's memory: an operator killed after injection and
// started again after expiresAt removes the pod at once, and no pod ever gets a second container.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allowAllPolicy,
  createNamespace,
  deleteNamespace,
  installCRDs,
  kubectlOk,
  startOperator,
  waitFor,
  type Operator,
} from "../support/kube.ts";
import { applySession, createBarePod, podJson, sessionStatus } from "../support/workloads.ts";

describe("operator restart", () => {
  let ns: string;
  let operator: Operator | undefined;
  beforeAll(() => {
    installCRDs();
    ns = createNamespace("restart");
    allowAllPolicy(ns);
  });
  afterAll(async () => {
    await operator?.stop("SIGKILL");
    deleteNamespace(ns);
  });

  it("removes the pod right after a restart that comes after expiresAt, with one container only", async () => {
    createBarePod(ns, "victim");
    const uid = podJson(ns, "victim")!.metadata.uid;
    operator = startOperator([], { namespace: ns });
    applySession(ns, "s1", { targetPod: "victim", ttl: "1m", command: ["sleep", "3600"], interactive: false });
    kubectlOk(["-n", ns, "wait", "--for=condition=Injected", "debugsession/s1", "--timeout=60s"]);

    // A restart before expiry adopts the container instead of adding a second one.
    expect(await operator.stop("SIGKILL")).toBe(null);
    operator = startOperator([], { namespace: ns });
    kubectlOk(["-n", ns, "wait", "--for=condition=Ready", "debugsession/s1", "--timeout=60s"]);
    expect(podJson(ns, "victim")!.spec.ephemeralContainers).toHaveLength(1);

    await operator.stop("SIGKILL");
    operator = undefined;
    const expiresAt = Date.parse(sessionStatus(ns, "s1").expiresAt!);
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 3_000));
    const pod = podJson(ns, "victim");
    expect(pod?.metadata.uid).toBe(uid);
    expect(pod?.metadata.deletionTimestamp).toBeUndefined();

    const restartedAt = Date.now();
    operator = startOperator([], { namespace: ns });
    const removed = await waitFor(
      () => {
        const p = podJson(ns, "victim");
        return !p || p.metadata.deletionTimestamp ? Date.now() : undefined;
      },
      30_000,
      "the expired pod to be removed after the restart",
      100,
    );
    console.log(
      `removal seen ${removed - restartedAt} ms after the restart (${removed - expiresAt} ms after expiresAt)`,
    );
    await waitFor(() => sessionStatus(ns, "s1").phase === "Expired", 30_000, "phase Expired");
    const injections = operator
      .logs()
      .split("\n")
      .filter((l) => l.includes('"injected debugger"'));
    expect(injections).toEqual([]);
  });
});
