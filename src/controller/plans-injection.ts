// Situations before the debugger is in the pod: waiting for the target, judging access, injecting.
import type { V1Pod } from "@kubernetes/client-node";
import { SESSION_ANNOTATION, SESSION_LABEL, type DebugSession } from "../api/types.ts";
import { accessDenial } from "./access.ts";
import { ephemeralContainer, sessionLabelValue } from "./container.ts";
import type { DecideOptions } from "./input.ts";
import { copyDebugger } from "./pod-copy.ts";
import { planCopy } from "./plans-copy.ts";
import { withIsolation } from "./plans-relabel.ts";
import { recordedRemoval } from "./predicates.ts";
import { emptyPlan, podEvent, sessionEvent, type Plan, type PodWrite } from "./plan.ts";
import { planDenied, planEnded, withTransitionEvent } from "./plans-ended.ts";
import { Reason } from "./reasons.ts";
import {
  askedRemoval,
  injectionWasRefused,
  isExpired,
  notAfterPassed,
  podName,
  type Reservation,
  type Situation,
} from "./situation.ts";
import { noPodMessage } from "./target.ts";
import { StatusBuilder, injectedCondition } from "./status.ts";

/** Back off while waiting for a pod: a young session re-checks soon, an old one rarely. */
export function recheckDelay(session: DebugSession, now: Date, opts: DecideOptions): number {
  const created = session.metadata.creationTimestamp;
  const age = created ? now.getTime() - new Date(created).getTime() : 0;
  return Math.min(opts.maxRecheckMs, Math.max(opts.minRecheckMs, Math.floor(age / 2)));
}

/** Nothing reserved yet: may the requester have this debugger, and is the target ready for it? */
export function planBeforeInjection(s: Situation): Plan {
  if (notAfterPassed(s)) return planNotAfterPassed(s);
  const denial = accessDenial(s);
  if (denial) return planDenied(s, denial);
  if (s.copyMode) {
    const recheck = recheckDelay(s.session, s.now, s.opts);
    return planCopy(s, recheck, () => planInjection(s, { podUID: s.podUID ?? "", injectedAt: s.now.toISOString() }));
  }
  const waiting = waitingForTarget(s);
  if (waiting) return waiting;
  // Nothing is written before the injection: its UID test keeps a replacement pod untouched, and a
  // crash before the status write leaves our container in the pod, which the next pass adopts.
  return planInjection(s, { podUID: s.podUID ?? "", injectedAt: s.now.toISOString() });
}

/** spec.notAfter passed before the debugger went in: it never will. Expired, not Failed: nothing went wrong. */
function planNotAfterPassed(s: Situation): Plan {
  const message = `spec.notAfter (${s.session.spec.notAfter}) passed before a debugger was injected; none will be`;
  const status = new StatusBuilder(s).build("Expired", message, [
    { type: "Injected", status: "False", reason: Reason.NotAfterPassed, message },
    { type: "Ready", status: "False", reason: Reason.NotAfterPassed, message: "no debugger" },
  ]);
  return withTransitionEvent(s, planEnded({ ...s, status }, status), "Normal", Reason.NotAfterPassed);
}

/** Why the target pod cannot take a debugger now (missing, not running, finished, no such container). */
function waitingForTarget(s: Situation): Plan | undefined {
  const { pod, session } = s;
  const statuses = new StatusBuilder(s);
  const untilNotAfter = session.spec.notAfter ? Date.parse(session.spec.notAfter) - s.now.getTime() : Infinity;
  const recheck = Math.max(0, Math.min(recheckDelay(session, s.now, s.opts), untilNotAfter));
  const notYet = (phase: "Pending" | "Failed", reason: string, message: string, detail: string): Plan => {
    const ready = phase === "Pending" ? "no debugger yet" : "no debugger";
    const plan = emptyPlan(statuses.notInjected(phase, reason, message, detail, ready));
    if (phase === "Pending") plan.requeueAfterMs = recheck;
    return withTransitionEvent(s, plan, "Warning", reason);
  };
  const target = session.spec.targetPod;
  if (!pod && s.choice) {
    const message = noPodMessage(s.choice);
    return notYet("Pending", Reason.NoTargetPod, message, message);
  }
  if (!pod) {
    const message = `pod ${target} not found in namespace ${session.metadata.namespace}; the session waits for it`;
    return notYet("Pending", Reason.TargetPodNotFound, message, `pod ${target} does not exist (yet)`);
  }
  const name = podName(s);
  const podPhase = pod.status?.phase;
  if (podPhase === "Succeeded" || podPhase === "Failed") {
    const message = `pod ${name} has finished (${podPhase}); a finished pod cannot be debugged`;
    return notYet("Failed", Reason.TargetPodFinished, message, `pod phase is ${podPhase}`);
  }
  if (s.podDeleting || podPhase !== "Running") {
    const why = s.podDeleting ? "is being deleted" : `is ${podPhase ?? "not running"}`;
    return notYet(
      "Pending",
      Reason.TargetPodNotRunning,
      `pod ${name} ${why}; the session waits for it to run`,
      `pod ${why}`,
    );
  }
  const container = session.spec.targetContainer;
  if (container && !pod.spec?.containers.some((c) => c.name === container)) {
    const names = pod.spec?.containers.map((c) => c.name).join(", ");
    return notYet(
      "Failed",
      Reason.TargetContainerNotFound,
      `pod ${name} has no container ${container}`,
      `containers: ${names}`,
    );
  }
  return undefined;
}

