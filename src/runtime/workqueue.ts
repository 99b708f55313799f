/**
 * The work queue controllers use, composed as client-go's `util/workqueue` is: the basic queue
 * (queue.ts), delayed adds (delaying.ts) and a rate limiter for retries (rate-limiter.ts), like
 * rate_limiting_queue.go's `AddRateLimited = AddAfter(item, rateLimiter.When(item))`.
 */
import type { QueueOptions } from "./queue.ts";
import { DelayingQueue } from "./delaying.ts";
import { ExponentialFailureRateLimiter, type RateLimiter } from "./rate-limiter.ts";

export { realClock, type Clock } from "./clock.ts";
export type { WorkQueueHooks } from "./queue.ts";
export { runWorkers, type Result } from "./reconcile.ts";

export interface WorkQueueOptions extends QueueOptions {
  /** First rate-limited retry delay; client-go's DefaultControllerRateLimiter uses 5 ms. */
  baseDelayMs?: number;
  /** Backoff cap; client-go's default is 1000 s. */
  maxDelayMs?: number;
}

export class WorkQueue extends DelayingQueue {
  private readonly rateLimiter: RateLimiter;

  constructor(opts: WorkQueueOptions = {}) {
    super(opts);
    this.rateLimiter = new ExponentialFailureRateLimiter(opts.baseDelayMs ?? 5, opts.maxDelayMs ?? 1_000_000);
  }

  /** Per-key exponential backoff: base * 2^failures, capped. */
  addRateLimited(key: string): void {
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Resets backoff after success; without it a key that once failed would keep slow retries. */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }
}
