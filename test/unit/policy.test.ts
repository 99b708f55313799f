import type { V1EnvVar, V1Pod, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { debugPolicyCRD } from "../../src/api/debugpolicy-crd.ts";
import { crdFiles } from "../../src/api/crds.ts";
import type { Schema } from "../../src/api/schema.ts";
import type {
  DebugPolicy,
  DebugPolicySpec,
  DebugSession,
  DebugSessionSpec,
  LabelSelector,
  Profile,
} from "../../src/api/types.ts";
import {
  capabilitiesAreAllowed,
  expiryActionIsAllowed,
  imageIsNamed,
  securityContextOnlyTightens,
  targetIsNotPrivileged,
  imageIsAllowed,
  imageIsPinned,
  mountedVolumesExist,
  podHasRoomForSession,
  podIsSelected,
  policyGovernsSession,
  privilegedIsAllowed,
  profileIsAllowed,
  secretEnvIsAllowed,
  configMapEnvIsAllowed,
  sensitiveVolumesAreAllowed,
  ttlIsWithinMaximum,
  volumeMountsAreAllowed,
} from "../../src/policy/checks.ts";
import {
  POLICY_CHECKS,
  effectiveTTL,
  evaluatePolicy,
  matchImage,
  matchesSelector,
  type PolicyCheck,
  type PolicyInput,
} from "../../src/policy/evaluate.ts";
import { imageSpellings, isPinnedByDigest } from "../../src/policy/image.ts";
import { isSensitiveVolume } from "../../src/policy/volumes.ts";
import { isBareImageID, looseningsOf, nodeSharingOf } from "../../src/policy/security.ts";

// ---- builders

const NS = "team-a";
const DIGEST = "a".repeat(64);
const PROFILES: Profile[] = ["general", "baseline", "restricted", "netadmin", "sysadmin"];

function session(spec: Partial<DebugSessionSpec> = {}, namespace = NS): DebugSession {
  return {
    apiVersion: "debugging.dev/v1alpha1",
    kind: "DebugSession",
    metadata: { name: "debug-web", namespace, uid: "3c7f1f0e-5a43-4d6b-9a4e-1f2d3c4b5a69" },
    spec: { targetPod: "web-0", image: "busybox:1.36", ...spec },
  };
}

function policy(spec: Partial<DebugPolicySpec> = {}, name = "default", namespace = NS): DebugPolicy {
  return {
    apiVersion: "debugging.dev/v1alpha1",
    kind: "DebugPolicy",
    metadata: { name, namespace },
    spec: {
      targetSelector: { matchLabels: { app: "web" } },
      allowedImages: ["busybox:*", "registry.local/**"],
      ...spec,
    },
  };
}

const VOLUMES: V1Volume[] = [
  { name: "data", emptyDir: {} },
  { name: "config", configMap: { name: "web-config" } },
  { name: "creds", secret: { secretName: "db" } },
  { name: "token", projected: { sources: [{ serviceAccountToken: { path: "token", audience: "vault" } }] } },
  { name: "bundle", projected: { sources: [{ configMap: { name: "ca" } }, { downwardAPI: { items: [] } }] } },
  { name: "certs", projected: { sources: [{ podCertificate: { signerName: "x.dev/s", keyType: "ED25519" } }] } },
  {
    name: "kube-api-access-x7k2p",
    projected: { sources: [{ serviceAccountToken: { path: "token" } }, { configMap: { name: "kube-root-ca.crt" } }] },
  },
];

function pod(labels: Record<string, string> = { app: "web" }, volumes: V1Volume[] = VOLUMES): V1Pod {
  return { metadata: { name: "web-0", namespace: NS, labels }, spec: { containers: [{ name: "app" }], volumes } };
}

function input(
  o: {
    session?: Partial<DebugSessionSpec>;
    policy?: Partial<DebugPolicySpec>;
    pod?: V1Pod | null;
    others?: number;
  } = {},
): PolicyInput {
  const p = o.pod === null ? undefined : (o.pod ?? pod());
  return {
    session: session(o.session),
    policy: policy(o.policy),
    ...(p ? { pod: p } : {}),
    otherSessionsOnPod: o.others ?? 0,
  };
}

const mount = (name: string): V1VolumeMount => ({ name, mountPath: `/mnt/${name}` });
const secretEnv = (name: string): V1EnvVar => ({ name, valueFrom: { secretKeyRef: { name: "db", key: "password" } } });
const configMapEnv = (name: string): V1EnvVar => ({
  name,
  valueFrom: { configMapKeyRef: { name: "cfg", key: "token" } },
});

/** [case, session spec, policy spec, pod (null: unknown), other sessions, expected reason or undefined] */
type Row = [string, Partial<DebugSessionSpec>, Partial<DebugPolicySpec>, V1Pod | null, number, string | undefined];

function runRows(check: PolicyCheck, rows: Row[]): void {
  it.each(rows)("%s", (_name, s, p, pd, others, reason) => {
    const v = check(input({ session: s, policy: p, pod: pd ?? null, others }));
    expect(v?.reason).toBe(reason);
    if (v) expect(v.message.length).toBeGreaterThan(20);
  });
}

const withPod = pod();

// ---- the baseline

describe("evaluatePolicy", () => {
  it("allows a plain session on a selected pod", () => {
    expect(evaluatePolicy(input())).toEqual([]);
  });

  it("returns every violation, not only the first, in check order", () => {
    const violations = evaluatePolicy(
      input({
        session: {
          image: "evil:1",
          profile: "sysadmin",
          volumeMounts: [mount("creds"), mount("ghost")],
          env: [secretEnv("PASSWORD")],
          ttl: "5h",
        },
        pod: pod({ app: "db" }),
        others: 3,
      }),
    );
    expect(violations.map((v) => v.reason)).toEqual([
      "PodNotSelected",
      "ImageNotAllowed",
      "ProfileNotAllowed",
      "PrivilegedNotAllowed",
      "VolumeMountsNotAllowed",
      "VolumeNotFound",
      "SensitiveVolumeNotAllowed",
      "SecretEnvNotAllowed",
      "TTLExceedsMaximum",
      "TooManySessions",
    ]);
    expect(new Set(violations.map((v) => v.rule)).size).toBe(violations.length);
  });

  it("skips the checks that need the pod while the pod is unknown", () => {
    const violations = evaluatePolicy(
      input({
        session: { volumeMounts: [mount("ghost")] },
        policy: { allowVolumeMounts: true, targetSelector: undefined },
        pod: null,
      }),
    );
    expect(violations).toEqual([]);
  });

  it("names the image, the policy, its patterns and the fix in the ImageNotAllowed message", () => {
    const [v] = evaluatePolicy({
      session: session({ image: "evil:1", policy: "p1" }),
      policy: policy({}, "p1"),
      pod: pod(),
      otherSessionsOnPod: 0,
    });
    expect(v).toEqual({
      rule: "imageIsAllowed",
      reason: "ImageNotAllowed",
      message:
        'image "evil:1" is not allowed by DebugPolicy team-a/p1 (spec.allowedImages: busybox:*, registry.local/**); ' +
        "ask a policy admin to add it or use an allowed image",
    });
  });

  it("has one rule name per check", () => {
    const rules = new Set<string>();
    const everything = input({
      session: {
        image: `sha256:${DIGEST}`,
        profile: "sysadmin",
        volumeMounts: [mount("creds"), mount("ghost")],
        env: [secretEnv("A"), configMapEnv("B")],
        ttl: "9h",
        policy: "other",
        expiryAction: "Delete",
        mode: "Copy",
        copy: { image: `sha256:${DIGEST}` },
        isolate: true,
      },
      policy: { requireDigest: true, allowedExpiryActions: ["Evict"] },
      pod: { ...pod({}), spec: { containers: [{ name: "app" }], volumes: VOLUMES, hostPID: true } },
      others: 9,
    });
    for (const check of POLICY_CHECKS) {
      const v = check(everything);
      if (v) rules.add(v.rule);
    }
    // capabilities: sysadmin adds none; securityContextOnlyTightens: a privileged debugger is privilegedIsAllowed's
    expect(rules.size).toBe(POLICY_CHECKS.length - 2);
    const loosened = input({ session: { profile: "restricted", securityContext: { runAsNonRoot: false } } });
    expect(securityContextOnlyTightens(loosened)?.rule).toBe("securityContextOnlyTightens");
  });
});

// ---- one table per check

describe("policyGovernsSession", () => {
  it.each<[string, DebugSession, DebugPolicy, string | undefined]>([
    ["the default policy for a session that names none", session(), policy(), undefined],
    ["the named policy", session({ policy: "p1" }), policy({}, "p1"), undefined],
    ["another policy than the session names", session({ policy: "p1" }), policy({}, "p2"), "PolicyMismatch"],
    ["a policy in another namespace", session(), policy({}, "default", "team-b"), "PolicyMismatch"],
  ])("%s", (_name, s, p, reason) => {
    expect(policyGovernsSession({ session: s, policy: p, pod: withPod, otherSessionsOnPod: 0 })?.reason).toBe(reason);
  });
});

describe("podIsSelected", () => {
  runRows(podIsSelected, [
    ["allows a pod whose labels match", {}, {}, pod({ app: "web", tier: "x" }), 0, undefined],
    ["denies a pod whose labels do not match", {}, {}, pod({ app: "db" }), 0, "PodNotSelected"],
    [
      "denies every pod when targetSelector is absent (fail closed)",
      {},
      { targetSelector: undefined },
      withPod,
      0,
      "PodNotSelected",
    ],
    ["allows every pod with targetSelector {}", {}, { targetSelector: {} }, pod({}), 0, undefined],
    ["is skipped while the pod is unknown", {}, { targetSelector: undefined }, null, 0, undefined],
  ]);

  it("tells how to fix a policy without targetSelector", () => {
    const v = podIsSelected(input({ policy: { targetSelector: undefined } }));
    expect(v?.message).toContain("has no spec.targetSelector");
    expect(v?.message).toContain("{} selects every pod");
  });
});

describe("imageIsAllowed", () => {
  runRows(imageIsAllowed, [
    ["allows a tag under busybox:*", { image: "busybox:1.36" }, {}, null, 0, undefined],
    [
      "allows a nested path under registry.local/**",
      { image: "registry.local/team/tools/shell:v2" },
      {},
      null,
      0,
      undefined,
    ],
    [
      "allows the full Docker Hub spelling of an allowed short name",
      { image: "docker.io/library/busybox:1.36" },
      {},
      null,
      0,
      undefined,
    ],
    ["denies an image no pattern matches", { image: "evil:1" }, {}, null, 0, "ImageNotAllowed"],
    [
      "denies a registry that only shares a prefix",
      { image: "registry.local.evil.com/x:1" },
      {},
      null,
      0,
      "ImageNotAllowed",
    ],
    [
      "denies another path segment for a single *",
      { image: "busybox/evil:1" },
      { allowedImages: ["busybox*"] },
      null,
      0,
      "ImageNotAllowed",
    ],
    [
      "denies busybox with no tag against busybox:1.36 only",
      { image: "busybox" },
      { allowedImages: ["busybox:1.36"] },
      null,
      0,
      "ImageNotAllowed",
    ],
    [
      "allows busybox with no tag as busybox:latest",
      { image: "busybox" },
      { allowedImages: ["busybox:latest"] },
      null,
      0,
      undefined,
    ],
  ]);
});

describe("imageIsPinned", () => {
  runRows(imageIsPinned, [
    [
      "allows a digest when required",
      { image: `busybox@sha256:${DIGEST}` },
      { requireDigest: true },
      null,
      0,
      undefined,
    ],
    [
      "allows tag and digest when required",
      { image: `busybox:1.36@sha256:${DIGEST}` },
      { requireDigest: true },
      null,
      0,
      undefined,
    ],
    ["allows a tag when not required", { image: "busybox:1.36" }, {}, null, 0, undefined],
    ["denies a tag when required", { image: "busybox:1.36" }, { requireDigest: true }, null, 0, "ImageDigestRequired"],
    [
      "denies a short digest",
      { image: `busybox@sha256:${DIGEST.slice(1)}` },
      { requireDigest: true },
      null,
      0,
      "ImageDigestRequired",
    ],
    [
      "denies an upper-case digest",
      { image: `busybox@sha256:${"A".repeat(64)}` },
      { requireDigest: true },
      null,
      0,
      "ImageDigestRequired",
    ],
  ]);
});

describe("profileIsAllowed", () => {
  runRows(profileIsAllowed, [
    ["allows the default profile (general) under the default list", {}, {}, null, 0, undefined],
    ["allows restricted under the default list", { profile: "restricted" }, {}, null, 0, undefined],
    ["denies netadmin under the default list", { profile: "netadmin" }, {}, null, 0, "ProfileNotAllowed"],
    ["denies sysadmin under the default list", { profile: "sysadmin" }, {}, null, 0, "ProfileNotAllowed"],
    ["allows netadmin when listed", { profile: "netadmin" }, { allowedProfiles: ["netadmin"] }, null, 0, undefined],
    ["denies general when not listed", {}, { allowedProfiles: ["restricted"] }, null, 0, "ProfileNotAllowed"],
  ]);
});

describe("privilegedIsAllowed", () => {
  runRows(privilegedIsAllowed, [
    ["allows an unprivileged debugger", {}, {}, null, 0, undefined],
    [
      "denies the sysadmin profile (it sets privileged)",
      { profile: "sysadmin" },
      { allowedProfiles: ["sysadmin"] },
      null,
      0,
      "PrivilegedNotAllowed",
    ],
    [
      "denies securityContext.privileged",
      { securityContext: { privileged: true } },
      {},
      null,
      0,
      "PrivilegedNotAllowed",
    ],
    ["allows sysadmin with allowPrivileged", { profile: "sysadmin" }, { allowPrivileged: true }, null, 0, undefined],
    [
      "allows securityContext.privileged with allowPrivileged",
      { securityContext: { privileged: true } },
      { allowPrivileged: true },
      null,
      0,
      undefined,
    ],
    [
      "allows sysadmin with privileged: false laid over it",
      { profile: "sysadmin", securityContext: { privileged: false } },
      {},
      null,
      0,
      undefined,
    ],
  ]);

  it("says where privileged came from", () => {
    expect(privilegedIsAllowed(input({ session: { profile: "sysadmin" } }))?.message).toContain("profile sysadmin");
    expect(privilegedIsAllowed(input({ session: { securityContext: { privileged: true } } }))?.message).toContain(
      "spec.securityContext.privileged: true",
    );
  });
});

describe("capabilitiesAreAllowed", () => {
  const add = (...caps: string[]): Partial<DebugSessionSpec> => ({ securityContext: { capabilities: { add: caps } } });
  runRows(capabilitiesAreAllowed, [
    ["allows SYS_PTRACE from the allowed general profile", {}, {}, null, 0, undefined],
    [
      "allows NET_ADMIN and NET_RAW from an allowed netadmin profile",
      { profile: "netadmin" },
      { allowedProfiles: ["netadmin"] },
      null,
      0,
      undefined,
    ],
    [
      "denies netadmin's capabilities when netadmin is not allowed",
      { profile: "netadmin" },
      {},
      null,
      0,
      "CapabilityNotAllowed",
    ],
    [
      "denies SYS_PTRACE when general is not allowed",
      {},
      { allowedProfiles: ["baseline"] },
      null,
      0,
      "CapabilityNotAllowed",
    ],
    ["denies an added capability that is not listed", add("NET_ADMIN"), {}, null, 0, "CapabilityNotAllowed"],
    [
      "denies a capability of another allowed profile",
      add("NET_ADMIN"),
      { allowedProfiles: ["general", "netadmin"] },
      null,
      0,
      "CapabilityNotAllowed",
    ],
    ["allows a listed capability", add("NET_ADMIN"), { allowedCapabilities: ["NET_ADMIN"] }, null, 0, undefined],
    [
      "compares names without CAP_ and case",
      add("cap_net_admin"),
      { allowedCapabilities: ["NET_ADMIN"] },
      null,
      0,
      undefined,
    ],
    [
      "denies adding ALL unless ALL is listed",
      add("ALL"),
      { allowedCapabilities: ["SYS_ADMIN", "NET_ADMIN"] },
      null,
      0,
      "CapabilityNotAllowed",
    ],
    [
      "allows anything when ALL is listed",
      add("SYS_ADMIN", "ALL"),
      { allowedCapabilities: ["ALL"] },
      null,
      0,
      undefined,
    ],
    [
      "allows added capabilities under restricted (which drops ALL) only when listed",
      { profile: "restricted", ...add("SYS_ADMIN") },
      {},
      null,
      0,
      "CapabilityNotAllowed",
    ],
    [
      "allows no capabilities at all under baseline",
      { profile: "baseline" },
      { allowedProfiles: ["baseline"] },
      null,
      0,
      undefined,
    ],
  ]);

  it("lists only the capabilities that are not allowed", () => {
    const v = capabilitiesAreAllowed(
      input({ session: add("SYS_ADMIN", "NET_RAW"), policy: { allowedCapabilities: ["NET_RAW"] } }),
    );
    expect(v?.message).toMatch(/^capabilities SYS_ADMIN are not allowed/);
    expect(v?.message).toContain("profile general adds SYS_PTRACE");
  });
});

describe("volumeMountsAreAllowed", () => {
  runRows(volumeMountsAreAllowed, [
    ["allows a session without mounts", {}, {}, withPod, 0, undefined],
    ["denies any mount by default", { volumeMounts: [mount("data")] }, {}, withPod, 0, "VolumeMountsNotAllowed"],
    [
      "denies a mount even while the pod is unknown",
      { volumeMounts: [mount("data")] },
      {},
      null,
      0,
      "VolumeMountsNotAllowed",
    ],
    [
      "allows a mount with allowVolumeMounts",
      { volumeMounts: [mount("data")] },
      { allowVolumeMounts: true },
      withPod,
      0,
      undefined,
    ],
  ]);
});

describe("mountedVolumesExist", () => {
  runRows(mountedVolumesExist, [
    [
      "allows mounts of the pod's volumes",
      { volumeMounts: [mount("data"), mount("config")] },
      {},
      withPod,
      0,
      undefined,
    ],
    [
      "denies a mount of a volume the pod lacks",
      { volumeMounts: [mount("data"), mount("ghost")] },
      {},
      withPod,
      0,
      "VolumeNotFound",
    ],
    [
      "denies a mount into a pod with no volumes",
      { volumeMounts: [mount("data")] },
      {},
      pod({ app: "web" }, []),
      0,
      "VolumeNotFound",
    ],
    ["is skipped while the pod is unknown", { volumeMounts: [mount("ghost")] }, {}, null, 0, undefined],
  ]);

  it("names the missing volume and those the pod has", () => {
    const v = mountedVolumesExist(input({ session: { volumeMounts: [mount("ghost")] } }));
    expect(v?.message).toContain('no volume "ghost"');
    expect(v?.message).toContain("pod volumes: data, config");
  });
});

describe("sensitiveVolumesAreAllowed", () => {
  const allowMounts: Partial<DebugPolicySpec> = { allowVolumeMounts: true };
  runRows(sensitiveVolumesAreAllowed, [
    ["allows an emptyDir", { volumeMounts: [mount("data")] }, allowMounts, withPod, 0, undefined],
    ["allows a configMap", { volumeMounts: [mount("config")] }, allowMounts, withPod, 0, undefined],
    [
      "allows a projected configMap and downwardAPI",
      { volumeMounts: [mount("bundle")] },
      allowMounts,
      withPod,
      0,
      undefined,
    ],
    [
      "denies a secret volume",
      { volumeMounts: [mount("creds")] },
      allowMounts,
      withPod,
      0,
      "SensitiveVolumeNotAllowed",
    ],
    [
      "denies a projected service account token",
      { volumeMounts: [mount("token")] },
      allowMounts,
      withPod,
      0,
      "SensitiveVolumeNotAllowed",
    ],
    [
      "denies a projected pod certificate",
      { volumeMounts: [mount("certs")] },
      allowMounts,
      withPod,
      0,
      "SensitiveVolumeNotAllowed",
    ],
    [
      "denies the kube-api-access token volume",
      { volumeMounts: [mount("kube-api-access-x7k2p")] },
      allowMounts,
      withPod,
      0,
      "SensitiveVolumeNotAllowed",
    ],
    [
      "denies kube-api-access-* by name while the pod is unknown",
      { volumeMounts: [mount("kube-api-access-x7k2p")] },
      allowMounts,
      null,
      0,
      "SensitiveVolumeNotAllowed",
    ],
    [
      "allows a secret volume with allowSensitiveVolumes",
      { volumeMounts: [mount("creds")] },
      { ...allowMounts, allowSensitiveVolumes: true },
      withPod,
      0,
      undefined,
    ],
  ]);
});

describe("isSensitiveVolume", () => {
  it.each<[string, V1Volume | undefined, boolean]>([
    ["data", { name: "data", emptyDir: {} }, false],
    ["creds", { name: "creds", secret: { secretName: "s" } }, true],
    ["p", { name: "p", projected: { sources: [{ secret: { name: "s" } }] } }, true],
    ["p", { name: "p", projected: { sources: [{ clusterTrustBundle: { path: "ca.pem", signerName: "x" } }] } }, false],
    ["p", { name: "p", projected: { sources: [] } }, false],
    ["kube-api-access-abc", undefined, true],
    ["whatever", undefined, false],
  ])("%s %j is sensitive: %s", (name, volume, sensitive) => {
    expect(isSensitiveVolume(name, volume)).toBe(sensitive);
  });
});

describe("secretEnvIsAllowed", () => {
  runRows(secretEnvIsAllowed, [
    ["allows literal values", { env: [{ name: "A", value: "1" }] }, {}, null, 0, undefined],
    [
      "allows configMap references",
      { env: [{ name: "A", valueFrom: { configMapKeyRef: { name: "c", key: "k" } } }] },
      {},
      null,
      0,
      undefined,
    ],
    [
      "denies a secretKeyRef",
      { env: [{ name: "A", value: "1" }, secretEnv("PASSWORD")] },
      {},
      null,
      0,
      "SecretEnvNotAllowed",
    ],
    [
      "allows a secretKeyRef with allowSecretEnv",
      { env: [secretEnv("PASSWORD")] },
      { allowSecretEnv: true },
      null,
      0,
      undefined,
    ],
  ]);

  it("names the variables", () => {
    expect(
      secretEnvIsAllowed(input({ session: { env: [secretEnv("PASSWORD"), secretEnv("TOKEN")] } }))?.message,
    ).toContain("environment variables PASSWORD, TOKEN come from Secrets");
  });
});

describe("ttlIsWithinMaximum", () => {
  runRows(ttlIsWithinMaximum, [
    ["allows the default TTL (30m) under the default maximum (2h)", {}, {}, null, 0, undefined],
    ["allows a ttl equal to maxTTL", { ttl: "2h" }, {}, null, 0, undefined],
    ["denies a ttl above maxTTL", { ttl: "2h1s" }, {}, null, 0, "TTLExceedsMaximum"],
    ["allows a longer ttl under a longer maxTTL", { ttl: "8h" }, { maxTTL: "8h" }, null, 0, undefined],
    [
      "denies a policy defaultTTL above its maxTTL for a session without ttl",
      {},
      { defaultTTL: "3h", maxTTL: "1h" },
      null,
      0,
      "TTLExceedsMaximum",
    ],
    ["denies a ttl that is not a duration", { ttl: "forever" }, {}, null, 0, "TTLInvalid"],
    ["denies under a maxTTL that is not a duration", {}, { maxTTL: "lots" }, null, 0, "TTLInvalid"],
  ]);
});

describe("configMapEnvIsAllowed", () => {
  it("refuses env from a ConfigMap unless allowSecretEnv, naming the variables and the fix", () => {
    const v = configMapEnvIsAllowed(
      input({ session: { env: [configMapEnv("TOKEN"), { name: "PLAIN", value: "x" }] } }),
    );
    expect(v).toMatchObject({ reason: "ConfigMapEnvNotAllowed" });
    expect(v?.message).toContain("TOKEN");
    expect(v?.message).not.toContain("PLAIN");
    expect(
      configMapEnvIsAllowed(input({ session: { env: [configMapEnv("TOKEN")] }, policy: { allowSecretEnv: true } })),
    ).toBeUndefined();
  });
});

describe("effectiveTTL", () => {
  it.each<[string | undefined, string | undefined, string]>([
    ["45m", "10m", "45m"],
    [undefined, "10m", "10m"],
    [undefined, undefined, "30m"],
  ])("session ttl %j, policy defaultTTL %j -> %j", (ttl, defaultTTL, expected) => {
    const s = session(ttl === undefined ? {} : { ttl });
    expect(effectiveTTL(s, policy(defaultTTL === undefined ? {} : { defaultTTL }))).toBe(expected);
  });
});

describe("podHasRoomForSession", () => {
  runRows(podHasRoomForSession, [
    ["allows the first session on a pod", {}, {}, null, 0, undefined],
    ["denies a second session under the default limit of 1", {}, {}, null, 1, "TooManySessions"],
    ["allows a third session under a limit of 3", {}, { maxSessionsPerPod: 3 }, null, 2, undefined],
    ["denies a fourth session under a limit of 3", {}, { maxSessionsPerPod: 3 }, null, 3, "TooManySessions"],
  ]);
});

describe("imageIsNamed", () => {
  runRows(imageIsNamed, [
    [
      "denies a bare sha256 image ID",
      { image: `sha256:${DIGEST}` },
      { allowedImages: ["**"] },
      null,
      0,
      "ImageNotNamed",
    ],
    ["denies a bare hex image ID", { image: DIGEST }, { allowedImages: ["**"] }, null, 0, "ImageNotNamed"],
    ["denies a short sha256 prefix", { image: "sha256:abc" }, { allowedImages: ["**"] }, null, 0, "ImageNotNamed"],
    ["allows a name pinned by digest", { image: `busybox@sha256:${DIGEST}` }, {}, null, 0, undefined],
    ["allows a plain name", { image: "busybox:1.36" }, {}, null, 0, undefined],
  ]);
  it("a bare ID is denied even when ** would match it", () => {
    const v = evaluatePolicy(input({ session: { image: `sha256:${DIGEST}` }, policy: { allowedImages: ["**"] } }));
    expect(v.map((x) => x.reason)).toEqual(["ImageNotNamed"]);
    expect(isBareImageID(`SHA256:${DIGEST.toUpperCase()}`)).toBe(true);
  });
});

describe("securityContextOnlyTightens", () => {
  const restricted = { profile: "restricted" as const };
  runRows(securityContextOnlyTightens, [
    ["allows no securityContext", {}, {}, null, 0, undefined],
    [
      "allows tightening: readOnlyRootFilesystem, drops, a non-root user",
      { securityContext: { readOnlyRootFilesystem: true, runAsUser: 1000, capabilities: { drop: ["ALL"] } } },
      {},
      null,
      0,
      undefined,
    ],
    [
      "allows RuntimeDefault seccomp and AppArmor",
      { securityContext: { seccompProfile: { type: "RuntimeDefault" }, appArmorProfile: { type: "RuntimeDefault" } } },
      {},
      null,
      0,
      undefined,
    ],
    [
      "allows a baseline SELinux type and a level",
      { securityContext: { seLinuxOptions: { type: "container_t", level: "s0:c1,c2" } } },
      {},
      null,
      0,
      undefined,
    ],
    [
      "allows runAsUser 0 under general (the image's choice anyway)",
      { securityContext: { runAsUser: 0 } },
      {},
      null,
      0,
      undefined,
    ],
    [
      "denies runAsNonRoot false under restricted",
      { ...restricted, securityContext: { runAsNonRoot: false } },
      {},
      null,
      0,
      "SecurityContextNotAllowed",
    ],
    [
      "denies runAsUser 0 under restricted",
      { ...restricted, securityContext: { runAsUser: 0 } },
      {},
      null,
      0,
      "SecurityContextNotAllowed",
    ],
    [
      "denies allowPrivilegeEscalation under restricted",
      { ...restricted, securityContext: { allowPrivilegeEscalation: true } },
      {},
      null,
      0,
      "SecurityContextNotAllowed",
    ],
    [
      "denies seccomp Unconfined",
      { securityContext: { seccompProfile: { type: "Unconfined" } } },
      {},
      null,
      0,
      "SecurityContextNotAllowed",
    ],
    [
      "denies seccomp Localhost",
      { securityContext: { seccompProfile: { type: "Localhost", localhostProfile: "x.json" } } },
      {},
      null,
      0,
      "SecurityContextNotAllowed",
    ],
    [
      "denies AppArmor Unconfined",
      { securityContext: { appArmorProfile: { type: "Unconfined" } } },
      {},
      null,
      0,
      "SecurityContextNotAllowed",
    ],
    [
      "denies SELinux spc_t",
      { securityContext: { seLinuxOptions: { type: "spc_t" } } },
      {},
      null,
      0,
      "SecurityContextNotAllowed",
    ],
    [
      "denies an SELinux user",
      { securityContext: { seLinuxOptions: { user: "system_u" } } },
      {},
      null,
      0,
      "SecurityContextNotAllowed",
    ],
    [
      "denies procMount Unmasked",
      { securityContext: { procMount: "Unmasked" } },
      {},
      null,
      0,
      "SecurityContextNotAllowed",
    ],
    [
      "denies a Windows host process",
      { securityContext: { windowsOptions: { hostProcess: true } } },
      {},
      null,
      0,
      "SecurityContextNotAllowed",
    ],
    [
      "allows loosening when the policy allows overrides",
      { ...restricted, securityContext: { runAsNonRoot: false, seccompProfile: { type: "Unconfined" } } },
      { allowSecurityContextOverrides: true },
      null,
      0,
      undefined,
    ],
  ]);
  it("names every loosened field", () => {
    expect(
      looseningsOf(
        { runAsNonRoot: true, allowPrivilegeEscalation: false },
        { runAsNonRoot: false, allowPrivilegeEscalation: true, seccompProfile: { type: "Unconfined" } },
      ),
    ).toEqual(["runAsNonRoot: false", "allowPrivilegeEscalation: true", "seccompProfile.type: Unconfined"]);
  });
});

describe("targetIsNotPrivileged", () => {
  const sharing = (spec: Partial<NonNullable<V1Pod["spec"]>>): V1Pod => ({
    ...pod(),
    spec: { containers: [{ name: "app" }], ...spec },
  });
  runRows(targetIsNotPrivileged, [
    ["allows an ordinary pod", {}, {}, withPod, 0, undefined],
    ["skips an unknown pod", {}, {}, null, 0, undefined],
    ["denies hostPID", {}, {}, sharing({ hostPID: true }), 0, "PrivilegedTarget"],
    ["denies hostIPC", {}, {}, sharing({ hostIPC: true }), 0, "PrivilegedTarget"],
    ["denies hostNetwork", {}, {}, sharing({ hostNetwork: true }), 0, "PrivilegedTarget"],
    [
      "denies a privileged container",
      {},
      {},
      sharing({ containers: [{ name: "app", securityContext: { privileged: true } }] }),
      0,
      "PrivilegedTarget",
    ],
    [
      "denies a privileged init container",
      {},
      {},
      sharing({ initContainers: [{ name: "init", securityContext: { privileged: true } }] }),
      0,
      "PrivilegedTarget",
    ],
    [
      "denies a privileged debugger already in the pod",
      {},
      {},
      sharing({ ephemeralContainers: [{ name: "dbg", securityContext: { privileged: true } }] }),
      0,
      "PrivilegedTarget",
    ],
    [
      "denies SYS_ADMIN on a container",
      {},
      {},
      sharing({ containers: [{ name: "app", securityContext: { capabilities: { add: ["cap_sys_admin"] } } }] }),
      0,
      "PrivilegedTarget",
    ],
    [
      "allows baseline capabilities on a container",
      {},
      {},
      sharing({
        containers: [{ name: "app", securityContext: { capabilities: { add: ["NET_BIND_SERVICE", "CHOWN"] } } }],
      }),
      0,
      undefined,
    ],
    [
      "denies a hostPath volume",
      {},
      {},
      sharing({ volumes: [{ name: "root", hostPath: { path: "/" } }] }),
      0,
      "PrivilegedTarget",
    ],
    [
      "allows all of it when the policy allows privileged targets",
      {},
      { allowPrivilegedTargets: true },
      sharing({ hostPID: true }),
      0,
      undefined,
    ],
  ]);
  it("names every reason the pod shares the node", () => {
    const p = sharing({ hostPID: true, hostNetwork: true, volumes: [{ name: "root", hostPath: { path: "/" } }] });
    expect(nodeSharingOf(p)).toEqual(["hostPID: true", "hostNetwork: true", "hostPath volume root (/)"]);
  });
});

describe("expiryActionIsAllowed", () => {
  runRows(expiryActionIsAllowed, [
    ["allows Evict by default", {}, {}, null, 0, undefined],
    ["allows Delete by default", { expiryAction: "Delete" }, {}, null, 0, undefined],
    [
      "denies Delete when only Evict is allowed",
      { expiryAction: "Delete" },
      { allowedExpiryActions: ["Evict"] },
      null,
      0,
      "ExpiryActionNotAllowed",
    ],
    [
      "denies the default Evict when only Delete is allowed",
      {},
      { allowedExpiryActions: ["Delete"] },
      null,
      0,
      "ExpiryActionNotAllowed",
    ],
  ]);
});

// ---- the matchers

describe("matchImage", () => {
  it.each<[string, string, boolean]>([
    ["busybox:1.36", "busybox:1.36", true],
    ["busybox:1.36", "busybox:1.37", false],
    ["busybox:1.36", "busybox:1.36.1", false],
    ["busybox:*", "busybox:1.36", true],
    ["busybox:*", "busybox:", true],
    ["busybox:*", `busybox:1.36@sha256:${DIGEST}`, true],
    ["busybox:*", `busybox@sha256:${DIGEST}`, false],
    ["busybox:*", "busybox", false],
    ["busybox:*", "busyboxx:1", false],
    ["busybox*", "busybox/evil:1", false],
    ["*", "busybox:1.36", true],
    ["*", "library/busybox:1.36", false],
    ["**", "anything/at/all:1", true],
    ["**", "", true],
    ["registry.local/**", "registry.local/a/b/c:1", true],
    ["registry.local/**", "registry.local.evil.com/a:1", false],
    ["registry.local/**", "evil.com/registry.local/a:1", false],
    ["registry.local/*:*", "registry.local/tools:1", true],
    ["registry.local/*:*", "registry.local/team/tools:1", false],
    ["registry.local/*/tools:*", "registry.local/team/tools:1", true],
    ["registry.local/***", "registry.local/a/b:1", true],
    ["*.local/**", "registry.local/a:1", true],
    ["*.local/**", "evil.com/x.local/a:1", false],
    ["**/debug:*", "a/b/debug:1", true],
    ["**/debug:*", "debug:1", false],
    ["", "", true],
    ["", "busybox", false],
    ["a*b*c", "aXbYc", true],
    ["a*b*c", "aXbY/c", false],
    ["ünï*", "ünïcode", true],
  ])("matchImage(%j, %j) is %s", (pattern, image, expected) => {
    expect(matchImage(pattern, image)).toBe(expected);
  });

  const oracle = (pattern: string, image: string): boolean => {
    const source = pattern
      .split(/(\*\*+|\*)/)
      .map((part) =>
        part.startsWith("**") ? ".*" : part === "*" ? "[^/]*" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
      )
      .join("");
    return new RegExp(`^${source}$`, "su").test(image);
  };

  it("agrees with a regular-expression reading of the rules", () => {
    const chars = fc.constantFrom("a", "b", "/", ":", ".", "@");
    fc.assert(
      fc.property(
        fc.string({ unit: fc.oneof(chars, fc.constant("*")), maxLength: 10 }),
        fc.string({ unit: chars, maxLength: 12 }),
        (pattern, image) => {
          expect(matchImage(pattern, image)).toBe(oracle(pattern, image));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("stays fast on a pattern that makes a backtracking regex explode", () => {
    const started = performance.now();
    expect(matchImage(`${"*a".repeat(40)}b`, "a".repeat(512))).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("imageSpellings", () => {
  it.each<[string, string[]]>([
    ["busybox", ["busybox", "docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"]],
    ["busybox:1.36", ["busybox:1.36", "docker.io/library/busybox:1.36"]],
    ["docker.io/library/busybox:1.36", ["docker.io/library/busybox:1.36", "busybox:1.36"]],
    [
      "index.docker.io/library/busybox:1.36",
      ["index.docker.io/library/busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"],
    ],
    ["docker.io/busybox:1.36", ["docker.io/busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"]],
    ["nicolaka/netshoot:v0.13", ["nicolaka/netshoot:v0.13", "docker.io/nicolaka/netshoot:v0.13"]],
    ["registry.local/tools:1", ["registry.local/tools:1"]],
    ["localhost:5000/tools", ["localhost:5000/tools", "localhost:5000/tools:latest"]],
    ["localhost/tools:1", ["localhost/tools:1"]],
    [`busybox@sha256:${DIGEST}`, [`busybox@sha256:${DIGEST}`, `docker.io/library/busybox@sha256:${DIGEST}`]],
  ])("%s is also written %j", (image, spellings) => {
    expect(imageSpellings(image).sort()).toEqual([...spellings].sort());
  });
});

describe("isPinnedByDigest", () => {
  it.each<[string, boolean]>([
    [`busybox@sha256:${DIGEST}`, true],
    [`registry.local:5000/a/b:1@sha256:${DIGEST}`, true],
    ["busybox:1.36", false],
    [`busybox@sha512:${DIGEST}${DIGEST}`, false],
    [`busybox@sha256:${DIGEST}x`, false],
    [`@sha256:${DIGEST}`, false],
  ])("%s: %s", (image, pinned) => {
    expect(isPinnedByDigest(image)).toBe(pinned);
  });
});

describe("matchesSelector", () => {
  const labels = { app: "web", tier: "frontend", "example.com/owner": "team-a" };
  it.each<[string, LabelSelector | undefined, Record<string, string> | undefined, boolean]>([
    ["absent selector selects nothing", undefined, labels, false],
    ["{} selects everything", {}, labels, true],
    ["{} selects a pod without labels", {}, undefined, true],
    ["matchLabels equal", { matchLabels: { app: "web" } }, labels, true],
    ["matchLabels all must hold", { matchLabels: { app: "web", tier: "backend" } }, labels, false],
    ["matchLabels on a pod without labels", { matchLabels: { app: "web" } }, undefined, false],
    ["matchLabels with a prefixed key", { matchLabels: { "example.com/owner": "team-a" } }, labels, true],
    ["In holds", { matchExpressions: [{ key: "tier", operator: "In", values: ["frontend", "edge"] }] }, labels, true],
    [
      "In fails on another value",
      { matchExpressions: [{ key: "tier", operator: "In", values: ["backend"] }] },
      labels,
      false,
    ],
    [
      "In fails on a missing label",
      { matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] },
      labels,
      false,
    ],
    [
      "In with no values selects nothing",
      { matchExpressions: [{ key: "tier", operator: "In", values: [] }] },
      labels,
      false,
    ],
    [
      "NotIn holds on another value",
      { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["backend"] }] },
      labels,
      true,
    ],
    [
      "NotIn holds on a missing label",
      { matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] },
      labels,
      true,
    ],
    [
      "NotIn fails on a listed value",
      { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["frontend"] }] },
      labels,
      false,
    ],
    ["NotIn with no values selects nothing", { matchExpressions: [{ key: "tier", operator: "NotIn" }] }, labels, false],
    ["Exists holds", { matchExpressions: [{ key: "app", operator: "Exists" }] }, labels, true],
    ["Exists fails", { matchExpressions: [{ key: "zone", operator: "Exists" }] }, labels, false],
    [
      "Exists with values selects nothing",
      { matchExpressions: [{ key: "app", operator: "Exists", values: ["web"] }] },
      labels,
      false,
    ],
    ["DoesNotExist holds", { matchExpressions: [{ key: "zone", operator: "DoesNotExist" }] }, labels, true],
    ["DoesNotExist fails", { matchExpressions: [{ key: "app", operator: "DoesNotExist" }] }, labels, false],
    [
      "matchLabels and matchExpressions together",
      {
        matchLabels: { app: "web" },
        matchExpressions: [
          { key: "tier", operator: "In", values: ["frontend"] },
          { key: "debug", operator: "DoesNotExist" },
        ],
      },
      labels,
      true,
    ],
    [
      "an inherited property is not a label",
      { matchExpressions: [{ key: "toString", operator: "Exists" }] },
      {},
      false,
    ],
  ])("%s", (_name, selector, podLabels, expected) => {
    expect(matchesSelector(selector, podLabels)).toBe(expected);
  });

  it("selects nothing for an operator the schema does not know", () => {
    const selector = JSON.parse('{"matchExpressions":[{"key":"app","operator":"Gt","values":["1"]}]}') as LabelSelector;
    expect(matchesSelector(selector, { app: "2" })).toBe(false);
  });
});

// ---- properties

describe("policy properties", () => {
  const allowAll: DebugPolicySpec = {
    targetSelector: {},
    allowedImages: ["**"],
    requireDigest: false,
    allowedProfiles: [...PROFILES],
    allowPrivileged: true,
    allowedCapabilities: ["ALL"],
    allowVolumeMounts: true,
    allowSensitiveVolumes: true,
    allowSecretEnv: true,
    defaultTTL: "30m",
    maxTTL: "24h",
    maxSessionsPerPod: 5,
  };
  const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);

  it("never finds a violation for a session inside an allow-all policy", () => {
    fc.assert(
      fc.property(
        fc.record({
          image: fc.string({ minLength: 1, maxLength: 40 }),
          profile: fc.option(fc.constantFrom(...PROFILES), { nil: undefined }),
          privileged: fc.option(fc.boolean(), { nil: undefined }),
          caps: fc.array(fc.constantFrom("NET_ADMIN", "SYS_ADMIN", "cap_sys_ptrace", "ALL"), { maxLength: 4 }),
          mounts: fc.subarray(VOLUMES.map((v) => v.name)),
          env: fc.array(fc.tuple(name, fc.boolean()), { maxLength: 4 }),
          ttlMinutes: fc.option(fc.integer({ min: 1, max: 24 * 60 }), { nil: undefined }),
          labels: fc.dictionary(name, name, { maxKeys: 4 }),
          others: fc.integer({ min: 0, max: 4 }),
        }),
        (g) => {
          const s = session({
            image: g.image,
            ...(g.profile ? { profile: g.profile } : {}),
            securityContext: {
              ...(g.privileged === undefined ? {} : { privileged: g.privileged }),
              capabilities: { add: g.caps },
            },
            volumeMounts: g.mounts.map(mount),
            env: g.env.map(([n, fromSecret]) => (fromSecret ? secretEnv(n) : { name: n, value: "v" })),
            ...(g.ttlMinutes === undefined ? {} : { ttl: `${g.ttlMinutes}m` }),
          });
          const violations = evaluatePolicy({
            session: s,
            policy: policy(allowAll),
            pod: pod(g.labels),
            otherSessionsOnPod: g.others,
          });
          expect(violations).toEqual([]);
        },
      ),
    );
  });

  it("always finds ImageNotAllowed for an image that no pattern matches, whatever else the session does", () => {
    const segment = fc.stringMatching(/^[a-z0-9.:-]{1,8}$/);
    const image = fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => parts.join("/"));
    const pattern = fc
      .array(fc.oneof(segment, fc.constantFrom("*", "**", "*:*")), { minLength: 1, maxLength: 3 })
      .map((p) => p.join("/"));
    fc.assert(
      fc.property(fc.array(pattern, { minLength: 1, maxLength: 4 }), image, fc.boolean(), (patterns, img, pinned) => {
        const ref = pinned ? `${img}@sha256:${DIGEST}` : img;
        fc.pre(!imageSpellings(ref).some((spelling) => patterns.some((p) => matchImage(p, spelling))));
        const violations = evaluatePolicy({
          session: session({ image: ref }),
          policy: policy({ ...allowAll, allowedImages: patterns }),
          pod: pod(),
          otherSessionsOnPod: 0,
        });
        expect(violations.map((v) => v.reason)).toEqual(["ImageNotAllowed"]);
        expect(violations[0]?.message).toContain(`"${ref}"`);
      }),
    );
  });
});

// ---- the CRD

interface CRDShape {
  spec: {
    names: { kind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[] };
    scope: string;
    versions: Array<{ name: string; subresources?: unknown; schema: { openAPIV3Schema: Schema } }>;
  };
}

function properties(schema: Schema, path: string): Array<[string, Schema]> {
  const out: Array<[string, Schema]> = [];
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    out.push([`${path}.${key}`, child], ...properties(child, `${path}.${key}`));
  }
  if (schema.items) out.push([`${path}[]`, schema.items], ...properties(schema.items, `${path}[]`));
  return out;
}

describe("DebugPolicy CRD", () => {
  const crd = debugPolicyCRD() as unknown as CRDShape;
  const version = crd.spec.versions[0]!;
  const specSchema = version.schema.openAPIV3Schema.properties?.spec as Schema;

  it("is generated into crds/", () => {
    expect(crdFiles().map(([p]) => p)).toContain("crds/debugging.dev_debugpolicies.yaml");
  });

  it("has the names, scope and short name kubectl uses", () => {
    expect(crd.spec.names).toMatchObject({
      kind: "DebugPolicy",
      plural: "debugpolicies",
      singular: "debugpolicy",
      shortNames: ["dbgpol"],
      categories: ["debugging"],
    });
    expect(crd.spec.scope).toBe("Namespaced");
    expect(version.name).toBe("v1alpha1");
    expect(version.subresources).toBeUndefined();
  });

  it("describes every property (kubectl explain shows them)", () => {
    const all = properties(specSchema, "spec");
    expect(all.map(([p]) => p)).toEqual(
      expect.arrayContaining(["spec.targetSelector.matchExpressions[].operator", "spec.allowedImages[]"]),
    );
    expect(all.filter(([, s]) => !s.description?.trim()).map(([p]) => p)).toEqual([]);
    expect(specSchema.description).toBeTruthy();
  });

  it("has exactly the spec fields the TypeScript type has", () => {
    const fields = {
      targetSelector: true,
      allowedImages: true,
      requireDigest: true,
      allowedProfiles: true,
      allowPrivileged: true,
      allowedCapabilities: true,
      allowVolumeMounts: true,
      allowSensitiveVolumes: true,
      allowSecretEnv: true,
      defaultTTL: true,
      maxTTL: true,
      maxSessionsPerPod: true,
      allowedExpiryActions: true,
      allowSecurityContextOverrides: true,
      allowPrivilegedTargets: true,
      deleteGitOpsManagedSessions: true,
      grantAttach: true,
      recordRetention: true,
      allowedModes: true,
      copy: true,
      defaultExpiryAction: true,
      allowIsolate: true,
    } satisfies Record<keyof DebugPolicySpec, true>;
    expect(Object.keys(specSchema.properties ?? {}).sort()).toEqual(Object.keys(fields).sort());
  });

  it("requires at least one image pattern and defaults to a closed policy", () => {
    const p = specSchema.properties ?? {};
    expect(specSchema.required).toEqual(["allowedImages"]);
    expect((p.allowedImages as Schema & { minItems?: number }).minItems).toBe(1);
    expect(p.allowedProfiles?.default).toEqual(["general", "baseline", "restricted"]);
    for (const flag of [
      "requireDigest",
      "allowPrivileged",
      "allowVolumeMounts",
      "allowSensitiveVolumes",
      "allowSecretEnv",
      "allowSecurityContextOverrides",
      "allowPrivilegedTargets",
    ]) {
      expect(p[flag]?.default, flag).toBe(false);
    }
    expect([p.defaultTTL?.default, p.maxTTL?.default, p.maxSessionsPerPod?.default]).toEqual(["30m", "2h", 1]);
    expect(p.maxSessionsPerPod?.minimum).toBe(1);
    expect(p.allowedModes?.default).toEqual(["Ephemeral"]);
    for (const [flag, schema] of Object.entries(p.copy?.properties ?? {})) expect(schema.default, flag).toBe(false);
  });

  it("checks defaultTTL <= maxTTL with CEL", () => {
    const rules = specSchema["x-kubernetes-validations"]?.map((v) => v.rule) ?? [];
    expect(rules.some((r) => r.includes("duration(self.defaultTTL) <= duration(self.maxTTL)"))).toBe(true);
  });
});

describe("nodeSharingOf and other debuggers", () => {
  it("a debugger that only adds the general profile's SYS_PTRACE does not make its pod privileged", () => {
    const p: V1Pod = {
      spec: {
        containers: [{ name: "app" }],
        ephemeralContainers: [{ name: "dbg-a", securityContext: { capabilities: { add: ["SYS_PTRACE"] } } }],
      },
    };
    expect(nodeSharingOf(p)).toEqual([]);
  });
});
