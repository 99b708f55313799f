// Copy mode (README "Copy mode: debug a copy, not the pod"): the operator copies a crash-looping pod
// with another command, injects the debugger into the copy, and deletes the copy at expiresAt or with
// the session. The source pod is never written: same UID, no debugger, no mark of ours. A policy that
// does not allow Copy, or a copy option, fails the session before any pod is created.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allowAllPolicy,
  createNamespace,
  deleteNamespace,
  installCRDs,
  kubectl,
  kubectlOk,
  permissivePolicyYaml,
  startOperator,
  testImage,
  waitFor,
  type Operator,
} from "../support/kube.ts";
import { sessionInPhase, sessionStatus, type SessionView } from "../support/workloads.ts";

const SESSION_LABEL = "debugging.dev/session";
const SESSION_UID_LABEL = "debugging.dev/session-uid";

interface PodView {
  metadata: {
    name: string;
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
    deletionTimestamp?: string;
  };
  spec: {
    shareProcessNamespace?: boolean;
    serviceAccountName?: string;
    containers: Array<{ name: string; command?: string[]; args?: string[]; livenessProbe?: unknown }>;
    ephemeralContainers?: Array<{ name: string; targetContainerName?: string }>;
  };
  status?: { containerStatuses?: Array<{ name: string; restartCount: number }> };
}

interface Source {
  name: string;
  uid: string;
  restartCount: number;
}

const getPod = (ns: string, name: string): PodView | undefined => {
  const out = kubectlOk(["-n", ns, "get", "pod", name, "--ignore-not-found", "-o", "json"]);
  return out.trim() ? (JSON.parse(out) as PodView) : undefined;
};

const restartCount = (pod: PodView): number =>
  pod.status?.containerStatuses?.find((c) => c.name === "app")?.restartCount ?? 0;

const copyStatus = (ns: string, name: string): SessionView & { sourcePod?: string } => sessionStatus(ns, name);

/** The copy's name by the contract: `<session>-copy-<first 12 hex digits of sha256(session UID)>`. */
const expectedCopyName = (ns: string, session: string): string => {
  const uid = kubectlOk(["-n", ns, "get", "dbg", session, "-o", "jsonpath={.metadata.uid}"]);
  expect(uid).not.toBe("");
  return `${session}-copy-${createHash("sha256").update(uid).digest("hex").slice(0, 12)}`.slice(0, 63);
};

const ownMarks = (pod: PodView): string[] =>
  [...Object.keys(pod.metadata.labels ?? {}), ...Object.keys(pod.metadata.annotations ?? {})].filter((k) =>
    k.startsWith("debugging.dev/"),
  );

function copySession(
  name: string,
  o: { copy?: string; policy?: string; ttl?: string; command?: string[]; interactive?: boolean },
  targetPod: string,
): string {
  return `apiVersion: debugging.dev/v1alpha1
kind: DebugSession
metadata: {name: ${name}}
spec:
  mode: Copy
  targetPod: ${targetPod}
  targetContainer: app
${o.copy ? `  copy: ${o.copy}\n` : ""}${o.policy ? `  policy: ${o.policy}\n` : ""}  image: ${testImage}
  imagePullPolicy: IfNotPresent
  command: ${JSON.stringify(o.command ?? ["sleep", "3600"])}
${(o.interactive ?? false) ? "  stdin: true\n  tty: true\n" : ""}  ttl: ${o.ttl ?? "10m"}
`;
}

