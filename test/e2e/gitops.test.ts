// A session as GitOps keeps it: it names a workload, not a pod; it carries a deadline a replay cannot
// move; and kstatus, Flux's healthCheckExprs and Argo CD's health script (each run for real, on the
// objects read from this cluster) read every phase as the health table of docs/gitops.md says.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DebugSession } from "../../src/api/types.ts";
import { judge, type Judgement } from "../support/judges.ts";
import {
  allowAllPolicy,
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
import { createWebDeployment, runningPods, sessionStatus } from "../support/workloads.ts";

function session(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: "debugging.dev/v1alpha1",
    kind: "DebugSession",
    metadata: { name },
    spec: { image: testImage, imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"], ...spec },
  });
}

const inSeconds = (s: number): string => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d+Z$/, "Z");

describe("GitOps: workload targets, notAfter, health", () => {
  let ns: string;
  let operator: Operator;
  /** Objects read from the cluster at each phase, judged at the end: [what, object]. */
  const seen: [string, DebugSession][] = [];
  const apply = (manifest: string) => kubectl(["apply", "-n", ns, "-f", "-"], { input: manifest });
  const read = (name: string): DebugSession =>
    JSON.parse(kubectlOk(["-n", ns, "get", "dbg", name, "-o", "json"])) as DebugSession;
  const debuggers = (): Map<string, number> =>
    new Map(
      (
        JSON.parse(kubectlOk(["-n", ns, "get", "pods", "-l", "app=web", "-o", "json"])) as {
          items: Array<{ metadata: { name: string }; spec: { ephemeralContainers?: unknown[] } }>;
        }
      ).items.map((p) => [p.metadata.name, p.spec.ephemeralContainers?.length ?? 0]),
    );

  beforeAll(() => {
    installCRDs();
    ns = createNamespace("gitops");
    allowAllPolicy(ns);
    createWebDeployment(ns, "web", 3);
    operator = startOperator([], { namespace: ns });
  });

  afterAll(async () => {
    await operator?.stop();
    deleteNamespace(ns);
  });

  it("a session naming Deployment web debugs exactly one of its 3 pods, shows which, and expires that pod only", async () => {
    const before = runningPods(ns, "web");
    expect(before).toHaveLength(3);
    // notAfter, not the ttl (at least 1m), brings the expiry close.
    expect(
      apply(session("by-ref", { targetRef: { kind: "Deployment", name: "web" }, notAfter: inSeconds(25) })).stderr,
    ).toBe("");
    seen.push(["just created", read("by-ref")]);
    await waitFor(() => sessionStatus(ns, "by-ref").phase === "Running", 60_000, "the session Running");
    seen.push(["Running", read("by-ref")]);
    const chosen = sessionStatus(ns, "by-ref");
    const target = before.find((p) => p.name === chosen.pod);
    expect(target?.uid).toBe(chosen.targetPodUID);
    expect([...debuggers().entries()].filter(([, n]) => n > 0)).toEqual([[chosen.pod, 1]]);
    const header = kubectlOk(["-n", ns, "get", "dbg", "by-ref"]).split("\n");
    expect(header[1]).toContain(chosen.pod);

    await waitFor(() => sessionStatus(ns, "by-ref").phase === "Expired", 60_000, "the session Expired at notAfter");
    seen.push(["Expired", read("by-ref")]);
    await waitFor(() => !runningPods(ns, "web").some((p) => p.uid === target?.uid), 60_000, "the tainted pod gone");
    const others = before.filter((p) => p.uid !== target?.uid);
    const now = runningPods(ns, "web");
    for (const p of others) expect(now.map((q) => q.uid)).toContain(p.uid);
  });

  it("a rollout restart during the session ends it Terminated without touching the new pods", async () => {
    kubectlOk(["-n", ns, "rollout", "status", "deployment/web", "--timeout=120s"]);
    expect(apply(session("restart", { targetRef: { kind: "Deployment", name: "web" }, ttl: "10m" })).stderr).toBe("");
    await waitFor(() => sessionStatus(ns, "restart").phase === "Running", 60_000, "the session Running");
    const old = new Set(runningPods(ns, "web").map((p) => p.uid));
    kubectlOk(["-n", ns, "rollout", "restart", "deployment/web"]);
    kubectlOk(["-n", ns, "rollout", "status", "deployment/web", "--timeout=180s"]);
    await waitFor(() => sessionStatus(ns, "restart").phase === "Terminated", 90_000, "the session Terminated");
    seen.push(["Terminated", read("restart")]);
    const fresh = runningPods(ns, "web").filter((p) => !old.has(p.uid));
    expect(fresh.length).toBeGreaterThan(0);
    for (const p of fresh) expect(debuggers().get(p.name) ?? 0).toBe(0);
  });

  it("a session whose notAfter has passed is refused at apply time", () => {
    const r = apply(session("replayed", { targetRef: { kind: "Deployment", name: "web" }, notAfter: inSeconds(-60) }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("has passed");
    expect(kubectl(["-n", ns, "get", "dbg", "replayed"]).code).not.toBe(0);
  });

  it("a session whose notAfter passes while it is Pending never injects", async () => {
    const manifest = session("too-late", {
      targetSelector: { matchLabels: { app: "nothing-here" } },
      notAfter: inSeconds(10),
    });
    expect(apply(manifest).stderr).toBe("");
    await waitFor(() => sessionStatus(ns, "too-late").phase === "Pending", 30_000, "the session Pending");
    seen.push(["Pending", read("too-late")]);
    expect(sessionStatus(ns, "too-late").message).toContain("nothing-here");
    await waitFor(() => sessionStatus(ns, "too-late").phase === "Expired", 60_000, "Expired at notAfter");
    expect(sessionStatus(ns, "too-late").conditions?.find((c) => c.type === "Injected")?.reason).toBe("NotAfterPassed");
    expect(sessionStatus(ns, "too-late").targetPodUID).toBeUndefined();
  });

  it("a debugger that cannot start is Injecting, one that exits is Completed; kubectl wait for Ready returns only while one runs", async () => {
    const stuck = { targetRef: { kind: "Deployment", name: "web" }, image: "busybox:absent", imagePullPolicy: "Never" };
    expect(apply(session("stuck", stuck)).stderr).toBe("");
    await waitFor(
      () => sessionStatus(ns, "stuck").phase === "Injecting" && sessionStatus(ns, "stuck").containerState,
      60_000,
      "the session Injecting, waiting",
    );
    seen.push(["Injecting", read("stuck")]);
    expect(
      apply(session("exits", { targetRef: { kind: "Deployment", name: "web" }, command: ["sh", "-c", "exit 0"] }))
        .stderr,
    ).toBe("");
    await waitFor(() => sessionStatus(ns, "exits").phase === "Completed", 60_000, "the session Completed");
    seen.push(["Completed", read("exits")]);
    const wait = (name: string) =>
      kubectl(["-n", ns, "wait", "--for=condition=Ready", `debugsession/${name}`, "--timeout=3s"]);
    expect(wait("exits").code).not.toBe(0);
    expect(wait("by-ref").code).not.toBe(0); // Expired
    expect(apply(session("runs", { targetRef: { kind: "Deployment", name: "web" } })).stderr).toBe("");
    expect(kubectl(["-n", ns, "wait", "--for=condition=Ready", "debugsession/runs", "--timeout=60s"]).code).toBe(0);
    expect(sessionStatus(ns, "runs").phase).toBe("Running");
  });

  it("a failed session reads Failed to kstatus and Flux and Degraded to Argo CD; every phase reads as the table says", async () => {
    expect(
      apply(session("failed", { targetRef: { kind: "Deployment", name: "web" }, targetContainer: "nope" })).stderr,
    ).toBe("");
    await waitFor(() => sessionStatus(ns, "failed").phase === "Failed", 60_000, "the session Failed");
    seen.push(["Failed", read("failed")]);

    const verdicts = await judge(seen.map(([, o]) => o));
    const got = Object.fromEntries(seen.map(([what], i) => [what, brief(verdicts[i]!)]));
    // The first instants (status {} by the CRD's default, or the operator's first one): Flux and Argo CD
    // wait; kstatus reads an object without conditions Current, which nothing in a status can change.
    const first = got["just created"]!;
    expect(first.argo).toBe("Progressing");
    expect(first.flux).toBe("InProgress");
    delete got["just created"];
    expect(got).toEqual({
      Injecting: { kstatus: "InProgress", flux: "InProgress", argo: "Progressing" },
      Completed: { kstatus: "Current", flux: "Current", argo: "Healthy" },
      Running: { kstatus: "Current", flux: "Current", argo: "Healthy" },
      Expired: { kstatus: "Current", flux: "Current", argo: "Healthy" },
      Terminated: { kstatus: "Current", flux: "Current", argo: "Healthy" },
      Pending: { kstatus: "InProgress", flux: "InProgress", argo: "Progressing" },
      Failed: { kstatus: "Failed", flux: "Failed", argo: "Degraded" },
    });
  });
});

const brief = (j: Judgement) => ({ kstatus: j.kstatus.status, flux: j.flux.status, argo: j.argo.status });
