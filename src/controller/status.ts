// The statuses a session can be given, each built in one place from the situation. Status is rebuilt
// from what was observed on every pass; only the reservation, endedAt and transition times carry over.
import { TERMINAL_PHASES, type ContainerStateMirror, type DebugSessionStatus, type Phase } from "../api/types.ts";
import { findCondition, setConditions, type ConditionInput } from "./conditions.ts";
import { attachCommand } from "./container.ts";
import { withoutUndefined } from "./container-state.ts";
import { Reason } from "./reasons.ts";
import { deadlineOf, podName, type Reservation, type Situation } from "./situation.ts";

export class StatusBuilder {
  private readonly s: Situation;
  private readonly base: DebugSessionStatus;
  readonly expiresAt: string | undefined;
  readonly attachCommand: string | undefined;
  /** Copy mode: the pod copied. */
  readonly sourcePod: string | undefined;

  /** `reservation` defaults to the situation's; an injection passes the one it is about to make. */
  constructor(s: Situation, reservation: Reservation | undefined = s.reservation) {
    this.s = s;
    const expiresAtMs = deadlineOf(reservation, s.ttlMs, s.session.spec.notAfter);
    this.expiresAt = expiresAtMs !== undefined ? new Date(expiresAtMs).toISOString() : undefined;
    // The pod is named once it is reserved, or from the start when the session names it; a copy is
    // named from the start too (its name follows from the session), beside the pod it copies.
    const pod = reservation || s.copyMode ? podName(s) : s.session.spec.targetPod;
    const sourcePod = s.copyMode
      ? (s.source?.metadata?.name ?? s.status.sourcePod ?? s.session.spec.targetPod)
      : undefined;
    this.sourcePod = sourcePod;
    this.attachCommand = reservation ? attachCommand(s.session, podName(s)) : undefined;
    this.base = withoutUndefined({
      requestedBy: s.requestedBy,
      pod,
      sourcePod,
      targetPodUID: reservation?.podUID,
      containerName: reservation ? s.containerName : undefined,
      injectedAt: reservation?.injectedAt,
      expiresAt: this.expiresAt,
      attachCommand: this.attachCommand,
      observedGeneration: s.generation,
    });
  }

  build(
    phase: Phase,
    message: string,
    conditions: ConditionInput[],
    containerState?: ContainerStateMirror,
  ): DebugSessionStatus {
    const { status, generation, now } = this.s;
    const endedBefore = status.phase && TERMINAL_PHASES.has(status.phase) ? status.endedAt : undefined;
    return withoutUndefined({
      ...this.base,
      phase,
      message,
      conditions: setConditions(status.conditions, kstatusConditions(phase, message, conditions), generation, now),
      // When the session ended: ttlSecondsAfterFinished counts from here.
      endedAt: TERMINAL_PHASES.has(phase) ? (endedBefore ?? now.toISOString()) : undefined,
      containerState,
    });
  }

  /** Before any debugger: both conditions False for one reason. */
  notInjected(
    phase: Phase,
    reason: string,
    message: string,
    detail: string,
    ready = "no debugger",
  ): DebugSessionStatus {
    return this.build(phase, message, [
      { type: "Injected", status: "False", reason, message: detail },
      { type: "Ready", status: "False", reason, message: ready },
    ]);
  }

  /** Right after the injection, and for as long as the kubelet is only creating the container. */
  starting(injected: ConditionInput): DebugSessionStatus {
    return this.build("Injecting", "debugger is waiting: ContainerCreating", [
      injected,
      { type: "Ready", status: "False", reason: Reason.ContainerCreating, message: "waiting to start" },
    ]);
  }

  /** The TTL ran out and the pod is (being) removed; the container state stays as it was before. */
  podRemoved(message: string, injected: ConditionInput): DebugSessionStatus {
    return this.build(
      "Expired",
      message,
      [
        injected,
        { type: "Ready", status: "False", reason: Reason.PodRemoved, message: "the pod was removed" },
        { type: "Expired", status: "True", reason: Reason.PodRemoved, message: `expired at ${this.expiresAt}` },
      ],
      this.s.status.containerState,
    );
  }

  /** The pod went away (or is going) before the TTL ran out. */
  terminated(
    reason: string,
    message: string,
    injected: ConditionInput | undefined,
    containerState: ContainerStateMirror | undefined,
  ): DebugSessionStatus {
    const conditions: ConditionInput[] = [
      injected ?? { type: "Injected", status: "False", reason, message },
      { type: "Ready", status: "False", reason, message },
    ];
    return this.build("Terminated", message, conditions, containerState);
  }
}

/** The Injected=True condition of a session whose debugger is in `pod`. */
export const injectedCondition = (s: Situation, pod: string): ConditionInput => ({
  type: "Injected",
  status: "True",
  reason: Reason.Injected,
  message: `ephemeral container ${s.containerName} is in pod ${pod}`,
});

/** The reason a status last reported: the Expired condition's when it is True, else Ready's, else Reconciling's. */
export function lastReportedReason(status: DebugSessionStatus): string | undefined {
  const expired = findCondition(status.conditions, "Expired");
  if (expired?.status === "True") return expired.reason;
  return (findCondition(status.conditions, "Ready") ?? findCondition(status.conditions, "Reconciling"))?.reason;
}

/**
 * The conditions as kstatus (Flux, kpt, cli-utils) and `kubectl wait` read them. Ready is True
 * exactly while the debugger runs and False while it is being started; an ended session has none,
 * since kstatus reads Ready=False as work in progress. Reconciling is True while work is in
 * progress (Pending, Injecting); Stalled is True when the session failed and will not succeed
 * without a change. The Ready input's reason and message move to Reconciling where Ready goes.
 */
export function kstatusConditions(phase: Phase, message: string, conditions: ConditionInput[]): ConditionInput[] {
  const ready = conditions.find((c) => c.type === "Ready");
  const others = conditions.filter((c) => c.type !== "Ready");
  const reason = ready?.reason ?? phase;
  const detail = ready?.message ?? message;
  const reconciling = (status: "True" | "False", text = detail): ConditionInput => ({
    type: "Reconciling",
    status,
    reason,
    message: text,
  });
  switch (phase) {
    case "Pending":
    case "Injecting":
      return [...others, ...(ready ? [ready] : []), reconciling("True")];
    case "Running":
      return [...others, ...(ready ? [ready] : []), reconciling("False", "the debugger is running")];
    case "Failed":
      return [...others, reconciling("False"), { type: "Stalled", status: "True", reason, message }];
    default:
      return [...others, reconciling("False")];
  }
}