describe("copy mode: debug a copy of a crash-looping pod", () => {
  let ns: string;
  let operator: Operator | undefined;
  let source: Source;
  /** The first session's copy, kept until its expiry (the last test). */
  let copy: { name: string; uid: string };

  /** The source as recorded: the same pod (its restarts not reset), no debugger, no mark of ours. */
  const expectSourceUntouched = (): void => {
    const pod = getPod(ns, source.name);
    expect(pod, `source ${source.name} still exists`).toBeDefined();
    expect(pod!.metadata.uid).toBe(source.uid);
    expect(pod!.spec.ephemeralContainers ?? []).toEqual([]);
    expect(ownMarks(pod!)).toEqual([]);
    expect(restartCount(pod!)).toBeGreaterThanOrEqual(source.restartCount);
  };

  const failedSession = (name: string): Promise<SessionView> => sessionInPhase(ns, name, "Failed");

  const podsOfSession = (name: string): string =>
    kubectlOk(["-n", ns, "get", "pods", "-l", `${SESSION_LABEL}=${name}`, "-o", "name"]).trim();

  beforeAll(async () => {
    installCRDs();
    ns = createNamespace("copy");
    // default: Copy with a replaced command, nothing else of spec.copy.
    allowAllPolicy(ns, "  allowedModes: [Ephemeral, Copy]\n  copy: {allowCommand: true}\n");
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: `${permissivePolicyYaml("ephemeral-only")}---
apiVersion: apps/v1
kind: Deployment
metadata: {name: crash}
spec:
  replicas: 1
  selector: {matchLabels: {app: crash}}
  template:
    metadata: {labels: {app: crash}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: app
        image: ${testImage}
        imagePullPolicy: IfNotPresent
        command: [sh, -c, "exit 1"]
        livenessProbe: {exec: {command: ["true"]}, periodSeconds: 30}
`,
    });
    operator = startOperator([], { namespace: ns });
    // rollout status never completes for a crash loop: wait for the first restart instead.
    source = await waitFor(
      () => {
        const list = JSON.parse(kubectlOk(["-n", ns, "get", "pods", "-l", "app=crash", "-o", "json"])) as {
          items: PodView[];
        };
        const pod = list.items.find((p) => !p.metadata.deletionTimestamp && restartCount(p) >= 1);
        return pod && { name: pod.metadata.name, uid: pod.metadata.uid, restartCount: restartCount(pod) };
      },
      120_000,
      "the crash pod to restart once",
    );
  });
  afterAll(async () => {
    await operator?.stop();
    deleteNamespace(ns);
  });

  it("copies the crash-looping pod with another command; the debugger sees the copy's processes and files", () => {
    const applied = Date.now();
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: copySession(
        "copy-crash",
        {
          copy: `{command: ${JSON.stringify(["sh", "-c", "echo copied-fs > /marker; exec sleep 7200"])}}`,
          command: ["sh"],
          interactive: true,
          ttl: "90s",
        },
        source.name,
      ),
    });
    kubectlOk(["-n", ns, "wait", "--for=condition=Ready", "debugsession/copy-crash", "--timeout=90s"]);
    console.log(`apply -> Ready (copy created, started, debugger injected): ${Date.now() - applied} ms`);

    const status = copyStatus(ns, "copy-crash");
    const copyName = expectedCopyName(ns, "copy-crash");
    expect(status.phase).toBe("Running");
    expect(status.pod).toBe(copyName);
    expect(status.pod).not.toBe(source.name);
    expect(status.pod).toMatch(/-copy-[0-9a-f]{12}$/);
    expect(status.sourcePod).toBe(source.name);
    expect(Date.parse(status.expiresAt!) - Date.parse(status.injectedAt!)).toBe(90_000);

    const pod = getPod(ns, copyName);
    expect(pod, "the copy exists").toBeDefined();
    if (!pod) return;
    copy = { name: copyName, uid: pod.metadata.uid };
    expect(status.targetPodUID).toBe(pod.metadata.uid);
    expect(status.attachCommand).toBe(`kubectl attach -it ${copyName} -c ${status.containerName} -n ${ns}`);
    const uid = kubectlOk(["-n", ns, "get", "dbg", "copy-crash", "-o", "jsonpath={.metadata.uid}"]);
    expect(pod.metadata.labels).toEqual({ [SESSION_LABEL]: "copy-crash", [SESSION_UID_LABEL]: uid });
    expect(pod.metadata.ownerReferences ?? []).toEqual([]);
    expect(pod.metadata.annotations).toMatchObject({
      "debugging.dev/copy-of": source.name,
      "debugging.dev/copy-of-uid": source.uid,
      "debugging.dev/tainted-by": "copy-crash",
    });
    expect(pod.spec.shareProcessNamespace).toBe(true);
    expect(pod.spec.serviceAccountName).toBe(getPod(ns, source.name)!.spec.serviceAccountName);
    const app = pod.spec.containers.find((c) => c.name === "app")!;
    expect(app.command).toEqual(["sh", "-c", "echo copied-fs > /marker; exec sleep 7200"]);
    expect(app.args).toBeUndefined();
    expect(app.livenessProbe, "probes are dropped from the copy").toBeUndefined();
    expect(pod.spec.ephemeralContainers).toHaveLength(1);
    expect(pod.spec.ephemeralContainers![0]!.name).toBe(status.containerName);
    expect(pod.spec.ephemeralContainers![0]!.targetContainerName).toBeUndefined();
    // No Deployment label: the copy is no pod of the Deployment's.
    expect(kubectlOk(["-n", ns, "get", "pods", "-l", "app=crash", "-o", "name"]).trim()).toBe(`pod/${source.name}`);

    const exec = (...cmd: string[]): string =>
      kubectlOk(["-n", ns, "exec", copyName, "-c", status.containerName!, "--", ...cmd]);
    expect(exec("ps", "-o", "pid,args")).toContain("sleep 7200");
    // The pod sandbox of this cluster runs `sleep 3600` (hack/images.sh): the target sleeps 7200, found by that.
    const target = '$(ps -o pid,args | awk \'$2 == "sleep" && $3 == "7200" {print $1}\')';
    expect(exec("sh", "-c", `cat /proc/${target}/root/marker`).trim()).toBe("copied-fs");

    expectSourceUntouched();
  });

  it("fails a Copy session under a policy that allows only Ephemeral, and creates no pod", async () => {
    const applied = Date.now();
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: copySession("copy-not-allowed", { policy: "ephemeral-only" }, source.name),
    });
    const s = await failedSession("copy-not-allowed");
    console.log(`apply -> Failed (ModeNotAllowed): ${Date.now() - applied} ms`);
    expect(s.message).toContain("ModeNotAllowed");
    expect(s.message).toContain("spec.allowedModes");
    expect(s.conditions?.find((c) => c.type === "Injected")).toMatchObject({
      status: "False",
      reason: "PolicyViolation",
    });
    // Give a wrongly created copy time to show.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(podsOfSession("copy-not-allowed")).toBe("");
    expectSourceUntouched();
  });

  it("fails a Copy session asking for spec.copy.image under a policy without allowImage", async () => {
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: copySession("copy-image", { copy: `{image: "${testImage}"}` }, source.name),
    });
    const s = await failedSession("copy-image");
    expect(s.message).toContain("CopyOptionNotAllowed");
    expect(s.message).toContain("spec.copy.image");
    expect(s.message).toContain("spec.copy.allowImage");
    expect(s.message).not.toContain("ModeNotAllowed");
    expect(s.conditions?.find((c) => c.type === "Injected")).toMatchObject({
      status: "False",
      reason: "PolicyViolation",
    });
    await new Promise((r) => setTimeout(r, 2_000));
    expect(podsOfSession("copy-image")).toBe("");
    expectSourceUntouched();
  });

  it("makes no copy that NetworkPolicies would restrict less than its source; makes it once a policy restricts copies", async () => {
    // The source may send only to app=db; the copy carries none of its labels, so this policy would not
    // restrict the copy, which could then send anywhere.
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: crash-egress}
spec:
  podSelector: {matchLabels: {app: crash}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {app: db}}}]}]
