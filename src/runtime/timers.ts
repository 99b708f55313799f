// Timer helpers that always clean up after themselves, so a stopped loop or a settled race leaves
// no timer behind to keep the process alive or to fire into a finished operation.

/**
 * The longest delay setTimeout honours: Node fires anything above 2^31-1 ms after 1 ms instead
 * (with a TimeoutOverflowWarning), so longer waits must be armed in steps.
 */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface SleepOptions {
  /** Let the process exit while only this sleep is pending (e.g. a retry backoff). */
  unref?: boolean;
}

/** Resolves after `ms`, or as soon as `signal` aborts (a stop should not wait out a backoff). */
export function sleep(ms: number, signal?: AbortSignal, options: SleepOptions = {}): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const wake = (): void => {
      cancel();
      signal?.removeEventListener("abort", wake);
      resolve();
    };
    const cancel = after(ms, wake, options.unref ?? false);
    signal?.addEventListener("abort", wake, { once: true });
  });
}

/**
 * Settles as `promise` does, or resolves `undefined` once `ms` have passed, whichever comes first.
 * The timer is cleared either way, so a promise that wins does not leave it pending.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let cancel = (): void => undefined;
  const timeout = new Promise<undefined>((resolve) => (cancel = after(ms, () => resolve(undefined), false)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    cancel();
  }
}

/** Calls `fn` once `ms` have passed, in steps of at most MAX_TIMEOUT_MS; returns a cancel function. */
function after(ms: number, fn: () => void, unref: boolean): () => void {
  const deadline = Date.now() + ms;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const left = deadline - Date.now();
    if (left > MAX_TIMEOUT_MS) timer = setTimeout(arm, MAX_TIMEOUT_MS);
    else timer = setTimeout(fn, Math.max(left, 0));
    if (unref) timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}
