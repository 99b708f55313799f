// The label changes of spec.isolate (out of every Service, and out of a ReplicaSet, which replaces the
// pod, once the debugger is in) and of expiryAction Replace (at expiry: out of the ReplicaSet only, the
// Services keep the pod until its replacement is Ready and it is evicted). relabel.ts plans them so no
// NetworkPolicy selects the pod differently; this decides when, and what to say.
import { matchesSelector } from "../policy/selector.ts";
import { copyNetworkRefusal } from "./copy-network.ts";
import type { Denial } from "./access.ts";
import { RELEASED_FROM_ANNOTATION, type ControllerView, type GatheredReaders } from "./label-readers.ts";
import { emptyPlan, sessionEvent, type Plan, type PodWrite } from "./plan.ts";
import { Reason } from "./reasons.ts";
import {
  ISOLATED_LABELS_ANNOTATION,
  planRelabel,
  relabelAnnotations,
  type LabelReaders,
  type Relabel,
  type RelabelPlan,
} from "./relabel.ts";
import { expiryChoice, podName, replacedByMs, type Situation } from "./situation.ts";
import { StatusBuilder, injectedCondition } from "./status.ts";

const UNREAD = "the Services and NetworkPolicies of the namespace were not read";

const describe = (c: ControllerView): string => `${c.kind} ${c.name}`;

/**
 * spec.isolate: the pod leaves every Service; a ReplicaSet's pod leaves it too (it is replaced), a pod
 * of another controller stays with it (a StatefulSet cannot replace a pod that keeps its name). A
 * controller whose selector is unknown is refused: a changed label might hand the pod to it.
 */
function isolateReaders(readers: GatheredReaders): LabelReaders | { refused: string } {
  const { controller: c, services, networkPolicies } = readers;
  if (c && !c.selector) {
    return {
      refused:
        `the pod is controlled by ${describe(c)}, whose selector the operator does not read (only ReplicaSet, ` +
        "StatefulSet, DaemonSet and Job), so it cannot tell what a label change does to it; debug without spec.isolate",
    };
  }
  const controller = c?.selector ? { name: describe(c), selector: c.selector } : undefined;
  return c?.kind === "ReplicaSet"
    ? { controller, services, networkPolicies }
    : { ...(controller ? { stayWith: controller } : {}), services, networkPolicies };
}

/** The isolation still to do for this session's pod: undefined when none (not asked, or done already). */
export function isolation(s: Situation): RelabelPlan | undefined {
  if (!s.session.spec.isolate || s.copyMode || !s.pod) return undefined;
  if (s.pod.metadata?.annotations?.[ISOLATED_LABELS_ANNOTATION] !== undefined) return undefined;
  if (!s.readers) return { refused: UNREAD };
  const readers = isolateReaders(s.readers);
  return "refused" in readers ? readers : planRelabel(s.pod, readers);
}

/** The write that carries out a relabelling (`releasedFrom`: the ReplicaSet the pod leaves, if any). */
export function relabelWrite(s: Situation, plan: Relabel, releasedFrom?: ControllerView): PodWrite {
  const { name = "", uid = "" } = s.pod?.metadata ?? {};
  const extra: Record<string, string> = releasedFrom
    ? { [RELEASED_FROM_ANNOTATION]: `${releasedFrom.kind}/${releasedFrom.name}` }
    : {};
  return {
    kind: "relabel",
    pod: name,
    podUID: uid,
    changes: plan.changes,
    annotations: s.pod ? relabelAnnotations(s.pod, plan.changes, extra) : extra,
  };
}

/** The isolation of a pod about to get (or with) its debugger: the write and its Event; nothing when none. */
export function withIsolation(s: Situation, plan: Plan): Plan {
  const isolating = isolation(s);
  if (!isolating || "refused" in isolating) return plan;
  const rs = s.readers?.controller?.kind === "ReplicaSet" ? s.readers.controller : undefined;
  const leaves = isolating.changes.length > 0 && rs?.selector && !matchesSelector(rs.selector, isolating.labels);
  const message = `pod ${podName(s)} is isolated while it is debugged: ${isolating.why.join("; ")}`;
  return {
    ...plan,
    podWrites: [...plan.podWrites, relabelWrite(s, isolating, leaves ? rs : undefined)],
    events: [...plan.events, sessionEvent("Normal", Reason.Isolated, message)],
  };
}

/** Access: an isolating session whose pod cannot be isolated without loosening a NetworkPolicy gets nothing. */
export function isolationDenial(s: Situation): Denial | undefined {
  const isolating = isolation(s);
  if (!isolating || !("refused" in isolating)) return undefined;
  return { reason: Reason.IsolationNotPossible, message: isolating.refused };
}