/** The reserved pod is ours but our container is not in it: inject (again), unless that is over. */
export function planRetriedInjection(s: Situation): Plan {
  if (injectionWasRefused(s)) return planEnded(s);
  const expired = isExpired(s);
  if (!expired && !s.podDeleting) {
    // A retried injection is judged again: the policy or the requester's role may have changed.
    const denial = accessDenial(s);
    return denial ? planDenied(s, denial) : planInjection(s, s.reservation);
  }
  const reason = expired ? Reason.NotInjected : Reason.TargetPodGone;
  const message = expired
    ? "the TTL ran out before the debugger could be injected"
    : `pod ${podName(s)} is being deleted`;
  const status = new StatusBuilder(s).build(expired ? "Expired" : "Terminated", message, [
    { type: "Injected", status: "False", reason, message },
    { type: "Ready", status: "False", reason: Reason.NotInjected, message: "no debugger" },
  ]);
  return withTransitionEvent(s, emptyPlan(status), "Warning", reason);
}

/**
 * Inject, mark the pod, and write the status the session has after the injection, in one pass. The
 * status reports `reservation`, which the injection makes true.
 */
export function planInjection(s: Situation, reservation: Reservation | undefined): Plan {
  const { session, pod } = s;
  const name = podName(s);
  const statuses = new StatusBuilder(s, reservation);
  // In a copy the debugger needs no target: the copy shares its processes (pod-copy.ts).
  const container = s.copyMode ? copyDebugger(session) : ephemeralContainer(session);
  const expiresAt = statuses.expiresAt;
  const who = s.requestedBy?.username ?? "unknown";
  const why = session.spec.reason ? `, reason: ${session.spec.reason}` : "";
  const plan = emptyPlan(statuses.starting(injectedCondition(s, name)));
  if (!s.hasFinalizer) plan.finalizer = "add";
  plan.podWrites.push({ kind: "inject", pod: name, podUID: reservation?.podUID ?? "", container });
  if (pod) plan.podWrites.push(...markPod(s, pod, expiresAt));
  plan.events.push(
    podEvent(
      "Normal",
      Reason.DebuggerInjected,
      `debug session ${session.metadata.name} (requested by ${who}${why}) ` +
        `added ephemeral container ${s.containerName} ` +
        `(image ${container.image}); the pod will be removed at ${expiresAt}`,
    ),
    sessionEvent(
      "Normal",
      Reason.Injected,
      `injected debugger ${s.containerName} into pod ${name}${chosen(s)}; the pod will be removed at ${expiresAt}`,
    ),
  );
  if (expiresAt !== undefined) plan.requeueAfterMs = Math.max(0, Date.parse(expiresAt) - s.now.getTime());
  // spec.isolate: out of its Services (and ReplicaSet) once the debugger is in, never before.
  return withIsolation(s, plan);
}

/** How the pod was picked, for the event of a targetRef or targetSelector session. */
const chosen = (s: Situation): string =>
  s.choice?.because ? ` (chosen from ${s.choice.from}: ${s.choice.because})` : "";

/**
 * The label selects the pod for our pod cache; the annotations list every session that tainted it, and
 * when and how it is to be removed: the latest expiry among those sessions, so a pod whose sessions are
 * all gone is still removed on time (orphans.ts). Written again only when something in it grows.
 */
export function markPod(s: Situation, pod: V1Pod, expiresAt: string | undefined): PodWrite[] {
  const sessionName = s.session.metadata.name ?? "";
  const taintedBy = (pod.metadata?.annotations?.[SESSION_ANNOTATION] ?? "").split(",").filter(Boolean);
  const listed = taintedBy.includes(sessionName);
  if (!listed) taintedBy.push(sessionName);
  const recorded = recordedRemoval(pod);
  // Ours is the latest expiry (or the pod records none it can be removed by): the pod takes ours.
  const ours = expiresAt !== undefined && !(Date.parse(expiresAt) <= (recorded.expiresAtMs ?? NaN));
  const action = askedRemoval(s);
  const changed = ours && (recorded.expiresAt !== expiresAt || recorded.how !== action);
  if (pod.metadata?.labels?.[SESSION_LABEL] !== undefined && listed && !changed) return [];
  const when = ours
    ? { expiresAt, expiryAction: action }
    : { expiresAt: recorded.expiresAt, expiryAction: recorded.how };
  const { name = "", uid = "" } = pod.metadata ?? {};
  return [{ kind: "markPod", pod: name, podUID: uid, label: sessionLabelValue(sessionName), taintedBy, ...when }];
}
