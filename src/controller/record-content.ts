// What a DebugSessionRecord holds, as pure functions: a container log kept within a cap (head and
// tail around a marker), and the record built from the session, the pod and what was read.
import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import { gzipSync } from "node:zlib";
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import {
  API_VERSION,
  RECORD_KIND,
  RECORD_POLICY_ANNOTATION,
  RECORD_RETENTION_ANNOTATION,
  RECORD_SESSION_UID_LABEL,
  SESSION_LABEL,
  type DebugSession,
  type DebugSessionRecord,
  type RecordedEvent,
  type SavedLog,
} from "../api/types.ts";
import { sessionLabelValue } from "./container.ts";
import { COPY_OF_ANNOTATION, COPY_OF_UID_ANNOTATION } from "./pod-copy.ts";
import type { RecordWrite } from "./plan.ts";

/** How much of a log is read, kept and stored (docs/records.md). */
export interface LogLimits {
  /** Bytes asked of the kubelet (pods/log limitBytes). */
  readBytes: number;
  /** Bytes of the start of the log kept in memory. */
  headBytes: number;
  /** Bytes of the end of the log kept in memory. */
  tailBytes: number;
  /** The stored gzip may not exceed this; the kept head and tail shrink until it fits. */
  compressedCap: number;
  /** pods/log tailLines, for a log of which only the end matters. */
  tailLines?: number;
}

export const TRANSCRIPT_LIMITS: LogLimits = {
  readBytes: 64 * 2 ** 20,
  headBytes: 2 ** 20,
  tailBytes: 2 ** 20,
  compressedCap: 512 * 2 ** 10,
};

export const TARGET_LOG_LIMITS: LogLimits = {
  readBytes: 256 * 2 ** 10,
  headBytes: 0,
  tailBytes: 256 * 2 ** 10,
  compressedCap: 64 * 2 ** 10,
  tailLines: 1000,
};

/** At most this many of the session's Events, the latest. */
export const MAX_RECORDED_EVENTS = 50;

/** A Writable that keeps the first `headBytes` and the last `tailBytes` of what passes through, and counts it all. */
export class LogSink extends Writable {
  private readonly headChunks: Buffer[] = [];
  private headLength = 0;
  private tailChunks: Buffer[] = [];
  private tailLength = 0;
  total = 0;
  private readonly limits: Pick<LogLimits, "headBytes" | "tailBytes">;

  constructor(limits: Pick<LogLimits, "headBytes" | "tailBytes">) {
    super();
    this.limits = limits;
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    let buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    this.total += buf.length;
    const room = this.limits.headBytes - this.headLength;
    if (room > 0) {
      const part = buf.subarray(0, room);
      this.headChunks.push(part);
      this.headLength += part.length;
      buf = buf.subarray(part.length);
    }
    if (buf.length > 0 && this.limits.tailBytes > 0) {
      this.tailChunks.push(buf);
      this.tailLength += buf.length;
      // Drop whole chunks from the front while the rest still covers tailBytes; trim at the end.
      while (
        this.tailChunks.length > 1 &&
        this.tailLength - (this.tailChunks[0]?.length ?? 0) >= this.limits.tailBytes
      ) {
        this.tailLength -= this.tailChunks.shift()?.length ?? 0;
      }
    }
    done();
  }

  get head(): Buffer {
    return Buffer.concat(this.headChunks);
  }

  get tail(): Buffer {
    const all = Buffer.concat(this.tailChunks);
    return all.subarray(Math.max(0, all.length - this.limits.tailBytes));
  }
}

export const omissionMarker = (bytes: number): Buffer =>
  Buffer.from(`\n[debugsession-operator: ${bytes} bytes of this log left out]\n`);

/**
 * The log as the record keeps it: all of it when it fits the cap after gzip; else its head and tail
 * around a marker, halved until they fit. `total` is what the kubelet returned; `readLimitHit` that
 * it stopped at the read limit (the log went on).
 */
export function savedLog(
  head: Buffer,
  tail: Buffer,
  total: number,
  compressedCap: number,
  readLimitHit = false,
  error?: string,
): SavedLog {
  let headKeep = head.length;
  let tailKeep = tail.length;
  for (;;) {
    const left = total - headKeep - tailKeep;
    const kept = Buffer.concat([
      head.subarray(0, headKeep),
      ...(left > 0 ? [omissionMarker(left)] : []),
      tail.subarray(tail.length - tailKeep),
    ]);
    const gz = gzipSync(kept, { level: 6 });
    if (gz.length <= compressedCap || headKeep + tailKeep === 0) {
      return {
        data: gz.toString("base64"),
        sha256: createHash("sha256").update(kept).digest("hex"),
        originalBytes: total,
        savedBytes: kept.length,
        compressedBytes: gz.length,
        truncated: left > 0 || readLimitHit,
        ...(error !== undefined ? { error } : {}),
      };
    }
    headKeep = Math.floor(headKeep / 2);
    tailKeep = Math.floor(tailKeep / 2);
  }
}

/** The bytes a SavedLog holds (what an auditor's `base64 -d | gunzip` prints). */
export function decodeSavedLog(log: SavedLog): Buffer {
  return log.data ? Buffer.from(log.data, "base64") : Buffer.alloc(0);
}

/** A name per session (its name, then 8 characters of its UID): a re-created session gets a new record. */
export function recordName(session: DebugSession): string {
  const name = session.metadata.name ?? "session";
  const uid = (session.metadata.uid ?? "").replace(/-/g, "").slice(0, 8);
  return `${name.slice(0, 253 - 9).replace(/[.-]+$/, "")}-${uid}`;
}

