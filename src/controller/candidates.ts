// The pods a workload or a label selector stands for, read from the apiserver (the pod cache holds only
// tainted pods). Used only while a session has no pod yet; once injected, the session names its pod.
import type { V1LabelSelector, V1ObjectMeta, V1Pod } from "@kubernetes/client-node";
import type { CoreApi, WorkloadsApi } from "../runtime/kube/api.ts";
import type { DebugSession, LabelSelector, TargetRef } from "../api/types.ts";
import { isNotFound } from "../runtime/errors.ts";
import { matchesSelector, selectorQuery } from "../policy/selector.ts";

export type Candidates = { pods: V1Pod[] } | { missing: string };

interface Workload {
  metadata?: V1ObjectMeta;
  spec?: { selector?: V1LabelSelector | null };
}

export class CandidateLister {
  private readonly core: CoreApi;
  private readonly workloads: WorkloadsApi;

  constructor(clients: { core: CoreApi; workloads: WorkloadsApi }) {
    this.core = clients.core;
    this.workloads = clients.workloads;
  }

  async list(session: DebugSession): Promise<Candidates> {
    const namespace = session.metadata.namespace ?? "";
    const { targetRef, targetSelector } = session.spec;
    if (targetRef) return this.ofWorkload(namespace, targetRef);
    return { pods: await this.selected(namespace, targetSelector ?? {}) };
  }

  private async selected(namespace: string, selector: LabelSelector): Promise<V1Pod[]> {
    const query = selectorQuery(selector);
    // An operator Kubernetes has no word for selects nothing (fail closed).
    if (query === undefined) return [];
    const list = await this.core.listNamespacedPod({ namespace, ...(query ? { labelSelector: query } : {}) });
    return list.items.filter((p) => matchesSelector(selector, p.metadata?.labels));
  }

  private async ofWorkload(namespace: string, ref: TargetRef): Promise<Candidates> {
    const workload = await this.read(namespace, ref).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (!workload?.metadata?.uid) return { missing: `${ref.kind} ${ref.name} not found in namespace ${namespace}` };
    const selector = workload.spec?.selector as LabelSelector | undefined;
    if (!selector) return { pods: [] };
    const pods = await this.selected(namespace, selector);
    const uid = workload.metadata.uid;
    if (ref.kind !== "Deployment") return { pods: pods.filter((p) => controllerUID(p.metadata) === uid) };
    // A Deployment's pods belong to its ReplicaSets: keep those whose ReplicaSet the Deployment controls.
    const owners = new Map<string, boolean>();
    for (const p of pods) {
      const rs = controllerRef(p.metadata);
      if (rs?.kind !== "ReplicaSet" || owners.has(rs.name)) continue;
      const replicaSet = await this.workloads
        .readNamespacedReplicaSet({ namespace, name: rs.name })
        .catch(() => undefined);
      owners.set(rs.name, replicaSet?.metadata?.uid === rs.uid && controllerUID(replicaSet.metadata) === uid);
    }
    return { pods: pods.filter((p) => owners.get(controllerRef(p.metadata)?.name ?? "") === true) };
  }

  private read(namespace: string, { kind, name }: TargetRef): Promise<Workload> {
    switch (kind) {
      case "Deployment":
        return this.workloads.readNamespacedDeployment({ namespace, name });
      case "StatefulSet":
        return this.workloads.readNamespacedStatefulSet({ namespace, name });
      case "ReplicaSet":
        return this.workloads.readNamespacedReplicaSet({ namespace, name });
      case "DaemonSet":
        return this.workloads.readNamespacedDaemonSet({ namespace, name });
      case "Job":
        return this.workloads.readNamespacedJob({ namespace, name });
    }
  }
}

const controllerRef = (meta: V1ObjectMeta | undefined) => meta?.ownerReferences?.find((o) => o.controller === true);
const controllerUID = (meta: V1ObjectMeta | undefined): string | undefined => controllerRef(meta)?.uid;
