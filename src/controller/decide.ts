// decide(input) -> Plan: every rule of the operator, with no I/O. apply.ts carries the plan out.
import type { V1EphemeralContainer, V1Pod } from "@kubernetes/client-node";
import { parseDuration } from "../api/duration.ts";
import { evaluatePolicy } from "../policy/evaluate.ts";
import {
  DEFAULT_EXPIRY_ACTION,
  DEFAULT_TTL,
  FINALIZER,
  REQUESTER_ANNOTATION,
  REQUESTER_GROUPS_ANNOTATION,
  SESSION_ANNOTATION,
  SESSION_LABEL,
  type ContainerStateMirror,
  type DebugPolicy,
  type DebugSession,
  type DebugSessionStatus,
  type Phase,
  type RequestedBy,
} from "../api/types.ts";
import { findCondition, setConditions, type ConditionInput } from "./conditions.ts";
import { attachCommand, ephemeralContainer, ephemeralContainerName } from "./container.ts";

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
  /** The target pod as the cluster has it now (informer cache or a fresh GET); undefined if absent. */
  pod: V1Pod | undefined;
  access: AccessInput;
  now: Date;
  options?: DecideOptions;
}

/** Reasons of a denial by policy or RBAC: re-evaluated on every pass, since policies and roles change. */
export const DENIAL_REASONS: ReadonlySet<string> = new Set(["RequesterUnknown", "PolicyNotFound", "PolicyUseForbidden", "PolicyViolation"]);

/** Who asked, from the admission stamp. */
export function requester(session: DebugSession): RequestedBy | undefined {
  const a = session.metadata.annotations;
  const username = a?.[REQUESTER_ANNOTATION];
  if (!username) return undefined;
  const groups = (a[REQUESTER_GROUPS_ANNOTATION] ?? "").split(",").map((g) => g.trim()).filter(Boolean);
  return groups.length ? { username, groups } : { username };
}

export type Action =
  | { kind: "addFinalizer" }
  | { kind: "removeFinalizer" }
  | { kind: "inject"; pod: string; podUID: string; container: V1EphemeralContainer; appendToList: boolean }
  | { kind: "markPod"; pod: string; podUID: string; hasLabels: boolean; hasAnnotations: boolean; taintedBy: string }
  | { kind: "removePod"; pod: string; podUID: string; how: "Evict" | "Delete" }
  | { kind: "deleteSession" }
  | { kind: "event"; on: "session" | "pod"; type: "Normal" | "Warning"; reason: string; message: string };

export interface Plan {
  /**
   * The status the session should have; apply writes it only when it differs from the current one,
   * and only after the pod writes of the plan succeeded, so it never reports what did not happen.
   */
  status: DebugSessionStatus;
  /**
   * Carried out as addFinalizer, then the pod writes (inject, markPod, removePod) in order, then the
   * status write, then the rest in order; the first failure stops the rest and retries.
   */
  actions: Action[];
  /** Come back at this delay (the exact expiry instant, or a bounded re-check); undefined: wait for events. */
  requeueAfterMs?: number;
  /** The status to write instead when the apiserver refuses the injection (admission, Pod Security): no retry. */
  ifInjectionRefused?: (message: string) => DebugSessionStatus;
  /** The status to write instead when a disruption budget refuses the eviction (429): the removal is retried. */
  ifRemovalRefused?: (message: string) => DebugSessionStatus;
}

const DEFAULT_TTL_MS = 30 * 60_000;

/**
 * Millisecond TTL of a session: its own ttl, else the one its expiresAt already fixed, else the
 * policy's defaultTTL, else 30m; never more than the policy's maxTTL (a ttl raised without the
 * admission check in place is still bounded).
 */
export function ttlMs(session: DebugSession, policy?: DebugPolicy): number {
  const fixed = session.status?.injectedAt && session.status.expiresAt ? Date.parse(session.status.expiresAt) - Date.parse(session.status.injectedAt) : undefined;
  const own = session.spec.ttl !== undefined ? parseDuration(session.spec.ttl) : undefined;
  const ttl = own ?? fixed ?? parseDuration(policy?.spec.defaultTTL ?? DEFAULT_TTL) ?? DEFAULT_TTL_MS;
  // Without its policy, a session keeps the deadline it had: nothing is left to allow a longer one.
  const max = policy?.spec.maxTTL !== undefined ? parseDuration(policy.spec.maxTTL) : policy === undefined ? fixed : undefined;
  return max !== undefined ? Math.min(ttl, max) : ttl;
}

