// client-go's default_rate_limiters.go: how long a key waits before its next retry.

/**
 * A retry delay strategy, per key. Callers must `forget` a key once it succeeds, or its next
 * failure starts from the backoff it had reached ("Remember to call Forget!" in client-go).
 */
export interface RateLimiter {
  /** The delay before this retry of the key; counts the retry. */
  when(key: string): number;
  /** Clears the key's failure count. */
  forget(key: string): void;
  /** Retries counted for the key since it was last forgotten. */
  numRequeues(key: string): number;
}

/** client-go's ItemExponentialFailureRateLimiter: base * 2^failures, capped at `maxDelayMs`. */
export class ExponentialFailureRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(baseDelayMs: number, maxDelayMs: number) {
    this.baseDelayMs = baseDelayMs;
    this.maxDelayMs = maxDelayMs;
  }

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.min(this.baseDelayMs * 2 ** n, this.maxDelayMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}
