// The narrow interface every write of the operator goes through (the CronJob controller's jobControl):
// a real implementation over the API client here, an in-memory one in the tests. Wire formats (JSON
// patches, preconditions, the joined annotation) live in the real implementation only.
import type { CoreV1Event, V1EphemeralContainer, V1Pod } from "@kubernetes/client-node";
import { jsonPatch, mergePatch, type CoreApi, type CustomObjectsApi, type RbacApi } from "../runtime/kube/api.ts";
import { apiMessage, isConflict, isInvalid, isNotFound, unless } from "../runtime/errors.ts";
import type { PodMark, Subject } from "./plan.ts";
import { relabelOps, type LabelChange } from "./relabel.ts";
import { sessionLabelValue } from "./container.ts";
import {
  API_VERSION,
  EXPIRES_ANNOTATION,
  EXPIRY_ACTION_ANNOTATION,
  FINALIZER,
  GROUP,
  SESSION_KIND,
  SESSION_ANNOTATION,
  SESSION_LABEL,
  SESSION_PLURAL,
  VERSION,
  type DebugSession,
} from "../api/types.ts";

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface ClusterWriter {
  /** Returns the session's resourceVersion after the write. */
  addFinalizer(session: DebugSession): Promise<string | undefined>;
  removeFinalizer(session: DebugSession): Promise<void>;
  /** A merge patch of status, refused (409) when the session is no longer at `resourceVersion`. */
  patchStatus(
    session: DebugSession,
    patch: Record<string, unknown>,
    resourceVersion: string | undefined,
  ): Promise<string | undefined>;
  deleteSession(session: DebugSession): Promise<void>;
  /** `observed` is the pod as this pass saw it (the debuggers already in it). */
  injectEphemeralContainer(pod: PodRef, container: V1EphemeralContainer, observed: V1Pod | undefined): Promise<void>;
  /** Returns the pod as the patch left it. */
  markPod(pod: PodRef, mark: PodMark, observed: V1Pod | undefined): Promise<V1Pod | undefined>;
  /** relabel.ts's patch, built on `observed` (the pod as the last write of this pass left it). */
  relabelPod(
    pod: PodRef,
    changes: readonly LabelChange[],
    annotations: Record<string, string>,
    observed: V1Pod | undefined,
  ): Promise<V1Pod | undefined>;
  /** With `resourceVersion`, only the pod as it was then (a pod that changed since is a 409). */
  evictPod(pod: PodRef, resourceVersion?: string): Promise<void>;
  deletePod(pod: PodRef, resourceVersion?: string): Promise<void>;
  /** Copy mode: creates the copy; a 409 AlreadyExists comes back as the error. */
  createPod(namespace: string, pod: V1Pod): Promise<void>;
  createEvent(namespace: string, event: CoreV1Event): Promise<void>;
  /** Role + RoleBinding `role` for `subject` on exactly `pod`, owned by the session; present already is fine. */
  grantAttach(session: DebugSession, role: string, pod: string, subject: Subject): Promise<void>;
  /** Deletes them; gone already is fine. */
  revokeAttach(namespace: string, role: string): Promise<void>;
}

