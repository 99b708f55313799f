// Saving a DebugSessionRecord: the debugger's transcript and the target's log tail read once through
// pods/log (bounded by limitBytes and by what is kept), the session's Events, one create, and one
// JSON audit line on the operator's log. record-content.ts builds what is saved.
import { Log, type CoreV1Api, type CustomObjectsApi, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { GROUP, RECORD_PLURAL, VERSION, type DebugSession, type SavedLog } from "../api/types.ts";
import { apiMessage, errorMessage, isConflict } from "../runtime/errors.ts";
import { withTimeout } from "../runtime/timers.ts";
import type { RecordWrite } from "./plan.ts";
import {
  LogSink,
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

/** A log read that takes longer keeps what arrived and says so. */
const LOG_READ_TIMEOUT_MS = 15_000;
/** Sessions whose record is known to exist, so a retried pass (a refused eviction) reads no log again. */
const MAX_REMEMBERED = 10_000;

export type RecordResult = "written" | "existed" | "failed";

export interface RecordHooks {
  /** `retention`: the record's policy's recordRetention when it was written. */
  onRecord?(result: RecordResult, bytes: number, retention: string): void;
}

export interface SessionRecorder {
  /**
   * Saves the session's record unless it exists. Throws when it could not, unless `lastAttempt`:
   * then the failure is logged (and audited) and the caller goes on without the record.
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
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly logs: Log;
  private readonly hooks: RecordHooks;
  private readonly saved = new Set<string>();

  constructor(opts: { kubeConfig: KubeConfig; core: CoreV1Api; custom: CustomObjectsApi; hooks?: RecordHooks }) {
    this.core = opts.core;
    this.custom = opts.custom;
    this.logs = new Log(opts.kubeConfig);
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
    const none: SavedLog = { error: unavailable };
    const [transcript, targetLog, events] = await Promise.all([
      readable ? this.readLog(namespace, podName, write.containerName, TRANSCRIPT_LIMITS) : none,
      !readable
        ? none
        : target
          ? this.readLog(namespace, podName, target, TARGET_LOG_LIMITS)
          : { error: "the pod names no container the debugger targeted" },
      this.core
        .listNamespacedEvent({ namespace, fieldSelector: `involvedObject.uid=${uid}` })
        .then((list) => recordedEvents(list.items))
        .catch((err: unknown) => {
          log.warn({ err: apiMessage(err) }, "could not list the session's events for its record");
          return [];
        }),
    ]);
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
      if (!lastAttempt) throw err;
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

  private remember(uid: string): void {
    if (this.saved.size >= MAX_REMEMBERED) this.saved.clear();
    this.saved.add(uid);
  }

  /** One bounded read of a container's log, kept within `limits`; a failure is the log's `error`. */
  private async readLog(namespace: string, pod: string, container: string, limits: LogLimits): Promise<SavedLog> {
    const sink = new LogSink(limits);
    const finished = new Promise<boolean>((resolve) => {
      sink.on("finish", () => resolve(true));
      sink.on("error", () => resolve(false));
    });
    const deadline = Date.now() + LOG_READ_TIMEOUT_MS;
    const opened = this.logs.log(namespace, pod, container, sink, {
      follow: false,
      limitBytes: limits.readBytes,
      ...(limits.tailLines !== undefined ? { tailLines: limits.tailLines } : {}),
    });
    let controller: AbortController | undefined;
    try {
      // The apiserver may take long to reach a node that does not answer: bounded like the read.
      controller = await withTimeout(opened, LOG_READ_TIMEOUT_MS);
    } catch (err) {
      return { error: await this.whyNoLog(namespace, pod, container, err) };
    }
    if (controller === undefined) {
      void opened.then((c) => c.abort()).catch(() => undefined);
      return { error: `the kubelet did not answer within ${LOG_READ_TIMEOUT_MS / 1000} s` };
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

  /**
   * client-node's Log reports a refused read (400, 403, 404) without the apiserver's message; one
   * byte asked through the typed API brings the message back.
   */
  private async whyNoLog(namespace: string, pod: string, container: string, first: unknown): Promise<string> {
    try {
      await this.core.readNamespacedPodLog({ namespace, name: pod, container, limitBytes: 1 });
      return `the log could not be read: ${errorMessage(first)}`;
    } catch (err) {
      return `the log could not be read: ${apiMessage(err)}`;
    }
  }
}
