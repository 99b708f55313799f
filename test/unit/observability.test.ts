import { pino, type Logger } from "pino";
import { register as globalRegistry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import type { ReconcilerOptions } from "../../src/controller/reconciler.ts";
import { HealthState, type HealthOptions, type InformerActivity } from "../../src/observability/health.ts";
import { Metrics, countBy } from "../../src/observability/metrics.ts";
import { startServer, type ObservabilityServer, type ServerOptions } from "../../src/observability/server.ts";
import { WorkQueue, type WorkQueueHooks } from "../../src/runtime/workqueue.ts";
import { reconcilerHooks, workQueueHooks } from "../../src/wiring.ts";

const silent: Logger = pino({ level: "silent" });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const servers: ObservabilityServer[] = [];
const healths: HealthState[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const h of healths.splice(0)) h.stop();
});

async function serve(opts: { metrics?: Metrics; health?: HealthState; log?: Logger } = {}): Promise<string> {
  const server = await startServer({
    port: 0,
    host: "127.0.0.1",
    metrics: opts.metrics ?? new Metrics({ defaultMetrics: false }),
    health: opts.health ?? new HealthState(),
    log: opts.log ?? silent,
  });
  servers.push(server);
  expect(server.port).toBeGreaterThan(0);
  return `http://127.0.0.1:${server.port}`;
}

function health(opts: HealthOptions): HealthState {
  const h = new HealthState(opts);
  healths.push(h);
  return h;
}

async function get(url: string, init?: RequestInit): Promise<{ status: number; body: string; type: string | null }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.text(), type: res.headers.get("content-type") };
}

