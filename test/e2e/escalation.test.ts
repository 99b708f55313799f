// Escalation attempts by a requester who holds exactly the shipped roles (debugsession-requester and
// debugpolicy-user in one namespace) and no right on pods, impersonated on the real apiserver, against
// the operator running as its ServiceAccount. An attempt counts as denied only if it is refused at apply
// time, ends with no new debugger anywhere, or (identity) records the real requester. The classes and
// their defences: docs/security.md, "Escalation paths and their defences".
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DebugSession } from "../../src/api/types.ts";
import { ephemeralContainerName, sessionLabelValue } from "../../src/controller/container.ts";
import {
  createNamespace,
  deleteNamespace,
  installCRDs,
  kubectl,
  kubectlAsync,
  kubectlOk,
  startOperator,
  testImage,
  waitFor,
  type Operator,
} from "../support/kube.ts";
import { createBarePod, podJson, sessionStatus, userRoleBinding } from "../support/workloads.ts";

const MALLORY = ["--as", "mallory", "--as-group", "team-devs"];
/** A group whose name holds a comma, as LDAP DNs do: it must stay one group. */
const COMMA_GROUP = "devs,system:masters";

function session(name: string, spec: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: "debugging.dev/v1alpha1",
    kind: "DebugSession",
    metadata: { name },
    spec: { targetPod: "web", image: testImage, imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"], ...spec },
  });
}

const debuggersIn = (ns: string, pod: string): string[] =>
  (podJson(ns, pod)?.spec.ephemeralContainers ?? []).map((c) => c.name);

