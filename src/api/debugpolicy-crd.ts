// The DebugPolicy CustomResourceDefinition: what a DebugSession in the same namespace may do.
// Who may use a policy is plain RBAC (verb `use` on debugpolicies), not part of this schema.
import { DURATION_PATTERN } from "./duration.ts";
import { labelSelector } from "./core-schemas.ts";
import { arr, bool, int, namespacedCRD, obj, str, type Schema } from "./schema.ts";
import {
  DEFAULT_ALLOWED_EXPIRY_ACTIONS,
  DEFAULT_ALLOWED_MODES,
  DEFAULT_ALLOWED_PROFILES,
  DEFAULT_MAX_SESSIONS_PER_POD,
  DEFAULT_MAX_TTL,
  DEFAULT_RECORD_RETENTION,
  DEFAULT_TTL,
  EXPIRY_ACTIONS,
  GROUP,
  MODES,
  POLICY_KIND,
  PROFILES,
  POLICY_PLURAL,
  VERSION,
} from "./types.ts";

// schema.ts has no minItems; it is valid structural OpenAPI, so it is added here.
const atLeast = (minItems: number, schema: Schema): Schema => ({ ...schema, minItems }) as Schema;

const targetSelector: Schema = labelSelector(
  "Labels of the pods in this namespace that may be debugged (a metav1.LabelSelector). When absent no pod may be " +
    "debugged; `{}` selects every pod in the namespace. All matchLabels and matchExpressions must hold.",
);

// A raw CEL string: in a quoted one the pattern's `\.` is an escape CEL rejects, and the CRD with it.
const isDuration = (field: string): string => `self.${field}.matches(r'${DURATION_PATTERN}')`;

const duration = (description: string, fallback: string): Schema =>
  str(description, { maxLength: 64, pattern: DURATION_PATTERN, default: fallback });

