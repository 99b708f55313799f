// What decide() reads: everything a reconcile gathered (gather.ts), and the clock.
import type { V1Pod } from "@kubernetes/client-node";
import type { DebugPolicy, DebugSession, ExpiryAction } from "../api/types.ts";
import type { GatheredReaders } from "./label-readers.ts";
import type { Refusal } from "./plan.ts";
import type { TargetChoice } from "./target.ts";

export interface DecideOptions {
  /** How long an eviction may be refused (PodDisruptionBudget) before the pod is deleted. */
  evictionTimeoutMs: number;
  /** Bounds of the re-check interval while a target pod is missing or not running yet. */
  minRecheckMs: number;
  maxRecheckMs: number;
}

export const DEFAULT_DECIDE_OPTIONS: DecideOptions = {
  evictionTimeoutMs: 60_000,
  minRecheckMs: 5_000,
  maxRecheckMs: 60_000,
};

/** What decides whether the requester may have this debugger at all; checked before every injection. */
export interface AccessInput {
  /** The DebugPolicy spec.policy names, in the session's namespace; undefined when it does not exist. */
  policy: DebugPolicy | undefined;
  /** RBAC's answer (SubjectAccessReview) to "may the requester use that policy?"; undefined when not asked. */
  requesterMayUse: boolean | undefined;
  /** Sessions other than this one that hold or are injecting into the same pod. */
  otherSessionsOnPod: number;
}

export interface DecideInput {
  session: DebugSession;
  /**
   * The pod the debugger is (to be) in, as the cluster has it now (informer cache or a fresh GET);
   * undefined if absent. In Copy mode the copy, and only when it is this session's (isCopyFor).
   */
  pod: V1Pod | undefined;
  /** Copy mode, before the debugger is in the copy: the pod to copy (read fresh); undefined if absent. */
  source?: V1Pod;
  /** Copy mode: a pod that is not this session's copy holds the copy's name. */
  copyNameTaken?: boolean;
  /**
   * Who reads the pod's labels (its Services, the namespace's NetworkPolicies, its controller): read
   * only for a session that changes them or copies the pod without them (label-readers.ts).
   */
  readers?: GatheredReaders;
  access: AccessInput;
  now: Date;
  options?: DecideOptions;
  /** Set when the apiserver refused a write of the plan decided for this same input. */
  refusal?: Refusal;
  /** How the pod was chosen, for a session with targetRef or targetSelector and no pod yet. */
  choice?: TargetChoice;
  /**
   * This operator removed the session's pod at expiry in an earlier pass (whose status write is left
   * to the pass after it, so that a burst of expiries removes every pod first): the pod is going and
   * the TTL has run out, whatever a cache that is behind, or a ttl raised since, says.
   */
  removed?: RemovedAtExpiry;
}

export interface RemovedAtExpiry {
  podUID: string;
  how: ExpiryAction;
}