/** Pure: ms until expiry (negative once past), or undefined before injection. */
export function timeLeft(session: DebugSession, now: Date): number | undefined {
  const { injectedAt, expiresAt } = session.status ?? {};
  if (!injectedAt) return undefined;
  return (expiresAt ? Date.parse(expiresAt) : Date.parse(injectedAt) + ttlMs(session)) - now.getTime();
}

const iso = (t: Date | string | undefined): string | undefined =>
  t === undefined ? undefined : typeof t === "string" ? t : t.toISOString();

/** The debugger's entry in pod.status.ephemeralContainerStatuses, reduced to what the session shows. */
export function mirrorContainerState(pod: V1Pod, name: string): ContainerStateMirror | undefined {
  const st = pod.status?.ephemeralContainerStatuses?.find((s) => s.name === name)?.state;
  if (!st) return undefined;
  if (st.terminated) {
    return strip<ContainerStateMirror>({
      state: "terminated",
      reason: st.terminated.reason,
      message: st.terminated.message,
      exitCode: st.terminated.exitCode,
      startedAt: iso(st.terminated.startedAt),
      finishedAt: iso(st.terminated.finishedAt),
    });
  }
  if (st.running) return strip<ContainerStateMirror>({ state: "running", startedAt: iso(st.running.startedAt) });
  if (st.waiting) return strip<ContainerStateMirror>({ state: "waiting", reason: st.waiting.reason, message: st.waiting.message });
  return undefined;
}

function strip<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const STARTING_REASONS: ReadonlySet<string> = new Set(["ContainerCreating", "PodInitializing"]);

/**
 * While the debugger is only being created, the session shows the status the injection wrote
 * rather than the kubelet's first reports, so the pass after the injection has nothing to write.
 */
function isStarting(state: ContainerStateMirror | undefined): boolean {
  return state === undefined || (state.state === "waiting" && (state.reason === undefined || STARTING_REASONS.has(state.reason)));
}

/** When the debugger started, if the kubelet reported it: the deadline of an adopted debugger counts from there. */
function containerStartedAt(pod: V1Pod, name: string): string | undefined {
  const st = pod.status?.ephemeralContainerStatuses?.find((s) => s.name === name)?.state;
  return iso(st?.running?.startedAt ?? st?.terminated?.startedAt);
}

const TERMINAL: ReadonlySet<Phase> = new Set(["Expired", "Failed", "Terminated"]);

