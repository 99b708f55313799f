// The pods a workload or a label selector stands for, read from the apiserver (the pod cache holds only
// tainted pods). Used only while a session has no pod yet; once injected, the session names its pod.
import type { AppsV1Api, BatchV1Api, CoreV1Api, V1LabelSelector, V1ObjectMeta, V1Pod } from "@kubernetes/client-node";
import type { DebugSession, LabelSelector, TargetRef } from "../api/types.ts";
import { isNotFound } from "../runtime/errors.ts";
import { matchesSelector, selectorQuery } from "../policy/selector.ts";

export type Candidates = { pods: V1Pod[] } | { missing: string };

interface Workload {
  metadata?: V1ObjectMeta;
  spec?: { selector?: V1LabelSelector | null };
}

export class CandidateLister {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly batch: BatchV1Api;

  constructor(clients: { core: CoreV1Api; apps: AppsV1Api; batch: BatchV1Api }) {
    this.core = clients.core;
    this.apps = clients.apps;
    this.batch = clients.batch;
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
      const replicaSet = await this.apps.readNamespacedReplicaSet({ namespace, name: rs.name }).catch(() => undefined);
      owners.set(rs.name, replicaSet?.metadata?.uid === rs.uid && controllerUID(replicaSet.metadata) === uid);
    }
    return { pods: pods.filter((p) => owners.get(controllerRef(p.metadata)?.name ?? "") === true) };
  }

  private read(namespace: string, { kind, name }: TargetRef): Promise<Workload> {
    switch (kind) {
      case "Deployment":
        return this.apps.readNamespacedDeployment({ namespace, name });
      case "StatefulSet":
        return this.apps.readNamespacedStatefulSet({ namespace, name });
      case "ReplicaSet":
        return this.apps.readNamespacedReplicaSet({ namespace, name });
      case "DaemonSet":
        return this.apps.readNamespacedDaemonSet({ namespace, name });
      case "Job":
        return this.batch.readNamespacedJob({ namespace, name });
    }
  }
}

const controllerRef = (meta: V1ObjectMeta | undefined) => meta?.ownerReferences?.find((o) => o.controller === true);
const controllerUID = (meta: V1ObjectMeta | undefined): string | undefined => controllerRef(meta)?.uid;
