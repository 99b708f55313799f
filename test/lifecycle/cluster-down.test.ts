// make cluster-down on a node-tier cluster that has running pods and an ephemeral container leaves no
// process, mount, network namespace, veth or cgroup of the cluster behind.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { describe, expect, it } from "vitest";

const repo = new URL("../..", import.meta.url).pathname;
const clusterDir = process.env.CLUSTER_DIR ?? "/var/lib/debugsession-cluster";
const env = { ...process.env, CLUSTER_TIER: "node" };

function sh(cmd: string): string {
  return execFileSync("bash", ["-c", cmd], { encoding: "utf8", env, timeout: 600_000 });
}

/** Processes whose executable is one of the cluster's components (found by name only to check, never to kill). */
function clusterProcesses(): string[] {
  const names = new Set([
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "containerd",
    "containerd-shim-runc-v2",
  ]);
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      if (names.has(comm) || comm.startsWith("containerd-shim")) found.push(`${pid}:${comm}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

describe("make cluster-down", () => {
  it("leaves no process, mount, network namespace, veth or cgroup behind", () => {
    sh(`${repo}/hack/cluster-up.sh`);
    const kubectl = `${sh(`${repo}/hack/cluster-env.sh`).match(/PATH=([^:]+):/)?.[1]}/kubectl --kubeconfig ${clusterDir}/admin.kubeconfig`;
    // Something for teardown to clean: a running pod (sandbox, overlay mounts, a pod netns, volumes)
    // with an ephemeral container.
    const ns = `lifecycle-${Date.now()}`;
    sh(`${kubectl} create namespace ${ns}`);
    for (let i = 0; i < 60 && spawnSync("bash", ["-c", `${kubectl} -n ${ns} get sa default`]).status !== 0; i++)
      spawnSync("sleep", ["0.5"]);
    sh(
      `${kubectl} -n ${ns} run web --image=busybox:local --image-pull-policy=IfNotPresent --restart=Never -- httpd -f -p 8080`,
    );
    sh(`${kubectl} -n ${ns} wait --for=condition=Ready pod/web --timeout=120s`);
    sh(
      `${kubectl} -n ${ns} debug web --image=busybox:local --image-pull-policy=IfNotPresent --target=web -c dbg -- sleep 3600`,
    );
    expect(clusterProcesses().length).toBeGreaterThan(5);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).toContain(clusterDir);

    sh(`${repo}/hack/cluster-down.sh`);

    expect(clusterProcesses()).toEqual([]);
    const mounts = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .filter((l) => l.includes(clusterDir));
    expect(mounts).toEqual([]);
    const netns = existsSync("/var/run/netns") ? readdirSync("/var/run/netns") : [];
    expect(netns.filter((n) => n === "dbgsess-node" || n.startsWith("cni-"))).toEqual([]);
    expect(
      sh("ip -o link show")
        .split("\n")
        .filter((l) => l.includes("dbgsess")),
    ).toEqual([]);
    const cgroups = readdirSync("/sys/fs/cgroup").filter((h) => existsSync(`/sys/fs/cgroup/${h}/dbgsess`));
    expect(cgroups).toEqual([]);
    expect(existsSync(clusterDir)).toBe(false);
  });

  it("is harmless when nothing is running", () => {
    expect(() => sh(`${repo}/hack/cluster-down.sh`)).not.toThrow();
  });
});
