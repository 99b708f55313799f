/**
 * Keyed work queue with the semantics of client-go's `util/workqueue` (queue.go,
 * delaying_queue.go, rate_limiting_queue.go, default_rate_limiters.go).
 *
 * Controllers are level-triggered: a key only says "look at this object again", so many events
 * for one object can collapse into a single reconcile. The queue therefore stores keys, not
 * events, and guarantees a key is never reconciled by two workers at once, while an event that
 * arrives mid-reconcile is not lost (the key runs once more after `done`).
 */

/** Time source; injectable so tests can drive delays without real sleeps. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Reads the globals at call time so vitest fake timers installed later still apply. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as NodeJS.Timeout),
};

/** Metrics seam (client-go's queueMetrics): `waitedMs` is the "queue_duration" histogram input. */
export interface WorkQueueHooks {
  onAdd?(key: string): void;
  onGet?(key: string, waitedMs: number): void;
}

export interface WorkQueueOptions {
  clock?: Clock;
  /** First rate-limited retry delay; client-go's DefaultControllerRateLimiter uses 5 ms. */
  baseDelayMs?: number;
  /** Backoff cap; client-go's default is 1000 s. */
  maxDelayMs?: number;
  hooks?: WorkQueueHooks;
}

interface Delayed {
  key: string;
  readyAt: number;
  seq: number;
}

export class WorkQueue {
  /** Keys waiting to be handed out; a Set keeps FIFO insertion order and is unique by construction. */
  private readonly queue = new Set<string>();
  /** Keys that need processing: waiting ones plus those re-added while being processed. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly addedAt = new Map<string, number>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private readonly failures = new Map<string, number>();
  /** Min-heap by deadline; entries superseded in `pending` are skipped lazily when popped. */
  private readonly heap: Delayed[] = [];
  private readonly pending = new Map<string, Delayed>();
  private seq = 0;
  private timer: unknown = undefined;
  private timerAt = Infinity;
  private shuttingDown = false;
  private drained: (() => void) | undefined;
  private readonly clock: Clock;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly hooks: WorkQueueHooks;

  constructor(opts: WorkQueueOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 1_000_000;
    this.hooks = opts.hooks ?? {};
  }

  /**
   * Marks the key dirty. A key already waiting is not queued twice (events coalesce); a key being
   * processed is only marked, and `done` re-queues it, so it never runs on two workers at once.
   * Adds after shutdown are dropped, as in client-go.
   */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.addedAt.set(key, this.clock.now());
    this.hooks.onAdd?.(key);
    if (this.processing.has(key)) return;
    this.queue.add(key);
    this.dispatch();
  }

  /**
   * Adds the key once `delayMs` has passed. Only the earliest pending deadline per key is kept:
   * a later request must not postpone work someone else wanted sooner, while an earlier one
   * brings it forward. One timer covers the earliest deadline of all keys.
   */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const readyAt = this.clock.now() + delayMs;
    const existing = this.pending.get(key);
    if (existing && existing.readyAt <= readyAt) return;
    const entry = { key, readyAt, seq: this.seq++ };
    this.pending.set(key, entry);
    this.heapPush(entry);
    this.schedule();
  }

  /** Per-key exponential backoff (ItemExponentialFailureRateLimiter): base * 2^failures, capped. */
  addRateLimited(key: string): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    this.addAfter(key, Math.min(this.baseDelayMs * 2 ** n, this.maxDelayMs));
  }

  /** Resets backoff after success; without it a key that once failed would keep slow retries. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Number of keys waiting to be handed out (excludes processing and delayed keys). */
  len(): number {
    return this.queue.size;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Waits for a key and marks it processing; resolves `undefined` once the queue is shut down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Ends processing; a key re-added meanwhile is queued again so that event is not lost. */
  done(key: string): void {
    if (!this.processing.delete(key)) return;
    if (this.dirty.has(key) && !this.shuttingDown) {
      this.queue.add(key);
      this.dispatch();
    }
    if (this.processing.size === 0) this.drained?.();
  }

  /**
   * Stops handing out keys: pending `get()` calls resolve `undefined` and delayed adds are dropped.
   * Unlike client-go, waiting keys are not drained: reconcile is level-based, so whatever is
   * left is rediscovered by the next process's initial list.
   */
  shutDown(): void {
    this.shuttingDown = true;
    for (const resolve of this.waiters.splice(0)) resolve(undefined);
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.heap.length = 0;
    this.pending.clear();
  }

  /** Shuts down, then resolves once every key handed out has been `done` (in-flight work ends). */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.drained = resolve));
  }

  private take(): string | undefined {
    const key = this.queue.values().next().value;
    if (key === undefined) return undefined;
    this.queue.delete(key);
    this.dirty.delete(key);
    this.processing.add(key);
    const at = this.addedAt.get(key);
    this.addedAt.delete(key);
    this.hooks.onGet?.(key, at === undefined ? 0 : this.clock.now() - at);
    return key;
  }

  private dispatch(): void {
    while (this.waiters.length > 0 && this.queue.size > 0) {
      const resolve = this.waiters.shift();
      resolve?.(this.take());
    }
  }

  /** Fires every due entry, then re-arms the single timer for the next earliest deadline. */
  private schedule(): void {
    const now = this.clock.now();
    let top: Delayed | undefined;
    while ((top = this.heap[0]) !== undefined) {
      const stale = this.pending.get(top.key) !== top;
      if (!stale && top.readyAt > now) break;
      this.heapPop();
      if (stale) continue;
      this.pending.delete(top.key);
      this.add(top.key);
    }
    if (top === undefined || this.shuttingDown) return;
    if (this.timer !== undefined && this.timerAt <= top.readyAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = top.readyAt;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.schedule();
    }, top.readyAt - now);
    // A pending retry must not keep the process alive on its own.
    (this.timer as { unref?: () => void } | null)?.unref?.();
  }

  private heapPush(e: Delayed): void {
    const h = this.heap;
    h.push(e);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private heapPop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    h[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l]!, h[m]!)) m = l;
      if (r < h.length && less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function less(a: Delayed, b: Delayed): boolean {
  return a.readyAt < b.readyAt || (a.readyAt === b.readyAt && a.seq < b.seq);
}

export type Result = { requeueAfterMs?: number };

/**
 * Runs `n` workers in client-go's processNextWorkItem shape. Success `forget`s the key so the
 * next failure starts from the base delay; `requeueAfterMs` is a periodic re-check, not a failure,
 * so it also resets backoff. A throw is a failure and retries with backoff. `done` always runs,
 * so a re-add that arrived mid-reconcile is honoured. Resolves once every worker saw shutdown.
 */
export async function runWorkers(
  queue: WorkQueue,
  n: number,
  handler: (key: string) => Promise<Result>,
  onError?: (key: string, err: unknown) => void,
): Promise<void> {
  const worker = async (): Promise<void> => {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      try {
        const r = await handler(key);
        queue.forget(key);
        if (r.requeueAfterMs !== undefined) queue.addAfter(key, r.requeueAfterMs);
      } catch (err) {
        try {
          onError?.(key, err);
        } catch {
          // A broken logger must not kill the worker.
        }
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
}
