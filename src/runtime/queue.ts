/**
 * The basic keyed queue of client-go's `util/workqueue/queue.go`.
 *
 * Controllers are level-triggered: a key only says "look at this object again", so many events
 * for one object can collapse into a single reconcile. The queue therefore stores keys, not
 * events, and guarantees a key is never reconciled by two workers at once, while an event that
 * arrives mid-reconcile is not lost (the key runs once more after `done`).
 */
import { realClock, type Clock } from "./clock.ts";

/** Metrics seam (client-go's queueMetrics): `waitedMs` is the "queue_duration" histogram input. */
export interface WorkQueueHooks {
  onAdd?(key: string): void;
  onGet?(key: string, waitedMs: number): void;
}

export interface QueueOptions {
  clock?: Clock;
  hooks?: WorkQueueHooks;
}

export class Queue {
  /** Keys waiting to be handed out; a Set keeps FIFO insertion order and is unique by construction. */
  private readonly queue = new Set<string>();
  /** Keys that need processing: waiting ones plus those re-added while being processed. */
  private readonly dirty = new Set<string>();
  /** Keys handed out and not yet `done`; none of them is in `queue`. */
  private readonly processing = new Set<string>();
  private readonly addedAt = new Map<string, number>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private drained: (() => void) | undefined;
  protected readonly clock: Clock;
  private readonly hooks: WorkQueueHooks;

  constructor(opts: QueueOptions = {}) {
    this.clock = opts.clock ?? realClock;
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
   * Stops handing out keys: pending `get()` calls resolve `undefined`.
   * Unlike client-go, waiting keys are not drained: reconcile is level-based, so whatever is
   * left is rediscovered by the next process's initial list.
   */
  shutDown(): void {
    this.shuttingDown = true;
    for (const resolve of this.waiters.splice(0)) resolve(undefined);
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
}
