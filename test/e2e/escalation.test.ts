// Escalation attempts by a requester who holds exactly the shipped roles (debugsession-requester and
// debugpolicy-user in one namespace) and no right on pods, impersonated on the real apiserver, against
// the operator running as its ServiceAccount. An attempt counts as denied only if it is refused at apply
// time, ends with no new debugger anywhere, or (identity) records the real requester. The classes and
// their defences: docs/security.md, "Escalation paths and their defences".
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionLabelValue } from "../../src/controller/container.ts";
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
---
${userRoleBinding("mallory-requester", "mallory", "debugsession-requester")}---
${userRoleBinding("mallory-policy-user", "mallory", "debugpolicy-user")}`,
    });
    createBarePod(ns, "web");
    kubectlOk(["-n", ns, "label", "pod", "web", "app=web"]);
    createBarePod(ns, "bystander");
    operator = startOperator();
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

  it("no pod outside the policy's selector gained a debugger, and a new allowed session still runs", async () => {
    expect(debuggersIn(ns, "bystander")).toEqual([]);
    expect(asMallory(["apply", "-f", "-"], session("still-served")).stderr).toBe("");
    await waitFor(() => sessionStatus(ns, "still-served").phase === "Running", 60_000, "a new session Running");
  });
});
