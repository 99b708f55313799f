// apply(plan): the only code that writes to the cluster. Each action is idempotent: a retry after a
// partial failure, or a second operator, finds the work done and does nothing twice.
import {
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Api,
  type CustomObjectsApi,
  type V1Pod,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import { FINALIZER, GROUP, SESSION_ANNOTATION, SESSION_LABEL, SESSION_PLURAL, VERSION, type DebugSession, type DebugSessionStatus } from "../api/types.ts";
import { apiMessage, isConflict, isNotFound, statusCode } from "../runtime/errors.ts";
import type { Action, Plan } from "./decide.ts";
import { EventRecorder } from "./events.ts";
import { statusPatch } from "./status-diff.ts";

export interface Clients {
  core: CoreV1Api;
  custom: CustomObjectsApi;
}

export interface ApplyHooks {
  onInjected?(session: DebugSession): void;
  onEventDropped?(): void;
  onPodRemoved?(session: DebugSession, how: "Evict" | "Delete", lagMs: number | undefined): void;
}

const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const FIELD_MANAGER = "debugsession-operator";
const escapePointer = (s: string): string => s.replace(/~/g, "~0").replace(/\//g, "~1");

export class Applier {
  private readonly clients: Clients;
  private readonly hooks: ApplyHooks;
  private readonly now: () => Date;
  /** Events go out in the background, in order (see events.ts). */
  readonly events: EventRecorder;

  constructor(clients: Clients, log: Logger, hooks: ApplyHooks = {}, now: () => Date = () => new Date()) {
    this.clients = clients;
    this.hooks = hooks;
    this.now = now;
    this.events = new EventRecorder({
      send: async (namespace, body) => {
        await clients.core.createNamespacedEvent({ namespace, body });
      },
      log,
      onDropped: () => hooks.onEventDropped?.(),
    });
  }

  /**
   * Carries out the plan. Returns the session's resourceVersion after the last write of it (finalizer
   * or status), or undefined when the session was not written: until the watch shows that version,
   * the cache is behind our own write.
   */
  async apply(plan: Plan, session: DebugSession, log: Logger): Promise<string | undefined> {
    const ns = session.metadata.namespace!;
    const name = session.metadata.name!;
    let resourceVersion = session.metadata.resourceVersion;
    let written: string | undefined;

    // The finalizer comes before anything is done to a pod, so a deletion cannot outrun the cleanup.
    if (plan.actions.some((a) => a.kind === "addFinalizer")) {
      resourceVersion = written = await this.addFinalizer(session, resourceVersion);
    }
    // The pod writes come before the status that reports them: a status never claims what did not
    // happen, and a crash in between leaves our container in the pod for the next pass to adopt.
    for (const action of plan.actions) {
      switch (action.kind) {
        case "inject":
          try {
            await this.inject(ns, action);
            this.hooks.onInjected?.(session);
            log.info({ pod: action.pod, container: action.container.name }, "injected debugger");
          } catch (err) {
            const code = statusCode(err);
            // Admission (Pod Security, a policy engine) or validation said no: a user-level refusal that
            // repeats until something changes, so it is recorded and not retried.
            if ((code === 403 || code === 422 || code === 400) && plan.ifInjectionRefused) {
              const message = apiMessage(err);
              log.warn({ pod: action.pod, code, reason: message }, "apiserver refused the debugger");
              // plan.status was never written: the refusal is compared with what the session shows.
              const p = statusPatch(session.status, plan.ifInjectionRefused(message));
              if (p) written = await this.writeStatus(ns, name, p, resourceVersion);
              this.event(session, "session", "Warning", "InjectionRefused", message);
              return written;
            }
            throw err;
          }
          break;
        case "markPod":
          await this.markPod(ns, action);
          break;
        case "removePod":
          try {
            await this.removePod(ns, action, session, log);
          } catch (err) {
            // A disruption budget refused the eviction: say so, then retry with backoff.
            if (statusCode(err) === 429 && plan.ifRemovalRefused) {
              const p = statusPatch(session.status, plan.ifRemovalRefused(apiMessage(err)));
              if (p) await this.writeStatus(ns, name, p, resourceVersion);
            }
            throw err;
          }
          break;
        default:
          break;
      }
    }
    const patch = statusPatch(session.status, plan.status);
    if (patch) {
      written = await this.writeStatus(ns, name, patch, resourceVersion);
      log.debug({ phase: plan.status.phase }, "status written");
    }
    for (const action of plan.actions) {
      switch (action.kind) {
        case "removeFinalizer":
          await this.removeFinalizer(session);
          break;
        case "deleteSession":
          await this.clients.custom
            .deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: SESSION_PLURAL, namespace: ns, name, body: { preconditions: { uid: session.metadata.uid } } })
            .catch(ignore(404, 409));
          log.info({}, "deleted finished session (ttlSecondsAfterFinished)");
          break;
        case "event":
          this.event(session, action.on, action.type, action.reason, action.message);
          break;
        default:
          // addFinalizer and the pod writes were carried out above.
          break;
      }
    }
    return written;
  }

  private async addFinalizer(session: DebugSession, resourceVersion: string | undefined): Promise<string | undefined> {
    const finalizers = session.metadata.finalizers;
    const ops = [
      { op: "test", path: "/metadata/resourceVersion", value: resourceVersion },
      finalizers ? { op: "add", path: "/metadata/finalizers/-", value: FINALIZER } : { op: "add", path: "/metadata/finalizers", value: [FINALIZER] },
    ];
    const updated = (await this.clients.custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, plural: SESSION_PLURAL, namespace: session.metadata.namespace!, name: session.metadata.name!, body: ops, fieldManager: FIELD_MANAGER },
      jsonPatch,
    )) as DebugSession;
    return updated.metadata.resourceVersion;
  }

  private async removeFinalizer(session: DebugSession): Promise<void> {
    const i = session.metadata.finalizers?.indexOf(FINALIZER) ?? -1;
    if (i < 0) return;
    const ops = [
      { op: "test", path: `/metadata/finalizers/${i}`, value: FINALIZER },
      { op: "remove", path: `/metadata/finalizers/${i}` },
    ];
    await this.clients.custom
      .patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, plural: SESSION_PLURAL, namespace: session.metadata.namespace!, name: session.metadata.name!, body: ops, fieldManager: FIELD_MANAGER },
        jsonPatch,
      )
      .catch(ignore(404));
  }

  /** resourceVersion in the patch makes it conditional: a status computed from a stale cache is refused (409) and retried. */
  private async writeStatus(ns: string, name: string, patch: Record<string, unknown>, resourceVersion: string | undefined): Promise<string | undefined> {
    const body = { metadata: { resourceVersion }, status: patch };
    const updated = (await this.clients.custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, plural: SESSION_PLURAL, namespace: ns, name, body, fieldManager: FIELD_MANAGER },
      mergePatch,
    )) as DebugSession;
    return updated.metadata.resourceVersion;
  }

  private async inject(ns: string, a: Extract<Action, { kind: "inject" }>): Promise<void> {
    // The UID test makes the write conditional on the pod we looked at: a replacement is never touched.
    const ops = [
      { op: "test", path: "/metadata/uid", value: a.podUID },
      a.appendToList
        ? { op: "add", path: "/spec/ephemeralContainers/-", value: a.container }
        : { op: "add", path: "/spec/ephemeralContainers", value: [a.container] },
    ];
    await this.clients.core.patchNamespacedPodEphemeralcontainers({ name: a.pod, namespace: ns, body: ops, fieldManager: FIELD_MANAGER }, jsonPatch);
  }

  private async markPod(ns: string, a: Extract<Action, { kind: "markPod" }>): Promise<void> {
    const sessionName = a.taintedBy.split(",").at(-1) ?? "";
    const ops: object[] = [{ op: "test", path: "/metadata/uid", value: a.podUID }];
    ops.push(
      a.hasLabels
        ? { op: "add", path: `/metadata/labels/${escapePointer(SESSION_LABEL)}`, value: sessionName }
        : { op: "add", path: "/metadata/labels", value: { [SESSION_LABEL]: sessionName } },
      a.hasAnnotations
        ? { op: "add", path: `/metadata/annotations/${escapePointer(SESSION_ANNOTATION)}`, value: a.taintedBy }
        : { op: "add", path: "/metadata/annotations", value: { [SESSION_ANNOTATION]: a.taintedBy } },
    );
    await this.clients.core.patchNamespacedPod({ name: a.pod, namespace: ns, body: ops, fieldManager: FIELD_MANAGER }, jsonPatch);
  }

  private async removePod(ns: string, a: Extract<Action, { kind: "removePod" }>, session: DebugSession, log: Logger): Promise<void> {
    const preconditions = { uid: a.podUID };
    try {
      if (a.how === "Evict") {
        await this.clients.core.createNamespacedPodEviction({
          name: a.pod,
          namespace: ns,
          body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: a.pod, namespace: ns }, deleteOptions: { preconditions } },
        });
      } else {
        await this.clients.core.deleteNamespacedPod({ name: a.pod, namespace: ns, body: { preconditions } });
      }
    } catch (err) {
      // Gone already, or a different pod now holds the name: either way nothing of ours is left.
      if (isNotFound(err) || isConflict(err)) return;
      if (statusCode(err) === 429) log.info({ pod: a.pod, reason: apiMessage(err) }, "eviction refused by a disruption budget; retrying");
      throw err;
    }
    const expiresAt = session.status?.expiresAt ? Date.parse(session.status.expiresAt) : undefined;
    const lag = expiresAt !== undefined ? this.now().getTime() - expiresAt : undefined;
    this.hooks.onPodRemoved?.(session, a.how, lag);
    log.info({ pod: a.pod, how: a.how, lagMs: lag }, "removed tainted pod");
  }

  private event(session: DebugSession, on: "session" | "pod", type: string, reason: string, message: string): void {
    const ns = session.metadata.namespace!;
    const involved =
      on === "session"
        ? { apiVersion: `${GROUP}/${VERSION}`, kind: "DebugSession", name: session.metadata.name, namespace: ns, uid: session.metadata.uid }
        : { apiVersion: "v1", kind: "Pod", name: session.spec.targetPod, namespace: ns, uid: session.status?.targetPodUID };
    const now = this.now();
    this.events.record(ns, {
      metadata: { generateName: `${involved.name ?? "debugsession"}.`, namespace: ns },
      involvedObject: involved,
      type,
      reason,
      message: message.slice(0, 1024),
      source: { component: FIELD_MANAGER },
      reportingComponent: FIELD_MANAGER,
      reportingInstance: FIELD_MANAGER,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
  }
}

function ignore(...codes: number[]) {
  return (err: unknown): void => {
    if (!codes.includes(statusCode(err) ?? 0)) throw err;
  };
}

export type { V1Pod, DebugSessionStatus };
