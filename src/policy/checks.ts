// The rules of a DebugPolicy, one small named function each (cert-manager style). Each reads the
// gathered input and returns a Violation or undefined; messages name the policy field and the fix.
import type { V1Pod, V1SecurityContext } from "@kubernetes/client-node";
import { parseDuration } from "../api/duration.ts";
import {
  DEFAULT_ALLOWED_EXPIRY_ACTIONS,
  DEFAULT_ALLOWED_MODES,
  DEFAULT_EXPIRY_ACTION,
  DEFAULT_MODE,
  DEFAULT_ALLOWED_PROFILES,
  DEFAULT_MAX_SESSIONS_PER_POD,
  DEFAULT_POLICY,
  DEFAULT_PROFILE,
  type CopyPermissions,
  type CopySpec,
  type DebugPolicy,
  type DebugSession,
  type Mode,
  type Profile,
} from "../api/types.ts";
import { effectiveSecurityContext, profileSecurityContext } from "../api/profiles.ts";
import { imageIsAllowedBy, isPinnedByDigest } from "./image.ts";
import { formatSelector, matchesSelector } from "./selector.ts";
import { expiryChoiceOf } from "./expiry.ts";
import { effectiveTTL, maxTTLOf } from "./ttl.ts";
import type { PolicyCheck, PolicyInput, Violation } from "./violation.ts";
import { isSensitiveVolume } from "./volumes.ts";
import { capability, isBareImageID, looseningsOf, nodeSharingOf } from "./security.ts";

const ref = (policy: DebugPolicy): string =>
  `DebugPolicy ${policy.metadata.namespace ?? ""}/${policy.metadata.name ?? ""}`;
const list = (items: readonly string[]): string => (items.length ? items.join(", ") : "<none>");
const quoted = (items: readonly string[]): string => items.map((i) => `"${i}"`).join(", ");
const profileOf = (session: DebugSession): Profile => session.spec.profile ?? DEFAULT_PROFILE;
const allowedProfiles = (policy: DebugPolicy): readonly Profile[] =>
  policy.spec.allowedProfiles ?? DEFAULT_ALLOWED_PROFILES;
const securityContextOf = (session: DebugSession): V1SecurityContext | undefined =>
  effectiveSecurityContext(profileOf(session), session.spec.securityContext);

/** Checks that need the target pod are skipped until it is known. */
const withPod =
  (check: (input: PolicyInput & { pod: V1Pod }) => Violation | undefined): PolicyCheck =>
  (input) =>
    input.pod ? check({ ...input, pod: input.pod }) : undefined;

/** The policy is the one the session names, in the session's own namespace. */
export const policyGovernsSession: PolicyCheck = ({ session, policy }) => {
  const wanted = session.spec.policy ?? DEFAULT_POLICY;
  if (policy.metadata.namespace === session.metadata.namespace && policy.metadata.name === wanted) return undefined;
  return {
    rule: "policyGovernsSession",
    reason: "PolicyMismatch",
    message:
      `${ref(policy)} does not govern this session, which names DebugPolicy "${wanted}" in namespace ` +
      `${session.metadata.namespace ?? ""} (spec.policy); a session is checked only against the policy it names in its own namespace`,
  };
};

export const podIsSelected: PolicyCheck = withPod(({ policy, pod }) => {
  const selector = policy.spec.targetSelector;
  if (matchesSelector(selector, pod.metadata?.labels)) return undefined;
  const name = pod.metadata?.name ?? "";
  return {
    rule: "podIsSelected",
    reason: "PodNotSelected",
    message: selector
      ? `pod "${name}" is not selected by ${ref(policy)} (spec.targetSelector: ${formatSelector(selector)}); ` +
        "debug a pod it selects or ask a policy admin to widen spec.targetSelector"
      : `${ref(policy)} has no spec.targetSelector, so it allows no pod (pod "${name}" included); ` +
        "ask a policy admin to set one ({} selects every pod)",
  };
});

