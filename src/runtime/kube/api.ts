// The Kubernetes API calls the operator makes, by the names and parameter shapes of client-node's
// generated APIs (so call sites read as before), over KubeClient. Types only come from client-node
// (`import type`, nothing of it loads at run time). Objects come back as the apiserver sent them:
// times are RFC 3339 strings where client-node's types say Date, which every reader here accepts.
import type {
  CoreV1Event,
  CoreV1EventList,
  V1DaemonSet,
  V1Deployment,
  V1Job,
  V1Lease,
  V1NetworkPolicyList,
  V1Pod,
  V1PodList,
  V1ReplicaSet,
  V1Role,
  V1RoleBinding,
  V1StatefulSet,
  V1ServiceList,
  V1Status,
  V1SubjectAccessReview,
} from "@kubernetes/client-node";
import type { KubeClient, Query } from "./client.ts";

/** Content types of a PATCH. */
export const jsonPatch = "application/json-patch+json";
export const mergePatch = "application/merge-patch+json";
export type PatchType = typeof jsonPatch | typeof mergePatch;

interface Named {
  namespace: string;
  name: string;
}
interface Write<B> {
  body: B;
  fieldManager?: string;
}
const seg = encodeURIComponent;

/** What every group's calls go through. */
class Api {
  protected readonly c: KubeClient;

  constructor(client: KubeClient) {
    this.c = client;
  }
}
const ns = (namespace: string): string => `/namespaces/${seg(namespace)}`;

export class CoreApi extends Api {
  readNamespacedPod({ namespace, name }: Named): Promise<V1Pod> {
    return this.c.request({ method: "GET", path: `/api/v1${ns(namespace)}/pods/${seg(name)}` });
  }

  listNamespacedPod({ namespace, labelSelector }: { namespace: string; labelSelector?: string }): Promise<V1PodList> {
    return this.c.request({ method: "GET", path: `/api/v1${ns(namespace)}/pods`, query: { labelSelector } });
  }

  /** The Services of a namespace: which of them select a pod (isolate, Replace). */
  listNamespacedService({ namespace }: { namespace: string }): Promise<V1ServiceList> {
    return this.c.request({ method: "GET", path: `/api/v1${ns(namespace)}/services` });
  }

  listPodForAllNamespaces({ labelSelector }: { labelSelector?: string }): Promise<V1PodList> {
    return this.c.request({ method: "GET", path: "/api/v1/pods", query: { labelSelector } });
  }

  createNamespacedPod({ namespace, body }: { namespace: string; body: V1Pod }): Promise<V1Pod> {
    return this.c.request({ method: "POST", path: `/api/v1${ns(namespace)}/pods`, body });
  }

  patchNamespacedPod(p: Named & Write<unknown>, type: PatchType): Promise<V1Pod> {
    return this.patch(`/api/v1${ns(p.namespace)}/pods/${seg(p.name)}`, p, type);
  }

  patchNamespacedPodEphemeralcontainers(p: Named & Write<unknown>, type: PatchType): Promise<V1Pod> {
    return this.patch(`/api/v1${ns(p.namespace)}/pods/${seg(p.name)}/ephemeralcontainers`, p, type);
  }

  createNamespacedPodEviction({ namespace, name, body }: Named & Write<unknown>): Promise<V1Status> {
    return this.c.request({ method: "POST", path: `/api/v1${ns(namespace)}/pods/${seg(name)}/eviction`, body });
  }

  deleteNamespacedPod({ namespace, name, body }: Named & { body?: unknown }): Promise<V1Pod> {
    return this.c.request({ method: "DELETE", path: `/api/v1${ns(namespace)}/pods/${seg(name)}`, body });
  }

  createNamespacedEvent({ namespace, body }: { namespace: string; body: CoreV1Event }): Promise<CoreV1Event> {
    return this.c.request({ method: "POST", path: `/api/v1${ns(namespace)}/events`, body });
  }

