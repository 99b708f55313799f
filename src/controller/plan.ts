// What a reconcile should do, as plain data: decide() builds it, apply() carries it out. It can be
// printed (JSON.stringify) and compared in tests; the wire format of each write is apply's business.
import type { V1EphemeralContainer, V1Pod } from "@kubernetes/client-node";
import type { DebugSessionStatus, EventType, ExpiryAction, RecordEnding } from "../api/types.ts";
import type { LabelChange } from "./relabel.ts";

export type PodWrite =
  /** Copy mode: create the copy (pod-copy.ts); one that exists already is left for the next pass to judge. */
  | { kind: "createCopy"; pod: string; manifest: V1Pod }
  /** Add the debugger to the pod with this UID (never to a pod recreated under the same name). */
  | { kind: "inject"; pod: string; podUID: string; container: V1EphemeralContainer }
  /** Label the pod for our pod cache; record every session that tainted it and when it is to go. */
  | ({ kind: "markPod"; pod: string; podUID: string } & PodMark)
  /**
   * Change the pod's labels as planned (relabel.ts: out of its Services and/or its ReplicaSet, never out
   * of a NetworkPolicy) and write `annotations`; applies only to the labels as planned from.
   */
  | { kind: "relabel"; pod: string; podUID: string; changes: LabelChange[]; annotations: Record<string, string> }
  /** Remove the tainted pod, with a UID precondition. */
  | { kind: "removePod"; pod: string; podUID: string; how: ExpiryAction };

/** What a tainted pod carries, so it can be found, and removed on time, even without its sessions. */
export interface PodMark {
  label: string;
  taintedBy: string[];
  /** The latest expiry of the sessions that tainted the pod; absent when none is known. */
  expiresAt?: string;
  /** How that session removes the pod: Delete only when it asks for it and its policy allows it. */
  expiryAction: ExpiryAction;
}

/** Who a RoleBinding names: the requester as the apiserver authenticated them, never their groups. */
export interface Subject {
  kind: "User" | "ServiceAccount";
  name: string;
  namespace?: string;
}

export type AccessWrite =
  /** A Role allowing get pods and create/get pods/attach on exactly `pod`, bound to `subject`, owned by the session. */
  | { kind: "grantAttach"; role: string; pod: string; subject: Subject }
  /** Delete that Role and its RoleBinding. */
  | { kind: "revokeAttach"; role: string };

/**
 * The session ended with a debugger injected: save its DebugSessionRecord (the transcript read from the
 * pod) before any pod write, so the evidence exists before the pod goes. Idempotent (one record per session).
 */
export interface RecordWrite {
  how: RecordEnding;
  message: string;
  endedAt: string;
  /** The pod is gone already: no log can be read, and this says why. */
  logsUnavailable?: string;
  containerName: string;
  expiresAt?: string;
  policy: { name: string; generation?: number; retention: string };
}

export interface PlannedEvent {
  on: "session" | "pod";
  type: EventType;
  reason: string;
  message: string;
}

export interface Plan {
  /** Added before any pod write, so a deletion cannot outrun the cleanup; removed after everything else. */
  finalizer?: "add" | "remove";
  /** Before the pod writes: the session's evidence, while the pod (and its logs) still exists. */
  record?: RecordWrite;
  /** In order; the first that fails stops the rest (a refusal comes back to decide as input.refusal). */
  podWrites: PodWrite[];
  /** After the pod writes, before the status that reports them: the requester's attach grant. */
  accessWrites: AccessWrite[];
  /** Written only when it differs from the session's status, and only after the pod writes succeeded. */
  status: DebugSessionStatus;
  /** Recorded after the status write, in the background. */
  events: PlannedEvent[];
  /** ttlSecondsAfterFinished has run out: delete the session. */
  deleteSession?: boolean;
  /** Come back at this delay (the exact expiry instant, or a bounded re-check); undefined: wait for events. */
  requeueAfterMs?: number;
  /** Come back with the rate-limited retry (a refused eviction may pass later); the text says why. */
  retryWithBackoff?: string;
}

/** What the apiserver refused in the last apply of this pass: decide plans the status that reports it. */
export interface Refusal {
  of: "injection" | "eviction" | "copy";
  message: string;
}

export function emptyPlan(status: DebugSessionStatus): Plan {
  return { podWrites: [], accessWrites: [], status, events: [] };
}

export const sessionEvent = (type: EventType, reason: string, message: string): PlannedEvent => ({
  on: "session",
  type,
  reason,
  message,
});
export const podEvent = (type: EventType, reason: string, message: string): PlannedEvent => ({
  on: "pod",
  type,
  reason,
  message,
});