/** Decided before the patterns: `**` would match a bare ID as if it were a name. */
export const imageIsNamed: PolicyCheck = ({ session }) => {
  if (!isBareImageID(session.spec.image)) return undefined;
  return {
    rule: "imageIsNamed",
    reason: "ImageNotNamed",
    message:
      `image "${session.spec.image}" is a bare image ID: the node runs whatever image it has cached under that ID, ` +
      "which no pattern of spec.allowedImages can vouch for; name the image, pinned if you like (repository@sha256:<digest>)",
  };
};

export const imageIsAllowed: PolicyCheck = ({ session, policy }) => {
  if (imageIsAllowedBy(policy.spec.allowedImages, session.spec.image)) return undefined;
  return {
    rule: "imageIsAllowed",
    reason: "ImageNotAllowed",
    message:
      `image "${session.spec.image}" is not allowed by ${ref(policy)} (spec.allowedImages: ${list(policy.spec.allowedImages)}); ` +
      "ask a policy admin to add it or use an allowed image",
  };
};

export const imageIsPinned: PolicyCheck = ({ session, policy }) => {
  if (!policy.spec.requireDigest || isPinnedByDigest(session.spec.image)) return undefined;
  return {
    rule: "imageIsPinned",
    reason: "ImageDigestRequired",
    message:
      `image "${session.spec.image}" is not pinned by digest, which ${ref(policy)} requires (spec.requireDigest: true); ` +
      "use the form image@sha256:<64 hex digits>",
  };
};

export const profileIsAllowed: PolicyCheck = ({ session, policy }) => {
  const profile = profileOf(session);
  const allowed = allowedProfiles(policy);
  if (allowed.includes(profile)) return undefined;
  return {
    rule: "profileIsAllowed",
    reason: "ProfileNotAllowed",
    message:
      `profile "${profile}" is not allowed by ${ref(policy)} (spec.allowedProfiles: ${list(allowed)}); ` +
      "choose an allowed profile or ask a policy admin to add it",
  };
};

export const privilegedIsAllowed: PolicyCheck = ({ session, policy }) => {
  if (policy.spec.allowPrivileged || securityContextOf(session)?.privileged !== true) return undefined;
  const fromSession = session.spec.securityContext?.privileged === true;
  return {
    rule: "privilegedIsAllowed",
    reason: "PrivilegedNotAllowed",
    message:
      `a privileged debugger (${fromSession ? "spec.securityContext.privileged: true" : `profile ${profileOf(session)}`}) ` +
      `is not allowed by ${ref(policy)} (spec.allowPrivileged: false); ` +
      (fromSession ? "remove spec.securityContext.privileged" : "choose a profile that is not privileged") +
      " or ask a policy admin to allow privileged debuggers",
  };
};

/**
 * Every capability the debugger ends up adding must be in allowedCapabilities (ALL allows any), or
 * be added by the session's own profile when that profile is allowed.
 */
export const capabilitiesAreAllowed: PolicyCheck = ({ session, policy }) => {
  const profile = profileOf(session);
  const allowed = new Set((policy.spec.allowedCapabilities ?? []).map(capability));
  if (allowed.has("ALL")) return undefined;
  const fromProfile = allowedProfiles(policy).includes(profile)
    ? (profileSecurityContext(profile)?.capabilities?.add ?? []).map(capability)
    : [];
  const added = securityContextOf(session)?.capabilities?.add ?? [];
  const denied = added.filter((c) => !allowed.has(capability(c)) && !fromProfile.includes(capability(c)));
  if (denied.length === 0) return undefined;
  return {
    rule: "capabilitiesAreAllowed",
    reason: "CapabilityNotAllowed",
    message:
      `capabilities ${list(denied)} are not allowed by ${ref(policy)} (spec.allowedCapabilities: ` +
      `${list(policy.spec.allowedCapabilities ?? [])}; profile ${profile} adds ${list(fromProfile)}); ` +
      "remove them from spec.securityContext.capabilities.add or ask a policy admin to allow them",
  };
};

