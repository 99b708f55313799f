// An in-memory ClusterWriter (the CronJob controller's fakeJobControl): one session and one pod, the
// writes made to them in order, and the refusals a test asks for. Used where the order and number of
// writes is the claim; what the apiserver does with each write is tested against a real one.
import type { CoreV1Event, V1EphemeralContainer, V1Pod } from "@kubernetes/client-node";
import {
  FINALIZER,
  EXPIRES_ANNOTATION,
  EXPIRY_ACTION_ANNOTATION,
  SESSION_ANNOTATION,
  SESSION_LABEL,
  type DebugSession,
  type DebugSessionStatus,
} from "../../src/api/types.ts";
import type { PodMark, Subject } from "../../src/controller/plan.ts";
import type { LabelChange } from "../../src/controller/relabel.ts";
import type { ClusterWriter, PodRef } from "../../src/controller/writer.ts";

/** An error shaped like the apiserver's, as statusCode() in runtime/errors.ts reads it. */
export class FakeApiError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** RFC 7386. */
function mergePatch(target: Json, patch: Json): Json {
  const out: Json = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = isObject(v) ? mergePatch(isObject(out[k]) ? out[k] : {}, v) : v;
  }
  return out;
}

const condReason = (status: DebugSessionStatus | undefined, type: string): string | undefined =>
  status?.conditions?.find((c) => c.type === type && (type !== "Expired" || c.status === "True"))?.reason;

export class FakeClusterWriter implements ClusterWriter {
  /** Attach grants by Role name: the pod and the subject. */
  readonly grants = new Map<string, { pod: string; subject: Subject }>();
  session: DebugSession;
  pod: V1Pod | undefined;
  now: () => Date;
  /** Every write to the session or the pod, in order; Events are not writes here. */
  readonly writes: string[] = [];
  readonly events: string[] = [];
  /** This many evictions are refused, as a PodDisruptionBudget refuses them (429). */
  refuseEvictions = 0;
  /** The apiserver refuses the next injection this way (Pod Security: 403). */
  refuseInjection: FakeApiError | undefined;
  /** The next status write fails, as a crash between the pod writes and the status write does. */
  crashBeforeStatus = false;
  private revision = 1;

  constructor(session: DebugSession, pod: V1Pod | undefined, now: () => Date) {
    this.session = { ...session, metadata: { ...session.metadata, resourceVersion: "1" } };
    this.pod = pod;
    this.now = now;
  }

  private bump(): string {
    this.revision++;
    this.session = { ...this.session, metadata: { ...this.session.metadata, resourceVersion: String(this.revision) } };
    return String(this.revision);
  }

  private podFor(ref: PodRef): V1Pod {
    if (!this.pod || this.pod.metadata?.name !== ref.name) throw new FakeApiError(404, `pods "${ref.name}" not found`);
    if (this.pod.metadata.uid !== ref.uid) throw new FakeApiError(409, "Precondition failed: UID");
    return structuredClone(this.pod);
  }

  addFinalizer(_session: DebugSession): Promise<string | undefined> {
    this.writes.push("addFinalizer");
    const finalizers = [...(this.session.metadata.finalizers ?? []), FINALIZER];
    this.session = { ...this.session, metadata: { ...this.session.metadata, finalizers } };
    return Promise.resolve(this.bump());
  }

  removeFinalizer(_session: DebugSession): Promise<void> {
    this.writes.push("removeFinalizer");
    const finalizers = this.session.metadata.finalizers?.filter((f) => f !== FINALIZER);
    this.session = { ...this.session, metadata: { ...this.session.metadata, finalizers } };
    this.bump();
    return Promise.resolve();
  }

  patchStatus(_session: DebugSession, patch: Json, resourceVersion: string | undefined): Promise<string | undefined> {
    if (this.crashBeforeStatus) {
      this.crashBeforeStatus = false;
      return Promise.reject(new Error("crashed before the status write"));
    }
    if (resourceVersion !== this.session.metadata.resourceVersion)
      return Promise.reject(new FakeApiError(409, "the object has been modified"));
    const status = mergePatch((this.session.status ?? {}) as Json, patch) as DebugSessionStatus;
    this.writes.push(
      `status ${status.phase}/${condReason(status, "Expired") ?? condReason(status, "Ready") ?? condReason(status, "Reconciling")}`,
    );
    this.session = { ...this.session, status };
    return Promise.resolve(this.bump());
  }

