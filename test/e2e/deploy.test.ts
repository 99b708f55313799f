// The operator as it ships: `make deploy-local` builds the image offline, imports it and deploys
// config/local (two replicas, restricted Pod Security, leader election). Sessions work against the
// in-cluster operator, a leader deleted mid-flight is replaced within the minute without a second
// container, and the leader's /metrics move. Runs only on the local cluster (it builds and imports
// an image into its containerd).
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  allowAllPolicy,
  createNamespace,
  deleteNamespace,
  kubectl,
  kubectlOk,
  repoDir,
  waitFor,
} from "../support/kube.ts";
import { applySession, createWebDeployment, podJson, runningPods, sessionStatus } from "../support/workloads.ts";

const SYS = "debugsession-system";
const local = inject("localCluster") || process.env.E2E_LOCAL_CLUSTER === "1";

function leader(): string {
  return kubectlOk(["-n", SYS, "get", "lease", "debugsession-operator", "-o", "jsonpath={.spec.holderIdentity}"]);
}

function metricsOf(pod: string): string {
  return kubectlOk(["get", "--raw", `/api/v1/namespaces/${SYS}/pods/${pod}:8080/proxy/metrics`]);
}

const value = (text: string, series: string): number =>
  Number(
    text
      .split("\n")
      .find((l) => l.startsWith(`${series} `))
      ?.split(" ")[1] ?? 0,
  );

describe.runIf(local)("deployed in the cluster (make deploy-local)", () => {
  let ns: string;
  beforeAll(() => {
    execFileSync(`${repoDir}/hack/deploy-local.sh`, { stdio: "inherit", timeout: 900_000, env: { ...process.env } });
    ns = createNamespace("deployed");
    allowAllPolicy(ns);
    createWebDeployment(ns);
  }, 900_000);
  afterAll(() => {
    deleteNamespace(ns);
    // Leave RBAC and the namespace for the other suites; stop the in-cluster operator so they run alone.
    kubectl(["-n", SYS, "delete", "deployment", "debugsession-operator", "--wait=true", "--timeout=60s"]);
  });

  it("runs two Ready replicas under restricted Pod Security, one of which holds the Lease", async () => {
    expect(
      kubectlOk(["get", "namespace", SYS, "-o", "jsonpath={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}"]),
    ).toBe("restricted");
    const pods = await waitFor(
      () => {
        const out = kubectlOk([
          "-n",
          SYS,
          "get",
          "pods",
          "-l",
          "app.kubernetes.io/name=debugsession-operator",
          "-o",
          "jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type=='Ready')].status}{\"\\n\"}{end}",
        ]);
        const ready = out
          .trim()
          .split("\n")
          .filter((l) => l.endsWith(" True"))
          .map((l) => l.split(" ")[0]!);
        return ready.length === 2 ? ready : undefined;
      },
      120_000,
      "two Ready operator pods",
    );
    const holder = await waitFor(() => leader() || undefined, 60_000, "a Lease holder");
    expect(pods).toContain(holder);
  });

  it("serves the walkthrough: Ready, the target's processes, removal at expiresAt", async () => {
    const target = runningPods(ns, "web")[0]!;
    applySession(ns, "walk", { targetPod: target.name, targetContainer: "web", ttl: "1m", command: ["sh"] });
    kubectlOk(["-n", ns, "wait", "--for=condition=Ready", "debugsession/walk", "--timeout=60s"]);
    const s = sessionStatus(ns, "walk");
    expect(kubectlOk(["-n", ns, "exec", target.name, "-c", s.containerName!, "--", "ps", "-o", "args"])).toContain(
      "httpd -f -p 8080",
    );
    const deadline = Date.parse(s.expiresAt!);
    const removed = await waitFor(
      () => {
        const p = podJson(ns, target.name);
        return !p || p.metadata.uid !== target.uid || p.metadata.deletionTimestamp ? Date.now() : undefined;
      },
      deadline - Date.now() + 60_000,
      "the tainted pod removed",
      100,
    );
    console.log(`in-cluster operator: removal seen ${removed - deadline} ms after expiresAt`);
    expect(removed).toBeGreaterThanOrEqual(deadline);
    await waitFor(() => sessionStatus(ns, "walk").phase === "Expired", 30_000, "Expired");
    const fresh = await waitFor(
      () => runningPods(ns, "web").find((p) => p.uid !== target.uid),
      120_000,
      "a new web pod",
    );
    expect(podJson(ns, fresh.name)!.spec.ephemeralContainers ?? []).toEqual([]);
  });

  it("moves the leader's /metrics after a session", async () => {
    const holder = leader();
    const before = metricsOf(holder);
    expect(value(before, "debugsession_is_leader")).toBe(1);
    const target = await waitFor(() => runningPods(ns, "web")[0], 120_000, "a web pod");
    applySession(ns, "metered", { targetPod: target.name, ttl: "10m", command: ["sleep", "3600"], interactive: false });
    kubectlOk(["-n", ns, "wait", "--for=condition=Ready", "debugsession/metered", "--timeout=60s"]);
    const after = await waitFor(
      () => {
        const t = metricsOf(holder);
        return value(t, "debugsession_injections_total") > value(before, "debugsession_injections_total")
          ? t
          : undefined;
      },
      30_000,
      "injections_total to move",
    );
    expect(value(after, 'debugsession_reconcile_total{result="requeue"}')).toBeGreaterThan(
      value(before, 'debugsession_reconcile_total{result="requeue"}'),
    );
    expect(value(after, 'debugsession_sessions{phase="Running"}')).toBeGreaterThanOrEqual(1);
    const follower = kubectlOk([
      "-n",
      SYS,
      "get",
      "pods",
      "-l",
      "app.kubernetes.io/name=debugsession-operator",
      "-o",
      "jsonpath={.items[*].metadata.name}",
    ])
      .split(" ")
      .find((p) => p !== holder)!;
    expect(value(metricsOf(follower), "debugsession_is_leader")).toBe(0);
    kubectlOk(["-n", ns, "delete", "dbg", "metered", "--wait=true", "--timeout=60s"]);
  });

  it("survives the leader's deletion: a session applied at once is Ready within 60 s with one container", async () => {
    const target = await waitFor(() => runningPods(ns, "web")[0], 120_000, "a web pod");
    const old = leader();
    kubectlOk(["-n", SYS, "delete", "pod", old, "--wait=false"]);
    const applied = Date.now();
    applySession(ns, "failover", {
      targetPod: target.name,
      ttl: "10m",
      command: ["sleep", "3600"],
      interactive: false,
    });
    kubectlOk(["-n", ns, "wait", "--for=condition=Ready", "debugsession/failover", "--timeout=60s"]);
    console.log(`Ready ${Date.now() - applied} ms after the leader was deleted; new leader ${leader()}`);
    expect(leader()).not.toBe(old);
    expect(podJson(ns, target.name)!.spec.ephemeralContainers).toHaveLength(1);
  });
});
