// The DebugSession CustomResourceDefinition: the one source crds/ is generated from
// (`make generate`; a unit test fails when the checked-in file differs).
import { envVar, labelSelector, securityContext, volumeMount } from "./core-schemas.ts";
import { arr, bool, int, namespacedCRD, obj, str, type Schema, type Validation } from "./schema.ts";
import { DURATION_PATTERN } from "./duration.ts";
import {
  DEFAULT_MODE,
  DEFAULT_POLICY,
  DEFAULT_PROFILE,
  EXPIRY_ACTIONS,
  GROUP,
  MODES,
  PHASES,
  PROFILES,
  PULL_POLICIES,
  SESSION_KIND,
  SESSION_PLURAL,
  TARGET_KINDS,
  VERSION,
} from "./types.ts";

const DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/** Fields fixed at creation: the debugger is already in the pod, so changing them would be a lie. */
export const IMMUTABLE_SPEC_FIELDS = [
  "targetPod",
  "targetRef",
  "targetSelector",
  "notAfter",
  "targetContainer",
  "image",
  "imagePullPolicy",
  "command",
  "args",
  "env",
  "workingDir",
  "stdin",
  "tty",
  "volumeMounts",
  "securityContext",
  "profile",
  "expiryAction",
  "isolate",
  "reason",
  "policy",
  "ttlSecondsAfterFinished",
  "mode",
  "copy",
] as const;

const immutable = (field: string): Validation => ({
  rule: `has(self.${field}) == has(oldSelf.${field}) && (!has(self.${field}) || self.${field} == oldSelf.${field})`,
  message: `spec.${field} is immutable after creation (the debugger is already in the pod); create a new DebugSession instead`,
  fieldPath: `.${field}`,
  reason: "FieldValueForbidden",
});