export function decide(input: DecideInput): Plan {
  const { session, pod, now, access } = input;
  const opts = input.options ?? DEFAULT_DECIDE_OPTIONS;
  const meta = session.metadata;
  const old = session.status ?? {};
  const generation = meta.generation ?? 0;
  const hasFinalizer = meta.finalizers?.includes(FINALIZER) ?? false;
  const name = ephemeralContainerName(session);
  const reservedUID = old.targetPodUID;
  const podUID = pod?.metadata?.uid;
  const ourContainer = pod?.spec?.ephemeralContainers?.find((c) => c.name === name);
  // The inject patch tests the pod's UID, so only the pod we looked at can carry our container: without
  // targetPodUID in status (the write after the injection did not happen), the container says the pod is ours.
  const podIsOurs = pod !== undefined && (reservedUID !== undefined ? podUID === reservedUID : ourContainer !== undefined);
  const tainted = podIsOurs && ourContainer !== undefined;
  const podDeleting = pod?.metadata?.deletionTimestamp !== undefined && pod?.metadata?.deletionTimestamp !== null;

  // ---- the session is being deleted: remove the pod it tainted, then let it go. The finalizer is
  // removed here and nowhere else.
  if (meta.deletionTimestamp) {
    const actions: Action[] = [];
    if (pod && tainted && !podDeleting) {
      actions.push(
        { kind: "removePod", pod: pod.metadata!.name!, podUID: podUID!, how: "Delete" },
        podEvent("Normal", "DebugSessionDeleted", `debug session ${meta.name} was deleted; removing the pod it tainted`),
      );
    }
    if (hasFinalizer) actions.push({ kind: "removeFinalizer" });
    return { status: old, actions };
  }

  // ---- the pod was removed at expiry: nothing is left to do or to report, whatever the pod does now.
  if (old.phase === "Expired" && findCondition(old.conditions, "Expired")?.reason === "PodRemoved") {
    return finished(session, old, now);
  }

  const expiresAtMs = old.injectedAt ? Date.parse(old.injectedAt) + ttlMs(session, access.policy) : undefined;
  // Once a session expired it stays expired: a ttl raised while an eviction is still refused does not
  // bring the debugger back.
  const expired = (expiresAtMs !== undefined && now.getTime() >= expiresAtMs) || old.phase === "Expired";
  const requestedBy = requester(session);
  const base: DebugSessionStatus = strip({
    requestedBy,
    targetPodUID: reservedUID,
    containerName: reservedUID ? name : undefined,
    injectedAt: old.injectedAt,
    expiresAt: expiresAtMs !== undefined ? new Date(expiresAtMs).toISOString() : undefined,
    attachCommand: reservedUID ? attachCommand(session, session.spec.targetPod) : undefined,
    observedGeneration: generation,
  });
  const build = (
    phase: Phase,
    message: string,
    conditions: ConditionInput[],
    extra: Partial<DebugSessionStatus> = {},
  ): DebugSessionStatus =>
    strip({
      ...base,
      phase,
      message,
      conditions: setConditions(old.conditions, conditions, generation, now),
      // When the session ended: ttlSecondsAfterFinished counts from here.
      endedAt: TERMINAL.has(phase) ? (old.phase && TERMINAL.has(old.phase) && old.endedAt ? old.endedAt : now.toISOString()) : undefined,
      ...extra,
    });
  const untilExpiry = expiresAtMs !== undefined ? Math.max(0, expiresAtMs - now.getTime()) : undefined;
  const transitionEvents = (phase: Phase, type: "Normal" | "Warning", reason: string, message: string): Action[] =>
    old.phase === phase && findReason(old) === reason ? [] : [sessionEvent(type, reason, message)];
  const withEvents = (plan: Plan, type: "Normal" | "Warning", reason: string): Plan => ({
    ...plan,
    actions: [...transitionEvents(plan.status.phase!, type, reason, plan.status.message ?? ""), ...plan.actions],
  });
  const denied = (denial: { reason: string; message: string }): Plan => {
    const plan = withEvents(
      {
        status: build("Failed", denial.message, [
          { type: "Injected", status: "False", reason: denial.reason, message: denial.message },
          { type: "Ready", status: "False", reason: denial.reason, message: "denied; nothing was written to any pod" },
        ]),
        actions: [],
        // Policies and roles change: look again, rarely.
        requeueAfterMs: opts.maxRecheckMs,
      },
      "Warning",
      denial.reason,
    );
    // A denied session is still an ended one for ttlSecondsAfterFinished.
    const after = session.spec.ttlSecondsAfterFinished;
    const endedAt = plan.status.endedAt ? Date.parse(plan.status.endedAt) : now.getTime();
    if (after !== undefined && endedAt + after * 1000 <= now.getTime()) plan.actions.push({ kind: "deleteSession" });
    return plan;
  };

  // ---- ended sessions stay for audit, unless ttlSecondsAfterFinished says otherwise.
  // A Failed session is tried again only when its spec changed (a longer ttl); an Expired one whose
  // pod still stands falls through so the removal is retried, and one whose removal was pending when
  // the pod went away falls through to record that.
  const holdsLivePod = tainted && !podDeleting;
  const deniedBefore = old.phase === "Failed" && DENIAL_REASONS.has(injectedReason(old) ?? "");
  const removalPending = old.phase === "Expired" && findCondition(old.conditions, "Expired")?.status === "True";
  if (old.phase && TERMINAL.has(old.phase) && !holdsLivePod && !deniedBefore && !removalPending) {
    if (old.phase !== "Failed" || old.observedGeneration === generation) {
      return finished(session, old, now);
    }
  }

  // ---- not injected yet (nothing reserved): may the requester have this debugger, and where?
  if (!reservedUID) {
    // Injected, but the status write after it did not happen: adopt the debugger rather than add a
    // second one, its deadline counted from its start when the kubelet reported one.
    if (pod && tainted) {
      const injectedAt = containerStartedAt(pod, name) ?? now.toISOString();
      return decide({ ...input, options: opts, session: { ...session, status: { ...old, targetPodUID: podUID!, injectedAt } } });
    }
    const recheck = recheckDelay(session, now, opts);
    const denial = deny(session, pod, access, requestedBy);
    if (denial) return denied(denial);
    if (!pod) {
      return withEvents(
        {
          status: build("Pending", `pod ${session.spec.targetPod} not found in namespace ${meta.namespace}; the session waits for it`, [
            { type: "Injected", status: "False", reason: "TargetPodNotFound", message: `pod ${session.spec.targetPod} does not exist (yet)` },
            { type: "Ready", status: "False", reason: "TargetPodNotFound", message: "no debugger yet" },
          ]),
          actions: [],
          requeueAfterMs: recheck,
        },
        "Warning",
        "TargetPodNotFound",
      );
    }
    const podPhase = pod.status?.phase;
    if (podPhase === "Succeeded" || podPhase === "Failed") {
      return withEvents(
        {
          status: build("Failed", `pod ${pod.metadata?.name} has finished (${podPhase}); a finished pod cannot be debugged`, [
            { type: "Injected", status: "False", reason: "TargetPodFinished", message: `pod phase is ${podPhase}` },
            { type: "Ready", status: "False", reason: "TargetPodFinished", message: "no debugger" },
          ]),
          actions: [],
        },
        "Warning",
        "TargetPodFinished",
      );
    }
    if (podDeleting || podPhase !== "Running") {
      const why = podDeleting ? "is being deleted" : `is ${podPhase ?? "not running"}`;
      return withEvents(
        {
          status: build("Pending", `pod ${pod.metadata?.name} ${why}; the session waits for it to run`, [
            { type: "Injected", status: "False", reason: "TargetPodNotRunning", message: `pod ${why}` },
            { type: "Ready", status: "False", reason: "TargetPodNotRunning", message: "no debugger yet" },
          ]),
          actions: [],
          requeueAfterMs: recheck,
        },
        "Warning",
        "TargetPodNotRunning",
      );
    }
    const target = session.spec.targetContainer;
    if (target && !pod.spec?.containers.some((c) => c.name === target)) {
      return withEvents(
        {
          status: build("Failed", `pod ${pod.metadata?.name} has no container ${target}`, [
            { type: "Injected", status: "False", reason: "TargetContainerNotFound", message: `containers: ${pod.spec?.containers.map((c) => c.name).join(", ")}` },
            { type: "Ready", status: "False", reason: "TargetContainerNotFound", message: "no debugger" },
          ]),
          actions: [],
        },
        "Warning",
        "TargetContainerNotFound",
      );
    }
    // Decided as if the pod's UID and the injection time were already in status: the plan injects and
    // then writes the status the session has after the injection, in one write. Nothing is written
    // before the injection: its UID test keeps a replacement pod untouched, and a crash before the
    // status write leaves our container in the pod, which the next pass adopts.
    const reserved: DebugSession = { ...session, status: { ...old, targetPodUID: podUID!, injectedAt: now.toISOString() } };
    return decide({ ...input, options: opts, session: reserved });
  }

  // ---- reserved, but the pod is gone or is another pod now: never touch it.
  if (!podIsOurs) {
    const replaced = pod !== undefined;
    if (expired) {
      return withEvents(
        {
          status: build("Expired", `the TTL ran out and pod ${session.spec.targetPod} (uid ${reservedUID}) is gone`, [
            { type: "Injected", status: "True", reason: "Injected", message: `debugger was injected at ${old.injectedAt}` },
            { type: "Ready", status: "False", reason: "PodRemoved", message: "the pod was removed" },
            { type: "Expired", status: "True", reason: "PodRemoved", message: `expired at ${base.expiresAt}` },
          ], { containerState: old.containerState }),
          actions: [],
        },
        "Normal",
        "PodRemoved",
      );
    }
    const reason = replaced ? "TargetPodReplaced" : "TargetPodGone";
    const message = replaced
      ? `pod ${session.spec.targetPod} was replaced by a new pod (uid ${podUID}); the new pod is never touched`
      : `pod ${session.spec.targetPod} (uid ${reservedUID}) went away before the TTL ran out`;
    return withEvents(
      {
        status: build("Terminated", message, [
          { type: "Injected", status: "False", reason, message },
          { type: "Ready", status: "False", reason, message },
        ], { containerState: old.containerState }),
        actions: [],
      },
      "Warning",
      reason,
    );
  }

  const observed = mirrorContainerState(pod, name);
  const containerState = isStarting(observed) ? undefined : observed;
  const podName = pod.metadata!.name!;
  const finalizer: Action[] = hasFinalizer ? [] : [{ kind: "addFinalizer" }];
  const injected: ConditionInput = { type: "Injected", status: "True", reason: "Injected", message: `ephemeral container ${name} is in pod ${podName}` };
  // The status right after the injection, and for as long as the kubelet is only creating the container.
  const starting = (): DebugSessionStatus =>
    build("Injecting", "debugger is waiting: ContainerCreating", [
      injected,
      { type: "Ready", status: "False", reason: "ContainerCreating", message: "waiting to start" },
    ]);

  // ---- reserved pod, but our container is not in it.
  if (!tainted) {
    const refused = old.phase === "Failed" && old.observedGeneration === generation && injectedReason(old) === "InjectionRefused";
    if (refused) return finished(session, old, now);
    // A retried injection is judged again: the policy or the requester's role may have changed.
    const denial = expired || podDeleting ? undefined : deny(session, pod, access, requestedBy);
    if (denial) return denied(denial);
    if (expired || podDeleting) {
      const message = expired ? "the TTL ran out before the debugger could be injected" : `pod ${podName} is being deleted`;
      return withEvents(
        {
          status: build(expired ? "Expired" : "Terminated", message, [
            { type: "Injected", status: "False", reason: expired ? "NotInjected" : "TargetPodGone", message },
            { type: "Ready", status: "False", reason: "NotInjected", message: "no debugger" },
          ]),
          actions: [],
        },
        "Warning",
        expired ? "NotInjected" : "TargetPodGone",
      );
    }
    const container = ephemeralContainer(session);
    return {
      status: starting(),
      actions: [
        ...finalizer,
        { kind: "inject", pod: podName, podUID: reservedUID, container, appendToList: (pod.spec?.ephemeralContainers?.length ?? 0) > 0 },
        ...markPod(pod, session),
        podEvent(
          "Normal",
          "DebuggerInjected",
          `debug session ${meta.name} (requested by ${requestedBy?.username ?? "unknown"}${session.spec.reason ? `, reason: ${session.spec.reason}` : ""}) ` +
            `added ephemeral container ${name} (image ${container.image}); the pod will be removed at ${base.expiresAt}`,
        ),
        sessionEvent("Normal", "Injected", `injected debugger ${name} into pod ${podName}; the pod will be removed at ${base.expiresAt}`),
      ],
      requeueAfterMs: untilExpiry,
      ifInjectionRefused: (message) =>
        build("Failed", `the apiserver refused the debugger: ${message}`, [
          { type: "Injected", status: "False", reason: "InjectionRefused", message },
          { type: "Ready", status: "False", reason: "InjectionRefused", message: "no debugger" },
        ]),
    };
  }

  // ---- the pod carries our debugger.
  if (expired) {
    // The container state stays as it was before expiry: the dying container is not reported.
    const removed = (message: string): DebugSessionStatus =>
      build("Expired", message, [
        injected,
        { type: "Ready", status: "False", reason: "PodRemoved", message: "the pod was removed" },
        { type: "Expired", status: "True", reason: "PodRemoved", message: `expired at ${base.expiresAt}` },
      ], { containerState: old.containerState });
    if (podDeleting) {
      return withEvents({ status: removed(`the TTL ran out; pod ${podName} is being removed`), actions: [] }, "Normal", "PodRemoved");
    }
    const overdue = now.getTime() - (expiresAtMs ?? 0);
    const how = (session.spec.expiryAction ?? DEFAULT_EXPIRY_ACTION) === "Delete" || overdue >= opts.evictionTimeoutMs ? "Delete" : "Evict";
    // Written only once the removal went through.
    const status = removed(`the TTL ran out; pod ${podName} was ${how === "Evict" ? "evicted" : "deleted"}`);
    const deleteAfter = new Date((expiresAtMs ?? 0) + opts.evictionTimeoutMs).toISOString();
    return {
      status,
      actions: [
        ...finalizer,
        { kind: "removePod", pod: podName, podUID: reservedUID, how },
        podEvent("Normal", "DebugSessionExpired", `debug session ${meta.name} expired; ${how === "Evict" ? "evicting" : "deleting"} the pod it tainted`),
        sessionEvent("Normal", "Expired", status.message ?? ""),
      ],
      // A refused eviction is retried with backoff (apply rethrows) until the deadline to delete.
      ifRemovalRefused:
        how === "Evict"
          ? (message) => {
              const why = `the eviction of pod ${podName} was refused: ${message}; it is retried, and the pod is deleted instead after ${deleteAfter}`;
              return build("Expired", `the TTL ran out; ${why}`, [
                injected,
                { type: "Ready", status: "False", reason: "Expiring", message: "the pod is being removed" },
                { type: "Expired", status: "True", reason: "EvictionBlocked", message: why },
              ], { containerState: old.containerState });
            }
          : undefined,
    };
  }
  if (podDeleting) {
    const message = `pod ${podName} is being deleted before the TTL ran out`;
    return withEvents(
      {
        status: build("Terminated", message, [
          injected,
          { type: "Ready", status: "False", reason: "TargetPodGone", message },
        ], { containerState }),
        actions: [],
      },
      "Warning",
      "TargetPodGone",
    );
  }

  const mark = markPod(pod, session);
  if (containerState === undefined) {
    // Still the status the injection wrote: no write and no event.
    return { status: starting(), actions: [...finalizer, ...mark], requeueAfterMs: untilExpiry };
  }
  let plan: Plan;
  let reason: string;
  let eventType: "Normal" | "Warning" = "Normal";
  if (containerState.state === "running") {
    reason = "Running";
    plan = {
      status: build("Running", `debugger is running; attach with: ${base.attachCommand}`, [
        injected,
        { type: "Ready", status: "True", reason: "Running", message: `running since ${containerState.startedAt ?? "now"}` },
      ], { containerState }),
      actions: [...finalizer, ...mark],
      requeueAfterMs: untilExpiry,
    };
  } else if (containerState.state === "terminated") {
    reason = "DebuggerExited";
    plan = {
      status: build(
        "Completed",
        `debugger exited with code ${containerState.exitCode ?? "?"}; pod ${podName} is removed at ${base.expiresAt}`,
        [injected, { type: "Ready", status: "False", reason: "DebuggerExited", message: `exit code ${containerState.exitCode ?? "?"} (${containerState.reason ?? "terminated"})` }],
        { containerState },
      ),
      actions: [...finalizer, ...mark],
      requeueAfterMs: untilExpiry,
    };
  } else {
    // Waiting for another reason than creation (ImagePullBackOff, CreateContainerError): worth a Warning.
    reason = containerState.reason ?? "Waiting";
    eventType = "Warning";
    plan = {
      status: build("Injecting", `debugger is waiting: ${reason}${containerState.message ? `: ${containerState.message}` : ""}`, [
        injected,
        { type: "Ready", status: "False", reason, message: containerState.message ?? "waiting to start" },
      ], { containerState }),
      actions: [...finalizer, ...mark],
      requeueAfterMs: untilExpiry,
    };
  }
  return withEvents(plan, eventType, reason);
}