  deleteSession(_session: DebugSession): Promise<void> {
    this.writes.push("deleteSession");
    return Promise.resolve();
  }

  injectEphemeralContainer(ref: PodRef, container: V1EphemeralContainer): Promise<void> {
    const p = this.podFor(ref);
    if (this.refuseInjection) {
      const err = this.refuseInjection;
      this.refuseInjection = undefined;
      return Promise.reject(err);
    }
    this.writes.push("inject");
    this.pod = { ...p, spec: { ...p.spec!, ephemeralContainers: [...(p.spec?.ephemeralContainers ?? []), container] } };
    return Promise.resolve();
  }

  markPod(ref: PodRef, mark: PodMark): Promise<V1Pod | undefined> {
    const p = this.podFor(ref);
    this.writes.push("markPod");
    const labels = { ...p.metadata?.labels, [SESSION_LABEL]: mark.label };
    const annotations = {
      ...p.metadata?.annotations,
      [SESSION_ANNOTATION]: mark.taintedBy.join(","),
      ...(mark.expiresAt
        ? { [EXPIRES_ANNOTATION]: mark.expiresAt, [EXPIRY_ACTION_ANNOTATION]: mark.expiryAction }
        : {}),
    };
    this.pod = { ...p, metadata: { ...p.metadata, labels, annotations } };
    return Promise.resolve(structuredClone(this.pod));
  }

  relabelPod(ref: PodRef, changes: readonly LabelChange[], annotations: Record<string, string>): Promise<V1Pod> {
    const p = this.podFor(ref);
    this.writes.push("relabel");
    const labels = { ...p.metadata?.labels };
    for (const c of changes) {
      if (labels[c.key] !== c.from)
        return Promise.reject(new FakeApiError(422, `test /metadata/labels/${c.key} failed`));
      if (c.to === undefined) delete labels[c.key];
      else labels[c.key] = c.to;
    }
    this.pod = {
      ...p,
      metadata: { ...p.metadata, labels, annotations: { ...p.metadata?.annotations, ...annotations } },
    };
    return Promise.resolve(structuredClone(this.pod));
  }

  /** Copy mode's copies, as created (the fake keeps one pod; a test that drives a copy passes it in). */
  readonly created: V1Pod[] = [];

  createPod(_namespace: string, pod: V1Pod): Promise<void> {
    this.writes.push("createPod");
    this.created.push(structuredClone(pod));
    return Promise.resolve();
  }

  evictPod(ref: PodRef): Promise<void> {
    this.podFor(ref);
    if (this.refuseEvictions > 0) {
      this.refuseEvictions--;
      return Promise.reject(new FakeApiError(429, "Cannot evict pod as it would violate the pod's disruption budget."));
    }
    return this.deletePod(ref);
  }

  deletePod(ref: PodRef): Promise<void> {
    const p = this.podFor(ref);
    this.writes.push("removePod");
    this.pod = { ...p, metadata: { ...p.metadata, deletionTimestamp: this.now() } };
    return Promise.resolve();
  }

  grantAttach(_session: DebugSession, role: string, pod: string, subject: Subject): Promise<void> {
    if (!this.grants.has(role)) this.writes.push("createRole", "createRoleBinding");
    this.grants.set(role, { pod, subject });
    return Promise.resolve();
  }

  revokeAttach(_namespace: string, role: string): Promise<void> {
    if (this.grants.delete(role)) this.writes.push("deleteRole");
    return Promise.resolve();
  }

  createEvent(_namespace: string, event: CoreV1Event): Promise<void> {
    this.events.push(`${event.involvedObject.kind === "Pod" ? "pod" : "session"}/${event.reason}`);
    return Promise.resolve();
  }
}