`,
    });
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: copySession("copy-open", { copy: `{command: [sleep, "3600"]}` }, source.name),
    });
    const refused = await failedSession("copy-open");
    expect(refused.conditions?.find((c) => c.type === "Injected")?.reason).toBe("CopyLessRestricted");
    expect(refused.message).toContain("restricted for Egress by NetworkPolicy crash-egress");
    expect(podsOfSession("copy-open")).toBe("");

    // A policy for copies (only they carry the session-uid label) with no rules: they reach nothing.
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: copies-closed}
spec:
  podSelector: {matchExpressions: [{key: ${SESSION_UID_LABEL}, operator: Exists}]}
  policyTypes: [Ingress, Egress]
`,
    });
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: copySession("copy-closed", { copy: `{command: [sleep, "3600"]}` }, source.name),
    });
    kubectlOk(["-n", ns, "wait", "--for=condition=Ready", "debugsession/copy-closed", "--timeout=90s"]);
    // The apiserver's own selector semantics: the policy for copies selects this copy.
    const selected = kubectlOk(["-n", ns, "get", "pods", "-l", SESSION_UID_LABEL, "-o", "name"]);
    expect(selected).toContain(`pod/${expectedCopyName(ns, "copy-closed")}`);
    kubectlOk(["-n", ns, "delete", "dbg", "copy-open", "copy-closed", "--wait=true", "--timeout=60s"]);
    kubectlOk(["-n", ns, "delete", "networkpolicy", "crash-egress", "copies-closed"]);
    expectSourceUntouched();
  });

  it("deletes the copy, then the session, when a Running Copy session is deleted", async () => {
    const applied = Date.now();
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: copySession("copy-deleted", { copy: `{command: [sleep, "3600"]}` }, source.name),
    });
    const copyName = expectedCopyName(ns, "copy-deleted");
    // status.pod names the copy from the first status write on.
    const first = await waitFor(
      () => {
        const s = copyStatus(ns, "copy-deleted");
        return s.phase ? s : undefined;
      },
      30_000,
      "the first status write",
      100,
    );
    expect(first.pod).toBe(copyName);
    kubectlOk(["-n", ns, "wait", "--for=condition=Ready", "debugsession/copy-deleted", "--timeout=90s"]);
    console.log(`apply -> Ready: ${Date.now() - applied} ms`);
    expect(copyStatus(ns, "copy-deleted").sourcePod).toBe(source.name);
    const uid = getPod(ns, copyName)!.metadata.uid;

    const deleted = Date.now();
    kubectlOk(["-n", ns, "delete", "dbg", "copy-deleted", "--wait=true", "--timeout=60s"]);
    expect(kubectl(["-n", ns, "get", "dbg", "copy-deleted"]).code).not.toBe(0);
    // The finalizer deletes the copy before it lets the session go.
    const after = getPod(ns, copyName);
    expect(!after || after.metadata.uid !== uid || after.metadata.deletionTimestamp !== undefined).toBe(true);
    await waitFor(() => getPod(ns, copyName) === undefined, 60_000, "the copy to be gone");
    console.log(`delete -> copy gone: ${Date.now() - deleted} ms`);
    expect(podsOfSession("copy-deleted")).toBe("");
    expectSourceUntouched();
  });

  it("deletes the copy at expiresAt, not before; the session Expires and the source is untouched", async () => {
    expect(copy, "the first test recorded its copy").toBeDefined();
    const { expiresAt } = copyStatus(ns, "copy-crash");
    const deadline = Date.parse(expiresAt!);
    const pod = getPod(ns, copy.name);
    expect(pod?.metadata.uid, "the copy is still there after the tests before this one").toBe(copy.uid);
    expect(pod!.metadata.deletionTimestamp).toBeUndefined();
    // Otherwise an early removal could not be told from one at expiresAt.
    expect(Date.now(), "the tests before this one ran past expiresAt").toBeLessThan(deadline);

    const removedAt = await waitFor(
      () => {
        const p = getPod(ns, copy.name);
        return !p || p.metadata.uid !== copy.uid || p.metadata.deletionTimestamp ? Date.now() : undefined;
      },
      deadline - Date.now() + 60_000,
      "the copy to be removed",
      100,
    );
    expect(removedAt).toBeGreaterThanOrEqual(deadline);
    console.log(`copy removal seen ${removedAt - deadline} ms after expiresAt (polled every 100 ms)`);

    await waitFor(() => copyStatus(ns, "copy-crash").phase === "Expired", 30_000, "phase Expired");
    expect(copyStatus(ns, "copy-crash").conditions?.find((c) => c.type === "Expired")).toMatchObject({
      status: "True",
    });
    await waitFor(() => kubectl(["-n", ns, "get", "pod", copy.name]).code !== 0, 60_000, "the copy to be gone");
    expect(kubectl(["-n", ns, "get", "pod", copy.name]).stderr).toMatch(/NotFound|not found/);
    expectSourceUntouched();
  });
});