function injectedReason(status: DebugSessionStatus): string | undefined {
  return status.conditions?.find((c) => c.type === "Injected")?.reason;
}

function findReason(status: DebugSessionStatus): string | undefined {
  const ready = status.conditions?.find((c) => c.type === "Expired" && c.status === "True") ??
    status.conditions?.find((c) => c.type === "Ready");
  return ready?.reason;
}

function sessionEvent(type: "Normal" | "Warning", reason: string, message: string): Action {
  return { kind: "event", on: "session", type, reason, message };
}

function podEvent(type: "Normal" | "Warning", reason: string, message: string): Action {
  return { kind: "event", on: "pod", type, reason, message };
}

/** The label selects the pod for our pod informer; the annotation lists every session that tainted it. */
function markPod(pod: V1Pod, session: DebugSession): Action[] {
  const sessionName = session.metadata.name ?? "";
  const labels = pod.metadata?.labels;
  const annotations = pod.metadata?.annotations;
  const taintedBy = (annotations?.[SESSION_ANNOTATION] ?? "").split(",").filter(Boolean);
  if (labels?.[SESSION_LABEL] !== undefined && taintedBy.includes(sessionName)) return [];
  if (!taintedBy.includes(sessionName)) taintedBy.push(sessionName);
  return [
    {
      kind: "markPod",
      pod: pod.metadata!.name!,
      podUID: pod.metadata!.uid!,
      hasLabels: labels !== undefined,
      hasAnnotations: annotations !== undefined,
      taintedBy: taintedBy.join(","),
    },
  ];
}

