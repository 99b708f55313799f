// decide(input) -> Plan: every rule of the operator, with no I/O. apply.ts carries the plan out.
// A dispatcher over named situations, tried in this order; each is a function of one gathered input.
import { planDeletion, planEnded } from "./plans-ended.ts";
import { planBeforeInjection, planRetriedInjection } from "./plans-injection.ts";
import { planExpiry, planMirror, planPodLost, planRefusal } from "./plans-injected.ts";
import type { DecideInput } from "./input.ts";
import type { Plan } from "./plan.ts";
import { withAttachGrant } from "./plans-attach.ts";
import { withCopyCleanup } from "./plans-copy.ts";
import {
  hasEndedForGood,
  isBeingDeleted,
  isExpired,
  podWasRemovedAtExpiry,
  situation,
  type Situation,
} from "./situation.ts";

export function decide(input: DecideInput): Plan {
  const s = situation(input);
  return withAttachGrant(s, withCopyCleanup(s, planFor(s, input)));
}

function planFor(s: Situation, input: DecideInput): Plan {
  // The apiserver refused a write of the plan decided for this input: report that instead.
  if (input.refusal) return planRefusal(s, input.refusal);
  if (isBeingDeleted(s)) return planDeletion(s);
  if (podWasRemovedAtExpiry(s) || hasEndedForGood(s)) return planEnded(s);
  // Nothing reserved and no debugger of ours found in the pod.
  if (!s.reservation) return planBeforeInjection(s);
  // Reserved, but the pod is gone or another pod holds its name.
  if (!s.podIsOurs) return planPodLost(s);
  // Our pod, without our container.
  if (!s.tainted) return planRetriedInjection(s);
  if (isExpired(s)) return planExpiry(s);
  return planMirror(s);
}

export { DEFAULT_DECIDE_OPTIONS, type AccessInput, type DecideInput, type DecideOptions } from "./input.ts";
export type { AccessWrite, Plan, PlannedEvent, PodWrite, Refusal } from "./plan.ts";
export { DENIAL_REASONS } from "./reasons.ts";
export { requester } from "./predicates.ts";
export { ttlMs } from "../policy/ttl.ts";
export { mirrorContainerState } from "./container-state.ts";
export { recheckDelay } from "./plans-injection.ts";
