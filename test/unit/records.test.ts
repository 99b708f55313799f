// DebugSessionRecords: when decide plans one (and when not), and what record-content.ts keeps of a log.
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import type { V1ContainerState, V1Pod } from "@kubernetes/client-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SESSION_ANNOTATION, SESSION_LABEL, type DebugSessionStatus } from "../../src/api/types.ts";
import { decide } from "../../src/controller/decide.ts";
import { expire } from "./plan-readers.ts";
import {
  LogSink,
  auditLine,
  buildRecord,
  decodeSavedLog,
  recordName,
  recordedEvents,
  savedLog,
} from "../../src/controller/record-content.ts";
import { recordDueAt } from "../../src/controller/record-sweeper.ts";
import { COPY_OF_ANNOTATION, COPY_OF_UID_ANNOTATION } from "../../src/controller/pod-copy.ts";
import {
  ALLOW_ALL,
  CNAME,
  MIN,
  NOW,
  POD_NAME,
  POD_UID,
  ago,
  ecStatus,
  iso,
  pod,
  running,
  session,
  terminated,
} from "./fixtures.ts";

const TTL_30M = 30 * MIN;

function taintedPod(state?: V1ContainerState, extra: { deletionTimestamp?: Date } = {}): V1Pod {
  return pod({
    ephemeralContainers: [CNAME],
    ephemeralContainerStatuses: state ? [{ ...ecStatus(state), imageID: "docker.io/library/busybox@sha256:abc" }] : [],
    labels: { [SESSION_LABEL]: "debug-web" },
    annotations: { [SESSION_ANNOTATION]: "debug-web" },
    ...extra,
  });
}

const injected = (injectedAt: Date, extra: DebugSessionStatus = {}): DebugSessionStatus => ({
  phase: "Running",
  targetPodUID: POD_UID,
  injectedAt: iso(injectedAt),
  observedGeneration: 1,
  conditions: [
    { type: "Injected", status: "True", reason: "Injected", message: "", lastTransitionTime: iso(injectedAt) },
  ],
  ...extra,
});

describe("decide: the DebugSessionRecord", () => {
  it("is saved at expiry, before the pod is removed (apply writes the record first)", () => {
    const plan = decide({
      session: session({ status: injected(ago(TTL_30M)) }),
      pod: taintedPod(running()),
      access: ALLOW_ALL,
      now: NOW,
    });
    expect(plan.podWrites.map((w) => w.kind)).toEqual(["removePod"]);
    expect(plan.record).toMatchObject({ how: "Expired", containerName: CNAME, endedAt: iso(NOW), expiresAt: iso(NOW) });
    expect(plan.record?.logsUnavailable).toBeUndefined();
    expect(plan.record?.policy).toEqual({ name: "default", retention: "720h" });
  });

  it("is saved when the session is deleted while its debugger is in the pod", () => {
    const plan = decide({
      session: session({ status: injected(ago(MIN)), deletionTimestamp: NOW }),
      pod: taintedPod(running()),
      access: ALLOW_ALL,
      now: NOW,
    });
    expect(plan.record).toMatchObject({ how: "Deleted" });
    expect(plan.record?.message).toContain("before its TTL ran out");
    expect(plan.podWrites.map((w) => w.kind)).toEqual(["removePod"]);
  });

  it("says the logs are gone when the pod went by other hands", () => {
    const plan = decide({
      session: session({ status: injected(ago(MIN)) }),
      pod: undefined,
      access: ALLOW_ALL,
      now: NOW,
    });
    expect(plan.record?.how).toBe("PodGone");
    expect(plan.record?.logsUnavailable).toContain("before the operator could read them");
  });

  it("tries the logs of a pod still terminating", () => {
    const plan = decide({
      session: session({ status: injected(ago(MIN)) }),
      pod: taintedPod(running(), { deletionTimestamp: ago(1000) }),
      access: ALLOW_ALL,
      now: NOW,
    });
    expect(plan.record).toMatchObject({ how: "PodGone" });
    expect(plan.record?.logsUnavailable).toBeUndefined();
  });

  it("is not planned for a session that never injected, nor again for one that ended", () => {
    const pending = decide({ session: session(), pod: undefined, access: ALLOW_ALL, now: NOW });
    expect(pending.record).toBeUndefined();
    const deletedPending = decide({
      session: session({ deletionTimestamp: NOW }),
      pod: pod(),
      access: ALLOW_ALL,
      now: NOW,
    });
    expect(deletedPending.record).toBeUndefined();
    const expired = expire({
      session: session({ status: injected(ago(TTL_30M)) }),
      pod: taintedPod(running()),
      access: ALLOW_ALL,
      now: NOW,
    });
    const ended = { ...expired.status };
    const deletedAfter = decide({
      session: session({ status: ended, deletionTimestamp: NOW }),
      pod: undefined,
      access: ALLOW_ALL,
      now: NOW,
    });
    expect(deletedAfter.record).toBeUndefined();
  });
});

