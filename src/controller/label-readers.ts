// Who reads a pod's labels: the Services and NetworkPolicies of its namespace and its controller.
// Read for the sessions that change a pod's labels (spec.isolate, expiryAction Replace) or make a copy
// without them (Copy mode), so that no label change loosens a NetworkPolicy (relabel.ts, copy-network.ts).
import type {
  V1DaemonSet,
  V1Job,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1Pod,
  V1ReplicaSet,
  V1Service,
  V1StatefulSet,
} from "@kubernetes/client-node";
import { formatSelector } from "../policy/selector.ts";
import { isNotFound } from "../runtime/errors.ts";
import { GROUP, type DebugPolicy, type DebugSession, type LabelSelector } from "../api/types.ts";
import { expiryChoiceOf } from "../policy/expiry.ts";
import { awaitsInjection } from "./predicates.ts";
import type { SelectingNetworkPolicy, SelectingService } from "./relabel.ts";
import { ISOLATED_LABELS_ANNOTATION } from "./relabel.ts";

/** On a pod taken out of its ReplicaSet by a relabelling: `ReplicaSet/<name>`, so its replacement can be awaited. */
export const RELEASED_FROM_ANNOTATION = `${GROUP}/released-from`;

/** A pod's controller as the relabelling needs it. */
export interface ControllerView {
  kind: string;
  name: string;
  /** Absent for a kind whose selector is not read (not one of the workloads a session may name). */
  selector?: LabelSelector;
  /**
   * A ReplicaSet's spec.replicas, and its pods that are Ready and not going, counted from the pods
   * themselves (its status.readyReplicas still counts a pod it released a moment ago).
   */
  replicas?: number;
  readyReplicas?: number;
}

export interface GatheredReaders {
  services: SelectingService[];
  networkPolicies: SelectingNetworkPolicy[];
  /** The controller that owns the pod (or released it: RELEASED_FROM_ANNOTATION); undefined for a bare pod. */
  controller?: ControllerView;
}

/** The controller a pod names: its controller ownerReference, else the one a relabelling took it from. */
export function controllerRef(pod: V1Pod): { kind: string; name: string } | undefined {
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller);
  if (owner) return { kind: owner.kind, name: owner.name };
  const released = pod.metadata?.annotations?.[RELEASED_FROM_ANNOTATION]?.split("/");
  return released?.length === 2 && released[0] && released[1] ? { kind: released[0], name: released[1] } : undefined;
}

/**
 * Whether this pass needs the readers: a Copy-mode session before its debugger is in; an isolating
 * session before its injection and until its pod is relabelled; a Replace session past its expiry.
 */
export function needsReaders(
  session: DebugSession,
  pod: V1Pod | undefined,
  policy: DebugPolicy | undefined,
  now: Date,
): boolean {
  if (session.spec.mode === "Copy") return awaitsInjection(session.status);
  if (!pod || pod.metadata?.deletionTimestamp) return false;
  const relabelled = pod.metadata?.annotations?.[ISOLATED_LABELS_ANNOTATION] !== undefined;
  if (session.spec.isolate && (awaitsInjection(session.status) || !relabelled)) return true;
  return awaitsReplacement(session, policy, now);
}

/** A Replace session past its expiry: only it needs its ReplicaSet's Ready pods counted. */
export function awaitsReplacement(session: DebugSession, policy: DebugPolicy | undefined, now: Date): boolean {
  const expiresAt = session.status?.expiresAt;
  const expired = expiresAt !== undefined && now.getTime() >= Date.parse(expiresAt);
  return expired && expiryChoiceOf(session, policy) === "Replace";
}

export function selectingService(s: V1Service): SelectingService {
  return { name: s.metadata?.name ?? "", selector: s.spec?.selector ?? {} };
}

