// Vitest global setup shared by the integration and e2e suites. With KUBECONFIG set, the suites run
// against that cluster (any cluster, kind included) and nothing is started. Without it, the local
// cluster is brought up at the tier the suite needs and brought down afterwards, even when tests fail
// (only if this setup started it).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const clusterDir = process.env.CLUSTER_DIR ?? "/var/lib/debugsession-cluster";

function running(component: string): boolean {
  const pidFile = `${clusterDir}/pids/${component}.pid`;
  if (!existsSync(pidFile)) return false;
  try {
    process.kill(Number(readFileSync(pidFile, "utf8").trim()), 0);
    return true;
  } catch {
    return false;
  }
}

export function clusterSetup(tier: "control-plane" | "node") {
  return function setup(project: TestProject): (() => void) | undefined {
    const given = process.env.KUBECONFIG;
    if (given) {
      project.provide("kubeconfig", given);
      project.provide("localCluster", false);
      return undefined;
    }
    const wasUp = running("kube-apiserver") && (tier === "control-plane" || running("kubelet"));
    const env = { ...process.env, CLUSTER_TIER: tier };
    execFileSync(`${repo}/hack/cluster-up.sh`, { stdio: "inherit", env });
    const kubeconfig = `${clusterDir}/admin.kubeconfig`;
    process.env.KUBECONFIG = kubeconfig;
    process.env.PATH = `${execFileSync(`${repo}/hack/cluster-env.sh`, { encoding: "utf8" }).match(/PATH=([^:]+):/)?.[1] ?? ""}:${process.env.PATH ?? ""}`;
    project.provide("kubeconfig", kubeconfig);
    project.provide("localCluster", true);
    if (wasUp) return undefined;
    return () => {
      execFileSync(`${repo}/hack/cluster-down.sh`, { stdio: "inherit" });
    };
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
    localCluster: boolean;
  }
}