export const FIELD_MANAGER = "debugsession-operator";
const escapePointer = (s: string): string => s.replace(/~/g, "~0").replace(/\//g, "~1");

export class ApiClusterWriter implements ClusterWriter {
  private readonly core: CoreApi;
  private readonly custom: CustomObjectsApi;
  private readonly rbac: RbacApi;

  constructor(clients: { core: CoreApi; custom: CustomObjectsApi; rbac: RbacApi }) {
    this.core = clients.core;
    this.custom = clients.custom;
    this.rbac = clients.rbac;
  }

  async grantAttach(session: DebugSession, role: string, pod: string, subject: Subject): Promise<void> {
    const namespace = session.metadata.namespace ?? "";
    const labels = { [SESSION_LABEL]: sessionLabelValue(session.metadata.name ?? "") };
    const owner = (apiVersion: string, kind: string, name: string, uid: string) => ({ apiVersion, kind, name, uid });
    const rules = [
      { apiGroups: [""], resources: ["pods"], resourceNames: [pod], verbs: ["get"] },
      { apiGroups: [""], resources: ["pods/attach"], resourceNames: [pod], verbs: ["create", "get"] },
    ];
    // The Role is garbage-collected with the session; the RoleBinding with the Role, so revoking is one delete.
    const sessionOwner = owner(API_VERSION, SESSION_KIND, session.metadata.name ?? "", session.metadata.uid ?? "");
    const body = { metadata: { name: role, namespace, labels, ownerReferences: [sessionOwner] }, rules };
    const created = await this.rbac
      .createNamespacedRole({ namespace, body, fieldManager: FIELD_MANAGER })
      .catch((err: unknown) => {
        if (isConflict(err)) return this.rbac.readNamespacedRole({ namespace, name: role });
        throw err;
      });
    const roleOwner = owner("rbac.authorization.k8s.io/v1", "Role", role, created.metadata?.uid ?? "");
    const binding = {
      metadata: { name: role, namespace, labels, ownerReferences: [roleOwner] },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role },
      subjects: [subject.kind === "User" ? { ...subject, apiGroup: "rbac.authorization.k8s.io" } : subject],
    };
    await this.rbac
      .createNamespacedRoleBinding({ namespace, body: binding, fieldManager: FIELD_MANAGER })
      // Created before, by us (the name derives from the session's UID): nothing to do.
      .catch(unless(isConflict));
  }

  /** The Role only: its RoleBinding, owned by it, goes with it, and binds nothing meanwhile. */
  async revokeAttach(namespace: string, role: string): Promise<void> {
    await this.rbac.deleteNamespacedRole({ namespace, name: role }).catch(unless(isNotFound));
  }

  private sessionRef(session: DebugSession) {
    const { namespace = "", name = "" } = session.metadata;
    return { group: GROUP, version: VERSION, plural: SESSION_PLURAL, namespace, name, fieldManager: FIELD_MANAGER };
  }

  async addFinalizer(session: DebugSession): Promise<string | undefined> {
    const ops = [
      { op: "test", path: "/metadata/resourceVersion", value: session.metadata.resourceVersion },
      session.metadata.finalizers
        ? { op: "add", path: "/metadata/finalizers/-", value: FINALIZER }
        : { op: "add", path: "/metadata/finalizers", value: [FINALIZER] },
    ];
    const updated = (await this.custom.patchNamespacedCustomObject(
      { ...this.sessionRef(session), body: ops },
      jsonPatch,
    )) as DebugSession;
    return updated.metadata.resourceVersion;
  }

  async removeFinalizer(session: DebugSession): Promise<void> {
    const i = session.metadata.finalizers?.indexOf(FINALIZER) ?? -1;
    if (i < 0) return;
    const ops = [
      { op: "test", path: `/metadata/finalizers/${i}`, value: FINALIZER },
      { op: "remove", path: `/metadata/finalizers/${i}` },
    ];
    await this.custom.patchNamespacedCustomObject({ ...this.sessionRef(session), body: ops }, jsonPatch);
  }

  async patchStatus(
    session: DebugSession,
    patch: Record<string, unknown>,
    resourceVersion: string | undefined,
  ): Promise<string | undefined> {
    const body = { metadata: { resourceVersion }, status: patch };
    const updated = (await this.custom.patchNamespacedCustomObjectStatus(
      { ...this.sessionRef(session), body },
      mergePatch,
    )) as DebugSession;
    return updated.metadata.resourceVersion;
  }

  async deleteSession(session: DebugSession): Promise<void> {
    const { fieldManager: _, ...ref } = this.sessionRef(session);
    await this.custom.deleteNamespacedCustomObject({ ...ref, body: { preconditions: { uid: session.metadata.uid } } });
  }

  async injectEphemeralContainer(
    pod: PodRef,
    container: V1EphemeralContainer,
    observed: V1Pod | undefined,
  ): Promise<void> {
    const body = injectOps(pod.uid, container, observed);
    await this.core.patchNamespacedPodEphemeralcontainers(
      { name: pod.name, namespace: pod.namespace, body, fieldManager: FIELD_MANAGER },
      jsonPatch,
    );
  }

  async markPod(pod: PodRef, mark: PodMark, observed: V1Pod | undefined): Promise<V1Pod | undefined> {
    const body = markOps(pod.uid, mark, observed);
    return this.core.patchNamespacedPod(
      { name: pod.name, namespace: pod.namespace, body, fieldManager: FIELD_MANAGER },
      jsonPatch,
    );
  }

  async relabelPod(
    pod: PodRef,
    changes: readonly LabelChange[],
    annotations: Record<string, string>,
    observed: V1Pod | undefined,
  ): Promise<V1Pod | undefined> {
    const current: V1Pod = observed ?? { metadata: { uid: pod.uid } };
    const body = relabelOps({ ...current, metadata: { ...current.metadata, uid: pod.uid } }, changes, annotations);
    if (body.length === 0) return observed;
    return this.core.patchNamespacedPod(
      { name: pod.name, namespace: pod.namespace, body, fieldManager: FIELD_MANAGER },
      jsonPatch,
    );
  }

  async evictPod({ namespace, name, uid }: PodRef, resourceVersion?: string): Promise<void> {
    const body = {
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name, namespace },
      deleteOptions: { preconditions: { uid, resourceVersion } },
    };
    await this.core.createNamespacedPodEviction({ name, namespace, body });
  }

  async deletePod({ namespace, name, uid }: PodRef, resourceVersion?: string): Promise<void> {
    await this.core.deleteNamespacedPod({ name, namespace, body: { preconditions: { uid, resourceVersion } } });
  }

  async createPod(namespace: string, body: V1Pod): Promise<void> {
    await this.core.createNamespacedPod({ namespace, body });
  }

  async createEvent(namespace: string, body: CoreV1Event): Promise<void> {
    await this.core.createNamespacedEvent({ namespace, body });
  }
}