const spec: Schema = obj(
  "What to debug, with what, and for how long. Immutable after creation except ttl, which may only grow.",
  {
    targetPod: str(
      "Name of the pod to debug, in the session's own namespace. Exactly one of targetPod, targetRef and targetSelector.",
      { minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN },
    ),
    targetRef: obj(
      "A workload in the session's namespace whose pods may be debugged; the operator picks one (Running and Ready, " +
        "not being deleted, preferring one no other session has tainted, then by name) and names it in status.pod. " +
        "The choice never moves: a replaced pod ends the session.",
      {
        kind: str("Deployment, StatefulSet, ReplicaSet, DaemonSet or Job.", { enum: TARGET_KINDS }),
        name: str("Name of the workload.", { minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN }),
      },
      { required: ["kind", "name"] },
    ),
    targetSelector: labelSelector(
      "Labels of the pods in the session's namespace that may be debugged; the operator picks one as for targetRef. " +
        "`{}` selects every pod.",
      { labels: 8, expressions: 4, values: 16 },
    ),
    notAfter: str(
      "An absolute deadline (RFC 3339). A session is not created after it (admission refuses it), no debugger is " +
        "injected after it, and the pod is removed at the earlier of notAfter and injectedAt + ttl. It is what makes a " +
        "session kept in Git safe to replay: an old commit applied later is refused.",
      { format: "date-time" },
    ),
    targetContainer: str(
      "Container of the pod whose process namespace the debugger joins (targetContainerName), so `ps` shows its processes.",
      { maxLength: 63, pattern: DNS_LABEL },
    ),
    image: str("Image of the debugger, e.g. busybox:1.36 or an image pinned by digest.", {
      minLength: 1,
      maxLength: 512,
    }),
    imagePullPolicy: str("Always, IfNotPresent or Never; the kubelet's default when unset.", {
      enum: PULL_POLICIES,
    }),
    // Bounded so one session cannot be large: every session lives in the operator's cache.
    command: arr("Entrypoint of the debugger; the image's when unset.", str("An argument.", { maxLength: 1024 }), {
      maxItems: 16,
    }),
    args: arr(
      "Arguments to the entrypoint (at most 32 of 2048 characters: a longer script belongs in the image or a volume).",
      str("An argument.", { maxLength: 2048 }),
      { maxItems: 32 },
    ),
    env: arr("Environment variables of the debugger (at most 24).", envVar, { maxItems: 24 }),
    workingDir: str("Working directory of the debugger.", { maxLength: 1024 }),
    stdin: bool("Keep a stdin open for `kubectl attach -i`. Set stdin and tty for an interactive shell."),
    tty: bool("Allocate a TTY (needs stdin)."),
    volumeMounts: arr("Volumes of the target pod to mount into the debugger.", volumeMount, { maxItems: 16 }),
    securityContext,
    profile: str(
      "Security profile, as `kubectl debug --profile`: general, baseline, restricted, netadmin or sysadmin.",
      { enum: PROFILES, default: DEFAULT_PROFILE },
    ),
    ttl: str(
      "How long the debugger may live after injection, as a duration (30m, 2h). At least 1m; may only grow. " +
        "Default and maximum come from the DebugPolicy.",
      {
        maxLength: 64,
        pattern: DURATION_PATTERN,
        "x-kubernetes-validations": [
          {
            rule: `!self.matches(r'${DURATION_PATTERN}') || duration(self) >= duration('1m')`,
            message: "spec.ttl must be a duration of at least 1m (for example 30m or 2h)",
          },
          {
            rule: `!self.matches(r'${DURATION_PATTERN}') || !oldSelf.matches(r'${DURATION_PATTERN}') || duration(self) >= duration(oldSelf)`,
            message: "spec.ttl may only grow: a session cannot be shortened, delete it to end it now",
          },
        ],
      },
    ),
    expiryAction: str(
      "What removes the pod at expiry: Evict (Eviction API, respects PodDisruptionBudgets, deletes after a bounded " +
        "wait), Delete, or Replace (a pod of a ReplicaSet: it leaves the ReplicaSet, which creates a replacement while " +
        "the pod keeps serving; once the replacement is Ready, or --eviction-timeout after expiry, the pod is evicted; " +
        "other pods are evicted). Unset: the policy's defaultExpiryAction, else Evict.",
      { enum: EXPIRY_ACTIONS },
    ),
    isolate: bool(
      "Once the debugger is in, take the pod out of every Service (and, for a pod of a ReplicaSet, out of it, so it is " +
        "replaced) by changing the labels they select on, never one a NetworkPolicy selects the pod by. Needs the " +
        "policy's allowIsolate.",
    ),
    reason: str("Why the session exists (ticket, incident), for the audit trail.", { maxLength: 1024 }),
    policy: str("The DebugPolicy in this namespace this session runs under.", {
      maxLength: 253,
      pattern: DNS_SUBDOMAIN,
      default: DEFAULT_POLICY,
    }),
    ttlSecondsAfterFinished: int(
      "When set, the session itself is deleted this many seconds after it ended; ended sessions are kept otherwise.",
      { minimum: 0 },
    ),
    mode: str(
      "Ephemeral: the debugger is added to the target pod, which is removed at expiry. Copy: the operator creates a " +
        "copy of the target pod (no labels of its own, so no Service or controller selects it; processes shared) " +
        "with the debugger in it, and deletes the copy at expiry; the target is never touched. Copy must be allowed " +
        "by the policy (spec.allowedModes).",
      { enum: MODES, default: DEFAULT_MODE },
    ),
    copy: obj("Copy mode: what the copy changes of its source. Each field must be allowed by the policy (spec.copy).", {
      command: arr(
        "Replaces the target container's command and clears its args, e.g. [sleep, infinity] to debug a crash loop " +
          "(at most 8 of 256 characters).",
        str("An argument.", { maxLength: 256 }),
        { maxItems: 8 },
      ),
      image: str("Replaces the target container's image; checked against the policy's allowedImages.", {
        minLength: 1,
        maxLength: 512,
      }),
      sameNode: bool("Puts the copy on the source's node (nodeName), as `kubectl debug --same-node`."),
      keepProbes: bool(
        "Keeps the containers' probes, which are removed otherwise (never the target's when its command is replaced).",
      ),
    }),
  },
  {
    required: ["image"],
    "x-kubernetes-validations": [
      {
        rule: "[has(self.targetPod), has(self.targetRef), has(self.targetSelector)].filter(x, x).size() == 1",
        message:
          "exactly one of spec.targetPod (a pod name), spec.targetRef (a workload) and spec.targetSelector (pod labels) must be set",
        reason: "FieldValueInvalid",
      },
      ...IMMUTABLE_SPEC_FIELDS.map(immutable),
      {
        rule: "!has(self.isolate) || !self.isolate || !has(self.mode) || self.mode != 'Copy'",
        message: "spec.isolate does not apply in Copy mode: the copy is in no Service and the source is not touched",
        fieldPath: ".isolate",
        reason: "FieldValueForbidden",
      },
      {
        rule: "!has(self.copy) || (has(self.mode) && self.mode == 'Copy')",
        message: "spec.copy needs spec.mode: Copy",
        fieldPath: ".copy",
        reason: "FieldValueForbidden",
      },
      {
        rule: "!has(self.tty) || !self.tty || (has(self.stdin) && self.stdin)",
        message: "spec.tty needs spec.stdin: true",
        fieldPath: ".tty",
      },
    ],
  },
);