describe("savedLog: a log within its cap", () => {
  const text = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => `${i + 1}\n`).join(""));

  it("keeps a small log whole, with the sha256 of what it keeps", () => {
    const log = text(100);
    const saved = savedLog(log, Buffer.alloc(0), log.length, 1024);
    expect(saved.truncated).toBe(false);
    expect(decodeSavedLog(saved).length).toBe(saved.compressedBytes);
    const kept = gunzipSync(decodeSavedLog(saved));
    expect(kept.equals(log)).toBe(true);
    expect(saved.sha256).toBe(createHash("sha256").update(kept).digest("hex"));
  });

  it("keeps the head and the tail around a marker when the middle is left out, within the cap", () => {
    const sink = new LogSink({ headBytes: 64 * 1024, tailBytes: 64 * 1024 });
    const all = text(300_000);
    for (let i = 0; i < all.length; i += 7_919) sink.write(all.subarray(i, i + 7_919));
    const saved = savedLog(sink.head, sink.tail, sink.total, 16 * 1024);
    expect(sink.total).toBe(all.length);
    expect(saved.truncated).toBe(true);
    expect(saved.compressedBytes).toBeLessThanOrEqual(16 * 1024);
    const kept = gunzipSync(decodeSavedLog(saved)).toString();
    expect(kept.startsWith("1\n2\n3\n")).toBe(true);
    expect(kept.endsWith("299999\n300000\n")).toBe(true);
    expect(kept).toMatch(/\[debugsession-operator: \d+ bytes of this log left out\]/);
  });

  it("never exceeds the cap, whatever the log (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40_000 }), fc.integer({ min: 64, max: 4096 }), (bytes, cap) => {
        const buf = Buffer.from(bytes);
        const sink = new LogSink({ headBytes: 8_000, tailBytes: 8_000 });
        sink.write(buf);
        const saved = savedLog(sink.head, sink.tail, sink.total, cap);
        // An empty gzip is about 20 bytes: the only thing kept when nothing else fits.
        expect(saved.compressedBytes ?? 0).toBeLessThanOrEqual(Math.max(cap, 32));
        const kept = gunzipSync(decodeSavedLog(saved));
        if (!saved.truncated) expect(kept.equals(buf)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});

describe("the record itself", () => {
  const s = session({
    status: injected(ago(TTL_30M), {
      requestedBy: { username: "erin", groups: ["team-ops"] },
      containerState: { state: "terminated", exitCode: 7 },
    }),
    spec: { reason: "INC-1" },
  });
  const p = taintedPod(terminated(7));
  const write = {
    how: "Expired" as const,
    message: "the TTL ran out",
    endedAt: iso(NOW),
    containerName: CNAME,
    policy: { name: "default", generation: 3, retention: "720h" },
  };
  const log = savedLog(Buffer.from("marker-1\n"), Buffer.alloc(0), 9, 1024);
  const record = buildRecord({ session: s, pod: p, write, transcript: log, targetLog: log, events: [] });

  it("holds who, what ran and how it ended; no owner, so deleting the session keeps it", () => {
    expect(record.metadata.ownerReferences).toBeUndefined();
    expect(record.spec.requestedBy?.username).toBe("erin");
    expect(record.spec.debugger).toMatchObject({ imageID: "docker.io/library/busybox@sha256:abc", exitCode: 7 });
    expect(record.spec.target).toMatchObject({ pod: POD_NAME, podUID: POD_UID, container: "app" });
    expect(record.spec.policy).toEqual({ name: "default", generation: 3 });
    expect(record.spec.reason).toBe("INC-1");
  });

  it("names the pod a Copy-mode copy was made of, from the copy's annotations", () => {
    expect(record.spec.target.copyOf).toBeUndefined();
    const copy = taintedPod(terminated(7));
    copy.metadata!.annotations = {
      ...copy.metadata!.annotations,
      [COPY_OF_ANNOTATION]: "web-0",
      [COPY_OF_UID_ANNOTATION]: "source-uid",
    };
    const copied = buildRecord({ session: s, pod: copy, write, transcript: log, targetLog: log, events: [] });
    expect(copied.spec.target).toMatchObject({ copyOf: "web-0", copyOfUID: "source-uid" });
  });

  it("audits everything but the transcripts' data, their sha256s included", () => {
    const line = JSON.stringify(auditLine(record));
    expect(line).not.toContain(log.data);
    expect(line).toContain(log.sha256);
    expect(line).toContain("erin");
  });

  it("is named per session: the same name reused later gets another record", () => {
    const a = recordName(session({ uid: "11111111-aaaa" }));
    const b = recordName(session({ uid: "22222222-bbbb" }));
    expect(a).not.toBe(b);
    expect(recordName(session({ name: "x".repeat(253) })).length).toBeLessThanOrEqual(253);
  });

  it("keeps the latest 50 events, oldest first", () => {
    const events = Array.from({ length: 60 }, (_, i) => ({
      metadata: {},
      involvedObject: {},
      reason: `R${i}`,
      lastTimestamp: new Date(NOW.getTime() + i * 1000),
    }));
    const kept = recordedEvents(events.reverse());
    expect(kept).toHaveLength(50);
    expect(kept[0]?.reason).toBe("R10");
    expect(kept[49]?.reason).toBe("R59");
  });
});

describe("recordDueAt: retention", () => {
  const meta = { creationTimestamp: NOW, annotations: { "debugging.dev/record-retention": "48h" } };
  const policy = (recordRetention?: string) => ({
    apiVersion: "debugging.dev/v1alpha1" as const,
    kind: "DebugPolicy" as const,
    metadata: {},
    spec: { allowedImages: ["*"], ...(recordRetention ? { recordRetention } : {}) },
  });

  it("follows the policy as it is now, else the retention written in the record, never under the floor", () => {
    expect(recordDueAt(meta, policy("1h"), 0)).toBe(NOW.getTime() + 3_600_000);
    expect(recordDueAt(meta, undefined, 0)).toBe(NOW.getTime() + 48 * 3_600_000);
    expect(recordDueAt(meta, policy("1s"), 24 * 3_600_000)).toBe(NOW.getTime() + 24 * 3_600_000);
    expect(recordDueAt({ creationTimestamp: NOW }, undefined, 0)).toBe(NOW.getTime() + 720 * 3_600_000);
  });
});
