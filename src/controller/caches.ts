// The three caches a reconcile reads: every DebugSession and DebugPolicy, and only the pods the
// operator injected into (selected by label), so memory follows sessions, not the cluster.
import type { V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import {
  GROUP,
  POLICY_PLURAL,
  SESSION_LABEL,
  SESSION_PLURAL,
  VERSION,
  type DebugPolicy,
  type DebugSession,
} from "../api/types.ts";
import type { KubeClient } from "../runtime/kube/client.ts";
import type { CoreApi, CustomObjectsApi } from "../runtime/kube/api.ts";
import { Informer, stripForCache, type EventType, type InformerOptions, type ListResult } from "../runtime/informer.ts";

export interface CacheOptions {
  client: KubeClient;
  core: CoreApi;
  custom: CustomObjectsApi;
  log: Logger;
  /** Only this namespace (the operator's --namespace); undefined: every namespace. */
  namespace?: string;
  onInformerRestart?(informer: string): void;
}

/** Handlers map an event to keys and enqueue them; nothing else (they never await or throw). */
export interface CacheHandlers {
  onSession(type: EventType, session: DebugSession, old: DebugSession | undefined): void;
  onPod(pod: V1Pod): void;
  onPolicy(policy: DebugPolicy): void;
}

export class Caches {
  readonly sessions: Informer<DebugSession>;
  readonly pods: Informer<V1Pod>;
  readonly policies: Informer<DebugPolicy>;

  constructor(opts: CacheOptions, handlers: CacheHandlers) {
    const informer = <T extends DebugSession | V1Pod | DebugPolicy>(
      name: string,
      watchPath: string,
      rest: Pick<InformerOptions<T>, "list" | "onEvent" | "watchQuery">,
    ): Informer<T> =>
      new Informer<T>({
        name,
        watch: (...args) => opts.client.watch(...args),
        log: opts.log,
        watchPath,
        ...rest,
        // The operator reads neither managedFields nor kubectl's last-applied copy; writes test resourceVersion.
        transform: stripForCache,
        onRestart: () => opts.onInformerRestart?.(name),
      });
    const { namespace } = opts;
    const scope = namespace === undefined ? "" : `/namespaces/${namespace}`;
    this.sessions = informer<DebugSession>("debugsessions", `/apis/${GROUP}/${VERSION}${scope}/${SESSION_PLURAL}`, {
      list: () => listCustom<DebugSession>(opts.custom, SESSION_PLURAL, namespace),
      onEvent: (type, session, old) => handlers.onSession(type, session, old),
    });
    this.pods = informer<V1Pod>("pods", `/api/v1${scope}/pods`, {
      watchQuery: { labelSelector: SESSION_LABEL },
      list: async () => {
        const labelSelector = SESSION_LABEL;
        const list = await (namespace === undefined
          ? opts.core.listPodForAllNamespaces({ labelSelector })
          : opts.core.listNamespacedPod({ namespace, labelSelector }));
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? "" };
      },
      onEvent: (_type, pod) => handlers.onPod(pod),
    });
    this.policies = informer<DebugPolicy>("debugpolicies", `/apis/${GROUP}/${VERSION}${scope}/${POLICY_PLURAL}`, {
      list: () => listCustom<DebugPolicy>(opts.custom, POLICY_PLURAL, namespace),
      onEvent: (_type, policy) => handlers.onPolicy(policy),
    });
  }

  private get all(): Informer<DebugSession | V1Pod | DebugPolicy>[] {
    return [this.sessions, this.pods, this.policies] as Informer<DebugSession | V1Pod | DebugPolicy>[];
  }

  /** Starts the caches; resolves when all have listed (start() alone does not mean synced). */
  async sync(): Promise<void> {
    for (const informer of this.all) informer.start();
    await Promise.all(this.all.map((informer) => informer.waitForSync()));
  }

  stop(): void {
    for (const informer of this.all) informer.stop();
  }
}

/** A LIST of one of our kinds, in one namespace or all (custom objects come untyped). */
async function listCustom<T>(custom: CustomObjectsApi, plural: string, namespace?: string): Promise<ListResult<T>> {
  const request = { group: GROUP, version: VERSION, plural };
  const list = (await (namespace === undefined
    ? custom.listClusterCustomObject(request)
    : custom.listNamespacedCustomObject({ ...request, namespace }))) as {
    items: T[];
    metadata?: { resourceVersion?: string };
  };
  return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? "" };
}