const spec: Schema = obj(
  "What a DebugSession that names this policy may do. Anything not allowed here is denied.",
  {
    targetSelector,
    allowedImages: atLeast(
      1,
      arr(
        "Images the debugger may run, as patterns matched against the whole image reference. `*` matches any run of " +
          "characters except `/` (within one path segment, so `busybox:*` allows every busybox tag and " +
          "`registry.local/*:*` one level under the registry); `**` matches any characters including `/` " +
          "(`registry.local/**`); every other character matches itself. Docker Hub short names are equivalent to their " +
          "full form (`busybox` is `docker.io/library/busybox`), and a reference without tag or digest also counts as `:latest`.",
        str("An image pattern.", { minLength: 1, maxLength: 512 }),
        { maxItems: 256, "x-kubernetes-list-type": "set" },
      ),
    ),
    requireDigest: bool("Require the image to be pinned by digest (`...@sha256:` followed by 64 hex digits).", {
      default: false,
    }),
    allowedProfiles: arr(
      "Profiles a session may choose (general, baseline, restricted, netadmin, sysadmin, as `kubectl debug --profile`). " +
        "The capabilities the chosen profile adds are allowed with it; sysadmin runs the debugger privileged, which " +
        "also needs allowPrivileged.",
      str("A profile.", { enum: PROFILES }),
      { maxItems: 5, "x-kubernetes-list-type": "set", default: [...DEFAULT_ALLOWED_PROFILES] },
    ),
    allowPrivileged: bool(
      "Allow a privileged debugger (securityContext.privileged, or the sysadmin profile). A privileged container " +
        "controls the node.",
      { default: false },
    ),
    allowedCapabilities: arr(
      "Linux capabilities (e.g. NET_ADMIN; a CAP_ prefix and case are ignored) the session's securityContext may add. " +
        "Capabilities added by the session's own profile need not be listed when that profile is allowed. ALL allows " +
        "every capability, and adding ALL needs it. Empty or absent: only the profile's capabilities.",
      str("A capability name.", { minLength: 1, maxLength: 64, pattern: "^[A-Za-z_]+$" }),
      { maxItems: 64, "x-kubernetes-list-type": "set" },
    ),
    allowVolumeMounts: bool("Allow the debugger to mount volumes of the target pod at all.", { default: false }),
    allowSensitiveVolumes: bool(
      "Allow mounting sensitive volumes: secret volumes, projected volumes with any source other than configMap, " +
        "downwardAPI or clusterTrustBundle (secrets, service account tokens, pod certificates), and the " +
        "kube-api-access-* token volume. Needs allowVolumeMounts too.",
      { default: false },
    ),
    allowSecretEnv: bool(
      "Allow environment variables taken from a Secret or a ConfigMap (env[].valueFrom.secretKeyRef, configMapKeyRef): " +
        "the kubelet reads them, so the requester needs no right on them.",
      {
        default: false,
      },
    ),
    defaultTTL: duration(
      "TTL of a session that sets none, as a duration (30m, 2h). At least 1m, at most maxTTL.",
      DEFAULT_TTL,
    ),
    maxTTL: duration("Longest TTL a session may have, as a duration (2h, 8h).", DEFAULT_MAX_TTL),
    maxSessionsPerPod: int("How many active DebugSessions (under any policy) one pod may have, the new one included.", {
      minimum: 1,
      maximum: 1000,
      default: DEFAULT_MAX_SESSIONS_PER_POD,
    }),
    allowedExpiryActions: atLeast(
      1,
      arr(
        "How the tainted pod may be removed, at expiry and when the session is deleted: Evict (the Eviction API, which " +
          "respects PodDisruptionBudgets), Delete, and Replace (at expiry: the pod's ReplicaSet replaces it first). Without Delete, a session that asks for Delete is denied, an " +
          "eviction a budget refuses is retried for as long as it takes (never replaced by a delete), and deleting the " +
          "session evicts the pod too.",
        str("A removal action.", { enum: EXPIRY_ACTIONS }),
        {
          maxItems: EXPIRY_ACTIONS.length,
          "x-kubernetes-list-type": "set",
          default: [...DEFAULT_ALLOWED_EXPIRY_ACTIONS],
        },
      ),
    ),
    allowSecurityContextOverrides: bool(
      "Allow spec.securityContext to loosen the chosen profile (runAsNonRoot: false, runAsUser: 0, " +
        "allowPrivilegeEscalation: true where the profile forbids them) and to set seccomp or AppArmor profiles other " +
        "than RuntimeDefault, SELinux options, procMount Unmasked or a Windows host process. privileged and " +
        "capabilities.add keep their own rules. When false, spec.securityContext may only tighten the profile.",
      { default: false },
    ),
    grantAttach: bool(
      "Let the requester attach to the debugger: while it runs, the operator grants the requester get on the tainted " +
        "pod and create/get on its pods/attach (a Role and RoleBinding with resourceNames, owned by the session, " +
        "removed when the session ends). It reaches every container of that pod that has stdin, and no other pod.",
      { default: true },
    ),
    deleteGitOpsManagedSessions: bool(
      "Let ttlSecondsAfterFinished delete ended sessions that Flux or Argo CD manage (labels kustomize.toolkit.fluxcd.io/name, " +
        "helm.toolkit.fluxcd.io/name, argocd.argoproj.io/instance; annotation argocd.argoproj.io/tracking-id). Off by default: " +
        "the tool re-creates a deleted session, and without spec.notAfter the new one debugs a pod again.",
      { default: false },
    ),
    recordRetention: duration(
      "How long the operator keeps the DebugSessionRecord of each session that injected a debugger (its transcript " +
        "and evidence), counted from the record's creation, as a duration (720h = 30 days). The operator's " +
        "--min-record-retention flag (default 24h) is a floor no policy goes under. Deleting the policy keeps the " +
        "retention each record was written with.",
      DEFAULT_RECORD_RETENTION,
    ),
    allowPrivilegedTargets: bool(
      "Allow debugging pods that share the node: hostPID, hostIPC or hostNetwork, a privileged container, capabilities " +
        "beyond those Pod Security baseline allows, hostPath volumes, or a Windows host process. A debugger that " +
        "joins such a pod reaches the node whatever its own securityContext says.",
      { default: false },
    ),
    defaultExpiryAction: str(
      "The expiryAction of a session that sets none (Evict when unset); one of allowedExpiryActions.",
      { enum: EXPIRY_ACTIONS },
    ),
    allowIsolate: bool(
      "Allow spec.isolate: once the debugger is in, the operator takes the pod out of its Services (and out of its " +
        "ReplicaSet, which replaces it) by changing labels, never one a NetworkPolicy selects the pod by.",
      { default: false },
    ),
    allowedModes: arr(
      "Modes a session may ask for (spec.mode): Ephemeral (a debugger in the target pod) and Copy (a copy of the target " +
        "pod with the debugger, created and deleted by the operator; it runs with the target's ServiceAccount and " +
        "volumes). Default: Ephemeral only.",
      str("A mode.", { enum: MODES }),
      { maxItems: MODES.length, "x-kubernetes-list-type": "set", default: [...DEFAULT_ALLOWED_MODES] },
    ),
    copy: obj("What a Copy-mode session may change of its copy (the session's spec.copy). Nothing by default.", {
      allowCommand: bool(
        "Allow spec.copy.command: the target's image runs another command, with the target's identity.",
        { default: false },
      ),
      allowImage: bool(
        "Allow spec.copy.image: another image (matched against allowedImages and requireDigest) runs with the " +
          "target's ServiceAccount token and volumes.",
        { default: false },
      ),
      allowSameNode: bool("Allow spec.copy.sameNode: the copy bypasses the scheduler onto the target's node.", {
        default: false,
      }),
      allowKeepProbes: bool("Allow spec.copy.keepProbes.", { default: false }),
    }),
  },
  {
    required: ["allowedImages"],
    "x-kubernetes-validations": [
      {
        rule: `!has(self.defaultTTL) || !${isDuration("defaultTTL")} || duration(self.defaultTTL) >= duration('1m')`,
        message: "spec.defaultTTL must be at least 1m (a session's ttl is at least 1m)",
        fieldPath: ".defaultTTL",
        reason: "FieldValueInvalid",
      },
      {
        rule:
          "!has(self.defaultExpiryAction) || !has(self.allowedExpiryActions) || " +
          "self.defaultExpiryAction in self.allowedExpiryActions",
        message: "spec.defaultExpiryAction must be one of spec.allowedExpiryActions",
        fieldPath: ".defaultExpiryAction",
        reason: "FieldValueInvalid",
      },
      {
        rule:
          `!has(self.defaultTTL) || !has(self.maxTTL) || !${isDuration("defaultTTL")} || !${isDuration("maxTTL")} || ` +
          "duration(self.defaultTTL) <= duration(self.maxTTL)",
        message: "spec.defaultTTL must not exceed spec.maxTTL; lower defaultTTL or raise maxTTL",
        fieldPath: ".defaultTTL",
        reason: "FieldValueInvalid",
      },
    ],
  },
);

export function debugPolicyCRD(): Record<string, unknown> {
  return namespacedCRD({
    group: GROUP,
    version: VERSION,
    kind: POLICY_KIND,
    plural: POLICY_PLURAL,
    singular: "debugpolicy",
    shortNames: ["dbgpol"],
    description:
      "What DebugSessions in this namespace may do: which pods, images, profiles, privileges, volumes and TTLs. " +
      "A session names its policy in spec.policy; who may use a policy is RBAC (verb `use` on debugpolicies).",
    printerColumns: [
      { name: "Max TTL", type: "string", jsonPath: ".spec.maxTTL" },
      { name: "Privileged", type: "boolean", jsonPath: ".spec.allowPrivileged" },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    ],
    spec,
  });
}