/** The session's Events, oldest first, the latest MAX_RECORDED_EVENTS of them. */
export function recordedEvents(events: CoreV1Event[]): RecordedEvent[] {
  const time = (e: CoreV1Event): string | undefined =>
    toISO(e.lastTimestamp) ?? toISO(e.eventTime) ?? toISO(e.firstTimestamp) ?? toISO(e.metadata.creationTimestamp);
  return events
    .map((e) => ({ e, at: time(e) }))
    .sort((a, b) => (a.at ?? "").localeCompare(b.at ?? ""))
    .slice(-MAX_RECORDED_EVENTS)
    .map(({ e, at }) => ({
      ...(e.type ? { type: e.type.slice(0, 64) } : {}),
      ...(e.reason ? { reason: e.reason.slice(0, 256) } : {}),
      ...(e.message ? { message: e.message.slice(0, 1024) } : {}),
      ...(at ? { time: at } : {}),
      ...(e.count !== undefined ? { count: e.count } : {}),
    }));
}

/** A time as an Event's (RFC 3339, whole seconds); undefined when it is none. */
export function toISO(t: Date | string | undefined | null): string | undefined {
  if (t === undefined || t === null) return undefined;
  const d = typeof t === "string" ? new Date(t) : t;
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The container of `pod` the debugger targeted: its targetContainerName, else the session's, else the first. */
export function targetContainerOf(
  pod: V1Pod | undefined,
  session: DebugSession,
  debugger_: string,
): string | undefined {
  const ours = pod?.spec?.ephemeralContainers?.find((c) => c.name === debugger_);
  return ours?.targetContainerName ?? session.spec.targetContainer ?? pod?.spec?.containers[0]?.name;
}

export interface RecordParts {
  session: DebugSession;
  pod: V1Pod | undefined;
  write: RecordWrite;
  transcript: SavedLog;
  targetLog: SavedLog;
  events: RecordedEvent[];
}

export function buildRecord({ session, pod, write, transcript, targetLog, events }: RecordParts): DebugSessionRecord {
  const status = session.status ?? {};
  const podName = pod?.metadata?.name ?? status.pod ?? session.spec.targetPod ?? "";
  const debuggerStatus = pod?.status?.ephemeralContainerStatuses?.find((c) => c.name === write.containerName);
  const state = status.containerState;
  const exitCode = debuggerStatus?.state?.terminated?.exitCode ?? state?.exitCode;
  const stateName = debuggerStatus?.state?.terminated
    ? "terminated"
    : debuggerStatus?.state?.running
      ? "running"
      : debuggerStatus?.state?.waiting
        ? "waiting"
        : state?.state;
  const target = targetContainerOf(pod, session, write.containerName);
  const requestedBy = status.requestedBy;
  return {
    apiVersion: API_VERSION,
    kind: RECORD_KIND,
    metadata: {
      name: recordName(session),
      namespace: session.metadata.namespace,
      labels: {
        [SESSION_LABEL]: sessionLabelValue(session.metadata.name ?? ""),
        [RECORD_SESSION_UID_LABEL]: session.metadata.uid ?? "",
      },
      annotations: {
        [RECORD_POLICY_ANNOTATION]: write.policy.name,
        [RECORD_RETENTION_ANNOTATION]: write.policy.retention,
      },
    },
    spec: {
      session: {
        name: session.metadata.name ?? "",
        uid: session.metadata.uid ?? "",
        ...(session.metadata.generation !== undefined ? { generation: session.metadata.generation } : {}),
        spec: session.spec,
      },
      ...(requestedBy ? { requestedBy } : {}),
      ...(session.spec.reason ? { reason: session.spec.reason } : {}),
      policy: {
        name: write.policy.name,
        ...(write.policy.generation !== undefined ? { generation: write.policy.generation } : {}),
      },
      target: {
        pod: podName,
        ...((pod?.metadata?.uid ?? status.targetPodUID) ? { podUID: pod?.metadata?.uid ?? status.targetPodUID } : {}),
        ...(pod?.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
        ...(target ? { container: target } : {}),
        ...copyOf(pod, status.sourcePod),
      },
      debugger: {
        container: write.containerName,
        image: session.spec.image.slice(0, 1024),
        ...(debuggerStatus?.imageID ? { imageID: debuggerStatus.imageID.slice(0, 1024) } : {}),
        ...(stateName ? { state: stateName } : {}),
        ...(exitCode !== undefined ? { exitCode } : {}),
      },
      ...(status.injectedAt ? { injectedAt: status.injectedAt } : {}),
      ...(write.expiresAt ? { expiresAt: write.expiresAt } : {}),
      endedAt: write.endedAt,
      ended: { how: write.how, message: write.message.slice(0, 4096) },
      transcript,
      targetLog,
      events,
    },
  };
}

/** The record without its transcripts' data: the operator's audit log line. */
export function auditLine(record: DebugSessionRecord): Record<string, unknown> {
  const { transcript, targetLog, session, ...rest } = record.spec;
  const strip = ({ data: _, ...log }: SavedLog): SavedLog => log;
  return {
    record: record.metadata.name,
    namespace: record.metadata.namespace,
    session: { name: session.name, uid: session.uid, generation: session.generation },
    ...rest,
    transcript: strip(transcript),
    targetLog: strip(targetLog),
  };
}

/** Copy mode: the source, as the copy's annotations name it, else as the status recorded it. */
function copyOf(pod: V1Pod | undefined, sourcePod: string | undefined): { copyOf?: string; copyOfUID?: string } {
  const annotations = pod?.metadata?.annotations ?? {};
  const name = annotations[COPY_OF_ANNOTATION] ?? sourcePod;
  const uid = annotations[COPY_OF_UID_ANNOTATION];
  return { ...(name !== undefined ? { copyOf: name } : {}), ...(uid !== undefined ? { copyOfUID: uid } : {}) };
}