describe("escalation by a requester with only the shipped roles", () => {
  let ns: string;
  let operator: Operator;
  const asMallory = (args: string[], input?: string) => kubectl([...args, "-n", ns, ...MALLORY], { input });

  beforeAll(() => {
    installCRDs();
    ns = createNamespace("escalation");
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: `apiVersion: debugging.dev/v1alpha1
kind: DebugPolicy
metadata: {name: default}
spec:
  targetSelector: {matchLabels: {app: web}}
  allowedImages: ["${testImage}"]
  maxSessionsPerPod: 5
  allowedExpiryActions: [Evict]
---
apiVersion: debugging.dev/v1alpha1
kind: DebugPolicy
metadata: {name: single}
spec:
  targetSelector: {matchLabels: {app: web}}
  allowedImages: ["${testImage}"]
  maxSessionsPerPod: 1
---
apiVersion: debugging.dev/v1alpha1
kind: DebugPolicy
metadata: {name: wildcard}
spec:
  targetSelector: {matchLabels: {app: web}}
  allowedImages: ["**"]
---
${userRoleBinding("mallory-requester", "mallory", "debugsession-requester")}---
${userRoleBinding("mallory-policy-user", "mallory", "debugpolicy-user")}`,
    });
    createBarePod(ns, "web");
    kubectlOk(["-n", ns, "label", "pod", "web", "app=web"]);
    createBarePod(ns, "bystander");
    operator = startOperator([], { namespace: ns });
  });

  afterAll(async () => {
    await operator?.stop();
    deleteNamespace(ns);
  });

  it("mallory holds no right on pods", () => {
    for (const sub of ["ephemeralcontainers", "exec", "attach"]) {
      const r = kubectl(["auth", "can-i", "create", "pods", `--subresource=${sub}`, "-n", ns, ...MALLORY]);
      expect(r.stdout.trim(), sub).toBe("no");
    }
  });

  // First among the sessions: on a queue whose earliest delayed key is this one, an overflowing timer spins.
  it("a ttlSecondsAfterFinished of 30 days on an ended session sets a timer, not a busy loop", async () => {
    const name = "long-after";
    const manifest = session(name, { targetContainer: "no-such-container", ttlSecondsAfterFinished: 30 * 24 * 3600 });
    expect(asMallory(["apply", "-f", "-"], manifest).stderr).toBe("");
    await waitFor(() => sessionStatus(ns, name).phase === "Failed", 60_000, "the session Failed");
    await new Promise((r) => setTimeout(r, 5_000));
    expect(operator.logs()).not.toContain("TimeoutOverflowWarning");
  });

  it("a session name longer than a label value gets one debugger, a phase and a label that fits", async () => {
    const name = `long-${"x".repeat(90)}`;
    expect(asMallory(["apply", "-f", "-"], session(name)).stderr).toBe("");
    await waitFor(() => sessionStatus(ns, name).phase === "Running", 60_000, "the long-named session Running");
    const pod = podJson(ns, "web")!;
    expect(pod.metadata.labels?.["debugging.dev/session"]).toBe(sessionLabelValue(name));
    expect(debuggersIn(ns, "web").filter((c) => c === sessionStatus(ns, name).containerName)).toHaveLength(1);
  });

  it("cannot strip the cleanup finalizer, so a deleted session always takes its tainted pod along", () => {
    const name = "strip";
    expect(asMallory(["apply", "-f", "-"], session(name)).stderr).toBe("");
    const r = asMallory(["patch", "dbg", name, "--type=json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("debugging.dev/pod-cleanup is removed by the debugsession operator only");
    const finalizers = kubectlOk(["-n", ns, "get", "dbg", name, "-o", "jsonpath={.metadata.finalizers}"]);
    expect(finalizers).toContain("debugging.dev/pod-cleanup");
  });

  it("a group name with a comma is recorded as one group: no forged group reaches the record or RBAC", async () => {
    const name = "comma-group";
    const r = kubectl(["apply", "-n", ns, "--as", "mallory", "--as-group", COMMA_GROUP, "-f", "-"], {
      input: session(name),
    });
    expect(r.stderr).toBe("");
    await waitFor(() => sessionStatus(ns, name).phase === "Running", 60_000, "the session Running");
    const s = JSON.parse(kubectlOk(["-n", ns, "get", "dbg", name, "-o", "json"])) as {
      status: { requestedBy: { username: string; groups: string[] } };
    };
    expect(s.status.requestedBy.username).toBe("mallory");
    expect(s.status.requestedBy.groups).toContain(COMMA_GROUP);
    expect(s.status.requestedBy.groups).not.toContain("system:masters");
  });

  it("sessions applied together on a pod with no debugger yet all get one: a lost race is retried, not Failed", async () => {
    createBarePod(ns, "pair");
    kubectlOk(["-n", ns, "label", "pod", "pair", "app=web"]);
    const names = ["pair-a", "pair-b", "pair-c", "pair-d"];
    // Created at the same moment, so their first injections race.
    const created = await Promise.all(
      names.map((n) =>
        kubectlAsync(["apply", "-n", ns, ...MALLORY, "-f", "-"], { input: session(n, { targetPod: "pair" }) }),
      ),
    );
    expect(created.map((r) => r.stderr)).toEqual(names.map(() => ""));
    await waitFor(
      () => names.every((n) => sessionStatus(ns, n).phase === "Running"),
      90_000,
      `all of ${names.join(", ")} Running`,
    );
    expect(debuggersIn(ns, "pair")).toHaveLength(names.length);
  });

  it("cannot read a ConfigMap through env: configMapKeyRef is refused at apply time", () => {
    kubectlOk(["-n", ns, "create", "configmap", "app-config", "--from-literal=token=cm-value"]);
    const env = [{ name: "T", valueFrom: { configMapKeyRef: { name: "app-config", key: "token" } } }];
    const r = asMallory(["apply", "-f", "-"], session("cm-env", { env }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "environment variables from ConfigMaps (env[].valueFrom.configMapKeyRef) are not allowed",
    );
    expect(kubectl(["-n", ns, "get", "dbg", "cm-env"]).code).not.toBe(0);
  });

  it("cannot read the debugger's output through the session's status (termination message)", async () => {
    const name = "leak";
    // Printed by the shell, absent from the spec: the arithmetic happens only in the debugger.
    const marker = "leak-42-marker";
    const manifest = session(name, { command: ["sh", "-c", "echo leak-$((6*7))-marker; exit 3"] });
    expect(asMallory(["apply", "-f", "-"], manifest).stderr).toBe("");
    await waitFor(() => sessionStatus(ns, name).containerState?.state === "terminated", 60_000, "the debugger exited");
    const seen = asMallory(["get", "dbg", name, "-o", "json"]).stdout;
    expect(JSON.parse(seen)).toMatchObject({ status: { containerState: { exitCode: 3 } } });
    expect(seen).not.toContain(marker);
  });

  it("ten sessions applied together under maxSessionsPerPod 1 put exactly one debugger in the pod", async () => {
    createBarePod(ns, "crowded");
    kubectlOk(["-n", ns, "label", "pod", "crowded", "app=web"]);
    const names = Array.from({ length: 10 }, (_, i) => `crowd-${i}`);
    const created = await Promise.all(
      names.map((n) =>
        kubectlAsync(["apply", "-n", ns, ...MALLORY, "-f", "-"], {
          input: session(n, { targetPod: "crowded", policy: "single" }),
        }),
      ),
    );
    expect(created.map((r) => r.stderr)).toEqual(names.map(() => ""));
    await waitFor(
      () => names.every((n) => ["Running", "Failed"].includes(sessionStatus(ns, n).phase ?? "")),
      120_000,
      "every crowd session Running or Failed",
    );
    const phases = names.map((n) => sessionStatus(ns, n).phase);
    expect(phases.filter((p) => p === "Running")).toHaveLength(1);
    expect(debuggersIn(ns, "crowded")).toHaveLength(1);
    const denied = names.find((n) => sessionStatus(ns, n).phase === "Failed")!;
    expect(sessionStatus(ns, denied).message).toContain("TooManySessions");
  });

  it("a container that merely bears the session's name is not adopted, and deleting the session spares its pod", async () => {
    createBarePod(ns, "lookalike");
    const name = "collide";
    expect(asMallory(["apply", "-f", "-"], session(name, { targetPod: "lookalike" })).stderr).toBe("");
    await waitFor(() => sessionStatus(ns, name).phase === "Failed", 60_000, "the session denied (pod not selected)");
    // Stands in for a collision: an admin puts a container of exactly the session's name into the pod.
    const s = JSON.parse(kubectlOk(["-n", ns, "get", "dbg", name, "-o", "json"])) as DebugSession;
    const container = {
      name: ephemeralContainerName(s),
      image: testImage,
      imagePullPolicy: "IfNotPresent",
      command: ["sleep", "3600"],
    };
    kubectlOk([
      "-n",
      ns,
      "patch",
      "pod",
      "lookalike",
      "--subresource=ephemeralcontainers",
      "--type=strategic",
      "-p",
      JSON.stringify({ spec: { ephemeralContainers: [container] } }),
    ]);
    // A change of the session's metadata wakes the operator for it.
    asMallory(["annotate", "dbg", name, "nudge=1"]);
    await new Promise((r) => setTimeout(r, 5_000));
    expect(sessionStatus(ns, name).phase).toBe("Failed");
    expect(podJson(ns, "lookalike")?.metadata.labels?.["debugging.dev/session"]).toBeUndefined();
    const uid = podJson(ns, "lookalike")!.metadata.uid;
    expect(asMallory(["delete", "dbg", name, "--wait=true", "--timeout=60s"]).code).toBe(0);
    expect(podJson(ns, "lookalike")?.metadata).toMatchObject({ uid });
    expect(podJson(ns, "lookalike")?.metadata.deletionTimestamp).toBeUndefined();
  });

  it.each([
    ["seccomp Unconfined", { securityContext: { seccompProfile: { type: "Unconfined" } } }],
    ["AppArmor Unconfined", { securityContext: { appArmorProfile: { type: "Unconfined" } } }],
    ["SELinux spc_t", { securityContext: { seLinuxOptions: { type: "spc_t" } } }],
    ["restricted undone by runAsNonRoot: false", { profile: "restricted", securityContext: { runAsNonRoot: false } }],
    [
      "restricted undone by allowPrivilegeEscalation",
      { profile: "restricted", securityContext: { allowPrivilegeEscalation: true } },
    ],
  ])("cannot loosen the profile: %s is refused at apply time", (_what, spec) => {
    const r = asMallory(["apply", "-f", "-"], session("loosen", spec));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("spec.securityContext loosens what profile");
  });

  it("a pod that shares the node (hostPID) is not debugged under a policy that allows no privileged targets", async () => {
    createBarePod(ns, "host-pid", { hostPID: true });
    kubectlOk(["-n", ns, "label", "pod", "host-pid", "app=web"]);
    const name = "into-host-pid";
    expect(asMallory(["apply", "-f", "-"], session(name, { targetPod: "host-pid" })).stderr).toBe("");
    await waitFor(() => sessionStatus(ns, name).phase === "Failed", 60_000, "the session denied");
    expect(sessionStatus(ns, name).message).toContain("PrivilegedTarget");
    expect(sessionStatus(ns, name).message).toContain("hostPID: true");
    expect(debuggersIn(ns, "host-pid")).toEqual([]);
  });

  it("a bare image ID is refused at apply time even under allowedImages: [**]", () => {
    const image = `sha256:${"0".repeat(63)}1`;
    const r = asMallory(["apply", "-f", "-"], session("bare-id", { image, policy: "wildcard" }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("is a bare image ID");
  });

  it("the Docker Hub full spelling of an allowed image is allowed at apply time and runs", async () => {
    const name = "full-spelling";
    const manifest = session(name, { image: `docker.io/library/${testImage}`, targetPod: "crowded" });
    const r = asMallory(["apply", "-f", "-"], manifest);
    expect(r.stderr).toBe("");
    await waitFor(() => sessionStatus(ns, name).phase === "Running", 60_000, "the session Running");
  });

  it("under a policy that allows only Evict, expiryAction Delete is refused and deleting the session respects the budget", async () => {
    const refused = asMallory(["apply", "-f", "-"], session("wants-delete", { expiryAction: "Delete" }));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("spec.expiryAction Delete is not allowed");

    createBarePod(ns, "guarded");
    kubectlOk(["-n", ns, "label", "pod", "guarded", "app=web", "guard=yes"]);
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input:
        'apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: guard}\nspec:\n  minAvailable: 1\n  selector: {matchLabels: {guard: "yes"}}\n',
    });
    await waitFor(
      () => kubectlOk(["-n", ns, "get", "pdb", "guard", "-o", "jsonpath={.status.observedGeneration}"]) !== "",
      60_000,
      "the budget observed",
    );
    const name = "guarded-session";
    expect(asMallory(["apply", "-f", "-"], session(name, { targetPod: "guarded" })).stderr).toBe("");
    await waitFor(() => sessionStatus(ns, name).phase === "Running", 60_000, "the session Running");
    const uid = podJson(ns, "guarded")!.metadata.uid;
    expect(asMallory(["delete", "dbg", name, "--wait=false"]).code).toBe(0);
    await waitFor(
      () =>
        kubectlOk([
          "-n",
          ns,
          "get",
          "events",
          "--field-selector",
          `involvedObject.name=${name}`,
          "-o",
          "jsonpath={.items[*].reason}",
        ]).includes("EvictionBlocked"),
      60_000,
      "the refused eviction reported",
    );
    expect(podJson(ns, "guarded")?.metadata).toMatchObject({ uid });
    expect(podJson(ns, "guarded")?.metadata.deletionTimestamp).toBeUndefined();
    expect(kubectl(["-n", ns, "get", "dbg", name]).code).toBe(0);
    // Once the budget allows it, the pod is evicted and the session goes.
    kubectlOk(["-n", ns, "delete", "pdb", "guard"]);
    await waitFor(() => kubectl(["-n", ns, "get", "dbg", name]).code !== 0, 120_000, "the session gone");
  });

  it("cannot make one session huge: lists and strings past the schema's bounds are refused at apply time", () => {
    const tooMany = asMallory(
      ["apply", "-f", "-"],
      session("huge-args", { args: Array.from({ length: 33 }, () => "a") }),
    );
    expect(tooMany.code).not.toBe(0);
    expect(tooMany.stderr).toMatch(/spec\.args: Too many: 33: must have at most 32 items/);
    const tooLong = asMallory(
      ["apply", "-f", "-"],
      session("huge-env", { env: [{ name: "A", value: "v".repeat(1025) }] }),
    );
    expect(tooLong.code).not.toBe(0);
    expect(tooLong.stderr).toMatch(/spec\.env\[0\]\.value: Too long/);
  });

  it("no pod outside the policy's selector gained a debugger, and a new allowed session still runs", async () => {
    expect(debuggersIn(ns, "bystander")).toEqual([]);
    expect(debuggersIn(ns, "host-pid")).toEqual([]);
    expect(asMallory(["apply", "-f", "-"], session("still-served")).stderr).toBe("");
    await waitFor(() => sessionStatus(ns, "still-served").phase === "Running", 60_000, "a new session Running");
  });
});