/** The value of one sample line, e.g. `debugsession_reconcile_total{result="success"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("/metrics", () => {
  it("exposes every operator series, and the values follow what happened", async () => {
    const metrics = new Metrics();
    const queue = new WorkQueue({ hooks: workQueueHooks(metrics) });
    metrics.queueDepthFrom(() => queue.len());
    let phases: Record<string, number> = { Running: 2, Pending: 1 };
    metrics.sessionsByPhase(() => phases);
    const base = await serve({ metrics });

    metrics.reconciled("success", 0.004);
    metrics.reconciled("success", 0.02);
    metrics.reconciled("requeue", 0.5);
    metrics.reconciled("error", 3);
    queue.add("ns/a");
    queue.add("ns/b");
    queue.add("ns/a"); // coalesces: not an add
    metrics.injected();
    metrics.informerRestarted("pods");
    metrics.informerRestarted("pods");
    metrics.setLeader(true);
    metrics.recorded("written", 1200);
    metrics.recorded("failed", 0);
    metrics.recordDeleted();

    let res = await get(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.type).toBe(metrics.contentType);
    for (const name of [
      "debugsession_reconcile_total",
      "debugsession_reconcile_duration_seconds",
      "debugsession_workqueue_depth",
      "debugsession_workqueue_wait_seconds",
      "debugsession_workqueue_adds_total",
      "debugsession_sessions",
      "debugsession_injections_total",
      "debugsession_expiries_total",
      "debugsession_expiry_lag_seconds",
      "debugsession_informer_restarts_total",
      "debugsession_events_dropped_total",
      "debugsession_is_leader",
      "debugsession_records_total",
      "debugsession_record_bytes_total",
      "debugsession_records_deleted_total",
    ]) {
      expect(res.body).toContain(`# TYPE ${name} `);
    }
    // Default process metrics keep their standard names, in this registry.
    expect(res.body).toContain("process_cpu_user_seconds_total");
    expect(res.body).toContain("nodejs_heap_size_total_bytes");

    const b = res.body;
    expect(sample(b, 'debugsession_reconcile_total{result="success"}')).toBe(2);
    expect(sample(b, 'debugsession_reconcile_total{result="requeue"}')).toBe(1);
    expect(sample(b, 'debugsession_reconcile_total{result="error"}')).toBe(1);
    expect(sample(b, "debugsession_reconcile_duration_seconds_count")).toBe(4);
    expect(sample(b, 'debugsession_reconcile_duration_seconds_bucket{le="0.005"}')).toBe(1);
    expect(sample(b, 'debugsession_reconcile_duration_seconds_bucket{le="10"}')).toBe(4);
    expect(sample(b, "debugsession_workqueue_adds_total")).toBe(2);
    expect(sample(b, "debugsession_workqueue_depth")).toBe(2);
    expect(sample(b, "debugsession_workqueue_wait_seconds_count")).toBe(0);
    expect(sample(b, 'debugsession_sessions{phase="Running"}')).toBe(2);
    expect(sample(b, 'debugsession_sessions{phase="Pending"}')).toBe(1);
    expect(sample(b, "debugsession_injections_total")).toBe(1);
    expect(sample(b, 'debugsession_informer_restarts_total{informer="pods"}')).toBe(2);
    expect(sample(b, "debugsession_is_leader")).toBe(1);
    expect(sample(b, 'debugsession_records_total{result="written"}')).toBe(1);
    expect(sample(b, 'debugsession_records_total{result="failed"}')).toBe(1);
    expect(sample(b, 'debugsession_records_total{result="existed"}')).toBe(0);
    expect(sample(b, "debugsession_record_bytes_total")).toBe(1200);
    expect(sample(b, "debugsession_records_deleted_total")).toBe(1);
    expect(sample(b, 'debugsession_expiries_total{action="Evict"}')).toBe(0);
    expect(sample(b, "debugsession_expiry_lag_seconds_count")).toBe(0);

    // A worker takes both keys: depth is read at scrape time, waits are observed.
    const k1 = await queue.get();
    const k2 = await queue.get();
    metrics.podRemoved("Evict", 3);
    metrics.podRemoved("Delete", 45_000);
    metrics.podRemoved("Delete", -120_000); // session deleted before expiry: a removal, not an expiry
    metrics.podRemoved("Delete", undefined);
    metrics.setLeader(false);
    phases = { Running: 1 };

    res = await get(`${base}/metrics`);
    const a = res.body;
    expect([k1, k2]).toEqual(["ns/a", "ns/b"]);
    expect(sample(a, "debugsession_workqueue_depth")).toBe(0);
    expect(sample(a, "debugsession_workqueue_wait_seconds_count")).toBe(2);
    expect(sample(a, 'debugsession_expiries_total{action="Evict"}')).toBe(1);
    expect(sample(a, 'debugsession_expiries_total{action="Delete"}')).toBe(1);
    expect(sample(a, 'debugsession_pod_removals_total{action="Delete"}')).toBe(3);
    expect(sample(a, "debugsession_expiry_lag_seconds_count")).toBe(2);
    expect(sample(a, 'debugsession_expiry_lag_seconds_bucket{le="0.005"}')).toBe(1);
    expect(sample(a, 'debugsession_expiry_lag_seconds_bucket{le="30"}')).toBe(1);
    expect(sample(a, 'debugsession_expiry_lag_seconds_bucket{le="60"}')).toBe(2);
    expect(sample(a, "debugsession_expiry_lag_seconds_sum")).toBeCloseTo(45.003, 6);
    expect(sample(a, "debugsession_is_leader")).toBe(0);
    // A phase whose last session went reads 0 rather than disappearing.
    expect(sample(a, 'debugsession_sessions{phase="Running"}')).toBe(1);
    expect(sample(a, 'debugsession_sessions{phase="Pending"}')).toBe(0);
  });

  it("keeps its series out of the global registry, so two instances never collide", async () => {
    const one = new Metrics();
    const two = new Metrics();
    one.injected();
    expect(sample(await one.metrics(), "debugsession_injections_total")).toBe(1);
    expect(sample(await two.metrics(), "debugsession_injections_total")).toBe(0);
    expect(await globalRegistry.metrics()).not.toContain("debugsession_");
  });

  it("is wired to the hooks the WorkQueue and the Reconciler accept as they are", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    // Compile-time check: these assignments are the wiring in main.ts.
    const queueHooks: WorkQueueHooks = workQueueHooks(metrics);
    const toReconciler: ReconcilerOptions["hooks"] = reconcilerHooks(metrics);
    queueHooks.onAdd?.("ns/a");
    queueHooks.onGet?.("ns/a", 1_500);
    toReconciler?.onReconcile?.("requeue", 0.01);
    toReconciler?.onInjected?.({} as never);
    toReconciler?.onPodRemoved?.({} as never, "Evict", 250);
    toReconciler?.onInformerRestart?.("debugsessions");
    const text = await metrics.metrics();
    expect(sample(text, "debugsession_workqueue_adds_total")).toBe(1);
    expect(sample(text, "debugsession_workqueue_wait_seconds_sum")).toBe(1.5);
    expect(sample(text, 'debugsession_reconcile_total{result="requeue"}')).toBe(1);
    expect(sample(text, "debugsession_injections_total")).toBe(1);
    expect(sample(text, "debugsession_expiry_lag_seconds_sum")).toBe(0.25);
    expect(sample(text, 'debugsession_informer_restarts_total{informer="debugsessions"}')).toBe(1);
  });

  it("counts sessions by phase with countBy", () => {
    const sessions = [{ phase: "Running" }, { phase: undefined }, { phase: "Running" }];
    expect(countBy(sessions, (s) => s.phase ?? "Pending")).toEqual({ Running: 2, Pending: 1 });
  });

  it("answers 500 and logs when collecting fails, and keeps serving", async () => {
    const lines: string[] = [];
    const log: Logger = pino({ level: "info" }, { write: (s: string) => void lines.push(s) });
    const metrics = new Metrics({ defaultMetrics: false });
    let broken = true;
    metrics.sessionsByPhase(() => {
      if (broken) throw new Error("cache gone");
      return {};
    });
    const base = await serve({ metrics, log });
    const res = await get(`${base}/metrics`);
    expect(res.status).toBe(500);
    expect(lines.some((l) => l.includes("observability request failed") && l.includes("cache gone"))).toBe(true);
    broken = false;
    expect((await get(`${base}/metrics`)).status).toBe(200);
  });
});

describe("/readyz", () => {
  it("is 503 naming each unsynced cache until all have synced, then 200", async () => {
    const synced = { debugsessions: false, pods: false };
    const base = await serve({ health: health({ synced: () => ({ ...synced }) }) });

    let res = await get(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(res.body).toContain("[-]debugsessions failed: not synced");
    expect(res.body).toContain("[-]pods failed: not synced");

    synced.debugsessions = true;
    res = await get(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(res.body).not.toContain("debugsessions");
    expect(res.body).toContain("[-]pods failed");

    synced.pods = true;
    res = await get(`${base}/readyz`);
    expect(res).toMatchObject({ status: 200, body: "ok\n" });
    res = await get(`${base}/readyz?verbose`);
    expect(res.status).toBe(200);
    expect(res.body).toContain("[+]pods ok");
  });
});

describe("/healthz", () => {
  const MIN = 60_000;

  it("is 200 while informers watch or have listed recently, 503 naming one that did neither too long", async () => {
    let t = 1_000_000_000;
    const pods: InformerActivity = { lastActivity: t, watching: false };
    const sessions: InformerActivity = { lastActivity: t - 60 * MIN, watching: true };
    // The event-loop timer is not started: this test is about informers alone.
    const h = health({ now: () => t, informers: () => ({ debugsessions: sessions, pods }) });
    const base = await serve({ health: h });

    expect(await get(`${base}/healthz`)).toMatchObject({ status: 200, body: "ok\n" });

    t += 10 * MIN + 1; // the pods informer has had no watch and no list for over 10 min
    const res = await get(`${base}/healthz`);
    expect(res.status).toBe(503);
    expect(res.body).toContain(
      "[-]informer:pods failed: no watch open and no list or event for 600 s (threshold 600 s)",
    );
    // A quiet but open watch is healthy however old its last event.
    expect(res.body).not.toContain("debugsessions");
  });

  it("uses a configurable staleness threshold", async () => {
    const now = Date.now();
    const pods = { lastActivity: now - 1_000, watching: false };
    const h = health({ informerStaleMs: 50, informers: () => ({ pods }) });
    const base = await serve({ health: h });
    expect((await get(`${base}/healthz`)).status).toBe(503);
  });

  it("is 503 when the event-loop timer has not ticked for longer than the threshold", async () => {
    let t = 0;
    // The 1 s real timer cannot fire during this test: only the injected clock moves.
    const h = health({ now: () => t, eventLoopStallMs: 5_000, tickIntervalMs: 1_000 });
    h.start();
    const base = await serve({ health: h });
    expect((await get(`${base}/healthz`)).status).toBe(200);

    t += 6_000;
    const res = await get(`${base}/healthz`);
    expect(res.status).toBe(503);
    expect(res.body).toContain("[-]event-loop failed");
  });

  it("is 503 right after the event loop was blocked, and 200 again once it turns freely", async () => {
    const h = health({ eventLoopStallMs: 60, tickIntervalMs: 5 });
    h.start();
    const base = await serve({ health: h });
    await sleep(20);
    expect((await get(`${base}/healthz`)).status).toBe(200);

    const until = Date.now() + 100;
    while (Date.now() < until); // a synchronous stall longer than the threshold
    // The overdue tick runs in the timers phase, before the probe's socket is read.
    const res = await get(`${base}/healthz`);
    expect(res.status).toBe(503);
    expect(res.body).toMatch(/\[-\]event-loop failed: a timer tick ran \d+ ms late \d+ ms ago \(threshold 60 ms\)/);

    await expect.poll(async () => (await get(`${base}/healthz`)).status, { timeout: 1_000, interval: 10 }).toBe(200);
  });
});

describe("routing", () => {
  const serverOptions = (port: number): ServerOptions => ({
    port,
    host: "127.0.0.1",
    metrics: new Metrics({ defaultMetrics: false }),
    health: new HealthState(),
    log: silent,
  });

  it("answers 404 for an unknown path and 405 for a write to a known one", async () => {
    const base = await serve();
    expect((await get(`${base}/nope`)).status).toBe(404);
    expect((await get(`${base}/`)).status).toBe(404);
    const res = await fetch(`${base}/metrics`, { method: "POST" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
  });

  it("reports the real port when asked for port 0, and close() frees it", async () => {
    const server = await startServer(serverOptions(0));
    expect((await get(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
    await server.close();
    await expect(fetch(`http://127.0.0.1:${server.port}/healthz`)).rejects.toThrow();
  });

  it("rejects when the port is taken", async () => {
    const first = await startServer(serverOptions(0));
    servers.push(first);
    await expect(startServer(serverOptions(first.port))).rejects.toThrow(/EADDRINUSE/);
  });
});
