// client-go's delaying_queue.go: a Queue plus AddAfter, with one timer for the earliest deadline.
import { MinHeap } from "./heap.ts";
import { Queue } from "./queue.ts";
import { MAX_TIMEOUT_MS } from "./timers.ts";

interface Delayed {
  key: string;
  readyAt: number;
  /** Insertion order, so keys with the same deadline come out first in, first out. */
  seq: number;
}

const earlier = (a: Delayed, b: Delayed): boolean =>
  a.readyAt < b.readyAt || (a.readyAt === b.readyAt && a.seq < b.seq);

export class DelayingQueue extends Queue {
  /** Min-heap by deadline; entries superseded in `pending` are skipped lazily when popped. */
  private readonly heap = new MinHeap<Delayed>(earlier);
  private readonly pending = new Map<string, Delayed>();
  private seq = 0;
  private timer: unknown = undefined;
  /** The deadline the armed timer serves; it may fire earlier when that is beyond MAX_TIMEOUT_MS. */
  private timerAt = Infinity;

  /**
   * Adds the key once `delayMs` has passed. Only the earliest pending deadline per key is kept:
   * a later request must not postpone work someone else wanted sooner, while an earlier one
   * brings it forward. One timer covers the earliest deadline of all keys.
   */
  addAfter(key: string, delayMs: number): void {
    if (this.isShuttingDown()) return;
    if (delayMs <= 0) return this.add(key);
    const readyAt = this.clock.now() + delayMs;
    const existing = this.pending.get(key);
    if (existing && existing.readyAt <= readyAt) return;
    const entry = { key, readyAt, seq: this.seq++ };
    this.pending.set(key, entry);
    this.heap.push(entry);
    this.schedule();
  }

  /** Also drops every delayed add and its timer. */
  override shutDown(): void {
    super.shutDown();
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.heap.clear();
    this.pending.clear();
  }

  /** Fires every due entry, then re-arms the single timer for the next earliest deadline. */
  private schedule(): void {
    const now = this.clock.now();
    const top = this.fireDue(now);
    if (top === undefined || this.isShuttingDown()) return;
    if (this.timer !== undefined && this.timerAt <= top.readyAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = top.readyAt;
    // A deadline beyond what setTimeout can hold fires early; schedule() then finds nothing due
    // and arms the next step.
    const delay = Math.min(top.readyAt - now, MAX_TIMEOUT_MS);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.schedule();
    }, delay);
    // A pending retry must not keep the process alive on its own.
    (this.timer as { unref?: () => void } | null)?.unref?.();
  }

  /** Adds every key whose deadline has passed; returns the earliest entry still waiting. */
  private fireDue(now: number): Delayed | undefined {
    let top: Delayed | undefined;
    while ((top = this.heap.peek()) !== undefined) {
      const stale = this.pending.get(top.key) !== top;
      if (!stale && top.readyAt > now) break;
      this.heap.pop();
      if (stale) continue;
      this.pending.delete(top.key);
      this.add(top.key);
    }
    return top;
  }
}
