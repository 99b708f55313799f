// A session whose pod does not exist yet says so and writes nothing to any pod; when the pod appears and
// runs, the debugger is injected (README: "Target pod missing").
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
import { applySession, createBarePod, podJson, sessionInPhase, sessionStatus } from "../support/workloads.ts";

describe("target pod absent", () => {
  let ns: string;
  let operator: Operator;
  beforeAll(() => {
    installCRDs();
    ns = createNamespace("absent");
    allowAllPolicy(ns);
    operator = startOperator([], { namespace: ns });
  });
  afterAll(async () => {
    await operator.stop();
    deleteNamespace(ns);
  });

  it("is Pending with TargetPodNotFound, then injects once the pod runs", async () => {
    createBarePod(ns, "bystander");
    applySession(ns, "early", { targetPod: "later", ttl: "10m", command: ["sleep", "3600"], interactive: false });
    const pending = await sessionInPhase(ns, "early", "Pending");
    expect(pending.conditions?.find((c) => c.type === "Injected")).toMatchObject({
      status: "False",
      reason: "TargetPodNotFound",
    });
    expect(pending.message).toContain("pod later not found");
    expect(pending.targetPodUID).toBeUndefined();

    // Nothing was written to any pod meanwhile.
    await new Promise((r) => setTimeout(r, 3_000));
    const bystander = podJson(ns, "bystander")!;
    expect(bystander.spec.ephemeralContainers).toBeUndefined();
    expect(bystander.metadata.labels?.["debugging.dev/session"]).toBeUndefined();
    const events = kubectlOk([
      "-n",
      ns,
      "get",
      "events",
      "--field-selector",
      "involvedObject.kind=DebugSession",
      "-o",
      "jsonpath={.items[*].reason}",
    ]);
    expect(events.split(" ").filter((r) => r === "TargetPodNotFound")).toHaveLength(1);

    createBarePod(ns, "later");
    await waitFor(() => sessionStatus(ns, "early").phase === "Running", 90_000, "phase Running after the pod appeared");
    expect(podJson(ns, "later")!.spec.ephemeralContainers).toHaveLength(1);
    expect(operator.logs()).not.toMatch(/"level":50/);
  });
});