  listNamespacedEvent({ namespace, fieldSelector }: { namespace: string; fieldSelector?: string }) {
    return this.c.request<CoreV1EventList>({
      method: "GET",
      path: `/api/v1${ns(namespace)}/events`,
      query: { fieldSelector },
    });
  }

  private patch<T>(path: string, { body, fieldManager }: Write<unknown>, contentType: PatchType): Promise<T> {
    return this.c.request({ method: "PATCH", path, body, contentType, query: { fieldManager } });
  }
}

export interface CustomRef {
  group: string;
  version: string;
  plural: string;
}
interface ListQuery {
  labelSelector?: string;
  limit?: number;
  _continue?: string;
}
export interface ListOptions {
  /** Say, PartialObjectMetadataList: only the metadata of each item. */
  accept?: string;
}

export class CustomObjectsApi extends Api {
  listClusterCustomObject(p: CustomRef & ListQuery, o: ListOptions = {}): Promise<object> {
    return this.list(`/apis/${p.group}/${p.version}/${p.plural}`, p, o);
  }

  listNamespacedCustomObject(p: CustomRef & ListQuery & { namespace: string }, o: ListOptions = {}): Promise<object> {
    return this.list(`/apis/${p.group}/${p.version}${ns(p.namespace)}/${p.plural}`, p, o);
  }

  getNamespacedCustomObject(p: CustomRef & Named): Promise<object> {
    return this.c.request({ method: "GET", path: this.path(p) });
  }

  createNamespacedCustomObject(p: CustomRef & Write<unknown> & { namespace: string }): Promise<object> {
    const path = `/apis/${p.group}/${p.version}${ns(p.namespace)}/${p.plural}`;
    return this.c.request({ method: "POST", path, body: p.body, query: { fieldManager: p.fieldManager } });
  }

  patchNamespacedCustomObject(p: CustomRef & Named & Write<unknown>, contentType: PatchType): Promise<object> {
    const { body, fieldManager } = p;
    return this.c.request({ method: "PATCH", path: this.path(p), body, contentType, query: { fieldManager } });
  }

  patchNamespacedCustomObjectStatus(p: CustomRef & Named & Write<unknown>, contentType: PatchType): Promise<object> {
    const { body, fieldManager } = p;
    const path = `${this.path(p)}/status`;
    return this.c.request({ method: "PATCH", path, body, contentType, query: { fieldManager } });
  }

  deleteNamespacedCustomObject(p: CustomRef & Named & { body?: unknown }): Promise<object> {
    return this.c.request({ method: "DELETE", path: this.path(p), body: p.body });
  }

  private path(p: CustomRef & Named): string {
    return `/apis/${p.group}/${p.version}${ns(p.namespace)}/${p.plural}/${seg(p.name)}`;
  }

  private list(path: string, { labelSelector, limit, _continue }: ListQuery, o: ListOptions): Promise<object> {
    const query: Query = { labelSelector, limit, continue: _continue };
    return this.c.request({ method: "GET", path, query, accept: o.accept });
  }
}

export class AuthorizationApi extends Api {
  createSubjectAccessReview({ body }: { body: V1SubjectAccessReview }): Promise<V1SubjectAccessReview> {
    return this.c.request({ method: "POST", path: "/apis/authorization.k8s.io/v1/subjectaccessreviews", body });
  }
}

/** The workloads a session may name (apps/v1 and batch/v1): reads only. */
export class WorkloadsApi extends Api {
  readNamespacedDeployment = (p: Named): Promise<V1Deployment> => this.read("apps/v1", "deployments", p);
  readNamespacedStatefulSet = (p: Named): Promise<V1StatefulSet> => this.read("apps/v1", "statefulsets", p);
  readNamespacedReplicaSet = (p: Named): Promise<V1ReplicaSet> => this.read("apps/v1", "replicasets", p);
  readNamespacedDaemonSet = (p: Named): Promise<V1DaemonSet> => this.read("apps/v1", "daemonsets", p);
  readNamespacedJob = (p: Named): Promise<V1Job> => this.read("batch/v1", "jobs", p);

