// The real apiserver enforces the DebugSession schema: each invalid manifest is refused with a message
// that names the field; kubectl explain reads the descriptions.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allowAllPolicy, createNamespace, deleteNamespace, installCRDs, kubectl, kubectlOk } from "../support/kube.ts";

const session = (name: string, spec: string): string => `apiVersion: debugging.dev/v1alpha1
kind: DebugSession
metadata:
  name: ${name}
spec:
${spec}`;

describe("DebugSession schema on the real apiserver", () => {
  let ns: string;
  beforeAll(() => {
    installCRDs();
    ns = createNamespace("crd");
    allowAllPolicy(ns);
  });
  afterAll(() => deleteNamespace(ns));

  const apply = (yaml: string) => kubectl(["apply", "-n", ns, "-f", "-"], { input: yaml });

  it("accepts a minimal session and fills in the defaults", () => {
    kubectlOk(["apply", "-n", ns, "-f", "-"], { input: session("ok", "  targetPod: web\n  image: busybox:local\n") });
    const spec = JSON.parse(kubectlOk(["get", "dbg", "ok", "-n", ns, "-o", "jsonpath={.spec}"])) as Record<
      string,
      unknown
    >;
    expect(spec).toMatchObject({ profile: "general", policy: "default", mode: "Ephemeral" });
    // No default: a session that sets none gets its policy's defaultExpiryAction (else Evict).
    expect(spec.expiryAction).toBeUndefined();
  });

  it.each([
    ["no image", "  targetPod: web\n", /spec\.image: Required value/],
    [
      "no target",
      "  image: busybox:local\n",
      /exactly one of spec\.targetPod .*, spec\.targetRef .* and spec\.targetSelector/,
    ],
    [
      "two targets",
      "  targetPod: web\n  targetRef: {kind: Deployment, name: web}\n  image: busybox:local\n",
      /exactly one of spec\.targetPod/,
    ],
    [
      "a targetRef of an unknown kind",
      "  targetRef: {kind: CronJob, name: web}\n  image: busybox:local\n",
      /spec\.targetRef\.kind: Unsupported value: "CronJob"/,
    ],
    ["a notAfter that is no time", "  targetPod: web\n  image: busybox:local\n  notAfter: soon\n", /spec\.notAfter/],
    ["ttl of 30s", "  targetPod: web\n  image: busybox:local\n  ttl: 30s\n", /spec\.ttl.*at least 1m/],
    ["ttl that is not a duration", "  targetPod: web\n  image: busybox:local\n  ttl: abc\n", /spec\.ttl.*should match/],
    [
      "a ports field",
      "  targetPod: web\n  image: busybox:local\n  ports:\n  - containerPort: 80\n",
      /unknown field "spec\.ports"/,
    ],
    [
      "a resources field",
      "  targetPod: web\n  image: busybox:local\n  resources: {}\n",
      /unknown field "spec\.resources"/,
    ],
    [
      "an unknown profile",
      "  targetPod: web\n  image: busybox:local\n  profile: root\n",
      /spec\.profile: Unsupported value: "root"/,
    ],
    ["tty without stdin", "  targetPod: web\n  image: busybox:local\n  tty: true\n", /spec\.tty.*needs spec\.stdin/],
    [
      "spec.copy in Ephemeral mode",
      "  targetPod: web\n  image: busybox:local\n  copy: {command: [sleep, infinity]}\n",
      /spec\.copy.*needs spec\.mode: Copy/,
    ],
    [
      "isolate in Copy mode",
      "  targetPod: web\n  image: busybox:local\n  mode: Copy\n  isolate: true\n",
      /spec\.isolate.*does not apply in Copy mode/,
    ],
    [
      "an unknown mode",
      "  targetPod: web\n  image: busybox:local\n  mode: Clone\n",
      /spec\.mode: Unsupported value: "Clone"/,
    ],
    [
      "an unknown expiryAction",
      "  targetPod: web\n  image: busybox:local\n  expiryAction: Keep\n",
      /spec\.expiryAction: Unsupported value: "Keep"/,
    ],
  ])("refuses %s, naming the field", (_what, spec, message) => {
    const r = apply(session(`bad-${Math.random().toString(36).slice(2, 8)}`, spec));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it("refuses a DebugPolicy whose defaultExpiryAction it does not allow, and defaults Copy off", () => {
    const policy = (name: string, extra: string): string =>
      `apiVersion: debugging.dev/v1alpha1\nkind: DebugPolicy\nmetadata: {name: ${name}}\nspec:\n  allowedImages: ["busybox:*"]\n${extra}`;
    const refused = apply(
      policy("replace-not-allowed", "  allowedExpiryActions: [Evict]\n  defaultExpiryAction: Replace\n"),
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/spec\.defaultExpiryAction must be one of spec\.allowedExpiryActions/);
    kubectlOk(["apply", "-n", ns, "-f", "-"], { input: policy("defaults", "") });
    const spec = JSON.parse(kubectlOk(["get", "dbgpol", "defaults", "-n", ns, "-o", "jsonpath={.spec}"])) as Record<
      string,
      unknown
    >;
    expect(spec).toMatchObject({
      allowedModes: ["Ephemeral"],
      allowIsolate: false,
      allowedExpiryActions: ["Evict", "Delete", "Replace"],
    });
  });

  it("refuses a changed image after creation", () => {
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: session("immutable", "  targetPod: web\n  image: busybox:local\n  ttl: 30m\n"),
    });
    const r = apply(session("immutable", "  targetPod: web\n  image: busybox:other\n  ttl: 30m\n"));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.image.*immutable/);
  });

  it("refuses a shortened ttl and accepts a longer one", () => {
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: session("grow", "  targetPod: web\n  image: busybox:local\n  ttl: 30m\n"),
    });
    const shorter = apply(session("grow", "  targetPod: web\n  image: busybox:local\n  ttl: 10m\n"));
    expect(shorter.code).not.toBe(0);
    expect(shorter.stderr).toMatch(/spec\.ttl.*may only grow/);
    const longer = apply(session("grow", "  targetPod: web\n  image: busybox:local\n  ttl: 1h\n"));
    expect(longer.stderr).toBe("");
    expect(kubectlOk(["get", "dbg", "grow", "-n", ns, "-o", "jsonpath={.spec.ttl}"])).toBe("1h");
  });

  it("lets users read the schema with kubectl explain", () => {
    const out = kubectlOk(["explain", "debugsession.spec"]);
    expect(out).toMatch(/image\s+<string> -required-/);
    expect(out).toContain("Name of the pod to debug");
    expect(out).toMatch(/targetRef\s+<Object>/);
    expect(out.replace(/\s+/g, " ")).toContain("Exactly one of targetPod, targetRef and targetSelector");
    expect(kubectlOk(["explain", "dbg.status.containerState"])).toContain("ephemeralContainerStatuses");
  });

  it("prints Pod, Container, Phase, Requester, Expires and Age columns", () => {
    const header = kubectlOk(["get", "dbg", "-n", ns]).split("\n")[0] ?? "";
    expect(header.split(/\s+/).filter(Boolean)).toEqual([
      "NAME",
      "POD",
      "CONTAINER",
      "PHASE",
      "REQUESTER",
      "EXPIRES",
      "AGE",
    ]);
  });

  it("lets only the status subresource change status", () => {
    // A plain update of the main resource ignores status: users cannot write their own phase.
    kubectlOk(["patch", "dbg", "ok", "-n", ns, "--type=merge", "-p", '{"status":{"phase":"Expired"}}']);
    expect(kubectlOk(["get", "dbg", "ok", "-n", ns, "-o", "jsonpath={.status.phase}"])).toBe("");
  });
});
