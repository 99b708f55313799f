// The worker loop of controller-runtime's controller.go: processNextWorkItem and reconcileHandler.
// The loop, not the reconciler, decides what an outcome means for the key, times it and reports it.
import type { WorkQueue } from "./workqueue.ts";

/** What a reconcile asks for: nothing more (the key is forgotten), or another look after a delay. */
export type Result = { requeueAfterMs?: number };

/** success: the key is forgotten; requeue: it comes back after requeueAfterMs; error: it is retried with backoff. */
export type ReconcileOutcome = "success" | "requeue" | "error";

export interface ReconcileHooks {
  /** Once per reconcile, with the time the handler took (the reconcile_total and duration series). */
  onResult?(outcome: ReconcileOutcome, seconds: number): void;
  /** A reconcile threw (or rejected); the key is retried with backoff. */
  onError?(key: string, err: unknown): void;
}

/**
 * Runs `n` workers in client-go's processNextWorkItem shape. Success `forget`s the key so the
 * next failure starts from the base delay; `requeueAfterMs` is a periodic re-check, not a failure,
 * so it also resets backoff. A throw is a failure and retries with backoff. `done` always runs,
 * so a re-add that arrived mid-reconcile is honoured. Resolves once every worker saw shutdown.
 * `hooks` may also be a bare `onError` function.
 */
export async function runWorkers(
  queue: WorkQueue,
  n: number,
  handler: (key: string) => Promise<Result>,
  hooks?: ReconcileHooks | ((key: string, err: unknown) => void),
): Promise<void> {
  const reported: ReconcileHooks = typeof hooks === "function" ? { onError: hooks } : (hooks ?? {});
  const worker = async (): Promise<void> => {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      try {
        await reconcileHandler(queue, key, handler, reported);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
}

/** One reconcile of `key` and what its outcome does to the key; never throws. */
async function reconcileHandler(
  queue: WorkQueue,
  key: string,
  handler: (key: string) => Promise<Result>,
  hooks: ReconcileHooks,
): Promise<void> {
  const started = process.hrtime.bigint();
  const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
  let result: Result;
  try {
    result = await handler(key);
  } catch (err) {
    const took = seconds();
    safely(() => hooks.onResult?.("error", took));
    safely(() => hooks.onError?.(key, err));
    queue.addRateLimited(key);
    return;
  }
  const took = seconds();
  queue.forget(key);
  if (result.requeueAfterMs === undefined) {
    safely(() => hooks.onResult?.("success", took));
    return;
  }
  safely(() => hooks.onResult?.("requeue", took));
  queue.addAfter(key, result.requeueAfterMs);
}

/** A broken logger or metric must not kill the worker, nor turn a success into a retry. */
function safely(report: () => void): void {
  try {
    report();
  } catch {
    // Nothing to report it to: the hooks are the reporting.
  }
}
