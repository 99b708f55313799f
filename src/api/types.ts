// Types of the debugging.dev/v1alpha1 API. The CRD schema in debugsession-crd.ts is the contract the
// apiserver enforces; these types mirror it for the TypeScript side. A unit test checks that the
// two agree on field names.
import type { V1EnvVar, V1ObjectMeta, V1SecurityContext, V1VolumeMount } from "@kubernetes/client-node";

export const GROUP = "debugging.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const SESSION_KIND = "DebugSession";
export const SESSION_PLURAL = "debugsessions";

/** Label and annotation put on a pod once a session injected a debugger into it. */
export const SESSION_LABEL = "debugging.dev/session";
export const SESSION_ANNOTATION = "debugging.dev/tainted-by";
/**
 * Also on a tainted pod: when, and how, it is to be removed (the latest expiry of the sessions that
 * tainted it), so a pod whose session is gone is still removed on time (controller/orphans.ts).
 */
export const EXPIRES_ANNOTATION = "debugging.dev/expires-at";
export const EXPIRY_ACTION_ANNOTATION = "debugging.dev/expiry-action";
export const FINALIZER = "debugging.dev/pod-cleanup";
/** Stamped at admission from request.userInfo (config/admission); users cannot set or change them. */
export const REQUESTER_ANNOTATION = "debugging.dev/requested-by";
export const REQUESTER_GROUPS_ANNOTATION = "debugging.dev/requested-by-groups";

/** The words of the API, each spelled once: the CRDs, the types and the controller take them from here. */
export const PROFILES = ["general", "baseline", "restricted", "netadmin", "sysadmin"] as const;
export type Profile = (typeof PROFILES)[number];
/**
 * What a session asks to happen at expiry: Evict or Delete the pod, or Replace it (its ReplicaSet makes
 * a replacement first, then the pod is evicted).
 */
export const EXPIRY_ACTIONS = ["Evict", "Delete", "Replace"] as const;
export type ExpiryChoice = (typeof EXPIRY_ACTIONS)[number];
/** How a pod is removed, in the end. */
export type ExpiryAction = Exclude<ExpiryChoice, "Replace">;
/** Ephemeral: a debugger in the target pod. Copy: a copy of the target with the debugger, the target untouched. */
export const MODES = ["Ephemeral", "Copy"] as const;
export type Mode = (typeof MODES)[number];
export const PULL_POLICIES = ["Always", "IfNotPresent", "Never"] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

/** Workloads a session may name as its target; the operator picks one of their pods. */
export const TARGET_KINDS = ["Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "Job"] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export interface TargetRef {
  kind: TargetKind;
  name: string;
}

/** spec.copy of a Copy-mode session: what the copy changes of its source, each allowed by the policy. */
export interface CopySpec {
  /** Replaces the target container's command, and clears its args (`sleep infinity` for a crash loop). */
  command?: string[];
  /** Replaces the target container's image (checked against allowedImages). */
  image?: string;
  /** Puts the copy on the source's node (nodeName), bypassing the scheduler as `kubectl debug --same-node`. */
  sameNode?: boolean;
  /** Keeps the liveness, readiness and startup probes, which are otherwise removed. */
  keepProbes?: boolean;
}

export interface DebugSessionSpec {
  /** Exactly one of targetPod, targetRef and targetSelector. */
  targetPod?: string;
  targetRef?: TargetRef;
  targetSelector?: LabelSelector;
  /** RFC 3339: no session is created, and no debugger injected, after it; the pod goes by then. */
  notAfter?: string;
  targetContainer?: string;
  image: string;
  imagePullPolicy?: PullPolicy;
  command?: string[];
  args?: string[];
  env?: V1EnvVar[];
  workingDir?: string;
  stdin?: boolean;
  tty?: boolean;
  volumeMounts?: V1VolumeMount[];
  securityContext?: V1SecurityContext;
  profile?: Profile;
  ttl?: string;
  /** Unset: the policy's defaultExpiryAction, else Evict. */
  expiryAction?: ExpiryChoice;
  /** Take the pod out of its Services (and its ReplicaSet, which replaces it) once the debugger is in. */
  isolate?: boolean;
  reason?: string;
  policy?: string;
  ttlSecondsAfterFinished?: number;
  /** Ephemeral (default) or Copy. */
  mode?: Mode;
  /** Copy mode only. */
  copy?: CopySpec;
}

