// The facts decide() branches on, derived once from the gathered input, each under a name.
import type { V1Pod } from "@kubernetes/client-node";
import {
  DEFAULT_ALLOWED_EXPIRY_ACTIONS,
  FINALIZER,
  TERMINAL_PHASES,
  type DebugSession,
  type DebugSessionStatus,
  type ExpiryAction,
  type ExpiryChoice,
  type RequestedBy,
} from "../api/types.ts";
import { expiryChoiceOf } from "../policy/expiry.ts";
import { ttlMs } from "../policy/ttl.ts";
import { accessDenial } from "./access.ts";
import { findCondition } from "./conditions.ts";
import { ephemeralContainerName } from "./container.ts";
import { buildPodCopy } from "./pod-copy.ts";
import { containerStartedAt } from "./container-state.ts";
import { DEFAULT_DECIDE_OPTIONS, type AccessInput, type DecideInput, type DecideOptions } from "./input.ts";
import type { GatheredReaders } from "./label-readers.ts";
import { requester } from "./predicates.ts";
import { describeTarget, isCopyMode, targetPodName, type TargetChoice } from "./target.ts";
import { DENIAL_REASONS, Reason } from "./reasons.ts";

/** The pod a session's debugger is (or is about to be) in, and the instant its TTL counts from. */
export interface Reservation {
  podUID: string;
  /** Absent only in a status written by hand: then no deadline is known. */
  injectedAt?: string;
}

export interface Situation {
  session: DebugSession;
  /** The pod the debugger is (to be) in: in Copy mode the copy, once it exists. */
  pod: V1Pod | undefined;
  /** Copy mode: the debugger goes into a copy of `source`, which is never written. */
  copyMode: boolean;
  /** Copy mode, before the debugger is in the copy: the pod to copy. */
  source: V1Pod | undefined;
  /** Copy mode: the copy this session would create of `source` now (pod-copy.ts); undefined when none can be built. */
  plannedCopy: V1Pod | undefined;
  copyNameTaken: boolean;
  /** Who reads the pod's labels, when gathered (label-readers.ts needsReaders). */
  readers: GatheredReaders | undefined;
  access: AccessInput;
  now: Date;
  opts: DecideOptions;
  /** How the pod was chosen (targetRef/targetSelector, no pod yet). */
  choice: TargetChoice | undefined;
  /** The status as the session has it. */
  status: DebugSessionStatus;
  generation: number;
  hasFinalizer: boolean;
  containerName: string;
  requestedBy: RequestedBy | undefined;
  /**
   * Recorded in status; or, when the status write after an injection did not happen, adopted from
   * our container found in the pod, counted from the container's start when the kubelet reported it.
   * A container is adopted only when the session may have it (every access check passes): a name in
   * a pod proves nothing, and an adopted pod is one the operator labels and later removes.
   */
  reservation: Reservation | undefined;
  podUID: string | undefined;
  /** The pod is the one the session reserved (or, unreserved, the one carrying our container). */
  podIsOurs: boolean;
  /** Our pod carries our debugger. */
  tainted: boolean;
  podDeleting: boolean;
  /** The TTL in ms, bounded by the policy (policy/ttl.ts). */
  ttlMs: number;
  expiresAtMs: number | undefined;
  /** A time fact: the deadline has passed. */
  pastDeadline: boolean;
  /** History: the session already reported Expired; a ttl raised since does not bring it back. */
  expiredBefore: boolean;
  /** This operator removed the reserved pod at expiry (input.removed), so: how. */
  removedHow: ExpiryAction | undefined;
}

export function situation(input: DecideInput): Situation {
  const { session, pod, access, now } = input;
  const status = session.status ?? {};
  const containerName = ephemeralContainerName(session);
  const podUID = pod?.metadata?.uid;
  const carriesOurs = pod?.spec?.ephemeralContainers?.some((c) => c.name === containerName) ?? false;
  const recorded = recordedReservation(status);
  const ttl = ttlMs(session, access.policy);
  const base: Situation = {
    session,
    pod,
    copyMode: isCopyMode(session),
    source: input.source,
    plannedCopy: copyOf(session, input.source),
    copyNameTaken: input.copyNameTaken === true,
    readers: input.readers,
    access,
    now,
    opts: input.options ?? DEFAULT_DECIDE_OPTIONS,
    choice: input.choice,
    status,
    generation: session.metadata.generation ?? 0,
    hasFinalizer: session.metadata.finalizers?.includes(FINALIZER) ?? false,
    containerName,
    requestedBy: requester(session),
    reservation: undefined,
    podUID,
    podIsOurs: false,
    tainted: false,
    podDeleting: pod?.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null,
    ttlMs: ttl,
    expiresAtMs: undefined,
    pastDeadline: false,
    expiredBefore: status.phase === "Expired",
    removedHow: undefined,
  };
  const adoptable = recorded === undefined && pod !== undefined && podUID !== undefined && carriesOurs;
  const reservation =
    recorded ??
    (adoptable && accessDenial(base) === undefined
      ? { podUID, injectedAt: containerStartedAt(pod, containerName) ?? now.toISOString() }
      : undefined);
  // The inject patch tests the pod's UID, so only the pod we looked at can carry our container.
  const podIsOurs = pod !== undefined && reservation !== undefined && podUID === reservation.podUID;
  const expiresAtMs = deadlineOf(reservation, ttl, session.spec.notAfter);
  const removedHow =
    input.removed !== undefined && input.removed.podUID === reservation?.podUID ? input.removed.how : undefined;
  return {
    ...base,
    reservation,
    podIsOurs,
    tainted: podIsOurs && carriesOurs,
    podDeleting: base.podDeleting || (podIsOurs && removedHow !== undefined),
    expiresAtMs,
    pastDeadline: removedHow !== undefined || (expiresAtMs !== undefined && now.getTime() >= expiresAtMs),
    removedHow,
  };
}

