// apply(plan): the only code that writes to the cluster, through a ClusterWriter. Each write is
// idempotent: a retry after a partial failure, or a second operator, finds the work done.
import type { V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { API_VERSION, type DebugSession, type ExpiryAction } from "../api/types.ts";
import {
  apiMessage,
  isAdmissionRefusal,
  isConflict,
  isNotFound,
  isTooManyRequests,
  unless,
} from "../runtime/errors.ts";
import { EventRecorder } from "../runtime/events.ts";
import type { Plan, PlannedEvent, PodWrite, RecordWrite, Refusal } from "./plan.ts";
import { COPY_OF_ANNOTATION } from "./pod-copy.ts";
import { toISO } from "./record-content.ts";
import type { SessionRecorder } from "./records.ts";
import { statusPatch } from "./status-diff.ts";
import { FIELD_MANAGER, lostInjectionRace, type ClusterWriter } from "./writer.ts";

/**
 * How long after a session ended its record is retried before the pod is removed without it: the
 * evidence matters, but not more than the TTL (a pod never keeps its debugger for want of a record).
 */
export const RECORD_GIVE_UP_MS = 30_000;

/** Pod writes the apiserver may refuse for a reason the user must change (a Refusal, not an error). */
const REFUSABLE = new Set<PodWrite["kind"]>(["createCopy", "inject", "removePod"]);

export interface ApplyHooks {
  onInjected?(session: DebugSession): void;
  onEventDropped?(): void;
  onPodRemoved?(session: DebugSession, how: ExpiryAction, lagMs: number | undefined): void;
}

export interface ApplyOutcome {
  /** The session's resourceVersion after our last write of it; undefined when it was not written. */
  resourceVersion?: string;
  /** A pod write the apiserver refused for a reason the user must change; the rest was not done. */
  refusal?: Refusal;
}

export class Applier {
  private readonly writer: ClusterWriter;
  private readonly hooks: ApplyHooks;
  private readonly now: () => Date;
  private readonly recorder: SessionRecorder | undefined;
  /** Events go out in the background, in order (runtime/events.ts). */
  readonly events: EventRecorder;

  constructor(
    writer: ClusterWriter,
    log: Logger,
    hooks: ApplyHooks = {},
    now: () => Date = () => new Date(),
    recorder?: SessionRecorder,
  ) {
    this.writer = writer;
    this.recorder = recorder;
    this.hooks = hooks;
    this.now = now;
    this.events = new EventRecorder({
      send: (ns, body) => writer.createEvent(ns, body),
      log,
      onDropped: () => hooks.onEventDropped?.(),
    });
  }

  /**
   * The finalizer first (a deletion cannot outrun the cleanup), then the pod writes, then the status
   * that reports them (a status never claims what did not happen; a crash in between leaves our
   * container for the next pass to adopt), then events, the session's deletion, the finalizer's removal.
   */
  async apply(plan: Plan, session: DebugSession, pod: V1Pod | undefined, log: Logger): Promise<ApplyOutcome> {
    let resourceVersion = session.metadata.resourceVersion;
    let written: string | undefined;
    if (plan.finalizer === "add") resourceVersion = written = await this.writer.addFinalizer(session);
    if (plan.record) await this.saveRecord(plan.record, session, pod, log);
    // Each pod write builds on the pod as the one before it left it (a relabel after a mark). The
    // access writes wait for every write the apiserver may refuse (no grant for a refused injection),
    // then go beside the rest (the mark, a relabel): the status, which reports both, waits less.
    const refusable = plan.podWrites.findLastIndex((w) => REFUSABLE.has(w.kind)) + 1;
    let current = pod;
    const podWrites = async (writes: PodWrite[]): Promise<Refusal | undefined> => {
      for (const write of writes) {
        const done = await this.podWrite(write, session, current, log);
        if ("refusal" in done) return done.refusal;
        current = done.pod;
      }
      return undefined;
    };
    const refusal = await podWrites(plan.podWrites.slice(0, refusable));
    if (refusal) return { resourceVersion: written, refusal };
    const [rest, access] = await Promise.allSettled([
      podWrites(plan.podWrites.slice(refusable)),
      this.accessWrites(plan, session, log),
    ]);
    // Both settled: nothing of this pass is still writing when it returns or is retried.
    if (rest.status === "rejected") throw rest.reason;
    if (access.status === "rejected") throw access.reason;
    if (rest.value) return { resourceVersion: written, refusal: rest.value };
    const patch = statusPatch(session.status, plan.status);
    if (patch) {
      written = await this.writer.patchStatus(session, patch, resourceVersion);
      log.debug({ phase: plan.status.phase }, "status written");
    }
    for (const event of plan.events) this.record(session, event, pod);
    if (plan.deleteSession) {
      await this.writer.deleteSession(session).catch(unless(isNotFound, isConflict));
      log.info({}, "deleted finished session (ttlSecondsAfterFinished)");
    }
    if (plan.finalizer === "remove") await this.writer.removeFinalizer(session).catch(unless(isNotFound));
    return written !== undefined ? { resourceVersion: written } : {};
  }

  private async accessWrites(plan: Plan, session: DebugSession, log: Logger): Promise<void> {
    for (const write of plan.accessWrites) {
      if (write.kind === "grantAttach") await this.writer.grantAttach(session, write.role, write.pod, write.subject);
      else await this.writer.revokeAttach(session.metadata.namespace ?? "", write.role);
      log.info(
        { role: write.role, write: write.kind },
        write.kind === "grantAttach" ? "granted attach" : "revoked attach",
      );
    }
  }

  /** The session is gone: the recorder drops what it kept for it. */
  forget(sessionUID: string): void {
    this.recorder?.forget(sessionUID);
  }

  /** Throws (the pass is retried) while the record fails, until RECORD_GIVE_UP_MS after the session ended. */
  private async saveRecord(write: RecordWrite, session: DebugSession, pod: V1Pod | undefined, log: Logger) {
    if (!this.recorder) return;
    const lastAttempt = this.now().getTime() - Date.parse(write.endedAt) >= RECORD_GIVE_UP_MS;
    await this.recorder.save(session, pod, write, log, lastAttempt);
  }

  /** The apiserver's refusal, or the pod as this write left it (as it was, for a write that returns none). */
  private async podWrite(
    write: PodWrite,
    session: DebugSession,
    pod: V1Pod | undefined,
    log: Logger,
  ): Promise<{ refusal: Refusal } | { pod: V1Pod | undefined }> {
    const namespace = session.metadata.namespace ?? "";
    const outcome = (refusal: Refusal | undefined) => (refusal ? { refusal } : { pod });
    if (write.kind === "createCopy") return outcome(await this.createCopy(namespace, write.manifest, log));
    const ref = { namespace, name: write.pod, uid: write.podUID };
    if (write.kind === "markPod") return { pod: (await this.writer.markPod(ref, write, pod)) ?? pod };
    if (write.kind === "relabel") {
      const relabelled = await this.writer.relabelPod(ref, write.changes, write.annotations, pod);
      log.info({ pod: write.pod, changes: write.changes }, "relabelled pod");
      return { pod: relabelled ?? pod };
    }
    return outcome(await this.ownPodWrite(write, ref, session, pod, log));
  }

  private async ownPodWrite(
    write: Extract<PodWrite, { kind: "inject" | "removePod" }>,
    ref: { namespace: string; name: string; uid: string },
    session: DebugSession,
    pod: V1Pod | undefined,
    log: Logger,
  ): Promise<Refusal | undefined> {
    switch (write.kind) {
      case "inject":
        try {
          await this.writer.injectEphemeralContainer(ref, write.container, pod);
        } catch (err) {
          // Admission (Pod Security, a policy engine) or validation said no: a user-level refusal that
          // repeats until something changes, so it is recorded and not retried.
          // Another debugger got into the pod since we looked: retried on a fresh read, not a refusal.
          if (!isAdmissionRefusal(err) || lostInjectionRace(err)) throw err;
          log.warn({ pod: write.pod, reason: apiMessage(err) }, "apiserver refused the debugger");
          return { of: "injection", message: apiMessage(err) };
        }
        this.hooks.onInjected?.(session);
        log.info({ pod: write.pod, container: write.container.name }, "injected debugger");
        return undefined;
      case "removePod":
        return this.removePod(ref, write.how, session, log);
    }
  }

  /**
   * One that exists already (a retry, or a second operator, made it) is fine: the next pass reads it,
   * and adopts it only when it carries this session's UID. Admission (Pod Security, a quota, a policy
   * engine) saying no is the user's to fix: reported, not retried.
   */
  private async createCopy(namespace: string, manifest: V1Pod, log: Logger): Promise<Refusal | undefined> {
    const name = manifest.metadata?.name;
    try {
      await this.writer.createPod(namespace, manifest);
    } catch (err) {
      if (isConflict(err)) return undefined;
      if (!isAdmissionRefusal(err)) throw err;
      log.warn({ pod: name, reason: apiMessage(err) }, "apiserver refused the copy");
      return { of: "copy", message: apiMessage(err) };
    }
    log.info({ pod: name, copyOf: manifest.metadata?.annotations?.[COPY_OF_ANNOTATION] }, "created copy");
    return undefined;
  }

  private async removePod(
    ref: { namespace: string; name: string; uid: string },
    how: ExpiryAction,
    session: DebugSession,
    log: Logger,
  ): Promise<Refusal | undefined> {
    try {
      await (how === "Evict" ? this.writer.evictPod(ref) : this.writer.deletePod(ref));
    } catch (err) {
      // Gone already, or a different pod now holds the name: either way nothing of ours is left.
      if (isNotFound(err) || isConflict(err)) return undefined;
      // A disruption budget refused the eviction: reported, then retried with backoff.
      if (how === "Evict" && isTooManyRequests(err)) {
        log.info({ pod: ref.name, reason: apiMessage(err) }, "eviction refused by a disruption budget; retrying");
        return { of: "eviction", message: apiMessage(err) };
      }
      throw err;
    }
    const expiresAt = session.status?.expiresAt ? Date.parse(session.status.expiresAt) : undefined;
    const lag = expiresAt !== undefined ? this.now().getTime() - expiresAt : undefined;
    this.hooks.onPodRemoved?.(session, how, lag);
    log.info({ pod: ref.name, how, lagMs: lag }, "removed tainted pod");
    return undefined;
  }

  private record(session: DebugSession, e: PlannedEvent, pod: V1Pod | undefined): void {
    const ns = session.metadata.namespace ?? "";
    const involved =
      e.on === "session"
        ? {
            apiVersion: API_VERSION,
            kind: "DebugSession",
            name: session.metadata.name,
            namespace: ns,
            uid: session.metadata.uid,
          }
        : {
            apiVersion: "v1",
            kind: "Pod",
            name: pod?.metadata?.name ?? session.status?.pod ?? session.spec.targetPod,
            namespace: ns,
            uid: pod?.metadata?.uid ?? session.status?.targetPodUID,
          };
    const now = this.now();
    if (e.on === "session" && session.metadata.uid) {
      this.recorder?.noteEvent(session.metadata.uid, {
        type: e.type,
        reason: e.reason,
        message: e.message.slice(0, 1024),
        time: toISO(now),
        count: 1,
      });
    }
    this.events.record(ns, {
      metadata: { generateName: `${involved.name ?? "debugsession"}.`, namespace: ns },
      involvedObject: involved,
      type: e.type,
      reason: e.reason,
      message: e.message.slice(0, 1024),
      source: { component: FIELD_MANAGER },
      reportingComponent: FIELD_MANAGER,
      reportingInstance: FIELD_MANAGER,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
  }
}