export const PHASES = ["Pending", "Injecting", "Running", "Completed", "Expired", "Failed", "Terminated"] as const;
export type Phase = (typeof PHASES)[number];
/** Phases after which nothing more happens to the pod (ttlSecondsAfterFinished counts from them). */
export const TERMINAL_PHASES: ReadonlySet<Phase> = new Set(["Expired", "Failed", "Terminated"]);
export const CONDITION_TYPES = ["Injected", "Ready", "Expired", "Reconciling", "Stalled"] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];
export const EVENT_TYPES = ["Normal", "Warning"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface ContainerStateMirror {
  state: "waiting" | "running" | "terminated";
  reason?: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
}

/** metav1.Condition as it travels in JSON (times are RFC 3339 strings). */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface RequestedBy {
  username: string;
  groups?: string[];
}

export interface DebugSessionStatus {
  phase?: Phase;
  /** The pod the debugger is (to be) in: spec.targetPod, or the one chosen for targetRef/targetSelector. */
  pod?: string;
  conditions?: Condition[];
  observedGeneration?: number;
  targetPodUID?: string;
  containerName?: string;
  injectedAt?: string;
  expiresAt?: string;
  attachCommand?: string;
  containerState?: ContainerStateMirror;
  requestedBy?: RequestedBy;
  message?: string;
  /** When the session reached Expired, Failed or Terminated. */
  endedAt?: string;
  /** The Role (and RoleBinding) that lets the requester attach to the pod while the debugger runs. */
  attachRole?: string;
  /** Copy mode: the pod copied (status.pod names the copy). */
  sourcePod?: string;
}

export interface DebugSession {
  apiVersion: typeof API_VERSION;
  kind: typeof SESSION_KIND;
  metadata: V1ObjectMeta;
  spec: DebugSessionSpec;
  status?: DebugSessionStatus;
}

export const DEFAULT_TTL = "30m";
export const DEFAULT_PROFILE: Profile = "general";
export const DEFAULT_EXPIRY_ACTION: ExpiryAction = "Evict";
export const DEFAULT_MODE: Mode = "Ephemeral";
export const DEFAULT_POLICY = "default";

// ---- DebugPolicy: what may run in its namespace (who may use it is RBAC, verb `use`).

export const POLICY_KIND = "DebugPolicy";
export const POLICY_PLURAL = "debugpolicies";

export type LabelSelectorOperator = "In" | "NotIn" | "Exists" | "DoesNotExist";

/** metav1.LabelSelectorRequirement. */
export interface LabelSelectorRequirement {
  key: string;
  operator: LabelSelectorOperator;
  values?: string[];
}

/** metav1.LabelSelector: every matchLabels entry and every matchExpressions entry must hold. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/**
 * Fields with a CRD default are optional here, because the policy evaluation must give the same
 * answer for an object that never passed through the apiserver (tests, dry runs).
 */
export interface DebugPolicySpec {
  /** Pods that may be debugged. Absent selects no pod; `{}` selects every pod in the namespace. */
  targetSelector?: LabelSelector;
  /** Image patterns: `*` is any run of characters within one path segment, `**` any characters. */
  allowedImages: string[];
  /** The image must be pinned by digest (`@sha256:` and 64 hex digits). */
  requireDigest?: boolean;
  allowedProfiles?: Profile[];
  allowPrivileged?: boolean;
  /** Capabilities the debugger may add; the chosen profile's own capabilities are allowed with it. */
  allowedCapabilities?: string[];
  allowVolumeMounts?: boolean;
  allowSensitiveVolumes?: boolean;
  allowSecretEnv?: boolean;
  defaultTTL?: string;
  maxTTL?: string;
  maxSessionsPerPod?: number;
  /** How the pod may be removed, at expiry and when the session is deleted. */
  allowedExpiryActions?: ExpiryChoice[];
  /** The expiryAction of a session that sets none (default Evict). */
  defaultExpiryAction?: ExpiryChoice;
  /** Sessions may take their pod out of its Services (spec.isolate). */
  allowIsolate?: boolean;
  /** The session's securityContext may loosen its profile, not only tighten it. */
  allowSecurityContextOverrides?: boolean;
  /** Pods that share the node (host namespaces, privileged containers, hostPath volumes) may be debugged. */
  allowPrivilegedTargets?: boolean;
  /** ttlSecondsAfterFinished also deletes sessions Flux or Argo CD manage (they re-create what is deleted). */
  deleteGitOpsManagedSessions?: boolean;
  /** The requester may attach to the tainted pod, and only to it, while the debugger runs (default true). */
  grantAttach?: boolean;
  /** How long the operator keeps a session's DebugSessionRecord (default 720h). */
  recordRetention?: string;
  /** The modes a session may ask for (default: Ephemeral only). */
  allowedModes?: Mode[];
  /** What a Copy-mode session may change of its copy (spec.copy); nothing by default. */
  copy?: CopyPermissions;
}

export interface CopyPermissions {
  allowCommand?: boolean;
  allowImage?: boolean;
  allowSameNode?: boolean;
  allowKeepProbes?: boolean;
}

export interface DebugPolicy {
  apiVersion: typeof API_VERSION;
  kind: typeof POLICY_KIND;
  metadata: V1ObjectMeta;
  spec: DebugPolicySpec;
}

export const DEFAULT_ALLOWED_PROFILES: readonly Profile[] = ["general", "baseline", "restricted"];
export const DEFAULT_MAX_TTL = "2h";
export const DEFAULT_MAX_SESSIONS_PER_POD = 1;
export const DEFAULT_ALLOWED_EXPIRY_ACTIONS: readonly ExpiryChoice[] = ["Evict", "Delete", "Replace"];
export const DEFAULT_RECORD_RETENTION = "720h";
export const DEFAULT_ALLOWED_MODES: readonly Mode[] = ["Ephemeral"];

// ---- DebugSessionRecord: what a session did, kept after the session and its pod are gone.

export const RECORD_KIND = "DebugSessionRecord";
export const RECORD_PLURAL = "debugsessionrecords";
/** On a record: the UID of the session it records (the session's name label is SESSION_LABEL). */
export const RECORD_SESSION_UID_LABEL = "debugging.dev/session-uid";
/** On a record: the policy whose recordRetention applies, and that retention as it was at writing. */
export const RECORD_POLICY_ANNOTATION = "debugging.dev/policy";
export const RECORD_RETENTION_ANNOTATION = "debugging.dev/record-retention";

/** How a recorded session ended. */
export const RECORD_ENDINGS = ["Expired", "Deleted", "PodGone"] as const;
export type RecordEnding = (typeof RECORD_ENDINGS)[number];

/** A container log as the record keeps it: gzip, base64, bounded; or why it could not be read. */
export interface SavedLog {
  /** base64 of the gzip of the saved bytes. */
  data?: string;
  /** sha256 (hex) of the saved bytes, uncompressed: what `base64 -d | gunzip | sha256sum` prints. */
  sha256?: string;
  /** Bytes the kubelet returned (the log as it was, up to the read limit). */
  originalBytes?: number;
  /** Bytes kept, uncompressed (head, an omission marker, tail). */
  savedBytes?: number;
  compressedBytes?: number;
  /** Some of the log was left out (the middle, or what lay past the read limit). */
  truncated?: boolean;
  /** Why nothing (or only part) could be read. */
  error?: string;
}

export interface RecordedEvent {
  type?: string;
  reason?: string;
  message?: string;
  time?: string;
  count?: number;
}

export interface DebugSessionRecordSpec {
  session: { name: string; uid: string; generation?: number; spec: DebugSessionSpec };
  requestedBy?: RequestedBy;
  reason?: string;
  policy: { name: string; generation?: number };
  /** copyOf, copyOfUID: Copy mode, the pod the copy (`pod`) was made of. */
  target: { pod: string; podUID?: string; node?: string; container?: string; copyOf?: string; copyOfUID?: string };
  debugger: { container: string; image: string; imageID?: string; state?: string; exitCode?: number };
  injectedAt?: string;
  expiresAt?: string;
  endedAt: string;
  ended: { how: RecordEnding; message: string };
  transcript: SavedLog;
  targetLog: SavedLog;
  events: RecordedEvent[];
}

export interface DebugSessionRecord {
  apiVersion: typeof API_VERSION;
  kind: typeof RECORD_KIND;
  metadata: V1ObjectMeta;
  spec: DebugSessionRecordSpec;
}
