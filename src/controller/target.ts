// Which pod a session debugs when it names a workload (spec.targetRef) or labels (spec.targetSelector)
// rather than a pod: one pod, chosen by rules a person can predict, with every other candidate's
// reason for being passed over. Pure; the gatherer lists the candidates.
import type { V1Pod } from "@kubernetes/client-node";
import { SESSION_LABEL, type DebugSession, type LabelSelector } from "../api/types.ts";
import { formatSelector, matchesSelector } from "../policy/selector.ts";
import { copyPodName } from "./pod-copy.ts";

export const isCopyMode = (session: DebugSession): boolean => session.spec.mode === "Copy";

/**
 * The pod a session's debugger is (to be) in: the one it names, or the one recorded when it was
 * chosen; in Copy mode the copy, whose name follows from the session from the start.
 */
export const targetPodName = (session: DebugSession): string | undefined =>
  session.status?.pod ?? (isCopyMode(session) ? copyPodName(session) : session.spec.targetPod);

/** Copy mode: the pod copied, as recorded, else as named; undefined while a targetRef's is to be chosen. */
export const sourcePodName = (session: DebugSession): string | undefined =>
  session.status?.sourcePod ?? session.spec.targetPod;

/** How a person would say what the session targets: `pod web-0`, `Deployment web`, `pods app=web`. */
export function describeTarget(session: DebugSession): string {
  const { targetPod, targetRef, targetSelector } = session.spec;
  if (targetPod) return `pod ${targetPod}`;
  if (targetRef) return `${targetRef.kind} ${targetRef.name}`;
  return `pods ${formatSelector(targetSelector)}`;
}

export interface PassedOver {
  pod: string;
  why: string;
}

export interface TargetChoice {
  /** What was chosen from, for messages (`Deployment web`). */
  from: string;
  chosen?: V1Pod;
  /** Every candidate not chosen, and why, in name order. */
  passedOver: PassedOver[];
  /** Why the chosen one, for the event at injection. */
  because?: string;
  /** The workload itself is missing. */
  missing?: string;
}

const isReady = (pod: V1Pod): boolean =>
  pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

const NOT_SELECTED = "is not selected by the policy's targetSelector";

function unfit(pod: V1Pod, policySelector: LabelSelector | undefined): string | undefined {
  if (pod.metadata?.deletionTimestamp) return "is being deleted";
  if (pod.status?.phase !== "Running") return `is ${pod.status?.phase ?? "not running"}`;
  if (!isReady(pod)) return "is not Ready";
  if (!matchesSelector(policySelector, pod.metadata?.labels)) return NOT_SELECTED;
  return undefined;
}

/**
 * One pod of `candidates`: the one already carrying this session's container (a crash came between
 * the injection and its status write: never a second debugger); else, of the pods that are Running,
 * Ready, not being deleted and selected by the policy, one no session has tainted yet, then the
 * first by name. Deterministic: the same candidates give the same pod.
 */
export function choosePod(
  from: string,
  candidates: readonly V1Pod[],
  containerName: string,
  policySelector: LabelSelector | undefined,
): TargetChoice {
  const pods = [...candidates].sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
  const carrying = pods.find((p) => p.spec?.ephemeralContainers?.some((c) => c.name === containerName));
  const name = (p: V1Pod): string => p.metadata?.name ?? "";
  if (carrying) {
    return {
      from,
      chosen: carrying,
      passedOver: pods
        .filter((p) => p !== carrying)
        .map((p) => ({ pod: name(p), why: "not the pod with this session's debugger" })),
      because: "it already carries this session's debugger",
    };
  }
  const fit = pods.filter((p) => unfit(p, policySelector) === undefined);
  const untainted = fit.filter((p) => p.metadata?.labels?.[SESSION_LABEL] === undefined);
  const chosen = untainted[0] ?? fit[0];
  const passedOver = pods
    .filter((p) => p !== chosen)
    .map((p) => ({
      pod: name(p),
      why:
        unfit(p, policySelector) ?? (untainted.includes(p) ? "comes later by name" : "is tainted by another session"),
    }));
  const because = !chosen
    ? undefined
    : untainted.includes(chosen)
      ? `the first by name of ${untainted.length} Running, Ready pod(s) no session has tainted`
      : "every fit pod is tainted by another session already; the first by name";
  return { from, chosen, passedOver, because };
}

/**
 * Why no pod was chosen, for a Pending status: each candidate the policy selects and its reason. Pods
 * the policy does not select are only counted: the requester may not read pods, and learns nothing of
 * those beyond their number.
 */
export function noPodMessage(choice: TargetChoice): string {
  if (choice.missing) return `${choice.missing}; the session waits for it`;
  if (choice.passedOver.length === 0) return `${choice.from} has no pods (yet); the session waits for one`;
  const named = choice.passedOver.filter((p) => p.why !== NOT_SELECTED).map((p) => `${p.pod} ${p.why}`);
  const unselected = choice.passedOver.length - named.length;
  if (unselected) named.push(`${unselected} pod(s) not selected by the policy's targetSelector`);
  return `no pod of ${choice.from} can be debugged now (${named.join("; ")}); the session waits for one`;
}
