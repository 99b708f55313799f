// Delegated access: alice may create DebugSessions in team-a and use policy p1, and nothing on pods.
// She gets exactly what p1 allows: every other request is refused at apply time with a message naming
// the rule, or becomes a denied session that never touches the pod. Impersonation (--as) on the real
// apiserver; the operator runs as its ServiceAccount with the shipped RBAC.
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
import { createBarePod, podJson, sessionStatus, userRoleBinding } from "../support/workloads.ts";

const ALICE = ["--as", "alice", "--as-group", "team-a-devs"];

function session(name: string, spec: Record<string, unknown>, annotations: Record<string, string> = {}): string {
  return JSON.stringify({
    apiVersion: "debugging.dev/v1alpha1",
    kind: "DebugSession",
    metadata: { name, annotations },
    spec: {
      targetPod: "web",
      image: testImage,
      imagePullPolicy: "IfNotPresent",
      command: ["sleep", "3600"],
      policy: "p1",
      ttl: "10m",
      ...spec,
    },
  });
}

describe("delegated access with DebugPolicy and RBAC", () => {
  let teamA: string;
  let teamB: string;
  let operator: Operator;
  const asAlice = (ns: string, manifest: string) =>
    kubectl(["apply", "-n", ns, ...ALICE, "-f", "-"], { input: manifest });

  beforeAll(() => {
    installCRDs();
    teamA = createNamespace("team-a");
    teamB = createNamespace("team-b");
    kubectlOk(["apply", "-n", teamA, "-f", "-"], {
      input: `apiVersion: debugging.dev/v1alpha1
kind: DebugPolicy
metadata: {name: p1}
spec:
  targetSelector: {matchLabels: {app: web}}
  allowedImages: ["${testImage}", "busybox:*"]
  allowedProfiles: [general, baseline, restricted]
  allowVolumeMounts: true
  maxTTL: 1h
  maxSessionsPerPod: 1
---
apiVersion: debugging.dev/v1alpha1
kind: DebugPolicy
metadata: {name: p2}
spec:
  targetSelector: {}
  allowedImages: ["**"]
  allowedProfiles: [general, baseline, restricted, netadmin, sysadmin]
  allowPrivileged: true
---
${userRoleBinding("alice-requester", "alice", "debugsession-requester")}---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: use-p1}
rules: [{apiGroups: [debugging.dev], resources: [debugpolicies], verbs: [use], resourceNames: [p1]}]
---
${userRoleBinding("alice-use-p1", "alice", "use-p1", "Role")}`,
    });
    createBarePod(teamA, "web");
    kubectlOk(["-n", teamA, "label", "pod", "web", "app=web"]);
    kubectlOk(["-n", teamA, "apply", "-f", "-"], {
      input: `apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: hunter2}
---
apiVersion: v1
kind: Pod
metadata: {name: other, labels: {app: other}}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{name: creds, secret: {secretName: creds}}]
  containers: [{name: web, image: ${testImage}, imagePullPolicy: IfNotPresent, command: [httpd, -f, -p, "8080"], volumeMounts: [{name: creds, mountPath: /creds}]}]
`,
    });
    kubectlOk(["-n", teamA, "wait", "--for=condition=Ready", "pod/other", "--timeout=120s"]);
    operator = startOperator();
  });
  afterAll(async () => {
    await operator?.stop();
    deleteNamespace(teamA);
    deleteNamespace(teamB);
  });

  it("alice has no permission on pods", () => {
    for (const [verb, resource] of [
      ["patch", "pods/ephemeralcontainers"],
      ["create", "pods/exec"],
      ["patch", "pods"],
      ["get", "pods"],
    ]) {
      const [res, sub] = resource!.split("/");
      const r = kubectl([
        "auth",
        "can-i",
        verb!,
        res!,
        "-n",
        teamA,
        ...ALICE,
        ...(sub ? [`--subresource=${sub}`] : []),
      ]);
      expect(r.stdout.trim(), `${verb} ${resource}`).toBe("no");
    }
  });

  it("gets a running debugger in a pod p1 allows, recorded as requested by alice", async () => {
    const r = asAlice(teamA, session("ok", {}));
    expect(r.stderr).toBe("");
    await waitFor(() => sessionStatus(teamA, "ok").phase === "Running", 60_000, "alice's session Running");
    const s = JSON.parse(kubectlOk(["-n", teamA, "get", "dbg", "ok", "-o", "json"])) as {
      metadata: { annotations: Record<string, string> };
      status: { requestedBy: { username: string; groups: string[] } };
    };
    expect(s.status.requestedBy.username).toBe("alice");
    expect(s.status.requestedBy.groups).toContain("team-a-devs");
    expect(kubectlOk(["-n", teamA, "get", "dbg", "ok"])).toMatch(/REQUESTER[\s\S]*alice/);
    expect(podJson(teamA, "web")!.spec.ephemeralContainers).toHaveLength(1);
    const events = kubectlOk([
      "-n",
      teamA,
      "get",
      "events",
      "--field-selector",
      "involvedObject.name=web",
      "-o",
      "jsonpath={.items[*].message}",
    ]);
    expect(events).toContain("requested by alice");
  });

  it.each([
    ["a session in team-b", "teamB", {}, /User "alice" cannot (get|create) resource "debugsessions"/],
    ["naming a policy alice may not use", "teamA", { policy: "p2" }, /user alice may not use DebugPolicy .*\/p2/],
    [
      "an image outside allowedImages",
      "teamA",
      { image: "evil.example/miner:1" },
      /image "evil\.example\/miner:1" is not allowed by DebugPolicy .*\/p1 \(spec\.allowedImages/,
    ],
    [
      "a profile p1 does not allow",
      "teamA",
      { profile: "netadmin" },
      /profile "netadmin" is not allowed by DebugPolicy/,
    ],
    [
      "a privileged securityContext",
      "teamA",
      { securityContext: { privileged: true } },
      /privileged debugger .* not allowed .*spec\.allowPrivileged/,
    ],
    [
      "an added capability p1 does not allow",
      "teamA",
      { securityContext: { capabilities: { add: ["SYS_ADMIN"] } } },
      /added capabilities \[SYS_ADMIN\] are not allowed/,
    ],
    [
      "env from a Secret",
      "teamA",
      { env: [{ name: "P", valueFrom: { secretKeyRef: { name: "creds", key: "password" } } }] },
      /Secrets .* not allowed .*spec\.allowSecretEnv/,
    ],
    ["a ttl above maxTTL", "teamA", { ttl: "3h" }, /spec\.ttl 3h exceeds DebugPolicy .*spec\.maxTTL 1h/],
  ])("refuses %s at apply time", (_what, where, spec, message) => {
    const ns = where === "teamA" ? teamA : teamB;
    const name = `refused-${Math.random().toString(36).slice(2, 8)}`;
    const r = asAlice(ns, session(name, spec));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(kubectl(["-n", ns, "get", "dbg", name]).code).not.toBe(0);
  });

  it.each([
    ["a pod outside targetSelector", "outside", { targetPod: "other" }, "PodNotSelected", "other"],
    [
      "mounting a secret volume",
      "secretvol",
      { targetPod: "other", volumeMounts: [{ name: "creds", mountPath: "/x" }] },
      "SensitiveVolumeNotAllowed",
      "other",
    ],
    ["one session too many on a pod", "second", {}, "TooManySessions", "web"],
  ])("denies %s as a session that never touches the pod", async (_what, name, spec, reason, pod) => {
    const before = podJson(teamA, pod)!.spec.ephemeralContainers?.length ?? 0;
    expect(asAlice(teamA, session(name, spec)).code).toBe(0);
    const s = await waitFor(
      () => {
        const st = sessionStatus(teamA, name);
        return st.phase === "Failed" ? st : undefined;
      },
      30_000,
      `${name} denied`,
    );
    expect(s.message).toContain(reason);
    expect(s.conditions?.find((c) => c.type === "Injected")).toMatchObject({
      status: "False",
      reason: "PolicyViolation",
    });
    expect(s.targetPodUID).toBeUndefined();
    await new Promise((r) => setTimeout(r, 2_000));
    expect(podJson(teamA, pod)!.spec.ephemeralContainers?.length ?? 0).toBe(before);
  });

  it("cannot forge the requester at creation", async () => {
    expect(
      asAlice(
        teamA,
        session(
          "forged",
          { targetPod: "other" },
          { "debugging.dev/requested-by": "bob", "debugging.dev/requested-by-groups": "system:masters" },
        ),
      ).code,
    ).toBe(0);
    const annotations = JSON.parse(
      kubectlOk(["-n", teamA, "get", "dbg", "forged", "-o", "jsonpath={.metadata.annotations}"]),
    ) as Record<string, string>;
    expect(annotations["debugging.dev/requested-by"]).toBe("alice");
    expect(annotations["debugging.dev/requested-by-groups"]).not.toContain("system:masters");
    await waitFor(() => sessionStatus(teamA, "forged").phase, 30_000, "forged session reconciled");
  });

  it("cannot change the recorded requester or write status", () => {
    const change = kubectl([
      "-n",
      teamA,
      "annotate",
      "dbg",
      "ok",
      "--overwrite",
      "debugging.dev/requested-by=bob",
      ...ALICE,
    ]);
    expect(change.code).not.toBe(0);
    expect(change.stderr).toMatch(/record who created the session and cannot be changed/);
    const status = kubectl([
      "-n",
      teamA,
      "patch",
      "dbg",
      "ok",
      "--subresource=status",
      "--type=merge",
      "-p",
      '{"status":{"requestedBy":{"username":"bob"}}}',
      ...ALICE,
    ]);
    expect(status.code).not.toBe(0);
    expect(status.stderr).toMatch(/forbidden/i);
    expect(sessionStatus(teamA, "ok").phase).toBe("Running");
    expect(kubectlOk(["-n", teamA, "get", "dbg", "ok", "-o", "jsonpath={.status.requestedBy.username}"])).toBe("alice");
  });
});
