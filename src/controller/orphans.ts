// Tainted pods no DebugSession holds any more: a finalizer removed by hand, a session lost with an
// etcd restore. Each is removed at the expiry its own annotations record (markPod writes the latest
// expiry of the sessions that tainted it), with an Event saying why: a debugger never outlives the
// expiry promised when it went in, whether or not its session is still there to keep the promise.
import type { V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { SESSION_ANNOTATION, SESSION_LABEL, type DebugSession, type ExpiryAction } from "../api/types.ts";
import { apiMessage, isConflict, isNotFound, isTooManyRequests } from "../runtime/errors.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Result } from "../runtime/workqueue.ts";
import { ephemeralContainerName } from "./container.ts";
import { awaitsInjection, recordedRemoval } from "./predicates.ts";
import { Reason } from "./reasons.ts";
import { FIELD_MANAGER, type ClusterWriter } from "./writer.ts";

/** Work-queue keys of pods, beside the sessions' `namespace/name` (a namespace never holds a ':'). */
export const ORPHAN_KEY_PREFIX = "pod:";
export const orphanKey = (namespace: string, name: string): string => `${ORPHAN_KEY_PREFIX}${namespace}/${name}`;

/** The ephemeral container name every session's debugger has (container.ts): dbg-<name>-<12 hex>. */
const DEBUGGER_NAME = /^dbg-[a-z0-9-]*-[0-9a-f]{12}$/;

/**
 * The session decides this pod's end itself: it reserved the pod and its debugger went in (a Failed
 * session never got one), or its debugger is in the pod (adopted after a crash lost the status).
 */
export function holds(session: DebugSession, pod: V1Pod): boolean {
  if (session.metadata.namespace !== pod.metadata?.namespace) return false;
  if (!awaitsInjection(session.status) && session.status?.targetPodUID === pod.metadata?.uid) return true;
  const name = ephemeralContainerName(session);
  return pod.spec?.ephemeralContainers?.some((c) => c.name === name) ?? false;
}

export type OrphanVerdict =
  /** Not an orphan: held by a session, going already, or not a pod the operator tainted. */
  | { kind: "leave" }
  /** An orphan whose recorded expiry is `ms` away. */
  | { kind: "wait"; ms: number }
  | { kind: "remove"; how: ExpiryAction; expiresAt: string | undefined; message: string };

/**
 * What to do with `pod`, given the sessions of its namespace. A pod is ours only when it carries both
 * our label and a debugger named as ours: a label alone (which `patch pods` can set) never makes the
 * operator remove a pod. A pod that records no expiry (marked by hand) goes at once.
 */
export function orphanVerdict(pod: V1Pod, sessions: Iterable<DebugSession>, now: Date): OrphanVerdict {
  if (pod.metadata?.deletionTimestamp || pod.metadata?.labels?.[SESSION_LABEL] === undefined) return { kind: "leave" };
  if (!pod.spec?.ephemeralContainers?.some((c) => DEBUGGER_NAME.test(c.name))) return { kind: "leave" };
  for (const session of sessions) if (holds(session, pod)) return { kind: "leave" };
  const { expiresAt, expiresAtMs, how } = recordedRemoval(pod);
  if (expiresAtMs !== undefined && expiresAtMs > now.getTime())
    return { kind: "wait", ms: expiresAtMs - now.getTime() };
  const by = pod.metadata.annotations?.[SESSION_ANNOTATION] || "an unknown session";
  const when =
    expiresAt !== undefined ? `its debugger's time ran out at ${expiresAt}` : "it records no expiry (annotation)";
  return {
    kind: "remove",
    how,
    expiresAt,
    message:
      `no DebugSession holds this pod any more (tainted by ${by}) and ${when}; ` +
      `${how === "Evict" ? "evicting" : "deleting"} it`,
  };
}

export interface OrphanOptions {
  /** The cached pod and the cached sessions of its namespace: the cheap first look. */
  cachedPod(key: string): V1Pod | undefined;
  cachedSessions(pod: V1Pod): Iterable<DebugSession>;
  /** Fresh reads for the final check before a removal (the TTL-after-finished controller's). */
  readPod(namespace: string, name: string): Promise<V1Pod | undefined>;
  listSessions(namespace: string): Promise<DebugSession[]>;
  writer: ClusterWriter;
  events: EventRecorder;
  log: Logger;
  now: () => Date;
  onRemoved?(how: ExpiryAction, lagMs: number | undefined): void;
}

/** One pass over a pod key: leave it, come back at its recorded expiry, or remove it. */
export class OrphanCollector {
  private readonly o: OrphanOptions;
  /** Pods already said (in the log) to be waiting for their expiry, so a relist does not repeat it. */
  private readonly announced = new Set<string>();

  constructor(opts: OrphanOptions) {
    this.o = opts;
  }

  async reconcile(key: string): Promise<Result> {
    const podKey = key.slice(ORPHAN_KEY_PREFIX.length);
    const cached = this.o.cachedPod(podKey);
    const first: OrphanVerdict = cached
      ? orphanVerdict(cached, this.o.cachedSessions(cached), this.o.now())
      : { kind: "leave" };
    if (first.kind !== "remove") {
      if (first.kind === "leave") this.announced.delete(podKey);
      else this.announce(podKey, cached);
      return first.kind === "wait" ? { requeueAfterMs: first.ms } : {};
    }
    // Due: judged again on fresh reads, so a session the cache has not shown yet keeps its pod.
    const [namespace = "", name = ""] = podKey.split("/");
    const pod = await this.o.readPod(namespace, name);
    if (!pod) return this.done(podKey);
    const verdict = orphanVerdict(pod, await this.o.listSessions(namespace), this.o.now());
    if (verdict.kind === "leave") return this.done(podKey);
    if (verdict.kind === "wait") return { requeueAfterMs: verdict.ms };
    return this.remove(podKey, pod, verdict);
  }

  private async remove(podKey: string, pod: V1Pod, v: Extract<OrphanVerdict, { kind: "remove" }>): Promise<Result> {
    const { namespace = "", name = "", uid = "", resourceVersion } = pod.metadata ?? {};
    const ref = { namespace, name, uid };
    const log = this.o.log.child({ pod: podKey });
    try {
      // The pod exactly as judged: a session that injected into it since (a 409 here) keeps it.
      await (v.how === "Evict"
        ? this.o.writer.evictPod(ref, resourceVersion)
        : this.o.writer.deletePod(ref, resourceVersion));
    } catch (err) {
      if (isNotFound(err)) return this.done(podKey);
      if (isConflict(err)) return { requeueAfterMs: 0 };
      if (v.how === "Evict" && isTooManyRequests(err)) {
        log.info(
          { reason: apiMessage(err) },
          "eviction of an orphaned tainted pod refused by a disruption budget; retrying",
        );
      }
      throw err;
    }
    const lag = v.expiresAt !== undefined ? this.o.now().getTime() - Date.parse(v.expiresAt) : undefined;
    this.o.onRemoved?.(v.how, lag);
    log.warn({ how: v.how, expiresAt: v.expiresAt, lagMs: lag }, "removed a tainted pod no session holds");
    this.o.events.record(namespace, {
      metadata: { generateName: `${name}.`, namespace },
      involvedObject: { apiVersion: "v1", kind: "Pod", name, namespace, uid },
      type: "Warning",
      reason: Reason.OrphanedPodRemoved,
      message: v.message.slice(0, 1024),
      source: { component: FIELD_MANAGER },
      reportingComponent: FIELD_MANAGER,
      reportingInstance: FIELD_MANAGER,
      firstTimestamp: this.o.now(),
      lastTimestamp: this.o.now(),
      count: 1,
    });
    return this.done(podKey);
  }

  private announce(podKey: string, pod: V1Pod | undefined): void {
    if (this.announced.has(podKey)) return;
    this.announced.add(podKey);
    const { expiresAt } = pod ? recordedRemoval(pod) : {};
    this.o.log.info(
      { pod: podKey, expiresAt },
      "no session holds this tainted pod; it is removed at its recorded expiry",
    );
  }

  private done(podKey: string): Result {
    this.announced.delete(podKey);
    return {};
  }
}
