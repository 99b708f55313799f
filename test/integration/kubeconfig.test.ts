// API calls through PooledKubeConfig share connections; through the library's own KubeConfig
// (client-node 2.0.1) each call opens one. The second case documents why the first exists: when
// an upgrade of client-node makes it fail, the workaround in src/runtime/kubeconfig.ts can go.
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { PooledKubeConfig } from "../../src/runtime/kubeconfig.ts";
import { kubeconfigPath } from "../support/kube.ts";

/** TCP connections of this process to the apiserver's port, from /proc. */
function connectionsTo(port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed while we looked
    }
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let n = 0;
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[2] remote address:port, f[3] state (01 = ESTABLISHED), f[9] inode
      if (f.length > 9 && f[2]!.endsWith(`:${hexPort}`) && f[3] === "01" && inodes.has(f[9]!)) n++;
    }
  }
  return n;
}

async function callsThenConnections(kc: KubeConfig, calls: number): Promise<number> {
  kc.loadFromFile(kubeconfigPath());
  const port = Number(new URL(kc.getCurrentCluster()!.server).port || 443);
  const before = connectionsTo(port);
  const core = kc.makeApiClient(CoreV1Api);
  for (let i = 0; i < calls; i++) await core.readNamespace({ name: "default" });
  return connectionsTo(port) - before;
}

describe("connections to the apiserver", () => {
  it("PooledKubeConfig makes 30 calls over one connection", async () => {
    expect(await callsThenConnections(new PooledKubeConfig(), 30)).toBe(1);
  });

  it("the library's KubeConfig opens a connection per call (why PooledKubeConfig exists)", async () => {
    expect(await callsThenConnections(new KubeConfig(), 30)).toBeGreaterThanOrEqual(20);
  });
});
