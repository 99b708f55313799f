// --namespace: an operator acts in its own namespace only. Its caches, and so its reconciles, never see
// another namespace's sessions: that namespace is another operator's (a team's own), or nobody's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allowAllPolicy,
  createNamespace,
  deleteNamespace,
  installCRDs,
  kubectlOk,
  startOperator,
  type Operator,
} from "../support/kube.ts";
import { applySession, createBarePod, podJson, sessionStatus } from "../support/workloads.ts";

describe("an operator scoped to one namespace", () => {
  let ours: string;
  let theirs: string;
  let operator: Operator | undefined;
  beforeAll(() => {
    installCRDs();
    ours = createNamespace("scoped");
    theirs = createNamespace("unscoped");
    for (const ns of [ours, theirs]) {
      allowAllPolicy(ns);
      createBarePod(ns, "web");
    }
  });
  afterAll(async () => {
    await operator?.stop("SIGKILL");
    deleteNamespace(ours);
    deleteNamespace(theirs);
  });

  it("injects into its own namespace and leaves another namespace's session alone", async () => {
    // The other namespace's session first: it is in the apiserver when the operator lists.
    const session = { targetPod: "web", ttl: "10m", command: ["sleep", "3600"], interactive: false };
    applySession(theirs, "s", session);
    operator = startOperator([], { namespace: ours });
    applySession(ours, "s", session);
    kubectlOk(["-n", ours, "wait", "--for=condition=Injected", "dbg/s", "--timeout=60s"]);
    // Both sessions were created before this point; ours has gone all the way, theirs was never touched.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(sessionStatus(theirs, "s").phase).toBeUndefined();
    expect(podJson(theirs, "web")!.spec.ephemeralContainers ?? []).toEqual([]);
    expect(operator.logs()).not.toContain(`${theirs}/s`);
  });
});