  private read<T>(groupVersion: string, plural: string, { namespace, name }: Named): Promise<T> {
    return this.c.request({ method: "GET", path: `/apis/${groupVersion}${ns(namespace)}/${plural}/${seg(name)}` });
  }
}

/** networking.k8s.io/v1: what restricts a pod's traffic, read so a label change never loosens it. */
export class NetworkingApi extends Api {
  listNamespacedNetworkPolicy({ namespace }: { namespace: string }): Promise<V1NetworkPolicyList> {
    return this.c.request({ method: "GET", path: `/apis/networking.k8s.io/v1${ns(namespace)}/networkpolicies` });
  }
}

export class RbacApi extends Api {
  createNamespacedRole({ namespace, body, fieldManager }: { namespace: string } & Write<V1Role>): Promise<V1Role> {
    return this.c.request({ method: "POST", path: this.path(namespace, "roles"), body, query: { fieldManager } });
  }

  readNamespacedRole({ namespace, name }: Named): Promise<V1Role> {
    return this.c.request({ method: "GET", path: `${this.path(namespace, "roles")}/${seg(name)}` });
  }

  deleteNamespacedRole({ namespace, name }: Named): Promise<V1Status> {
    return this.c.request({ method: "DELETE", path: `${this.path(namespace, "roles")}/${seg(name)}` });
  }

  createNamespacedRoleBinding(p: { namespace: string } & Write<V1RoleBinding>): Promise<V1RoleBinding> {
    const { namespace, body, fieldManager } = p;
    return this.c.request({
      method: "POST",
      path: this.path(namespace, "rolebindings"),
      body,
      query: { fieldManager },
    });
  }

  private path(namespace: string, plural: string): string {
    return `/apis/rbac.authorization.k8s.io/v1${ns(namespace)}/${plural}`;
  }
}

/** coordination.k8s.io/v1 Leases, for leader election. */
export class LeaseApi extends Api {
  readNamespacedLease({ namespace, name }: Named): Promise<V1Lease> {
    return this.c.request({ method: "GET", path: this.path(namespace, name) });
  }

  createNamespacedLease({ namespace, body }: { namespace: string; body: V1Lease }): Promise<V1Lease> {
    return this.c.request({ method: "POST", path: this.path(namespace), body });
  }

  replaceNamespacedLease({ namespace, name, body }: Named & { body: V1Lease }): Promise<V1Lease> {
    return this.c.request({ method: "PUT", path: this.path(namespace, name), body });
  }

  private path(namespace: string, name?: string): string {
    return `/apis/coordination.k8s.io/v1${ns(namespace)}/leases${name === undefined ? "" : `/${seg(name)}`}`;
  }
}

/**
 * A metav1.MicroTime for a body: a Date whose JSON has the six fractional digits the apiserver's
 * RFC3339Micro parser requires (a plain Date's has three).
 */
export function microTime(at = new Date()): Date {
  const d = new Date(at);
  d.toISOString = () => Date.prototype.toISOString.call(d).replace(/\.(\d{3})Z$/, ".$1000Z");
  return d;
}

/** Everything the operator calls, over one client. */
export interface KubeApis {
  client: KubeClient;
  core: CoreApi;
  custom: CustomObjectsApi;
  authz: AuthorizationApi;
  workloads: WorkloadsApi;
  networking: NetworkingApi;
  rbac: RbacApi;
  leases: LeaseApi;
}

export function kubeApis(client: KubeClient): KubeApis {
  return {
    client,
    core: new CoreApi(client),
    custom: new CustomObjectsApi(client),
    authz: new AuthorizationApi(client),
    workloads: new WorkloadsApi(client),
    networking: new NetworkingApi(client),
    rbac: new RbacApi(client),
    leases: new LeaseApi(client),
  };
}
