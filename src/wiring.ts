// Metrics adapted to the hooks of the components that report to them. Each side speaks its own
// terms (a queue knows keys and milliseconds, Metrics knows series and seconds); only main's wiring
// knows both, so neither restates the other's signatures.
import type { ReconcilerOptions } from "./controller/reconciler.ts";
import type { Metrics } from "./observability/metrics.ts";
import type { WorkQueueHooks } from "./runtime/workqueue.ts";

/** For `new WorkQueue({ hooks })`: adds, and the add-to-get wait in seconds. */
export function workQueueHooks(metrics: Metrics): WorkQueueHooks {
  return {
    onAdd: () => metrics.queueAdded(),
    onGet: (_key, waitedMs) => metrics.queueWaited(waitedMs / 1000),
  };
}

/** For `new Reconciler({ hooks })`: reconcile outcomes, informer restarts and the applier's writes. */
export function reconcilerHooks(metrics: Metrics): NonNullable<ReconcilerOptions["hooks"]> {
  return {
    onReconcile: (result, seconds) => metrics.reconciled(result, seconds),
    onInformerRestart: (informer) => metrics.informerRestarted(informer),
    onEventDropped: () => metrics.eventDropped(),
    onInjected: () => metrics.injected(),
    onPodRemoved: (_session, how, lagMs) => metrics.podRemoved(how, lagMs),
    onRecord: (result, bytes) => metrics.recorded(result, bytes),
    onRecordDeleted: () => metrics.recordDeleted(),
    onOrphanRemoved: (how) => metrics.orphanRemoved(how),
  };
}