/** Back off while waiting for a pod: a young session re-checks soon, an old one rarely. */
export function recheckDelay(session: DebugSession, now: Date, opts: DecideOptions): number {
  const created = session.metadata.creationTimestamp;
  const age = created ? now.getTime() - new Date(created).getTime() : 0;
  return Math.min(opts.maxRecheckMs, Math.max(opts.minRecheckMs, Math.floor(age / 2)));
}

/**
 * An ended session: nothing to do but, if asked, delete it once its time is up. Its finalizer stays
 * until it is deleted, like pvc-protection's.
 */
function finished(session: DebugSession, old: DebugSessionStatus, now: Date): Plan {
  const after = session.spec.ttlSecondsAfterFinished;
  if (after === undefined) return { status: old, actions: [] };
  const endedAt = old.endedAt ? Date.parse(old.endedAt) : now.getTime();
  const due = endedAt + after * 1000 - now.getTime();
  if (due <= 0) return { status: old, actions: [{ kind: "deleteSession" }] };
  return { status: old, actions: [], requeueAfterMs: due };
}

/** The first reason this requester may not have this debugger now, or undefined. */
function deny(
  session: DebugSession,
  pod: V1Pod | undefined,
  access: AccessInput,
  requestedBy: RequestedBy | undefined,
): { reason: string; message: string } | undefined {
  const ns = session.metadata.namespace ?? "";
  const name = session.spec.policy ?? "default";
  if (!requestedBy) {
    return {
      reason: "RequesterUnknown",
      message:
        `the session carries no requester stamp (annotation ${REQUESTER_ANNOTATION}): the admission policies in ` +
        "config/admission are not installed, so nobody can tell who asked; install them (make install) and create the session again",
    };
  }
  if (!access.policy) {
    return {
      reason: "PolicyNotFound",
      message:
        `DebugPolicy ${ns}/${name} (spec.policy) does not exist: nothing may be debugged in namespace ${ns} until a ` +
        "policy admin creates it (see config/samples/debugpolicy.yaml), or name an existing policy in spec.policy",
    };
  }
  if (access.requesterMayUse !== true) {
    return {
      reason: "PolicyUseForbidden",
      message:
        `user ${requestedBy.username} may not use DebugPolicy ${ns}/${name}: RBAC must grant verb "use" on ` +
        `debugpolicies (resourceNames: [${name}]) in namespace ${ns}; ask a namespace admin for a RoleBinding to ClusterRole debugpolicy-user or a narrower Role`,
    };
  }
  const violations = evaluatePolicy({ session, policy: access.policy, pod, otherSessionsOnPod: access.otherSessionsOnPod });
  if (violations.length) {
    return { reason: "PolicyViolation", message: violations.map((v) => `${v.reason}: ${v.message}`).join("; ") };
  }
  return undefined;
}
