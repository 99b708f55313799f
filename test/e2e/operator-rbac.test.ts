// The operator's shipped RBAC is least privilege: asked as its ServiceAccount, the apiserver says it
// cannot read Secrets, exec into pods, change pod specs or create pods other than Copy mode's copies
// (every e2e suite runs it with that RBAC).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNamespace, deleteNamespace, installCRDs, kubectl, operatorKubeconfig } from "../support/kube.ts";
import { createBarePod } from "../support/workloads.ts";

const SA = "system:serviceaccount:debugsession-system:debugsession-operator";

describe("the operator's RBAC", () => {
  let ns: string;
  beforeAll(() => {
    installCRDs();
    operatorKubeconfig();
    ns = createNamespace("rbac");
    createBarePod(ns, "web");
  });
  afterAll(() => deleteNamespace(ns));

  it.each([
    ["get", "secrets", "no"],
    ["list", "secrets", "no"],
    ["create", "pods/exec", "no"],
    ["create", "pods/attach", "yes"],
    ["create", "roles.rbac.authorization.k8s.io", "yes"],
    ["escalate", "roles.rbac.authorization.k8s.io", "no"],
    ["bind", "roles.rbac.authorization.k8s.io", "no"],
    ["update", "pods", "no"],
    ["create", "pods", "yes"],
    ["patch", "pods/ephemeralcontainers", "yes"],
    ["update", "pods/ephemeralcontainers", "no"],
    ["create", "pods/eviction", "yes"],
    ["delete", "pods", "yes"],
    ["patch", "debugsessions.debugging.dev/status", "yes"],
    ["create", "debugpolicies.debugging.dev", "no"],
    ["get", "deployments.apps", "yes"],
    ["list", "deployments.apps", "no"],
    ["patch", "deployments.apps", "no"],
    ["get", "jobs.batch", "yes"],
    ["list", "services", "yes"],
    ["create", "services", "no"],
    ["list", "networkpolicies.networking.k8s.io", "yes"],
    ["patch", "networkpolicies.networking.k8s.io", "no"],
  ])("can-i %s %s: %s", (verb, resource, answer) => {
    // `kubectl auth can-i create pods/exec` would ask about a pod named "exec": subresources go apart.
    const [res, sub] = resource.split("/");
    const args = ["auth", "can-i", verb, res!, "-n", ns, "--as", SA, ...(sub ? [`--subresource=${sub}`] : [])];
    expect(kubectl(args).stdout.trim()).toBe(answer);
  });

  it("may patch a pod's labels but not its spec", () => {
    expect(kubectl(["-n", ns, "label", "pod", "web", "debugging.dev/session=x", "--as", SA]).code).toBe(0);
    const spec = kubectl([
      "-n",
      ns,
      "patch",
      "pod",
      "web",
      "--type=merge",
      "-p",
      '{"spec":{"activeDeadlineSeconds":5}}',
      "--as",
      SA,
    ]);
    expect(spec.code).not.toBe(0);
    expect(spec.stderr).toContain("may change only a pod's labels and annotations");
  });

  it("may create only a copy for a Copy-mode session: marked, with only its own labels, owned by nobody", () => {
    const create = (name: string, labels: string, annotations: string, extra = "") =>
      kubectl(["-n", ns, "create", "--dry-run=server", "-f", "-", "--as", SA], {
        input: `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: {${labels}}
  annotations: {${annotations}}
${extra}spec:
  containers: [{name: c, image: busybox:local}]
`,
      });
    const own = '"debugging.dev/session": s, "debugging.dev/session-uid": u';
    const copyOf = '"debugging.dev/copy-of": web';
    expect(create("copy-ok", own, copyOf).stderr).toBe("");
    const refused: [string, ReturnType<typeof create>, string][] = [
      ["a plain pod", create("plain", "", ""), "may create only copies for Copy-mode sessions"],
      ["no copy-of", create("nocopyof", own, ""), "may create only copies for Copy-mode sessions"],
      ["a label of the source", create("applabel", `${own}, app: web`, copyOf), "carries only debugging.dev/ labels"],
      [
        "an owner",
        create(
          "owned",
          own,
          copyOf,
          "  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: x, uid: 6b0b4c36-0d0c-4b5e-9a39-6f6f3c1f2a10}]\n",
        ),
        "has no owner",
      ],
    ];
    for (const [what, run, message] of refused) {
      expect(run.code, what).not.toBe(0);
      expect(run.stderr, what).toContain(message);
    }
  });
});
