// Prometheus metrics of the operator, on a registry of its own so tests and embedders never share
// (or collide on) prom-client's global one. Methods are named for what happened; callers never see
// prom-client types, and adapting them to a component's hooks is main's wiring (src/wiring.ts).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ExpiryAction } from "../api/types.ts";
import type { ReconcileOutcome } from "../runtime/reconcile.ts";

/** The label values of debugsession_reconcile_total: the outcomes the worker loop reports. */
export type ReconcileResult = ReconcileOutcome;

/** Sub-millisecond API round trips up to a reconcile stuck behind a slow apiserver. */
const RECONCILE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** A key waits for microseconds when workers are idle and for seconds under a storm. */
const QUEUE_WAIT_BUCKETS = [0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60];
/**
 * TTL precision: a timer fires within milliseconds; an eviction a PDB refuses runs to the eviction
 * timeout (60 s default).
 */
const EXPIRY_LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface MetricsOptions {
  /** process_* and nodejs_* series (standard names, no prefix). Default true. */
  defaultMetrics?: boolean;
}

export class Metrics {
  /** Only this instance's series; serve it with `metrics()` and `contentType`. */
  readonly registry = new Registry();
  private readonly reconcile: ReturnType<typeof reconcileSeries>;
  private readonly queue: ReturnType<typeof queueSeries>;
  private readonly pods: ReturnType<typeof podSeries>;
  private readonly operator: ReturnType<typeof operatorSeries>;
  private readonly sessions: Gauge<"phase">;
  private depthOf: (() => number) | undefined;
  private phasesOf: (() => Record<string, number>) | undefined;
  /** Phases reported once keep a series at 0 when their last session goes, instead of vanishing. */
  private readonly phasesSeen = new Set<string>();