function copyOf(session: DebugSession, source: V1Pod | undefined): V1Pod | undefined {
  if (!isCopyMode(session) || !source) return undefined;
  const built = buildPodCopy(source, session, session.spec.copy ?? {});
  return "pod" in built ? built.pod : undefined;
}

/**
 * When the pod is removed: injectedAt + ttl, or notAfter when that comes first. Undefined while no
 * injection time is known.
 */
export function deadlineOf(
  reservation: Reservation | undefined,
  ttl: number,
  notAfter: string | undefined,
): number | undefined {
  if (!reservation?.injectedAt) return undefined;
  const byTTL = Date.parse(reservation.injectedAt) + ttl;
  const cap = notAfter !== undefined ? Date.parse(notAfter) : NaN;
  return Number.isNaN(cap) ? byTTL : Math.min(byTTL, cap);
}

/** spec.notAfter has passed: no debugger may be injected any more. */
export const notAfterPassed = (s: Situation): boolean =>
  s.session.spec.notAfter !== undefined && s.now.getTime() >= Date.parse(s.session.spec.notAfter);

function recordedReservation(status: DebugSessionStatus): Reservation | undefined {
  if (status.targetPodUID === undefined) return undefined;
  return { podUID: status.targetPodUID, injectedAt: status.injectedAt };
}

// ---- named facts over a situation

export const isExpired = (s: Situation): boolean => s.pastDeadline || s.expiredBefore;

/**
 * The policy lets the operator delete the pod rather than evict it. With the policy gone, the default
 * holds: its admin removed it, and a pod must not keep its debugger for want of a policy. A copy is
 * the operator's own pod, serves nobody and no budget covers it: always deleted.
 */
export const deleteIsAllowed = (s: Situation): boolean =>
  s.copyMode || (s.access.policy?.spec.allowedExpiryActions ?? DEFAULT_ALLOWED_EXPIRY_ACTIONS).includes("Delete");

export const isBeingDeleted = (s: Situation): boolean => Boolean(s.session.metadata.deletionTimestamp);

/**
 * How the pod goes at expiry as the session asks (and the pod's mark records): deleted for a copy, or
 * when Delete is asked and the policy allows it; else evicted.
 */
export const askedRemoval = (s: Situation): ExpiryAction =>
  s.copyMode || (deleteIsAllowed(s) && expiryChoice(s) === "Delete") ? "Delete" : "Evict";

/** What the session asks for at expiry, the policy's defaultExpiryAction filling in what it leaves unset. */
export const expiryChoice = (s: Situation): ExpiryChoice => expiryChoiceOf(s.session, s.access.policy);

/**
 * From when an eviction refused at expiry becomes a delete (where the policy allows Delete):
 * --eviction-timeout after expiresAt, or after the longest Replace waits for a replacement, so a
 * replaced pod's eviction gets the same time before it is forced.
 */
export const forcedDeleteAtMs = (s: Situation): number =>
  expiryChoice(s) === "Replace" ? replacedByMs(s) + s.opts.evictionTimeoutMs : replacedByMs(s);

/** expiresAt + --eviction-timeout: the longest Replace waits for a replacement (and plain evictions for a budget). */
export const replacedByMs = (s: Situation): number => (s.expiresAtMs ?? 0) + s.opts.evictionTimeoutMs;

/** The pod was removed at expiry: nothing is left to do or to report, whatever the pod does now. */
export const podWasRemovedAtExpiry = (s: Situation): boolean =>
  s.status.phase === "Expired" && findCondition(s.status.conditions, "Expired")?.reason === Reason.PodRemoved;

/**
 * An ended session stays as it is. Not ended for good: one that still holds a live pod (the removal
 * is retried), a denied one (access may be granted later), one whose removal was pending when the
 * pod went away (that is recorded), and a Failed one whose spec changed (a longer ttl: tried again).
 */
export function hasEndedForGood(s: Situation): boolean {
  const { phase, observedGeneration, conditions } = s.status;
  if (!phase || !TERMINAL_PHASES.has(phase)) return false;
  const holdsLivePod = s.tainted && !s.podDeleting;
  const deniedBefore = phase === "Failed" && DENIAL_REASONS.has(findCondition(conditions, "Injected")?.reason ?? "");
  const removalPending = phase === "Expired" && findCondition(conditions, "Expired")?.status === "True";
  if (holdsLivePod || deniedBefore || removalPending) return false;
  return phase !== "Failed" || observedGeneration === s.generation;
}

/** The apiserver refused this very injection before, and nothing in the spec changed since. */
export const injectionWasRefused = (s: Situation): boolean =>
  s.status.phase === "Failed" &&
  s.status.observedGeneration === s.generation &&
  findCondition(s.status.conditions, "Injected")?.reason === Reason.InjectionRefused;

/** The pod's name: the one in hand, else the one the session names or recorded, else what it targets. */
export const podName = (s: Situation): string =>
  s.pod?.metadata?.name ?? targetPodName(s.session) ?? describeTarget(s.session);