/** Access: a copy less restricted on the network than its source is not made (copy-network.ts). */
export function copyNetworkDenial(s: Situation): Denial | undefined {
  if (!s.copyMode || !s.source) return undefined;
  const copy = s.plannedCopy;
  if (!copy) return undefined;
  const name = s.source.metadata?.name ?? "";
  const refused = s.readers
    ? copyNetworkRefusal(name, s.source.metadata?.labels ?? {}, copy.metadata?.labels ?? {}, s.readers.networkPolicies)
    : UNREAD;
  return refused ? { reason: Reason.CopyLessRestricted, message: refused } : undefined;
}

// ---- expiryAction Replace

export type Replacement =
  /** Not Replace, or the pod is going already: the usual removal. */
  | { kind: "none" }
  /** Replace cannot be done for this pod: the usual removal, said so. */
  | { kind: "fallback"; why: string }
  /** Relabelled, or waiting for the replacement: this plan instead of the removal. */
  | { kind: "wait"; plan: Plan }
  /** The replacement is Ready (or waited for long enough): remove the pod now. */
  | { kind: "ready"; note: string };

/**
 * At expiry, a Replace session's pod first leaves its ReplicaSet (its Services keep it), which makes a
 * replacement; the pod is removed once the ReplicaSet reports all its replicas Ready, or once
 * --eviction-timeout has passed since the expiry, whichever comes first.
 */
export function replacement(s: Situation): Replacement {
  if (s.copyMode || s.podDeleting || !s.pod || expiryChoice(s) !== "Replace") {
    return { kind: "none" };
  }
  const name = podName(s);
  if (!s.readers) return { kind: "fallback", why: `expiryAction Replace: ${UNREAD}; falls back to Evict` };
  const rs = s.readers.controller;
  if (rs?.kind !== "ReplicaSet" || !rs.selector) {
    const owner = rs
      ? `is owned by ${describe(rs)}, which cannot make a replacement while it exists`
      : "has no controller";
    return { kind: "fallback", why: `expiryAction Replace: pod ${name} ${owner}; falls back to Evict` };
  }
  const overdue = s.now.getTime() >= replacedByMs(s);
  if (matchesSelector(rs.selector, s.pod.metadata?.labels)) {
    const plan = planRelabel(s.pod, {
      ...s.readers,
      controller: { name: describe(rs), selector: rs.selector },
      keepServices: true,
    });
    if ("refused" in plan)
      return { kind: "fallback", why: `expiryAction Replace: ${plan.refused}; falls back to Evict` };
    const why = `pod ${name} left ${describe(rs)} (${plan.why[0] ?? ""}) and keeps serving while it makes a replacement`;
    return { kind: "wait", plan: waiting(s, rs, why, [relabelWrite(s, plan, rs)]) };
  }
  const owned = s.pod.metadata?.ownerReferences?.some((o) => o.kind === rs.kind && o.name === rs.name) ?? false;
  const ready = !owned && (rs.readyReplicas ?? 0) >= (rs.replicas ?? 1);
  if (ready) return { kind: "ready", note: `its replacement in ${describe(rs)} is Ready` };
  if (overdue)
    return { kind: "ready", note: `its replacement in ${describe(rs)} was not Ready within the eviction timeout` };
  const progress = `${rs.readyReplicas ?? 0}/${rs.replicas ?? 1} Ready${owned ? ", not released yet" : ""}`;
  return { kind: "wait", plan: waiting(s, rs, `waiting for ${describe(rs)}'s replacement (${progress})`, []) };
}

/** The status of a pod being replaced: Expired, the debugger still in, the removal to come. */
function waiting(s: Situation, rs: ControllerView, why: string, podWrites: PodWrite[]): Plan {
  const name = podName(s);
  const latest = new Date(replacedByMs(s)).toISOString();
  const message = `the TTL ran out; ${why}; pod ${name} is evicted once ${describe(rs)} has its replicas Ready, at the latest at ${latest}`;
  const status = new StatusBuilder(s).build(
    "Expired",
    message,
    [
      injectedCondition(s, name),
      { type: "Ready", status: "False", reason: Reason.Replacing, message: "the pod is being replaced" },
      { type: "Expired", status: "True", reason: Reason.Replacing, message: why },
    ],
    s.status.containerState,
  );
  const plan = { ...emptyPlan(status), podWrites, requeueAfterMs: REPLACE_POLL_MS };
  if (podWrites.length) plan.events.push(sessionEvent("Normal", Reason.Replacing, message));
  return plan;
}

/** How often a Replace session looks at its ReplicaSet (whose events do not reach the operator). */
export const REPLACE_POLL_MS = 1000;
