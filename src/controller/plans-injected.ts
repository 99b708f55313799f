// Situations after the injection: mirror the debugger, expire, notice the pod going, report a refusal.
import { type ContainerStateMirror, type DebugSessionStatus, type ExpiryAction } from "../api/types.ts";
import { isStarting, mirrorContainerState } from "./container-state.ts";
import { emptyPlan, podEvent, sessionEvent, type Plan, type Refusal } from "./plan.ts";
import { withTransitionEvent } from "./plans-ended.ts";
import { markPod } from "./plans-injection.ts";
import { replacement, withIsolation } from "./plans-relabel.ts";
import { withRecord } from "./plans-record.ts";
import { Reason } from "./reasons.ts";
import {
  askedRemoval,
  deleteIsAllowed,
  forcedDeleteAtMs,
  isBeingDeleted,
  podName,
  type Situation,
} from "./situation.ts";
import { StatusBuilder, injectedCondition } from "./status.ts";

const untilExpiry = (s: Situation): number | undefined =>
  s.expiresAtMs !== undefined ? Math.max(0, s.expiresAtMs - s.now.getTime()) : undefined;

/** Reserved, but the pod is gone or is another pod now: never touch it. */
export function planPodLost(s: Situation): Plan {
  const statuses = new StatusBuilder(s);
  const target = s.session.spec.targetPod;
  const uid = s.reservation?.podUID;
  if (s.pastDeadline || s.expiredBefore) {
    const injected = {
      type: "Injected" as const,
      status: "True" as const,
      reason: Reason.Injected,
      message: `debugger was injected at ${s.status.injectedAt}`,
    };
    const message = `the TTL ran out and pod ${target} (uid ${uid}) is gone`;
    const status = statuses.podRemoved(message, injected);
    const gone = `pod ${target} (uid ${uid}) was gone before the operator could read its logs`;
    return withRecord(s, reportRemoval(s, emptyPlan(status)), "Expired", message, gone);
  }
  const replaced = s.pod !== undefined;
  const reason = replaced ? Reason.TargetPodReplaced : Reason.TargetPodGone;
  const message = replaced
    ? `pod ${target} was replaced by a new pod (uid ${s.podUID}); the new pod is never touched`
    : `pod ${target} (uid ${uid}) went away before the TTL ran out`;
  const plan = withTransitionEvent(
    s,
    emptyPlan(statuses.terminated(reason, message, undefined, s.status.containerState)),
    "Warning",
    reason,
  );
  const gone = `${message}: its logs went with it, before the operator could read them`;
  return withRecord(s, plan, "PodGone", message, gone);
}

/**
 * How the pod goes at expiry: as the session asks, and deleted once evictions were refused for too
 * long; only ever evicted when the policy does not allow Delete (whatever the session asks).
 */
function removal(s: Situation): ExpiryAction {
  const overdue = deleteIsAllowed(s) && s.now.getTime() >= forcedDeleteAtMs(s);
  return askedRemoval(s) === "Delete" || overdue ? "Delete" : "Evict";
}

/** The TTL ran out and the pod carries our debugger: remove it (or record that it is going). */
export function planExpiry(s: Situation): Plan {
  const name = podName(s);
  const statuses = new StatusBuilder(s);
  const injected = injectedCondition(s, name);
  const replacing = replacement(s);
  if (replacing.kind === "wait") {
    return s.hasFinalizer ? replacing.plan : { ...replacing.plan, finalizer: "add" };
  }
  if (s.podDeleting) {
    const status = statuses.podRemoved(
      s.removedHow ? removedMessage(name, s.removedHow) : `the TTL ran out; pod ${name} is being removed`,
      injected,
    );
    return withRecord(s, reportRemoval(s, emptyPlan(status)), "Expired", status.message ?? "");
  }
  const how = removal(s);
  const message = removedMessage(name, how);
  // The record, then the removal, and nothing else in this pass: the status that reports it (and the
  // attach grant's revocation) is written by the next pass, queued behind the other sessions, so a
  // burst of expiries removes every pod before it reports any (docs/benchmarks.md, benchmark 4). That
  // pass knows the removal from input.removed, whatever its cache shows.
  const plan = withRecord(s, { ...emptyPlan(s.status), requeueAfterMs: 0 }, "Expired", message);
  if (!s.hasFinalizer) plan.finalizer = "add";
  plan.podWrites.push({ kind: "removePod", pod: name, podUID: s.reservation?.podUID ?? "", how });
  const verb = how === "Evict" ? "evicting" : "deleting";
  const note = replacing.kind === "ready" ? ` (${replacing.note})` : "";
  plan.events.push(
    podEvent(
      "Normal",
      Reason.DebugSessionExpired,
      `debug session ${s.session.metadata.name} expired; ${verb} the pod it tainted${note}`,
    ),
    sessionEvent("Normal", Reason.Expired, `${message}${note}`),
  );
  if (replacing.kind === "fallback")
    plan.events.push(sessionEvent("Warning", Reason.ReplaceNotPossible, replacing.why));
  return plan;
}

const removedMessage = (pod: string, how: ExpiryAction): string =>
  `the TTL ran out; pod ${pod} was ${how === "Evict" ? "evicted" : "deleted"}`;

/** The session's Event for the pod's removal; already recorded (Expired) when this operator removed it. */
const reportRemoval = (s: Situation, plan: Plan): Plan =>
  s.removedHow ? plan : withTransitionEvent(s, plan, "Normal", Reason.PodRemoved);