/**
 * The JSON patch that adds the debugger. Its UID test makes the write conditional on the pod we
 * looked at: a replacement is never touched. Its resourceVersion test makes it conditional on the pod
 * as the policy judged it: a debugger added since (maxSessionsPerPod counted without it) fails the
 * write, which is retried on a fresh read.
 */
export function injectOps(podUID: string, container: V1EphemeralContainer, observed: V1Pod | undefined): object[] {
  const append = (observed?.spec?.ephemeralContainers?.length ?? 0) > 0;
  const version = observed?.metadata?.resourceVersion;
  return [
    { op: "test", path: "/metadata/uid", value: podUID },
    ...(version !== undefined ? [{ op: "test", path: "/metadata/resourceVersion", value: version }] : []),
    append
      ? { op: "add", path: "/spec/ephemeralContainers/-", value: container }
      : { op: "add", path: "/spec/ephemeralContainers", value: [container] },
  ];
}

/**
 * The apiserver refused our injection because the pod changed after we looked: a test of the patch
 * failed (another debugger, a label, a replacement), or the list it would set drops a debugger
 * another writer added (the first injection into a pod sets the whole list). A race, not a refusal.
 */
export function lostInjectionRace(err: unknown): boolean {
  if (!isInvalid(err)) return false;
  const message = apiMessage(err);
  return /existing ephemeral containers .* may not be removed/.test(message) || message === PATCH_TEST_FAILED;
}

/**
 * All the apiserver says when a JSON patch does not apply (a `test` op failed): a 422 with this
 * message and no details. Our patches are well-formed, so for them it means a test failed.
 */
const PATCH_TEST_FAILED = "the server rejected our request due to an error in our request";

/**
 * The JSON patch that labels the pod for our cache and records, in annotations, every session that
 * tainted it (joined) and when and how it is to be removed.
 */
export function markOps(podUID: string, mark: PodMark, observed: V1Pod | undefined): object[] {
  const annotations: Record<string, string> = {
    [SESSION_ANNOTATION]: mark.taintedBy.join(","),
    ...(mark.expiresAt !== undefined
      ? { [EXPIRES_ANNOTATION]: mark.expiresAt, [EXPIRY_ACTION_ANNOTATION]: mark.expiryAction }
      : {}),
  };
  return [
    { op: "test", path: "/metadata/uid", value: podUID },
    observed?.metadata?.labels !== undefined
      ? { op: "add", path: `/metadata/labels/${escapePointer(SESSION_LABEL)}`, value: mark.label }
      : { op: "add", path: "/metadata/labels", value: { [SESSION_LABEL]: mark.label } },
    ...(observed?.metadata?.annotations !== undefined
      ? Object.entries(annotations).map(([key, value]) => ({
          op: "add",
          path: `/metadata/annotations/${escapePointer(key)}`,
          value,
        }))
      : [{ op: "add", path: "/metadata/annotations", value: annotations }]),
  ];
}