const condition: Schema = obj(
  "A condition of the session (metav1.Condition).",
  {
    type: str("Injected, Ready, Expired, Reconciling or Stalled.", { maxLength: 316 }),
    status: str("True, False or Unknown.", { enum: ["True", "False", "Unknown"] }),
    reason: str("A CamelCase word for programs.", { maxLength: 1024 }),
    message: str("What happened, for people.", { maxLength: 32768 }),
    lastTransitionTime: str("When the status last changed.", { format: "date-time" }),
    observedGeneration: int("The spec generation the condition was set from.", { minimum: 0 }),
  },
  { required: ["type", "status", "lastTransitionTime", "reason", "message"] },
);

const status: Schema = obj(
  "Written only by the operator.",
  {
    phase: str("Pending, Injecting, Running, Completed, Expired, Failed or Terminated.", {
      enum: PHASES,
    }),
    message: str("A one-line summary of the phase, for people.", { maxLength: 32768 }),
    conditions: arr(
      "Injected; Ready (True while the debugger runs, False while it is being started, absent once the session " +
        "ended); Expired; and kstatus's Reconciling (True while work is in progress) and Stalled (True when it failed).",
      condition,
      {
        maxItems: 16,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
      },
    ),
    observedGeneration: int("The spec generation this status was computed from.", { minimum: 0 }),
    pod: str(
      "The pod the debugger runs in: spec.targetPod, or the pod chosen for targetRef or targetSelector; in Copy mode the copy.",
      { maxLength: 253 },
    ),
    sourcePod: str("Copy mode: the pod copied.", { maxLength: 253 }),
    targetPodUID: str("UID of the pod the debugger was injected into; a new pod of the same name is never touched.", {
      maxLength: 64,
    }),
    containerName: str("Name of the ephemeral container in the pod.", { maxLength: 63 }),
    injectedAt: str("When the debugger was added to the pod.", { format: "date-time" }),
    expiresAt: str("injectedAt + ttl: when the pod is removed.", { format: "date-time" }),
    endedAt: str("When the session reached Expired, Failed or Terminated; ttlSecondsAfterFinished counts from here.", {
      format: "date-time",
    }),
    attachCommand: str("The command that attaches to the debugger.", { maxLength: 1024 }),
    attachRole: str(
      "The Role and RoleBinding that let the requester attach to this pod while the debugger runs (DebugPolicy grantAttach).",
      { maxLength: 253 },
    ),
    containerState: obj("Mirror of the debugger's entry in pod.status.ephemeralContainerStatuses.", {
      state: str("waiting, running or terminated.", { enum: ["waiting", "running", "terminated"] }),
      reason: str("Why it waits or terminated (e.g. ImagePullBackOff, Completed).", { maxLength: 1024 }),
      message: str("The kubelet's message.", { maxLength: 32768 }),
      startedAt: str("When it started running.", { format: "date-time" }),
      finishedAt: str("When it terminated.", { format: "date-time" }),
      exitCode: int("Exit code, once terminated."),
    }),
    requestedBy: obj("Who created the session, as the apiserver authenticated them.", {
      username: str("User name.", { maxLength: 1024 }),
      groups: arr("Groups.", str("A group.", { maxLength: 1024 }), { maxItems: 256 }),
    }),
  },
  // An empty status from the first read on: Flux's healthCheckExprs cannot evaluate an absent one
  // (Unknown) and read an empty one InProgress; kstatus and Argo CD read both alike.
  { default: {} },
);

export function debugSessionCRD(): Record<string, unknown> {
  return namespacedCRD({
    group: GROUP,
    version: VERSION,
    kind: SESSION_KIND,
    plural: SESSION_PLURAL,
    singular: "debugsession",
    shortNames: ["dbg"],
    description:
      "A time-limited ephemeral debug container in one pod. When the TTL runs out the pod is removed, " +
      "since an ephemeral container can never be taken out of a pod.",
    printerColumns: [
      { name: "Pod", type: "string", jsonPath: ".status.pod" },
      { name: "Container", type: "string", jsonPath: ".status.containerName" },
      { name: "Phase", type: "string", jsonPath: ".status.phase" },
      { name: "Requester", type: "string", jsonPath: ".status.requestedBy.username" },
      // A date column would print "<invalid>" for a time in the future: show the timestamp itself.
      { name: "Expires", type: "string", jsonPath: ".status.expiresAt" },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    ],
    spec,
    status,
  });
}
