// What /healthz and /readyz answer. Liveness fails only for what a restart would cure: an event
// loop that stopped turning, or an informer that has neither watched nor listed for a long time
// (it keeps retrying, but a cache that old makes every decision stale). Readiness is "every cache
// has listed once": before that a reconcile would act on an empty view of the cluster.

/** One named check; `reason` says what failed (or "ok") so the probe body is actionable. */
export interface CheckResult {
  name: string;
  ok: boolean;
  reason: string;
}

export interface HealthReport {
  ok: boolean;
  checks: CheckResult[];
}

/** What liveness reads from an informer; `Informer` satisfies it as is. */
export interface InformerActivity {
  /** When the last list or watch event arrived, ms since epoch. */
  readonly lastActivity: number;
  /** True while a watch stream is open. */
  readonly watching: boolean;
}

export interface HealthOptions {
  /** Informers by name, read at every probe: `() => ({ debugsessions: r.sessions, pods: r.pods })`. */
  informers?: () => Record<string, InformerActivity>;
  /** Readiness conditions by name, read at every probe: `() => ({ debugsessions: r.sessions.synced })`. */
  synced?: () => Record<string, boolean>;
  /**
   * Liveness fails once the event-loop timer has not ticked for this long, and for this long after
   * a tick that ran this late. Default 5 s.
   */
  eventLoopStallMs?: number;
  /** How often the event-loop timer ticks. Default 1 s. */
  tickIntervalMs?: number;
  /** Liveness fails once an informer has had no open watch and no list for this long. Default 10 min. */
  informerStaleMs?: number;
  /** ms since epoch; injectable so tests need no sleeps. */
  now?: () => number;
}

export class HealthState {
  private readonly informers: () => Record<string, InformerActivity>;
  private readonly synced: () => Record<string, boolean>;
  private readonly stallMs: number;
  private readonly tickMs: number;
  private readonly staleMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private lastTick: number;
  /**
   * The latest tick that ran later than the threshold. A probe cannot be answered while the loop is
   * blocked, so the stall is reported for one threshold's length after the loop comes back.
   */
  private lateTick: { at: number; lagMs: number } | undefined;

  constructor(opts: HealthOptions = {}) {
    this.informers = opts.informers ?? (() => ({}));
    this.synced = opts.synced ?? (() => ({}));
    this.stallMs = opts.eventLoopStallMs ?? 5_000;
    this.tickMs = opts.tickIntervalMs ?? 1_000;
    this.staleMs = opts.informerStaleMs ?? 600_000;
    this.now = opts.now ?? (() => Date.now());
    this.lastTick = this.now();
  }

  /** Starts the event-loop timer; it never keeps the process alive on its own. */
  start(): void {
    if (this.timer) return;
    this.lastTick = this.now();
    this.lateTick = undefined;
    this.timer = setInterval(() => {
      const now = this.now();
      const lagMs = now - this.lastTick - this.tickMs;
      if (lagMs > this.stallMs) this.lateTick = { at: now, lagMs };
      this.lastTick = now;
    }, this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** /healthz: the event loop turns and no informer is stale. */
  liveness(): HealthReport {
    return report([this.eventLoop(), ...this.informerChecks()]);
  }

  /** /readyz: every cache has synced (and any other condition the caller named). */
  readiness(): HealthReport {
    const checks = Object.entries(this.synced()).map(([name, ok]) => ({ name, ok, reason: ok ? "ok" : "not synced" }));
    return report(checks);
  }

  private eventLoop(): CheckResult {
    const name = "event-loop";
    if (!this.timer) return { name, ok: true, reason: "ok (not monitored)" };
    const now = this.now();
    const sinceTick = now - this.lastTick;
    if (sinceTick > this.stallMs)
      return {
        name,
        ok: false,
        reason: `no timer tick for ${formatMs(sinceTick)} (threshold ${formatMs(this.stallMs)})`,
      };
    const late = this.lateTick;
    if (late && now - late.at <= this.stallMs) {
      return {
        name,
        ok: false,
        reason: `a timer tick ran ${formatMs(late.lagMs)} late ${formatMs(now - late.at)} ago (threshold ${formatMs(this.stallMs)})`,
      };
    }
    return { name, ok: true, reason: "ok" };
  }

  private informerChecks(): CheckResult[] {
    const now = this.now();
    return Object.entries(this.informers()).map(([informer, { lastActivity, watching }]) => {
      const name = `informer:${informer}`;
      const idleMs = now - lastActivity;
      if (watching || idleMs <= this.staleMs) return { name, ok: true, reason: "ok" };
      return {
        name,
        ok: false,
        reason: `no watch open and no list or event for ${formatMs(idleMs)} (threshold ${formatMs(this.staleMs)})`,
      };
    });
  }
}

function report(checks: CheckResult[]): HealthReport {
  return { ok: checks.every((c) => c.ok), checks };
}

function formatMs(ms: number): string {
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 1000)} s`;
}
