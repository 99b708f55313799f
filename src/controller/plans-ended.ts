// Situations in which the session is over, or is going: deleted, ended, denied.
import type { DebugSession, DebugSessionStatus } from "../api/types.ts";
import type { Denial } from "./access.ts";
import { emptyPlan, podEvent, sessionEvent, type Plan } from "./plan.ts";
import { endedBefore, withRecord } from "./plans-record.ts";
import { Reason } from "./reasons.ts";
import { deleteIsAllowed, podName, type Situation } from "./situation.ts";
import { StatusBuilder, lastReportedReason } from "./status.ts";
import type { EventType } from "../api/types.ts";

/** Labels and annotations by which Flux and Argo CD mark the objects they apply. */
const GITOPS_LABELS = [
  "kustomize.toolkit.fluxcd.io/name",
  "helm.toolkit.fluxcd.io/name",
  "argocd.argoproj.io/instance",
];
const GITOPS_ANNOTATIONS = ["argocd.argoproj.io/tracking-id"];

/** Applied by Flux or Argo CD: deleting it makes the tool create it again (a new session, a new pod). */
export function isGitOpsManaged(session: DebugSession): boolean {
  const { labels = {}, annotations = {} } = session.metadata;
  return GITOPS_LABELS.some((l) => l in labels) || GITOPS_ANNOTATIONS.some((a) => a in annotations);
}

/**
 * ms until ttlSecondsAfterFinished deletes an ended session (zero or less: due now), or undefined
 * when the session is kept: it asks to be, or GitOps manages it and the policy does not say to
 * delete such sessions (deleting one makes the tool create it again, and the new one debugs anew).
 */
export function untilDeletion(s: Situation, endedAt: string | undefined): number | undefined {
  const after = s.session.spec.ttlSecondsAfterFinished;
  if (after === undefined) return undefined;
  if (isGitOpsManaged(s.session) && !s.access.policy?.spec.deleteGitOpsManagedSessions) return undefined;
  return (endedAt ? Date.parse(endedAt) : s.now.getTime()) + after * 1000 - s.now.getTime();
}

/**
 * The session is being deleted: remove the pod it tainted, then let it go (the only finalizer
 * removal). Deleted, or evicted when the policy allows no Delete: deleting the session is no way
 * around a PodDisruptionBudget the policy respects.
 */
export function planDeletion(s: Situation): Plan {
  // A copy is the session's from its creation, with or without the debugger in it yet.
  const holdsPod = s.pod !== undefined && (s.tainted || (s.copyMode && !s.copyNameTaken)) && !s.podDeleting;
  const name = podName(s);
  const deleted = `debug session ${s.session.metadata.name} was deleted${s.pastDeadline ? "" : " before its TTL ran out"}`;
  const gone = s.podIsOurs ? undefined : `pod ${name} was gone when the session was deleted`;
  const plan = endedBefore(s) ? emptyPlan(s.status) : withRecord(s, emptyPlan(s.status), "Deleted", deleted, gone);
  if (holdsPod) {
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
export function planEnded(s: Situation, status: DebugSessionStatus = observed(s)): Plan {
  const plan = emptyPlan(status);
  const due = untilDeletion(s, status.endedAt);
  if (due !== undefined && due <= 0) plan.deleteSession = true;
  else if (due !== undefined) plan.requeueAfterMs = due;
  return plan;
}

/**
 * The status as it is, with the spec's generation observed: kstatus (Flux, kubectl wait) reads a
 * session whose observedGeneration lags as still in progress, and an ended session's ttl may change.
 */
function observed(s: Situation): DebugSessionStatus {
  if (s.status.observedGeneration === s.generation || s.status.phase === undefined) return s.status;
  const conditions = s.status.conditions?.map((c) => ({ ...c, observedGeneration: s.generation }));
  return { ...s.status, observedGeneration: s.generation, ...(conditions ? { conditions } : {}) };
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
  const due = untilDeletion(s, status.endedAt);
  if (due !== undefined && due <= 0) plan.deleteSession = true;
  return plan;
}

/** The plan with a session Event for its status, unless the session already reported that phase and reason. */
export function withTransitionEvent(s: Situation, plan: Plan, type: EventType, reason: string): Plan {
  const { phase, message } = plan.status;
  if (s.status.phase === phase && lastReportedReason(s.status) === reason) return plan;
  return { ...plan, events: [sessionEvent(type, reason, message ?? ""), ...plan.events] };
}
