// Saving a DebugSessionRecord: the debugger's transcript and the target's log tail read once through
// pods/log (bounded by limitBytes and by what is kept), the session's Events, one create, and one
// JSON audit line on the operator's log. record-content.ts builds what is saved.
import type { V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { GROUP, RECORD_PLURAL, VERSION, type DebugSession, type RecordedEvent, type SavedLog } from "../api/types.ts";
import { apiMessage, isAdmissionRefusal, isConflict, statusCode } from "../runtime/errors.ts";
import type { CoreApi, CustomObjectsApi } from "../runtime/kube/api.ts";
import type { KubeClient } from "../runtime/kube/client.ts";
import { withTimeout } from "../runtime/timers.ts";
import type { RecordWrite } from "./plan.ts";
import {
  LogSink,
  MAX_RECORDED_EVENTS,
  TARGET_LOG_LIMITS,
  TRANSCRIPT_LIMITS,
  auditLine,
  buildRecord,
  recordedEvents,
  savedLog,
  targetContainerOf,
  type LogLimits,
} from "./record-content.ts";
import { FIELD_MANAGER } from "./writer.ts";

/** A log read that takes longer keeps what arrived and says so (a kubelet that never answers included). */
const LOG_READ_TIMEOUT_MS = 10_000;
/** After a node's kubelet failed to answer, its other pods' logs are not asked for for this long. */
const NODE_SILENT_MS = 60_000;
/** Sessions whose record is known to exist, so a retried pass (a refused eviction) reads no log again. */
const MAX_REMEMBERED = 10_000;

export type RecordResult = "written" | "existed" | "failed";

export interface RecordHooks {
  /** `retention`: the record's policy's recordRetention when it was written. */
  onRecord?(result: RecordResult, bytes: number, retention: string): void;
}

export interface SessionRecorder {
  /** An Event the operator recorded on the session: kept for its record, so ending needs no events LIST. */
  noteEvent(sessionUID: string, event: RecordedEvent): void;
  /** The session is gone: drop what was kept for it. */
  forget(sessionUID: string): void;
  /**
   * Saves the session's record unless it exists. Throws when it could not (to be retried), unless
   * `lastAttempt` or the apiserver refused it for good: then the failure is logged (and audited) and
   * the caller goes on without the record.
   */
  save(
    session: DebugSession,
    pod: V1Pod | undefined,
    write: RecordWrite,
    log: Logger,
    lastAttempt: boolean,
  ): Promise<RecordResult>;
}

export class ApiSessionRecorder implements SessionRecorder {
  private readonly core: CoreApi;
  private readonly custom: CustomObjectsApi;
  private readonly client: KubeClient;
  private readonly hooks: RecordHooks;
  private readonly saved = new Set<string>();
  /** session UID -> the Events this operator recorded on it (since it started), oldest first. */
  private readonly noted = new Map<string, RecordedEvent[]>();
  /** node -> until when, and why, its kubelet is taken as not answering (one timeout per node, not per pod). */
  private readonly silentNodes = new Map<string, { until: number; why: string }>();
  /** Sessions created before this instant may have Events this operator did not record: those are LISTed. */
  private readonly startedAt = Date.now();

  constructor(opts: { client: KubeClient; core: CoreApi; custom: CustomObjectsApi; hooks?: RecordHooks }) {
    this.core = opts.core;
    this.custom = opts.custom;
    this.client = opts.client;
    this.hooks = opts.hooks ?? {};
  }

  async save(
    session: DebugSession,
    pod: V1Pod | undefined,
    write: RecordWrite,
    log: Logger,
    lastAttempt: boolean,
  ): Promise<RecordResult> {
    const uid = session.metadata.uid ?? "";
    if (this.saved.has(uid)) return "existed";
    const namespace = session.metadata.namespace ?? "";
    const podName = pod?.metadata?.name;
    const readable = write.logsUnavailable === undefined && podName !== undefined;
    const unavailable = write.logsUnavailable ?? "the pod was not found when the session ended";
    const target = targetContainerOf(pod, session, write.containerName);
    const node = pod?.spec?.nodeName ?? "";
    const silent = this.silentNodes.get(node);
    const none: SavedLog = { error: unavailable };
    let transcript = none;
    let targetLog = none;
    if (readable && silent && silent.until > Date.now()) {
      transcript = targetLog = { error: silent.why };
    } else if (readable) {
      [transcript, targetLog] = await Promise.all([
        this.readLog(namespace, podName, write.containerName, TRANSCRIPT_LIMITS, node),
        target
          ? this.readLog(namespace, podName, target, TARGET_LOG_LIMITS, node)
          : { error: "the pod names no container the debugger targeted" },
      ]);
    }
    // The Events this operator recorded on the session; a LIST only when it started after the session
    // did (200 sessions ending at once would otherwise be 200 scans of the namespace's Events).
    const created = Date.parse(String(session.metadata.creationTimestamp ?? ""));
    const seenWhole = !Number.isNaN(created) && created >= this.startedAt;
    const events =
      (seenWhole ? this.noted.get(uid) : undefined) ??
      (await this.core
        .listNamespacedEvent({ namespace, fieldSelector: `involvedObject.uid=${uid}` })
        .then((list) => recordedEvents(list.items))
        .catch((err: unknown) => {
          log.warn({ err: apiMessage(err) }, "could not list the session's events for its record");
          return [];
        }));
    const record = buildRecord({ session, pod, write, transcript, targetLog, events });
    const bytes = (transcript.compressedBytes ?? 0) + (targetLog.compressedBytes ?? 0);
    try {
      await this.custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: RECORD_PLURAL,
        namespace,
        body: record,
        fieldManager: FIELD_MANAGER,
      });
    } catch (err) {
      if (isConflict(err)) {
        // Written before (by this operator before a restart, or by the replica that led then).
        this.remember(uid);
        this.hooks.onRecord?.("existed", 0, write.policy.retention);
        return "existed";
      }
      // A refusal (400/403/422: a namespace being deleted takes no new objects, admission, validation)
      // will not pass on a retry: given up at once, the audit line keeps what it can. Else retried.
      if (!lastAttempt && !isAdmissionRefusal(err)) throw err;
      this.remember(uid);
      this.hooks.onRecord?.("failed", 0, write.policy.retention);
      log.error(
        { audit: { ...auditLine(record), saved: false, error: apiMessage(err) } },
        "debug session ended; its record could NOT be saved",
      );
      return "failed";
    }
    this.remember(uid);
    this.hooks.onRecord?.("written", bytes, write.policy.retention);
    // The audit line: everything but the transcripts themselves, their sha256s included.
    log.info({ audit: { ...auditLine(record), saved: true } }, "debug session ended; record saved");
    return "written";
  }

  /** The node's other pods are not asked for logs for NODE_SILENT_MS: a dead node costs one timeout, not one per pod. */
  private silence(node: string, why: string): void {
    if (node === "") return;
    const until = Date.now() + NODE_SILENT_MS;
    this.silentNodes.set(node, {
      until,
      why: `${why} (node ${node}: logs not asked for until ${new Date(until).toISOString()})`,
    });
  }

  noteEvent(sessionUID: string, event: RecordedEvent): void {
    if (this.saved.has(sessionUID)) return;
    let events = this.noted.get(sessionUID);
    if (!events) {
      // Past the bound, the oldest sessions' Events are dropped: their records LIST them instead.
      if (this.noted.size >= MAX_REMEMBERED) this.noted.delete(this.noted.keys().next().value ?? "");
      this.noted.set(sessionUID, (events = []));
    }
    events.push(event);
    if (events.length > MAX_RECORDED_EVENTS) events.shift();
  }

  forget(sessionUID: string): void {
    this.noted.delete(sessionUID);
    this.saved.delete(sessionUID);
  }

  private remember(uid: string): void {
    if (this.saved.size >= MAX_REMEMBERED) this.saved.clear();
    this.saved.add(uid);
    this.noted.delete(uid);
  }

  /** One bounded read of a container's log, kept within `limits`; a failure is the log's `error`. */
  private async readLog(
    namespace: string,
    pod: string,
    container: string,
    limits: LogLimits,
    node: string,
  ): Promise<SavedLog> {
    const sink = new LogSink(limits);
    const finished = new Promise<boolean>((resolve) => {
      sink.on("finish", () => resolve(true));
      sink.on("error", () => resolve(false));
    });
    const deadline = Date.now() + LOG_READ_TIMEOUT_MS;
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`;
    const opened = this.client.stream(
      path,
      { container, limitBytes: limits.readBytes, tailLines: limits.tailLines },
      sink,
    );
    let controller: { abort(): void } | undefined;
    try {
      // The apiserver may take long to reach a node that does not answer: bounded like the read.
      controller = await withTimeout(opened, LOG_READ_TIMEOUT_MS);
    } catch (err) {
      // A refusal (400, 403, 404) or a kubelet the apiserver could not reach, in the apiserver's words.
      const error = `the log could not be read: ${apiMessage(err)}`;
      // 5xx: the apiserver could not reach the kubelet (not a refusal about this pod or container).
      if ((statusCode(err) ?? 0) >= 500) this.silence(node, error);
      return { error };
    }
    if (controller === undefined) {
      void opened.then((c) => c.abort()).catch(() => undefined);
      const error = `the kubelet of node ${node} did not answer within ${LOG_READ_TIMEOUT_MS / 1000} s`;
      this.silence(node, error);
      return { error };
    }
    const done = await withTimeout(finished, Math.max(0, deadline - Date.now()));
    if (done !== true) controller.abort();
    const error =
      done === undefined
        ? `the log read timed out after ${LOG_READ_TIMEOUT_MS / 1000} s; what arrived is kept`
        : done
          ? undefined
          : "the log read broke off; what arrived is kept";
    const hitLimit = sink.total >= limits.readBytes;
    return savedLog(sink.head, sink.tail, sink.total, limits.compressedCap, hitLimit || error !== undefined, error);
  }
}