/**
 * The session's securityContext may tighten its profile, never loosen it, unless the policy says so.
 * A privileged debugger is unconfined anyway, and privilegedIsAllowed decides about it.
 */
export const securityContextOnlyTightens: PolicyCheck = ({ session, policy }) => {
  if (policy.spec.allowSecurityContextOverrides || securityContextOf(session)?.privileged === true) return undefined;
  const profile = profileOf(session);
  const loosened = looseningsOf(profileSecurityContext(profile), session.spec.securityContext);
  if (loosened.length === 0) return undefined;
  return {
    rule: "securityContextOnlyTightens",
    reason: "SecurityContextNotAllowed",
    message:
      `spec.securityContext loosens what profile ${profile} allows (${loosened.join(", ")}), which ${ref(policy)} ` +
      "does not allow (spec.allowSecurityContextOverrides: false); remove those fields or ask a policy admin to allow overrides",
  };
};

/** A debugger in a pod that shares the node reaches the node, whatever its own securityContext. */
export const targetIsNotPrivileged: PolicyCheck = withPod(({ policy, pod }) => {
  if (policy.spec.allowPrivilegedTargets) return undefined;
  const sharing = nodeSharingOf(pod);
  if (sharing.length === 0) return undefined;
  return {
    rule: "targetIsNotPrivileged",
    reason: "PrivilegedTarget",
    message:
      `pod "${pod.metadata?.name ?? ""}" shares the node (${sharing.join("; ")}), so a debugger in it would reach the node, ` +
      `which ${ref(policy)} does not allow (spec.allowPrivilegedTargets: false); ask a cluster admin, or a policy admin to allow privileged targets`,
  };
});

export const expiryActionIsAllowed: PolicyCheck = ({ session, policy }) => {
  const asked = expiryChoiceOf(session, policy);
  const allowed = policy.spec.allowedExpiryActions ?? DEFAULT_ALLOWED_EXPIRY_ACTIONS;
  if (allowed.includes(asked)) return undefined;
  return {
    rule: "expiryActionIsAllowed",
    reason: "ExpiryActionNotAllowed",
    message:
      `spec.expiryAction ${asked} is not allowed by ${ref(policy)} (spec.allowedExpiryActions: ${list(allowed)}); ` +
      `use ${allowed[0] ?? DEFAULT_EXPIRY_ACTION}, or ask a policy admin to allow ${asked}`,
  };
};

export const volumeMountsAreAllowed: PolicyCheck = ({ session, policy }) => {
  const mounts = session.spec.volumeMounts ?? [];
  if (policy.spec.allowVolumeMounts || mounts.length === 0) return undefined;
  return {
    rule: "volumeMountsAreAllowed",
    reason: "VolumeMountsNotAllowed",
    message:
      `mounting volumes (${quoted(mounts.map((m) => m.name))}) is not allowed by ${ref(policy)} (spec.allowVolumeMounts: false); ` +
      "remove spec.volumeMounts or ask a policy admin to allow volume mounts",
  };
};

export const mountedVolumesExist: PolicyCheck = withPod(({ session, pod }) => {
  const volumes = (pod.spec?.volumes ?? []).map((v) => v.name);
  const missing = (session.spec.volumeMounts ?? []).map((m) => m.name).filter((n) => !volumes.includes(n));
  if (missing.length === 0) return undefined;
  return {
    rule: "mountedVolumesExist",
    reason: "VolumeNotFound",
    message:
      `pod "${pod.metadata?.name ?? ""}" has no volume ${quoted(missing)}, and a debugger can only mount volumes the pod ` +
      `already has (pod volumes: ${list(volumes)}); fix spec.volumeMounts`,
  };
});

