// A connection to the apiserver that goes silent (a proxy or load balancer that lost its state, a
// partition that drops packets) must cost one request timeout, not every request after it, and must not
// keep a leader leading past its renew deadline. A proxy of the test's own freezes the connections
// (test/support/stalling-proxy.ts); the fault suite (test/faults/) shows the same for the whole operator.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1NamespaceList } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LeaseApi } from "../../src/runtime/kube/api.ts";
import { KubeClient } from "../../src/runtime/kube/client.ts";
import { loadClusterAccess } from "../../src/runtime/kube/config.ts";
import { LeaderElector } from "../../src/runtime/leader.ts";
import { createNamespace, deleteNamespace, kubeconfigPath, waitFor } from "../support/kube.ts";
import { StallingProxy } from "../support/stalling.ts";

describe("a frozen connection to the apiserver", () => {
  let ns: string;
  let proxy: StallingProxy | undefined;
  const dir = mkdtempSync(join(tmpdir(), "stalled-"));
  const electors: LeaderElector[] = [];
  beforeAll(() => {
    ns = createNamespace("stalled");
  });
  afterEach(async () => {
    await Promise.all(electors.splice(0).map((e) => e.stop()));
    await proxy?.close();
  });
  afterAll(() => {
    deleteNamespace(ns);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A KubeClient whose connections go through a new proxy. */
  async function throughProxy(requestTimeoutMs: number): Promise<KubeClient> {
    const text = readFileSync(kubeconfigPath(), "utf8");
    const server = /server: *"?https:\/\/([^:"\s]+):(\d+)/.exec(text);
    if (!server) throw new Error("no server in the suite's kubeconfig");
    proxy = new StallingProxy({ host: server[1]!, port: Number(server[2]) });
    const port = await proxy.port;
    // The apiserver's certificate names 127.0.0.1.
    const kubeconfig = join(dir, `kubeconfig-${port}`);
    writeFileSync(kubeconfig, text.replace(server[0], `server: https://127.0.0.1:${port}`));
    return new KubeClient(loadClusterAccess({ kubeconfig }), requestTimeoutMs);
  }

  it("fails the request caught on it at the request timeout, and the next one goes through", async () => {
    const client = await throughProxy(5_000);
    const list = () =>
      client.request<V1NamespaceList>({ method: "GET", path: "/api/v1/namespaces", query: { limit: 1 } });
    await list();
    expect(await proxy!.stall(), "connections frozen").toBe(1);
    // The next request goes out on the kept-alive connection, now frozen: without the deadline it
    // would wait for ever; the timeout destroys that connection, and the one after opens a new one.
    const started = Date.now();
    await expect(list()).rejects.toThrow(/no answer within 5000 ms/);
    expect(Date.now() - started).toBeLessThan(10_000);
    const again = await list();
    expect(again.items.length).toBe(1);
  });

  it("makes a leader whose renewal hangs lose at the renew deadline, long before the request times out", async () => {
    const api = new LeaseApi(await throughProxy(60_000));
    const events: string[] = [];
    const elector = new LeaderElector({
      api,
      namespace: ns,
      name: "frozen",
      identity: "a",
      log: pino({ level: "silent" }),
      leaseDurationMs: 10_000,
      renewDeadlineMs: 5_000,
      retryPeriodMs: 300,
      onStartedLeading: () => events.push("leads"),
      onStoppedLeading: () => events.push("lost"),
    });
    electors.push(elector);
    void elector.run();
    await waitFor(() => elector.isLeader(), 10_000, "a to lead");
    await proxy!.stall();
    // The renewal hangs for the 60 s request timeout; 15 s is three renew deadlines.
    await waitFor(() => events.includes("lost"), 15_000, "a to lose leadership while its renewal hangs");
    expect(elector.isLeader()).toBe(false);
    expect(events).toEqual(["leads", "lost"]);
  });
});
