// A connection to the apiserver that goes silent (a proxy or load balancer that lost its state, a
// partition that drops packets) must cost one request timeout, not every request after it, and must not
// keep a leader leading past its renew deadline. A proxy of the test's own freezes the connections
// (test/support/stalling-proxy.ts); the fault suite (test/faults/) shows the same for the whole operator.
import { readFileSync } from "node:fs";
import { CoordinationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PooledKubeConfig } from "../../src/runtime/kubeconfig.ts";
import { LeaderElector } from "../../src/runtime/leader.ts";
import { createNamespace, deleteNamespace, kubeconfigPath, waitFor } from "../support/kube.ts";
import { StallingProxy } from "../support/stalling.ts";

describe("a frozen connection to the apiserver", () => {
  let ns: string;
  let proxy: StallingProxy | undefined;
  const electors: LeaderElector[] = [];
  beforeAll(() => {
    ns = createNamespace("stalled");
  });
  afterEach(async () => {
    await Promise.all(electors.splice(0).map((e) => e.stop()));
    await proxy?.close();
  });
  afterAll(() => deleteNamespace(ns));

  /** A PooledKubeConfig whose connections go through a new proxy. */
  async function throughProxy(requestTimeoutMs: number): Promise<PooledKubeConfig> {
    const text = readFileSync(kubeconfigPath(), "utf8");
    const server = /server: *"?https:\/\/([^:"\s]+):(\d+)/.exec(text);
    if (!server) throw new Error("no server in the suite's kubeconfig");
    proxy = new StallingProxy({ host: server[1]!, port: Number(server[2]) });
    const port = await proxy.port;
    const kc = new PooledKubeConfig(requestTimeoutMs);
    // The apiserver's certificate names 127.0.0.1.
    kc.loadFromString(text.replace(server[0], `server: https://127.0.0.1:${port}`));
    return kc;
  }

  it("fails the request caught on it at the request timeout, and the next one goes through", async () => {
    const core = (await throughProxy(5_000)).makeApiClient(CoreV1Api);
    await core.listNamespace({ limit: 1 });
    expect(await proxy!.stall(), "connections frozen").toBe(1);
    // Every request and watch shares one HTTP/2 connection: without the timeout this one waits for
    // undici's 300 s, and without dropping the pool the next one joins the frozen connection.
    await expect(core.listNamespace({ limit: 1 })).rejects.toThrow();
    const again = await core.listNamespace({ limit: 1 });
    expect(again.items.length).toBe(1);
  });

  it("makes a leader whose renewal hangs lose at the renew deadline, long before the request times out", async () => {
    const api = (await throughProxy(60_000)).makeApiClient(CoordinationV1Api);
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