  constructor(opts: MetricsOptions = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.reconcile = reconcileSeries(registers);
    this.queue = queueSeries(registers, () => this.depthOf?.());
    this.sessions = new Gauge({
      name: "debugsession_sessions",
      help: "DebugSessions in the cache by status phase.",
      labelNames: ["phase"],
      registers,
      collect: () => this.collectPhases(),
    });
    this.pods = podSeries(registers);
    this.operator = operatorSeries(registers);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text of every series in this registry. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  reconciled(result: ReconcileResult, seconds: number): void {
    this.reconcile.total.inc({ result });
    this.reconcile.duration.observe(seconds);
  }

  queueAdded(): void {
    this.queue.adds.inc();
  }

  queueWaited(seconds: number): void {
    this.queue.wait.observe(seconds);
  }

  /** Read at every scrape (e.g. `() => queue.len()`), so the depth is never stale. */
  queueDepthFrom(depth: () => number): void {
    this.depthOf = depth;
  }

  injected(): void {
    this.pods.injections.inc();
  }

  /**
   * A pod removal was requested. `lagMs` is request time minus `expiresAt`; only a removal at or
   * after the deadline is an expiry. A negative lag (session deleted before its TTL ran out) or none
   * (never injected) counts only as a removal, so it cannot skew the TTL precision histogram.
   */
  podRemoved(action: ExpiryAction, lagMs: number | undefined): void {
    this.pods.removals.inc({ action });
    if (lagMs === undefined || !Number.isFinite(lagMs) || lagMs < 0) return;
    this.pods.expiries.inc({ action });
    this.pods.expiryLag.observe(lagMs / 1000);
  }

  /** A tainted pod no session held any more was removed at its recorded expiry (controller/orphans.ts). */
  orphanRemoved(action: ExpiryAction): void {
    this.pods.orphans.inc({ action });
  }

  /** A session's DebugSessionRecord: written (with its stored log bytes), found written already, or given up on. */
  recorded(result: "written" | "existed" | "failed", bytes: number): void {
    this.operator.records.inc({ result });
    if (bytes > 0) this.operator.recordBytes.inc(bytes);
  }

  recordDeleted(): void {
    this.operator.recordsDeleted.inc();
  }

  eventDropped(): void {
    this.operator.eventsDropped.inc();
  }

  informerRestarted(informer: string): void {
    this.operator.informerRestarts.inc({ informer });
  }

  setLeader(leading: boolean): void {
    this.operator.leader.set(leading ? 1 : 0);
  }

  /** Read at every scrape; returns session counts by phase (see `countBy`). */
  sessionsByPhase(counts: () => Record<string, number>): void {
    this.phasesOf = counts;
  }

  private collectPhases(): void {
    if (!this.phasesOf) return;
    const counts = this.phasesOf();
    for (const phase of Object.keys(counts)) this.phasesSeen.add(phase);
    for (const phase of this.phasesSeen) this.sessions.set({ phase }, counts[phase] ?? 0);
  }
}

/** Counts items by a key, e.g. `countBy(sessions.list(), (s) => s.status?.phase ?? "Pending")`. */
export function countBy<T>(items: Iterable<T>, keyOf: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const key = keyOf(item);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

type Registers = Registry[];

function reconcileSeries(registers: Registers) {
  const total = new Counter({
    name: "debugsession_reconcile_total",
    help:
      "Reconciles of DebugSessions by result: success (key forgotten), requeue (come back at a set time), " +
      "error (retried with backoff).",
    labelNames: ["result"],
    registers,
  });
  for (const result of ["success", "requeue", "error"] as const) total.inc({ result }, 0);
  const duration = new Histogram({
    name: "debugsession_reconcile_duration_seconds",
    help: "Time one reconcile took, reads and writes included.",
    buckets: RECONCILE_BUCKETS,
    registers,
  });
  return { total, duration };
}

/** `depth` is read at every scrape; undefined leaves the gauge as it was. */
function queueSeries(registers: Registers, depth: () => number | undefined) {
  const adds = new Counter({
    name: "debugsession_workqueue_adds_total",
    help: "Keys added to the work queue (adds of a key already waiting coalesce and are not counted).",
    registers,
  });
  const depthGauge: Gauge = new Gauge({
    name: "debugsession_workqueue_depth",
    help: "Keys waiting to be handed to a worker (excludes keys in progress and delayed requeues).",
    registers,
    collect: () => {
      const value = depth();
      if (value !== undefined) depthGauge.set(value);
    },
  });
  const wait = new Histogram({
    name: "debugsession_workqueue_wait_seconds",
    help: "Time a key waited in the work queue between being added and handed to a worker.",
    buckets: QUEUE_WAIT_BUCKETS,
    registers,
  });
  return { adds, depth: depthGauge, wait };
}

function podSeries(registers: Registers) {
  const injections = new Counter({
    name: "debugsession_injections_total",
    help: "Ephemeral debug containers added to pods.",
    registers,
  });
  const removals = new Counter({
    name: "debugsession_pod_removals_total",
    help: "Tainted pods the operator asked to remove, at expiry or because their session was deleted early.",
    labelNames: ["action"],
    registers,
  });
  const expiries = new Counter({
    name: "debugsession_expiries_total",
    help: "Tainted pods removed because their session's TTL ran out, by action (Evict or Delete).",
    labelNames: ["action"],
    registers,
  });
  const orphans = new Counter({
    name: "debugsession_orphaned_pods_removed_total",
    help: "Tainted pods no DebugSession held any more, removed at the expiry their annotations record.",
    labelNames: ["action"],
    registers,
  });
  for (const action of ["Evict", "Delete"] as const) {
    removals.inc({ action }, 0);
    expiries.inc({ action }, 0);
    orphans.inc({ action }, 0);
  }
  const expiryLag = new Histogram({
    name: "debugsession_expiry_lag_seconds",
    help: "Pod removal request time minus the session's status.expiresAt (TTL precision).",
    buckets: EXPIRY_LAG_BUCKETS,
    registers,
  });
  return { injections, removals, expiries, expiryLag, orphans };
}

function operatorSeries(registers: Registers) {
  const informerRestarts = new Counter({
    name: "debugsession_informer_restarts_total",
    help: "Informer list/watch restarts (410 Gone relists and errors), by informer.",
    labelNames: ["informer"],
    registers,
  });
  const eventsDropped = new Counter({
    name: "debugsession_events_dropped_total",
    help: "Events dropped because too many were waiting to be sent (they are best effort).",
    registers,
  });
  const leader = new Gauge({
    name: "debugsession_is_leader",
    help: "1 while this replica holds the leader Lease and reconciles, else 0.",
    registers,
  });
  leader.set(0);
  const records = new Counter({
    name: "debugsession_records_total",
    help: "DebugSessionRecords by result: written, existed (written before), failed (the pod was removed without it).",
    labelNames: ["result"],
    registers,
  });
  for (const result of ["written", "existed", "failed"]) records.inc({ result }, 0);
  const recordBytes = new Counter({
    name: "debugsession_record_bytes_total",
    help: "Bytes of container logs stored in DebugSessionRecords (gzipped, before base64).",
    registers,
  });
  const recordsDeleted = new Counter({
    name: "debugsession_records_deleted_total",
    help: "DebugSessionRecords deleted because their retention had passed.",
    registers,
  });
  return { informerRestarts, eventsDropped, leader, records, recordBytes, recordsDeleted };
}
