// Situations in which the session is over, or is going: deleted, ended, denied.
import type { DebugSession } from "../api/types.ts";
import type { Denial } from "./access.ts";
import { emptyPlan, podEvent, sessionEvent, type Plan } from "./plan.ts";
import { Reason } from "./reasons.ts";
import { deleteIsAllowed, type Situation } from "./situation.ts";
import { StatusBuilder, lastReportedReason } from "./status.ts";
import type { EventType } from "../api/types.ts";

/**
 * ms until ttlSecondsAfterFinished deletes an ended session (zero or less: due now), or undefined
 * when the session asks to be kept.
 */
export function untilDeletion(session: DebugSession, endedAt: string | undefined, now: Date): number | undefined {
  const after = session.spec.ttlSecondsAfterFinished;
  if (after === undefined) return undefined;
  return (endedAt ? Date.parse(endedAt) : now.getTime()) + after * 1000 - now.getTime();
}

/**
 * The session is being deleted: remove the pod it tainted, then let it go (the only finalizer
 * removal). Deleted, or evicted when the policy allows no Delete: deleting the session is no way
 * around a PodDisruptionBudget the policy respects.
 */
export function planDeletion(s: Situation): Plan {
  const plan = emptyPlan(s.status);
  if (s.pod && s.tainted && !s.podDeleting) {
    const name = s.pod.metadata?.name ?? s.session.spec.targetPod;
    const how = deleteIsAllowed(s) ? "Delete" : "Evict";
    plan.podWrites.push({ kind: "removePod", pod: name, podUID: s.podUID ?? "", how });
    plan.events.push(
      podEvent(
        "Normal",
        Reason.DebugSessionDeleted,
        `debug session ${s.session.metadata.name} was deleted; ${how === "Delete" ? "deleting" : "evicting"} the pod it tainted`,
      ),
    );
  }
  if (s.hasFinalizer) plan.finalizer = "remove";
  return plan;
}

/**
 * An ended session: nothing to do but, if asked, delete it once its time is up. Its finalizer stays
 * until it is deleted, like pvc-protection's.
 */
export function planEnded(s: Situation): Plan {
  const plan = emptyPlan(s.status);
  const due = untilDeletion(s.session, s.status.endedAt, s.now);
  if (due !== undefined && due <= 0) plan.deleteSession = true;
  else if (due !== undefined) plan.requeueAfterMs = due;
  return plan;
}

/** Policy or RBAC said no: Failed, nothing written to any pod, looked at again rarely (policies change). */
export function planDenied(s: Situation, denial: Denial): Plan {
  const status = new StatusBuilder(s).build("Failed", denial.message, [
    { type: "Injected", status: "False", reason: denial.reason, message: denial.message },
    { type: "Ready", status: "False", reason: denial.reason, message: "denied; nothing was written to any pod" },
  ]);
  const plan = withTransitionEvent(
    s,
    { ...emptyPlan(status), requeueAfterMs: s.opts.maxRecheckMs },
    "Warning",
    denial.reason,
  );
  // A denied session is still an ended one for ttlSecondsAfterFinished.
  const due = untilDeletion(s.session, status.endedAt, s.now);
  if (due !== undefined && due <= 0) plan.deleteSession = true;
  return plan;
}

/** The plan with a session Event for its status, unless the session already reported that phase and reason. */
export function withTransitionEvent(s: Situation, plan: Plan, type: EventType, reason: string): Plan {
  const { phase, message } = plan.status;
  if (s.status.phase === phase && lastReportedReason(s.status) === reason) return plan;
  return { ...plan, events: [sessionEvent(type, reason, message ?? ""), ...plan.events] };
}
