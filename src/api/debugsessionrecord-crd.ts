// The DebugSessionRecord CustomResourceDefinition: the evidence of one session that injected a
// debugger, written once by the operator before the pod goes, kept after the session is deleted.
import { arr, bool, int, namespacedCRD, obj, str, type Schema } from "./schema.ts";
import { GROUP, RECORD_ENDINGS, RECORD_KIND, RECORD_PLURAL, VERSION } from "./types.ts";

/** Base64 of at most 512 KiB (the transcript's cap after gzip), with room to spare. */
const MAX_ENCODED = 720_000;

const savedLog = (what: string): Schema =>
  obj(
    `${what}, as the kubelet returned it through pods/log, bounded: when it is too large the head and the tail are ` +
      "kept around a marker line naming the bytes left out. Read it with " +
      "`base64 -d | gunzip` (docs/records.md).",
    {
      data: str("base64 of the gzip of the saved bytes.", { maxLength: MAX_ENCODED }),
      sha256: str("sha256 (hex) of the saved bytes, uncompressed; also in the operator's audit log line.", {
        maxLength: 64,
      }),
      originalBytes: int("Bytes the kubelet returned (up to the operator's read limit).", { minimum: 0 }),
      savedBytes: int("Bytes kept, uncompressed.", { minimum: 0 }),
      compressedBytes: int("Bytes kept, gzipped (before base64).", { minimum: 0 }),
      truncated: bool("Part of the log was left out: the middle, or what lay beyond the read limit."),
      error: str("Why the log could not be saved, or not all of it (the pod was gone, the kubelet refused).", {
        maxLength: 4096,
      }),
    },
  );

const spec: Schema = obj(
  "What the session was, who asked for it, what ran, and what it printed. Written once; never changed.",
  {
    session: obj(
      "The DebugSession as it was when it ended.",
      {
        name: str("Its name.", { maxLength: 253 }),
        uid: str("Its UID.", { maxLength: 64 }),
        generation: int("Its metadata.generation.", { minimum: 0 }),
        spec: {
          type: "object",
          description: "Its spec as applied (the fields of `kubectl explain debugsession.spec`).",
          "x-kubernetes-preserve-unknown-fields": true,
        },
      },
      { required: ["name", "uid"] },
    ),
    requestedBy: obj("Who created the session, as the apiserver authenticated them (stamped at admission).", {
      username: str("User name.", { maxLength: 1024 }),
      groups: arr("Groups.", str("A group.", { maxLength: 1024 }), { maxItems: 256 }),
    }),
    reason: str("The session's spec.reason.", { maxLength: 4096 }),
    policy: obj("The DebugPolicy the session ran under.", {
      name: str("Its name.", { maxLength: 253 }),
      generation: int("Its metadata.generation when the session ended (absent: the policy was gone).", {
        minimum: 0,
      }),
    }),
    target: obj("The pod the debugger was injected into.", {
      pod: str("Pod name.", { maxLength: 253 }),
      podUID: str("Pod UID.", { maxLength: 64 }),
      node: str("The node it ran on.", { maxLength: 253 }),
      container: str("The container the debugger targeted (its process namespace), whose log is in targetLog.", {
        maxLength: 253,
      }),
      copyOf: str("Copy mode: the pod the copy (pod) was made of, which was never touched.", { maxLength: 253 }),
      copyOfUID: str("Copy mode: that pod's UID.", { maxLength: 64 }),
    }),
    debugger: obj("The ephemeral container.", {
      container: str("Its name in the pod.", { maxLength: 253 }),
      image: str("The image the session asked for.", { maxLength: 1024 }),
      imageID: str("The image the kubelet ran, as pod.status reports it (resolved to a digest).", {
        maxLength: 1024,
      }),
      state: str("waiting, running or terminated, when the session ended.", { maxLength: 64 }),
      exitCode: int("Its exit code, when it had terminated."),
    }),
    injectedAt: str("When the debugger was added to the pod.", { format: "date-time" }),
    expiresAt: str("When the TTL ran out (or was to run out).", { format: "date-time" }),
    endedAt: str("When the session ended.", { format: "date-time" }),
    ended: obj("How the session ended.", {
      how: str("Expired (the TTL ran out), Deleted (before it did), PodGone (the pod went by other hands).", {
        enum: RECORD_ENDINGS,
      }),
      message: str("In words.", { maxLength: 4096 }),
    }),
    transcript: savedLog(
      "The debugger's container log: with a tty, the terminal's output, the echo of what was typed included",
    ),
    targetLog: savedLog("The tail of the target container's log at the same moment"),
    events: arr(
      "The session's Events at the moment it ended, oldest first.",
      obj("An Event.", {
        type: str("Normal or Warning.", { maxLength: 64 }),
        reason: str("Its reason.", { maxLength: 256 }),
        message: str("Its message.", { maxLength: 1024 }),
        time: str("When it was last seen.", { format: "date-time" }),
        count: int("How many times.", { minimum: 0 }),
      }),
      { maxItems: 50 },
    ),
  },
  { required: ["session", "endedAt", "ended"] },
);

export function debugSessionRecordCRD(): Record<string, unknown> {
  return namespacedCRD({
    group: GROUP,
    version: VERSION,
    kind: RECORD_KIND,
    plural: RECORD_PLURAL,
    singular: "debugsessionrecord",
    shortNames: ["dbgrec"],
    description:
      "The evidence of one DebugSession that injected a debugger: who, why, under which policy, what ran, and the " +
      "debugger's transcript. Written by the operator when the session ends and before it removes the pod; never " +
      "changed; kept when the session is deleted, until the policy's recordRetention has passed.",
    printerColumns: [
      { name: "Session", type: "string", jsonPath: ".spec.session.name" },
      { name: "Pod", type: "string", jsonPath: ".spec.target.pod" },
      { name: "Requester", type: "string", jsonPath: ".spec.requestedBy.username" },
      { name: "Ended", type: "string", jsonPath: ".spec.endedAt" },
      { name: "How", type: "string", jsonPath: ".spec.ended.how" },
      { name: "Size", type: "integer", jsonPath: ".spec.transcript.compressedBytes" },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    ],
    spec,
  });
}