/** Decided by the pod's volume when the pod is known, by the volume name alone otherwise. */
export const sensitiveVolumesAreAllowed: PolicyCheck = ({ session, policy, pod }) => {
  if (policy.spec.allowSensitiveVolumes) return undefined;
  const volumes = pod?.spec?.volumes ?? [];
  const sensitive = (session.spec.volumeMounts ?? [])
    .map((m) => m.name)
    .filter((n) =>
      isSensitiveVolume(
        n,
        volumes.find((v) => v.name === n),
      ),
    );
  if (sensitive.length === 0) return undefined;
  return {
    rule: "sensitiveVolumesAreAllowed",
    reason: "SensitiveVolumeNotAllowed",
    message:
      `volumes ${quoted(sensitive)} hold credentials (secrets or service account tokens) and ${ref(policy)} does not allow ` +
      "mounting them (spec.allowSensitiveVolumes: false); remove those mounts or ask a policy admin to allow sensitive volumes",
  };
};

export const secretEnvIsAllowed: PolicyCheck = ({ session, policy }) => {
  if (policy.spec.allowSecretEnv) return undefined;
  const fromSecrets = (session.spec.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name);
  if (fromSecrets.length === 0) return undefined;
  return {
    rule: "secretEnvIsAllowed",
    reason: "SecretEnvNotAllowed",
    message:
      `environment variables ${list(fromSecrets)} come from Secrets, which ${ref(policy)} does not allow ` +
      "(spec.allowSecretEnv: false); remove their valueFrom.secretKeyRef or ask a policy admin to allow secret env",
  };
};

/**
 * ConfigMaps are read by the kubelet, not by the requester: a configMapKeyRef would hand over any
 * ConfigMap of the namespace. allowSecretEnv governs both kinds of object reference.
 */
export const configMapEnvIsAllowed: PolicyCheck = ({ session, policy }) => {
  if (policy.spec.allowSecretEnv) return undefined;
  const fromConfigMaps = (session.spec.env ?? []).filter((e) => e.valueFrom?.configMapKeyRef).map((e) => e.name);
  if (fromConfigMaps.length === 0) return undefined;
  return {
    rule: "configMapEnvIsAllowed",
    reason: "ConfigMapEnvNotAllowed",
    message:
      `environment variables ${list(fromConfigMaps)} come from ConfigMaps, which ${ref(policy)} does not allow ` +
      "(spec.allowSecretEnv: false, which covers ConfigMaps too); remove their valueFrom.configMapKeyRef " +
      "or ask a policy admin to allow env from objects",
  };
};

export const ttlIsWithinMaximum: PolicyCheck = ({ session, policy }) => {
  const ttl = effectiveTTL(session, policy);
  const source = session.spec.ttl === undefined ? `spec.defaultTTL of ${ref(policy)}` : "spec.ttl";
  const maxText = maxTTLOf(policy);
  const ms = parseDuration(ttl);
  const max = parseDuration(maxText);
  if (ms === undefined || max === undefined) {
    return {
      rule: "ttlIsWithinMaximum",
      reason: "TTLInvalid",
      message:
        ms === undefined
          ? `ttl "${ttl}" (${source}) is not a duration; use one such as 30m or 2h`
          : `spec.maxTTL "${maxText}" of ${ref(policy)} is not a duration; ask a policy admin to fix it`,
    };
  }
  if (ms <= max) return undefined;
  return {
    rule: "ttlIsWithinMaximum",
    reason: "TTLExceedsMaximum",
    message:
      `ttl ${ttl} (${source}) exceeds the maximum allowed by ${ref(policy)} (spec.maxTTL: ${maxText}); ` +
      (session.spec.ttl === undefined ? `set spec.ttl to at most ${maxText}` : `ask for at most ${maxText}`) +
      " or ask a policy admin to raise spec.maxTTL",
  };
};

export const podHasRoomForSession: PolicyCheck = ({ session, policy, otherSessionsOnPod }) => {
  const max = policy.spec.maxSessionsPerPod ?? DEFAULT_MAX_SESSIONS_PER_POD;
  if (otherSessionsOnPod < max) return undefined;
  return {
    rule: "podHasRoomForSession",
    reason: "TooManySessions",
    message:
      `pod "${session.spec.targetPod}" already holds ${otherSessionsOnPod} other debugger(s) (live ephemeral containers ` +
      `or active DebugSessions) and ${ref(policy)} allows at most ${max} (spec.maxSessionsPerPod); ` +
      "wait for one to end, delete one, or ask a policy admin to raise the limit",
  };
};