export function selectingNetworkPolicy(p: V1NetworkPolicy): SelectingNetworkPolicy {
  const peers: V1NetworkPolicyPeer[] = [
    ...(p.spec?.ingress ?? []).flatMap((r) => r._from ?? []),
    ...(p.spec?.egress ?? []).flatMap((r) => r.to ?? []),
  ];
  return {
    name: p.metadata?.name ?? "",
    namespace: p.metadata?.namespace ?? "",
    podSelector: (p.spec?.podSelector ?? {}) as LabelSelector,
    // A peer with a namespaceSelector may name this namespace: kept, which can only refuse more.
    peerSelectors: peers.flatMap((peer) => (peer.podSelector ? [peer.podSelector as LabelSelector] : [])),
    policyTypes: policyTypesOf(p),
    hasIngressRules: (p.spec?.ingress ?? []).length > 0,
    hasEgressRules: (p.spec?.egress ?? []).length > 0,
  };
}

/** spec.policyTypes, or as the apiserver defaults it: Ingress, and Egress when egress rules are given. */
function policyTypesOf(p: V1NetworkPolicy): ("Ingress" | "Egress")[] {
  const given = p.spec?.policyTypes?.filter((t): t is "Ingress" | "Egress" => t === "Ingress" || t === "Egress");
  if (given?.length) return given;
  return p.spec?.egress?.length ? ["Ingress", "Egress"] : ["Ingress"];
}

/** The reads readController needs (runtime/kube/api.ts WorkloadsApi). */
export interface WorkloadReads {
  readNamespacedReplicaSet(p: { namespace: string; name: string }): Promise<V1ReplicaSet>;
  readNamespacedStatefulSet(p: { namespace: string; name: string }): Promise<V1StatefulSet>;
  readNamespacedDaemonSet(p: { namespace: string; name: string }): Promise<V1DaemonSet>;
  readNamespacedJob(p: { namespace: string; name: string }): Promise<V1Job>;
  /** The ReplicaSet's pods, by its selector: its status lags behind a pod it just released. */
  listNamespacedPod(p: { namespace: string; labelSelector?: string }): Promise<{ items: V1Pod[] }>;
}

/**
 * The controller by its kind: its selector, and (`countReady`, a LIST of its pods) a ReplicaSet's
 * readiness. Another kind comes back
 * without a selector (nothing is known of what it selects); one that is gone, undefined.
 */
export async function readController(
  workloads: WorkloadReads,
  namespace: string,
  ref: { kind: string; name: string },
  countReady: boolean,
): Promise<ControllerView | undefined> {
  const p = { namespace, name: ref.name };
  const read = async (): Promise<V1ReplicaSet | V1StatefulSet | V1DaemonSet | V1Job | undefined> => {
    switch (ref.kind) {
      case "ReplicaSet":
        return workloads.readNamespacedReplicaSet(p);
      case "StatefulSet":
        return workloads.readNamespacedStatefulSet(p);
      case "DaemonSet":
        return workloads.readNamespacedDaemonSet(p);
      case "Job":
        return workloads.readNamespacedJob(p);
      default:
        return undefined;
    }
  };
  let found: V1ReplicaSet | V1StatefulSet | V1DaemonSet | V1Job | undefined;
  try {
    found = await read();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  if (!found) return { kind: ref.kind, name: ref.name };
  const view: ControllerView = { kind: ref.kind, name: ref.name };
  if (found.spec?.selector) view.selector = found.spec.selector as LabelSelector;
  if (countReady && ref.kind === "ReplicaSet" && view.selector) {
    const rs = found as V1ReplicaSet;
    view.replicas = rs.spec?.replicas ?? 1;
    view.readyReplicas = await readyPodsOf(workloads, namespace, rs, view.selector);
  }
  return view;
}

/** The pods `rs` owns (its UID as their controller) that are Ready and not being deleted. */
async function readyPodsOf(
  workloads: WorkloadReads,
  namespace: string,
  rs: V1ReplicaSet,
  selector: LabelSelector,
): Promise<number> {
  const labelSelector = formatSelector(selector);
  // A selector the apiserver's syntax cannot say selects nothing the operator can count: none Ready.
  if (labelSelector === undefined) return 0;
  const { items } = await workloads.listNamespacedPod({ namespace, labelSelector });
  return items.filter(
    (p) =>
      !p.metadata?.deletionTimestamp &&
      p.metadata?.ownerReferences?.some((o) => o.controller && o.uid === rs.metadata?.uid) &&
      p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
  ).length;
}