/** The debugger is in the pod and the TTL has not run out: report what the kubelet says of it. */
export function planMirror(s: Situation): Plan {
  const observed = s.pod ? mirrorContainerState(s.pod, s.containerName) : undefined;
  const containerState = isStarting(observed) ? undefined : observed;
  const name = podName(s);
  if (s.podDeleting) {
    const message = `pod ${name} is being deleted before the TTL ran out`;
    const status = new StatusBuilder(s).terminated(
      Reason.TargetPodGone,
      message,
      injectedCondition(s, name),
      containerState,
    );
    return withRecord(
      s,
      withTransitionEvent(s, emptyPlan(status), "Warning", Reason.TargetPodGone),
      "PodGone",
      message,
    );
  }
  const plan = emptyPlan(mirroredStatus(s, name, containerState));
  if (!s.hasFinalizer) plan.finalizer = "add";
  if (s.pod) plan.podWrites.push(...markPod(s, s.pod, plan.status.expiresAt));
  plan.requeueAfterMs = untilExpiry(s);
  // An isolation the injection's pass did not finish (its write failed) is done now.
  const isolated = withIsolation(s, plan);
  // Still the status the injection wrote: no event.
  if (containerState === undefined) return isolated;
  const reason = mirroredReason(containerState);
  return withTransitionEvent(s, isolated, containerState.state === "waiting" ? "Warning" : "Normal", reason);
}

function mirroredReason(state: ContainerStateMirror): string {
  if (state.state === "running") return Reason.Running;
  if (state.state === "terminated") return Reason.DebuggerExited;
  // Waiting for another reason than creation (ImagePullBackOff, CreateContainerError): worth a Warning.
  return state.reason ?? Reason.Waiting;
}

function mirroredStatus(s: Situation, name: string, state: ContainerStateMirror | undefined): DebugSessionStatus {
  const statuses = new StatusBuilder(s);
  const injected = injectedCondition(s, name);
  if (state === undefined) return statuses.starting(injected);
  const reason = mirroredReason(state);
  if (state.state === "running") {
    return statuses.build(
      "Running",
      `debugger is running; attach with: ${statuses.attachCommand}`,
      [injected, { type: "Ready", status: "True", reason, message: `running since ${state.startedAt ?? "now"}` }],
      state,
    );
  }
  if (state.state === "terminated") {
    const code = state.exitCode ?? "?";
    return statuses.build(
      "Completed",
      `debugger exited with code ${code}; pod ${name} is removed at ${statuses.expiresAt}`,
      [
        injected,
        { type: "Ready", status: "False", reason, message: `exit code ${code} (${state.reason ?? "terminated"})` },
      ],
      state,
    );
  }
  const detail = state.message ? `: ${state.message}` : "";
  return statuses.build(
    "Injecting",
    `debugger is waiting: ${reason}${detail}`,
    [injected, { type: "Ready", status: "False", reason, message: state.message ?? "waiting to start" }],
    state,
  );
}

/** The apiserver refused a pod write of this pass's plan: report it (a refused eviction is retried). */
export function planRefusal(s: Situation, refusal: Refusal): Plan {
  if (refusal.of === "copy") {
    const message = `the apiserver refused the copy of pod ${s.source?.metadata?.name ?? "?"}: ${refusal.message}`;
    const status = new StatusBuilder(s).notInjected("Failed", Reason.CopyRefused, message, refusal.message);
    return { ...emptyPlan(status), events: [sessionEvent("Warning", Reason.CopyRefused, message)] };
  }
  if (refusal.of === "injection") {
    const reservation = s.reservation ?? { podUID: s.podUID ?? "", injectedAt: s.now.toISOString() };
    const status = new StatusBuilder(s, reservation).build(
      "Failed",
      `the apiserver refused the debugger: ${refusal.message}`,
      [
        { type: "Injected", status: "False", reason: Reason.InjectionRefused, message: refusal.message },
        { type: "Ready", status: "False", reason: Reason.InjectionRefused, message: "no debugger" },
      ],
    );
    return { ...emptyPlan(status), events: [sessionEvent("Warning", Reason.InjectionRefused, refusal.message)] };
  }
  const name = podName(s);
  if (isBeingDeleted(s)) {
    // Reported once (in status.message and one Event), then retried quietly for as long as it takes.
    const why =
      `the session is being deleted, but the eviction of pod ${name} was refused: ${refusal.message}; ` +
      "it is retried, and the session goes once the pod is evicted";
    const events = s.status.message === why ? [] : [sessionEvent("Warning", Reason.EvictionBlocked, why)];
    return { ...emptyPlan({ ...s.status, message: why }), events, retryWithBackoff: why };
  }
  const deleteAfter = new Date(forcedDeleteAtMs(s)).toISOString();
  const then = deleteIsAllowed(s)
    ? `the pod is deleted instead after ${deleteAfter}`
    : "the policy allows no Delete (spec.allowedExpiryActions), so it waits for the disruption budget";
  const why = `the eviction of pod ${name} was refused: ${refusal.message}; it is retried, and ${then}`;
  const status = new StatusBuilder(s).build(
    "Expired",
    `the TTL ran out; ${why}`,
    [
      injectedCondition(s, name),
      { type: "Ready", status: "False", reason: Reason.Expiring, message: "the pod is being removed" },
      { type: "Expired", status: "True", reason: Reason.EvictionBlocked, message: why },
    ],
    s.status.containerState,
  );
  return { ...emptyPlan(status), retryWithBackoff: refusal.message };
}