// ---- Copy mode (spec.mode, spec.copy): the copy runs with the source's identity, so each change to it
// is a permission of its own.

const modeOf = (session: DebugSession): Mode => session.spec.mode ?? DEFAULT_MODE;

export const modeIsAllowed: PolicyCheck = ({ session, policy }) => {
  const mode = modeOf(session);
  const allowed = policy.spec.allowedModes ?? DEFAULT_ALLOWED_MODES;
  if (allowed.includes(mode)) return undefined;
  return {
    rule: "modeIsAllowed",
    reason: "ModeNotAllowed",
    message:
      `spec.mode ${mode} is not allowed by ${ref(policy)} (spec.allowedModes: ${list(allowed)}); ` +
      `use ${allowed[0] ?? DEFAULT_MODE}, or ask a policy admin to allow ${mode}`,
  };
};

/** Each field of spec.copy the session sets, and the policy field that allows it. */
const COPY_PERMISSIONS = [
  ["command", "allowCommand"],
  ["image", "allowImage"],
  ["sameNode", "allowSameNode"],
  ["keepProbes", "allowKeepProbes"],
] as const satisfies readonly (readonly [keyof CopySpec, keyof CopyPermissions])[];

const asks = (copy: CopySpec, field: keyof CopySpec): boolean => {
  const value = copy[field];
  return Array.isArray(value) ? value.length > 0 : value !== undefined && value !== false;
};

export const copyOptionsAreAllowed: PolicyCheck = ({ session, policy }) => {
  const copy = session.spec.copy ?? {};
  const denied = COPY_PERMISSIONS.filter(([field, allow]) => asks(copy, field) && policy.spec.copy?.[allow] !== true);
  if (denied.length === 0) return undefined;
  return {
    rule: "copyOptionsAreAllowed",
    reason: "CopyOptionNotAllowed",
    message:
      `${denied.map(([field]) => `spec.copy.${field}`).join(", ")} ${denied.length > 1 ? "are" : "is"} not allowed by ` +
      `${ref(policy)} (${denied.map(([, allow]) => `spec.copy.${allow}: false`).join(", ")}); ` +
      "remove it from the session or ask a policy admin to allow it",
  };
};

/** spec.copy.image runs with the source's identity: the image rules of the debugger apply to it. */
export const copyImageIsAllowed: PolicyCheck = ({ session, policy }) => {
  const image = session.spec.copy?.image;
  if (image === undefined) return undefined;
  const why = isBareImageID(image)
    ? "is a bare image ID, which no pattern can vouch for; name the image"
    : !imageIsAllowedBy(policy.spec.allowedImages, image)
      ? `is not allowed by ${ref(policy)} (spec.allowedImages: ${list(policy.spec.allowedImages)}); ask a policy admin to add it or use an allowed image`
      : policy.spec.requireDigest && !isPinnedByDigest(image)
        ? `is not pinned by digest, which ${ref(policy)} requires (spec.requireDigest: true); use image@sha256:<64 hex digits>`
        : undefined;
  if (why === undefined) return undefined;
  return { rule: "copyImageIsAllowed", reason: "CopyImageNotAllowed", message: `spec.copy.image "${image}" ${why}` };
};

export const isolateIsAllowed: PolicyCheck = ({ session, policy }) => {
  if (!session.spec.isolate || policy.spec.allowIsolate) return undefined;
  return {
    rule: "isolateIsAllowed",
    reason: "IsolateNotAllowed",
    message:
      `spec.isolate (taking the pod out of its Services while it is debugged) is not allowed by ${ref(policy)} ` +
      "(spec.allowIsolate: false); remove spec.isolate or ask a policy admin to allow it",
  };
};
