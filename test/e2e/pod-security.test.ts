// Pod Security admission also judges ephemeral containers. A namespace enforcing `baseline` and a
// policy that allows `sysadmin`: the apiserver refuses the privileged debugger, the session shows the
// apiserver's message as Failed, and the operator does not keep trying. It judges Copy mode's copies
// too, like any pod: a pod admitted before its namespace was tightened cannot be copied.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allowAllPolicy,
  createNamespace,
  deleteNamespace,
  installCRDs,
  kubectlOk,
  startOperator,
  testImage,
  type Operator,
} from "../support/kube.ts";
import { createBarePod, podJson, sessionInPhase } from "../support/workloads.ts";

describe("an injection Pod Security refuses", () => {
  let ns: string;
  let operator: Operator;
  beforeAll(() => {
    installCRDs();
    ns = createNamespace("psa", { "pod-security.kubernetes.io/enforce": "baseline" });
    // The policy allows what Pod Security will refuse: the refusal must come from the apiserver.
    allowAllPolicy(
      ns,
      "  allowedProfiles: [general, baseline, restricted, netadmin, sysadmin]\n  allowPrivileged: true\n" +
        "  allowedModes: [Ephemeral, Copy]\n",
    );
    createBarePod(ns, "web");
    operator = startOperator([], { namespace: ns });
  });
  afterAll(async () => {
    await operator?.stop();
    deleteNamespace(ns);
  });

  it("fails with the apiserver's message and a bounded number of attempts", async () => {
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: `apiVersion: debugging.dev/v1alpha1
kind: DebugSession
metadata: {name: root}
spec: {targetPod: web, image: "${testImage}", imagePullPolicy: IfNotPresent, profile: sysadmin, command: [sleep, "3600"]}
`,
    });
    const failed = await sessionInPhase(ns, "root", "Failed");
    expect(failed.message).toMatch(/violates PodSecurity "baseline:latest": privileged/);
    expect(failed.conditions?.find((c) => c.type === "Injected")).toMatchObject({
      status: "False",
      reason: "InjectionRefused",
    });

    // Give a retry loop every chance to show itself: the pod, the session and the policy all get
    // events meanwhile, which enqueue the session again.
    kubectlOk(["-n", ns, "label", "pod", "web", "poke=1"]);
    kubectlOk(["-n", ns, "annotate", "debugpolicy", "default", "poke=1"]);
    await new Promise((r) => setTimeout(r, 10_000));
    const attempts = operator
      .logs()
      .split("\n")
      .filter((l) => l.includes('"apiserver refused the debugger"')).length;
    console.log(`injection attempts refused by the apiserver: ${attempts}`);
    expect(attempts).toBe(1);
    expect(podJson(ns, "web")!.spec.ephemeralContainers).toBeUndefined();
  });

  it("refuses a copy the namespace's level refuses: Failed (CopyRefused) with the apiserver's message", async () => {
    createBarePod(ns, "legacy");
    // Admitted under baseline; under restricted (runAsNonRoot, no capabilities, seccomp) it would not be.
    kubectlOk(["label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted", "--overwrite"]);
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: `apiVersion: debugging.dev/v1alpha1
kind: DebugSession
metadata: {name: copy-legacy}
spec: {targetPod: legacy, mode: Copy, image: "${testImage}", imagePullPolicy: IfNotPresent, command: [sleep, "3600"]}
`,
    });
    const failed = await sessionInPhase(ns, "copy-legacy", "Failed");
    expect(failed.message).toMatch(
      /the apiserver refused the copy of pod legacy: .*violates PodSecurity "restricted:latest"/,
    );
    expect(failed.conditions?.find((c) => c.type === "Injected")).toMatchObject({
      status: "False",
      reason: "CopyRefused",
    });
    expect(kubectlOk(["-n", ns, "get", "pods", "-l", "debugging.dev/session=copy-legacy", "-o", "name"])).toBe("");
    expect(podJson(ns, "legacy")!.spec.ephemeralContainers).toBeUndefined();
  });
});
