// DebugPolicy grantAttach: a requester with only the shipped requester roles may attach to the pod
// their debugger runs in, while it runs, and to no other pod; the grant goes when the session ends.
// Checked with RBAC's own answer (kubectl auth can-i as the impersonated user) and a real attach.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createNamespace,
  deleteNamespace,
  installCRDs,
  kubectl,
  kubectlOk,
  startOperator,
  testImage,
  waitFor,
  type Operator,
} from "../support/kube.ts";
import { createBarePod, sessionStatus, userRoleBinding } from "../support/workloads.ts";

const ERIN = ["--as", "erin", "--as-group", "team-ops"];

describe("attach rights per session (grantAttach)", () => {
  let ns: string;
  let operator: Operator;
  const asErin = (args: string[], input?: string) => kubectl([...args, "-n", ns, ...ERIN], { input });
  const mayAttach = (pod: string) =>
    asErin(["auth", "can-i", "create", `pods/${pod}`, "--subresource=attach"]).stdout.trim();

  beforeAll(() => {
    installCRDs();
    ns = createNamespace("attach");
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: `apiVersion: debugging.dev/v1alpha1
kind: DebugPolicy
metadata: {name: default}
spec:
  targetSelector: {}
  allowedImages: ["${testImage}"]
---
${userRoleBinding("erin-requester", "erin", "debugsession-requester")}---
${userRoleBinding("erin-policy-user", "erin", "debugpolicy-user")}`,
    });
    createBarePod(ns, "web");
    createBarePod(ns, "other");
    operator = startOperator([], { namespace: ns });
  });

  afterAll(async () => {
    await operator?.stop();
    deleteNamespace(ns);
  });

  it("grants attach to exactly the tainted pod while the debugger runs, and takes it back when the session ends", async () => {
    expect(mayAttach("web")).toBe("no");
    const session = JSON.stringify({
      apiVersion: "debugging.dev/v1alpha1",
      kind: "DebugSession",
      metadata: { name: "shell" },
      spec: {
        targetPod: "web",
        image: testImage,
        imagePullPolicy: "IfNotPresent",
        command: ["sh"],
        stdin: true,
      },
    });
    expect(asErin(["apply", "-f", "-"], session).stderr).toBe("");
    await waitFor(() => sessionStatus(ns, "shell").phase === "Running", 60_000, "the session Running");
    await waitFor(() => mayAttach("web") === "yes", 30_000, "erin may attach to web");
    expect(mayAttach("other")).toBe("no");
    expect(asErin(["auth", "can-i", "create", "pods", "--subresource=exec"]).stdout.trim()).toBe("no");
    // A real attach goes through (the interactive shell is the plugin's test, under tmux).
    const container = sessionStatus(ns, "shell").containerName!;
    const attached = asErin(["attach", "-i", "web", "-c", container], "\n");
    expect(attached.code, attached.stderr).toBe(0);
    expect(attached.stderr).not.toContain("forbidden");
    expect(asErin(["attach", "-i", "other", "-c", "other"], "").stderr).toContain("forbidden");

    const role = (
      JSON.parse(kubectlOk(["-n", ns, "get", "dbg", "shell", "-o", "json"])) as { status: { attachRole?: string } }
    ).status.attachRole;
    expect(role).toBeTruthy();
    expect(asErin(["delete", "dbg", "shell", "--wait=true", "--timeout=60s"]).code).toBe(0);
    await waitFor(() => kubectl(["-n", ns, "get", "role", role!]).code !== 0, 30_000, "the Role gone");
    await waitFor(() => kubectl(["-n", ns, "get", "rolebinding", role!]).code !== 0, 60_000, "the RoleBinding gone");
    expect(mayAttach("web")).toBe("no");
  });
});
