// decide's access rules: who asked, which DebugPolicy, whether RBAC lets them use it, what the policy
// allows, and how long the debugger may stay. Pure: no cluster, a fixed clock.
import type { V1Pod } from "@kubernetes/client-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  FINALIZER,
  REQUESTER_ANNOTATION,
  REQUESTER_GROUPS_ANNOTATION,
  SESSION_ANNOTATION,
  SESSION_LABEL,
  type Condition,
  type DebugPolicy,
  type DebugPolicySpec,
  type DebugSessionSpec,
  type DebugSessionStatus,
} from "../../src/api/types.ts";
import {
  DEFAULT_DECIDE_OPTIONS,
  DENIAL_REASONS,
  decide,
  requester,
  ttlMs,
  type AccessInput,
  type Plan,
} from "../../src/controller/decide.ts";
import { actionsOf, expire, whenRefused, type Action } from "./plan-readers.ts";
import {
  CNAME,
  MIN,
  NOW,
  NS,
  POD_UID,
  SESSION_NAME,
  STAMP,
  after,
  ago,
  ecStatus,
  iso,
  pod,
  running,
  session,
  type SessionOpts,
} from "./fixtures.ts";

const HOUR = 60 * MIN;

// ---- builders

/** A policy that allows what the default session asks for, with room to override any field. */
function policy(spec: Partial<DebugPolicySpec> = {}, name = "default"): DebugPolicy {
  return {
    apiVersion: "debugging.dev/v1alpha1",
    kind: "DebugPolicy",
    metadata: { name, namespace: NS },
    spec: { targetSelector: {}, allowedImages: ["busybox:*"], ...spec },
  };
}

/** Access granted: the policy exists, RBAC says yes, no other session on the pod. */
function access(o: Partial<AccessInput> = {}): AccessInput {
  return { policy: policy(), requesterMayUse: true, otherSessionsOnPod: 0, ...o };
}

/** A pod that already carries this session's debugger, running, with its marks. */
function taintedPod(): V1Pod {
  return pod({
    ephemeralContainers: [CNAME],
    ephemeralContainerStatuses: [ecStatus(running())],
    labels: { app: "web", [SESSION_LABEL]: SESSION_NAME },
    annotations: { [SESSION_ANNOTATION]: SESSION_NAME },
  });
}

/** The status of a session injected at `injectedAt`, as decide wrote it (expiresAt fixed). */
function injected(injectedAt: Date, ttl: number, extra: DebugSessionStatus = {}): DebugSessionStatus {
  return {
    phase: "Running",
    targetPodUID: POD_UID,
    containerName: CNAME,
    injectedAt: iso(injectedAt),
    expiresAt: iso(new Date(injectedAt.getTime() + ttl)),
    observedGeneration: 1,
    ...extra,
  };
}

// ---- plan readers

type Kind = Action["kind"];
const POD_WRITES: ReadonlySet<Kind> = new Set(["inject", "markPod", "removePod"]);
const kinds = (plan: Plan): Kind[] => actionsOf(plan).map((a) => a.kind);
const podWrites = (plan: Plan): Action[] => actionsOf(plan).filter((a) => POD_WRITES.has(a.kind));
const injects = (plan: Plan): boolean => actionsOf(plan).some((a) => a.kind === "inject");
const condOf = (status: DebugSessionStatus, type: string): Condition | undefined =>
  status.conditions?.find((c) => c.type === type);
const cond = (plan: Plan, type: string): Condition | undefined => condOf(plan.status, type);
/** Ready while the session starts or runs; once it ended, Reconciling carries that reason (kstatusConditions). */
const readyOr = (plan: Plan): Condition | undefined => cond(plan, "Ready") ?? cond(plan, "Reconciling");
const sessionEvents = (plan: Plan): Extract<Action, { kind: "event" }>[] =>
  actionsOf(plan).filter((a): a is Extract<Action, { kind: "event" }> => a.kind === "event" && a.on === "session");

/** Asserts the shape every denial has: Failed, nothing written to any pod, a bounded re-check. */
function expectDenied(plan: Plan, reason: string, maxRecheckMs = DEFAULT_DECIDE_OPTIONS.maxRecheckMs): void {
  expect(DENIAL_REASONS.has(reason)).toBe(true);
  expect(plan.status.phase).toBe("Failed");
  expect(cond(plan, "Injected")).toMatchObject({ status: "False", reason, message: plan.status.message });
  expect(readyOr(plan)).toMatchObject({ status: "False", reason });
  expect(podWrites(plan)).toEqual([]);
  expect(kinds(plan)).not.toContain("addFinalizer");
  expect(plan.status.targetPodUID).toBeUndefined();
  expect(plan.status.injectedAt).toBeUndefined();
  expect(plan.status.expiresAt).toBeUndefined();
  expect(plan.requeueAfterMs).toBe(maxRecheckMs);
}

// ---- tests

describe("decide access: who asked, which policy, may they use it", () => {
  it.each<{
    name: string;
    annotations?: Record<string, string>;
    spec?: Partial<DebugSessionSpec>;
    access: AccessInput;
    reason: string;
    mentions: string[];
  }>([
    {
      name: "a session without the requester stamp fails with RequesterUnknown",
      annotations: {},
      access: access(),
      reason: "RequesterUnknown",
      mentions: [REQUESTER_ANNOTATION, "config/admission"],
    },
    {
      name: "a session with only the groups stamp fails with RequesterUnknown",
      annotations: { [REQUESTER_GROUPS_ANNOTATION]: "team-a" },
      access: access(),
      reason: "RequesterUnknown",
      mentions: ["config/admission"],
    },
    {
      name: "an empty requester stamp counts as none",
      annotations: { [REQUESTER_ANNOTATION]: "" },
      access: access(),
      reason: "RequesterUnknown",
      mentions: ["config/admission"],
    },
    {
      name: "an unknown requester is reported before a missing policy and a refused RBAC check",
      annotations: {},
      access: access({ policy: undefined, requesterMayUse: false }),
      reason: "RequesterUnknown",
      mentions: ["config/admission"],
    },
    {
      name: "a missing default policy fails with PolicyNotFound naming shop/default and the sample",
      access: access({ policy: undefined }),
      reason: "PolicyNotFound",
      mentions: [`DebugPolicy ${NS}/default`, "config/samples/debugpolicy.yaml"],
    },
    {
      name: "a missing named policy fails with PolicyNotFound naming it",
      spec: { policy: "oncall" },
      access: access({ policy: undefined }),
      reason: "PolicyNotFound",
      mentions: [`DebugPolicy ${NS}/oncall`, "config/samples/debugpolicy.yaml"],
    },
    {
      name: "a missing policy is reported before a refused RBAC check",
      access: access({ policy: undefined, requesterMayUse: false }),
      reason: "PolicyNotFound",
      mentions: [`${NS}/default`],
    },
    {
      name: "RBAC refusing verb use fails with PolicyUseForbidden naming the user and the policy",
      access: access({ requesterMayUse: false }),
      reason: "PolicyUseForbidden",
      mentions: ["user alice", `DebugPolicy ${NS}/default`, '"use"'],
    },
    {
      name: "an RBAC check never made (undefined) counts as a refusal",
      access: access({ requesterMayUse: undefined }),
      reason: "PolicyUseForbidden",
      mentions: ["user alice", `DebugPolicy ${NS}/default`, '"use"'],
    },
    {
      name: "a refused RBAC check is reported before any policy violation",
      access: access({ requesterMayUse: false, policy: policy({ allowedImages: [] }), otherSessionsOnPod: 9 }),
      reason: "PolicyUseForbidden",
      mentions: ["user alice"],
    },
  ])("$name", ({ annotations, spec, access: acc, reason, mentions }) => {
    const plan = decide({ session: session({ annotations, spec, finalizers: [] }), pod: pod(), access: acc, now: NOW });
    expectDenied(plan, reason);
    for (const m of mentions) expect(plan.status.message).toContain(m);
    expect(actionsOf(plan)).toEqual([
      expect.objectContaining({ kind: "event", on: "session", type: "Warning", reason }),
    ]);
  });

  it.each([
    { name: "no requester", annotations: {}, acc: access(), reason: "RequesterUnknown" },
    { name: "no policy", annotations: undefined, acc: access({ policy: undefined }), reason: "PolicyNotFound" },
    {
      name: "RBAC refused",
      annotations: undefined,
      acc: access({ requesterMayUse: false }),
      reason: "PolicyUseForbidden",
    },
  ])(
    "a denial ($name) re-checks after options.maxRecheckMs, whatever the session's age",
    ({ annotations, acc, reason }) => {
      const options = { ...DEFAULT_DECIDE_OPTIONS, maxRecheckMs: 90_000 };
      const plan = decide({ session: session({ annotations }), pod: pod(), access: acc, now: NOW, options });
      expectDenied(plan, reason, 90_000);
    },
  );

  it("a denial keeps the finalizer: only the session's deletion removes it", () => {
    const plan = decide({ session: session(), pod: pod(), access: access({ policy: undefined }), now: NOW });
    expectDenied(plan, "PolicyNotFound");
    expect(kinds(plan).filter((k) => k !== "event")).toEqual([]);
  });

  it("a denial is decided even when the target pod does not exist yet", () => {
    const plan = decide({ session: session(), pod: undefined, access: access({ requesterMayUse: false }), now: NOW });
    expectDenied(plan, "PolicyUseForbidden");
  });
});

describe("decide access: policy violations", () => {
  it.each<{
    name: string;
    spec?: Partial<DebugSessionSpec>;
    policy: DebugPolicy;
    pod?: V1Pod;
    others?: number;
    violation: string;
  }>([
    {
      name: "an image outside allowedImages is ImageNotAllowed",
      policy: policy({ allowedImages: ["registry.internal/**"] }),
      violation: "ImageNotAllowed",
    },
    {
      name: "an image not pinned by digest under requireDigest is ImageDigestRequired",
      policy: policy({ requireDigest: true }),
      violation: "ImageDigestRequired",
    },
    {
      name: "a profile outside allowedProfiles is ProfileNotAllowed",
      spec: { profile: "netadmin" },
      policy: policy(),
      violation: "ProfileNotAllowed",
    },
    {
      name: "the privileged sysadmin profile without allowPrivileged is PrivilegedNotAllowed",
      spec: { profile: "sysadmin" },
      policy: policy({ allowedProfiles: ["general", "sysadmin"] }),
      violation: "PrivilegedNotAllowed",
    },
    {
      name: "securityContext.privileged without allowPrivileged is PrivilegedNotAllowed",
      spec: { securityContext: { privileged: true } },
      policy: policy(),
      violation: "PrivilegedNotAllowed",
    },
    {
      name: "an added capability outside allowedCapabilities is CapabilityNotAllowed",
      spec: { securityContext: { capabilities: { add: ["SYS_ADMIN"] } } },
      policy: policy(),
      violation: "CapabilityNotAllowed",
    },
    {
      name: "a pod whose labels miss targetSelector is PodNotSelected",
      policy: policy({ targetSelector: { matchLabels: { app: "web" } } }),
      pod: pod({ labels: { app: "db" } }),
      violation: "PodNotSelected",
    },
    {
      name: "a pod without labels under a selector is PodNotSelected",
      policy: policy({ targetSelector: { matchExpressions: [{ key: "tier", operator: "In", values: ["front"] }] } }),
      pod: pod(),
      violation: "PodNotSelected",
    },
    {
      name: "a policy without targetSelector selects no pod: PodNotSelected",
      policy: { ...policy(), spec: { allowedImages: ["busybox:*"] } },
      violation: "PodNotSelected",
    },
    {
      name: "volume mounts without allowVolumeMounts are VolumeMountsNotAllowed",
      spec: { volumeMounts: [{ name: "data", mountPath: "/data" }] },
      policy: policy(),
      pod: pod({ volumes: [{ name: "data", emptyDir: {} }] }),
      violation: "VolumeMountsNotAllowed",
    },
    {
      name: "a mount of a volume the pod lacks is VolumeNotFound",
      spec: { volumeMounts: [{ name: "nope", mountPath: "/x" }] },
      policy: policy({ allowVolumeMounts: true }),
      violation: "VolumeNotFound",
    },
    {
      name: "a mount of a secret volume without allowSensitiveVolumes is SensitiveVolumeNotAllowed",
      spec: { volumeMounts: [{ name: "creds", mountPath: "/creds" }] },
      policy: policy({ allowVolumeMounts: true }),
      pod: pod({ volumes: [{ name: "creds", secret: { secretName: "db" } }] }),
      violation: "SensitiveVolumeNotAllowed",
    },
    {
      name: "env from a Secret without allowSecretEnv is SecretEnvNotAllowed",
      spec: { env: [{ name: "PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "pw" } } }] },
      policy: policy(),
      violation: "SecretEnvNotAllowed",
    },
    {
      name: "a ttl above maxTTL is TTLExceedsMaximum before injection",
      spec: { ttl: "3h" },
      policy: policy({ maxTTL: "2h" }),
      violation: "TTLExceedsMaximum",
    },
    {
      name: "a policy defaultTTL above its own maxTTL is TTLExceedsMaximum",
      policy: policy({ defaultTTL: "3h", maxTTL: "1h" }),
      violation: "TTLExceedsMaximum",
    },
    {
      name: "a ttl that is not a duration is TTLInvalid",
      spec: { ttl: "forever" },
      policy: policy(),
      violation: "TTLInvalid",
    },
    {
      name: "one other session on the pod under the default maxSessionsPerPod of 1 is TooManySessions",
      policy: policy(),
      others: 1,
      violation: "TooManySessions",
    },
    {
      name: "otherSessionsOnPod above maxSessionsPerPod is TooManySessions",
      policy: policy({ maxSessionsPerPod: 2 }),
      others: 3,
      violation: "TooManySessions",
    },
    {
      name: "a policy other than the one the session names is PolicyMismatch",
      policy: policy({}, "someone-elses"),
      violation: "PolicyMismatch",
    },
  ])("$name", ({ spec, policy: pol, pod: p, others, violation }) => {
    const plan = decide({
      session: session({ spec }),
      pod: p ?? pod(),
      access: access({ policy: pol, otherSessionsOnPod: others ?? 0 }),
      now: NOW,
    });
    expectDenied(plan, "PolicyViolation");
    expect(plan.status.message).toContain(`${violation}: `);
    expect(cond(plan, "Injected")?.message).toContain(violation);
  });

  it("lists every violation, not only the first", () => {
    const plan = decide({
      session: session({ spec: { profile: "netadmin", image: "evil:latest" } }),
      pod: pod(),
      access: access({ otherSessionsOnPod: 1 }),
      now: NOW,
    });
    expectDenied(plan, "PolicyViolation");
    for (const v of ["ImageNotAllowed", "ProfileNotAllowed", "TooManySessions"])
      expect(plan.status.message).toContain(`${v}: `);
  });

  // The other side of each boundary above: the same kind of input, just inside the policy.
  it.each<{ name: string; spec?: Partial<DebugSessionSpec>; policy: DebugPolicy; pod?: V1Pod; others?: number }>([
    {
      name: "an image matching allowedImages",
      policy: policy({ allowedImages: ["registry.internal/**", "busybox:*"] }),
    },
    {
      name: "an allowed non-default profile",
      spec: { profile: "netadmin" },
      policy: policy({ allowedProfiles: ["netadmin"] }),
    },
    {
      name: "a privileged profile under allowPrivileged",
      spec: { profile: "sysadmin" },
      policy: policy({ allowedProfiles: ["sysadmin"], allowPrivileged: true }),
    },
    {
      name: "a pod whose labels match targetSelector",
      policy: policy({ targetSelector: { matchLabels: { app: "web" } } }),
      pod: pod({ labels: { app: "web", x: "y" } }),
    },
    { name: "otherSessionsOnPod one below maxSessionsPerPod", policy: policy({ maxSessionsPerPod: 3 }), others: 2 },
    { name: "a ttl equal to maxTTL", spec: { ttl: "2h" }, policy: policy({ maxTTL: "2h" }) },
  ])("allows $name: the plan injects", ({ spec, policy: pol, pod: p, others }) => {
    const plan = decide({
      session: session({ spec }),
      pod: p ?? pod(),
      access: access({ policy: pol, otherSessionsOnPod: others ?? 0 }),
      now: NOW,
    });
    expect(plan.status.phase).toBe("Injecting");
    expect(injects(plan)).toBe(true);
  });
});

describe("decide access: a denial is looked at again, a refusal is not", () => {
  const denials: { name: string; opts: SessionOpts; denied: AccessInput; reason: string }[] = [
    { name: "PolicyNotFound", opts: {}, denied: access({ policy: undefined }), reason: "PolicyNotFound" },
    { name: "PolicyUseForbidden", opts: {}, denied: access({ requesterMayUse: false }), reason: "PolicyUseForbidden" },
    {
      name: "PolicyViolation (image)",
      opts: {},
      denied: access({ policy: policy({ allowedImages: [] }) }),
      reason: "PolicyViolation",
    },
    {
      name: "PolicyViolation (TooManySessions)",
      opts: {},
      denied: access({ otherSessionsOnPod: 1 }),
      reason: "PolicyViolation",
    },
  ];

  /** The status a first pass wrote for a session the policy or RBAC denied, a minute before NOW. */
  const deniedStatus = (opts: SessionOpts, denied: AccessInput, reason: string): DebugSessionStatus => {
    const plan = decide({ session: session(opts), pod: pod(), access: denied, now: ago(MIN) });
    expectDenied(plan, reason);
    return plan.status;
  };

  it.each(denials)(
    "a session still denied ($name) stays Failed, re-checks, and does not repeat its Warning",
    ({ opts, denied, reason }) => {
      const status = deniedStatus(opts, denied, reason);
      const plan = decide({ session: session({ ...opts, status }), pod: pod(), access: denied, now: NOW });
      expectDenied(plan, reason);
      expect(sessionEvents(plan)).toEqual([]);
      expect(plan.status.endedAt).toBe(status.endedAt);
    },
  );

  it("a denial whose reason changed is reported again with the new reason", () => {
    const status = deniedStatus({}, access({ policy: undefined }), "PolicyNotFound");
    const plan = decide({
      session: session({ status }),
      pod: pod(),
      access: access({ requesterMayUse: false }),
      now: NOW,
    });
    expectDenied(plan, "PolicyUseForbidden");
    expect(sessionEvents(plan)).toEqual([expect.objectContaining({ type: "Warning", reason: "PolicyUseForbidden" })]);
  });

  // Regression: the re-evaluation used to reserve the pod and then end in the branch meant for an
  // InjectionRefused session with an unchanged generation, leaving it Failed forever.
  it.each(denials)(
    "a session denied before ($name) injects once the policy or role is fixed, same generation",
    ({ opts, denied, reason }) => {
      const status = deniedStatus(opts, denied, reason);
      const plan = decide({ session: session({ ...opts, status }), pod: pod(), access: access(), now: NOW });
      expect(plan.status.phase).toBe("Injecting");
      expect(kinds(plan)).toContain("inject");
      expect(plan.status).toMatchObject({
        targetPodUID: POD_UID,
        injectedAt: iso(NOW),
        expiresAt: iso(after(30 * MIN)),
      });
      expect(cond(plan, "Injected")).toMatchObject({ status: "True", reason: "Injected" });
    },
  );

  it.each(denials)(
    "a session denied before ($name), created without the finalizer, gets it and injects once fixed when its generation moved on",
    ({ opts, denied, reason }) => {
      const status = deniedStatus(opts, denied, reason);
      const plan = decide({
        session: session({ ...opts, status, generation: 2, finalizers: [] }),
        pod: pod(),
        access: access(),
        now: NOW,
      });
      expect(plan.status.phase).toBe("Injecting");
      expect(kinds(plan)).toEqual(expect.arrayContaining(["addFinalizer", "inject", "markPod"]));
      expect(plan.status).toMatchObject({ targetPodUID: POD_UID, injectedAt: iso(NOW), observedGeneration: 2 });
    },
  );

  it("a session denied before stays Pending, not Failed, when fixed while its pod is missing", () => {
    const status = deniedStatus({}, access({ policy: undefined }), "PolicyNotFound");
    const plan = decide({ session: session({ status }), pod: undefined, access: access(), now: NOW });
    expect(plan.status.phase).toBe("Pending");
    expect(cond(plan, "Injected")).toMatchObject({ reason: "TargetPodNotFound" });
    expect(podWrites(plan)).toEqual([]);
  });

  /** Failed statuses that are not denials: the apiserver refused, or the target cannot be debugged. */
  const refusedStatus = (): DebugSessionStatus => {
    const input = { session: session(), pod: pod(), access: access(), now: ago(MIN) };
    expect(injects(decide(input))).toBe(true);
    return whenRefused(input, "injection", 'pods "web-0" is forbidden: violates PodSecurity "baseline:latest"').status;
  };
  const finishedPodStatus = (): DebugSessionStatus => {
    const plan = decide({
      session: session(),
      pod: { ...pod(), status: { phase: "Succeeded" } },
      access: access(),
      now: ago(MIN),
    });
    expect(cond(plan, "Injected")?.reason).toBe("TargetPodFinished");
    return plan.status;
  };

  it.each<{ name: string; status: () => DebugSessionStatus; acc: AccessInput; reason: string }>([
    { name: "InjectionRefused, access fine", status: refusedStatus, acc: access(), reason: "InjectionRefused" },
    {
      name: "InjectionRefused, policy gone since",
      status: refusedStatus,
      acc: access({ policy: undefined }),
      reason: "InjectionRefused",
    },
    { name: "TargetPodFinished, access fine", status: finishedPodStatus, acc: access(), reason: "TargetPodFinished" },
  ])(
    "a Failed session ($name) with unchanged generation stays Failed and writes no pod",
    ({ status: make, acc, reason }) => {
      const status = make();
      expect(DENIAL_REASONS.has(reason)).toBe(false);
      expect(condOf(status, "Injected")?.reason).toBe(reason);
      const plan = decide({ session: session({ status }), pod: pod(), access: acc, now: NOW });
      expect(plan.status).toEqual(status);
      expect(podWrites(plan)).toEqual([]);
      expect(actionsOf(plan)).toEqual([]);
    },
  );
});

describe("decide access: status.requestedBy", () => {
  it.each<{ name: string; annotations: Record<string, string>; want: { username: string; groups?: string[] } }>([
    {
      name: "username and two groups",
      annotations: STAMP,
      want: { username: "alice", groups: ["team-a", "system:authenticated"] },
    },
    {
      name: "a single group",
      annotations: { [REQUESTER_ANNOTATION]: "bob", [REQUESTER_GROUPS_ANNOTATION]: "ops" },
      want: { username: "bob", groups: ["ops"] },
    },
    {
      name: "no groups annotation: no groups key",
      annotations: { [REQUESTER_ANNOTATION]: "bob" },
      want: { username: "bob" },
    },
    {
      name: "an empty groups annotation: no groups key",
      annotations: { [REQUESTER_ANNOTATION]: "bob", [REQUESTER_GROUPS_ANNOTATION]: "" },
      want: { username: "bob" },
    },
    {
      name: "empty items between commas are dropped",
      annotations: {
        [REQUESTER_ANNOTATION]: "system:serviceaccount:ci:deployer",
        [REQUESTER_GROUPS_ANNOTATION]: ",a,,b,",
      },
      want: { username: "system:serviceaccount:ci:deployer", groups: ["a", "b"] },
    },
  ])("mirrors the stamp: $name", ({ annotations, want }) => {
    const s = session({ annotations });
    expect(requester(s)).toStrictEqual(want);
    const plans = [
      decide({ session: s, pod: pod(), access: access(), now: NOW }),
      decide({ session: s, pod: pod(), access: access({ requesterMayUse: false }), now: NOW }),
      decide({
        session: session({ annotations, status: injected(ago(5 * MIN), 30 * MIN) }),
        pod: taintedPod(),
        access: access(),
        now: NOW,
      }),
    ];
    expect(plans.map((p) => p.status.phase)).toEqual(["Injecting", "Failed", "Running"]);
    for (const plan of plans) {
      expect(plan.status.requestedBy).toStrictEqual(want);
      expect("groups" in plan.status.requestedBy!).toBe(want.groups !== undefined);
    }
  });

  it("has no requestedBy at all when the stamp is missing", () => {
    const plan = decide({ session: session({ annotations: {} }), pod: pod(), access: access(), now: NOW });
    expect(requester(session({ annotations: {} }))).toBeUndefined();
    expect(plan.status).not.toHaveProperty("requestedBy");
  });

  it("names the requester in the pod event of the injection", () => {
    const plan = decide({
      session: session({ annotations: { [REQUESTER_ANNOTATION]: "carol" } }),
      pod: pod(),
      access: access(),
      now: NOW,
    });
    const podEvent = actionsOf(plan).find((a) => a.kind === "event" && a.on === "pod");
    expect(podEvent).toMatchObject({ reason: "DebuggerInjected" });
    expect(podEvent?.kind === "event" ? podEvent.message : "").toContain("requested by carol");
  });
});

describe("decide access: ttl", () => {
  it.each<{ name: string; ttl?: string; spec: Partial<DebugPolicySpec>; ms: number }>([
    { name: "no spec.ttl: the policy's defaultTTL", spec: { defaultTTL: "1h" }, ms: HOUR },
    { name: "no spec.ttl and no defaultTTL: 30m", spec: {}, ms: 30 * MIN },
    { name: "spec.ttl beats a longer defaultTTL", ttl: "45m", spec: { defaultTTL: "1h" }, ms: 45 * MIN },
    { name: "spec.ttl beats a shorter defaultTTL", ttl: "90m", spec: { defaultTTL: "10m" }, ms: 90 * MIN },
  ])("at injection, $name", ({ ttl, spec, ms }) => {
    const plan = decide({
      session: session({ spec: { ttl } }),
      pod: pod(),
      access: access({ policy: policy(spec) }),
      now: NOW,
    });
    expect(injects(plan)).toBe(true);
    expect(plan.status.injectedAt).toBe(iso(NOW));
    expect(plan.status.expiresAt).toBe(iso(after(ms)));
    expect(plan.requeueAfterMs).toBe(ms);
  });

  it("ttlMs caps a spec.ttl above maxTTL to maxTTL", () => {
    expect(ttlMs(session({ spec: { ttl: "5h" } }), policy({ maxTTL: "2h" }))).toBe(2 * HOUR);
    expect(ttlMs(session({ spec: { ttl: "90m" } }), policy({ maxTTL: "2h" }))).toBe(90 * MIN);
    expect(ttlMs(session(), policy({ defaultTTL: "3h", maxTTL: "2h" }))).toBe(2 * HOUR);
  });

  it.each([
    { name: "raised above maxTTL", ttl: "5h", ms: 2 * HOUR },
    { name: "raised to exactly maxTTL", ttl: "2h", ms: 2 * HOUR },
    { name: "raised below maxTTL", ttl: "1h", ms: HOUR },
  ])("after injection, a spec.ttl $name moves expiresAt and the requeue no further than maxTTL", ({ ttl, ms }) => {
    const injectedAt = ago(5 * MIN);
    const plan = decide({
      session: session({ spec: { ttl }, generation: 2, status: injected(injectedAt, 30 * MIN) }),
      pod: taintedPod(),
      access: access({ policy: policy({ maxTTL: "2h" }) }),
      now: NOW,
    });
    expect(plan.status.phase).toBe("Running");
    expect(plan.status.expiresAt).toBe(iso(new Date(injectedAt.getTime() + ms)));
    expect(plan.requeueAfterMs).toBe(ms - 5 * MIN);
  });

  it.each([
    { name: "shortened", defaultTTL: "10m" },
    { name: "lengthened", defaultTTL: "3h" },
    { name: "removed", defaultTTL: undefined },
  ])(
    "after injection, a policy defaultTTL $name does not move expiresAt of a session without spec.ttl",
    ({ defaultTTL }) => {
      const first = decide({
        session: session(),
        pod: pod(),
        access: access({ policy: policy({ defaultTTL: "1h" }) }),
        now: ago(20 * MIN),
      });
      expect(first.status.expiresAt).toBe(iso(after(40 * MIN)));
      const plan = decide({
        session: session({ status: first.status }),
        pod: taintedPod(),
        access: access({ policy: policy({ defaultTTL }) }),
        now: NOW,
      });
      expect(plan.status.phase).toBe("Running");
      expect(plan.status.expiresAt).toBe(iso(after(40 * MIN)));
      expect(plan.requeueAfterMs).toBe(40 * MIN);
      expect(kinds(plan)).not.toContain("removePod");
    },
  );
});

describe("decide access: not consulted once the debugger is in the pod", () => {
  const INJECTED_AT = ago(5 * MIN);
  const status = (): DebugSessionStatus => injected(INJECTED_AT, 30 * MIN);
  const EXPIRES_AT = new Date(INJECTED_AT.getTime() + 30 * MIN);

  it.each<{ name: string; annotations?: Record<string, string>; acc: AccessInput }>([
    { name: "policy gone and RBAC refused", acc: access({ policy: undefined, requesterMayUse: false }) },
    { name: "RBAC never asked", acc: access({ requesterMayUse: undefined }) },
    {
      name: "the policy now forbids the image and the pod is full",
      acc: access({ policy: policy({ allowedImages: [] }), otherSessionsOnPod: 5 }),
    },
    { name: "the requester stamp is gone", annotations: {}, acc: access({ policy: undefined }) },
  ])("a running tainted session keeps Running with $name, and still expires at expiresAt", ({ annotations, acc }) => {
    const s = session({ annotations, status: status() });
    const before = decide({ session: s, pod: taintedPod(), access: acc, now: NOW });
    expect(before.status.phase).toBe("Running");
    expect(before.status.expiresAt).toBe(iso(EXPIRES_AT));
    expect(cond(before, "Injected")).toMatchObject({ status: "True", reason: "Injected" });
    expect(cond(before, "Ready")).toMatchObject({ status: "True", reason: "Running" });
    for (const c of before.status.conditions ?? []) expect(DENIAL_REASONS.has(c.reason)).toBe(false);
    expect(kinds(before)).not.toContain("removePod");
    expect(before.requeueAfterMs).toBe(EXPIRES_AT.getTime() - NOW.getTime());

    const at = expire({ session: s, pod: taintedPod(), access: acc, now: EXPIRES_AT });
    expect(at.status.phase).toBe("Expired");
    expect(actionsOf(at).find((a) => a.kind === "removePod")).toMatchObject({ podUID: POD_UID, how: "Evict" });
  });

  // Regression: the retry of an injection into a reserved pod is judged again, like the first one.
  it("a reserved but not yet injected session does not inject after RBAC was revoked", () => {
    const s = session({
      status: { phase: "Injecting", targetPodUID: POD_UID, injectedAt: iso(ago(MIN)), observedGeneration: 1 },
    });
    const plan = decide({
      session: s,
      pod: pod(),
      access: access({ policy: undefined, requesterMayUse: false }),
      now: NOW,
    });
    expect(kinds(plan)).not.toContain("inject");
  });
});

describe("decide access: properties", () => {
  const mayUse = fc.constantFrom<boolean | undefined>(true, false, undefined);
  /** Statuses of a session nothing was injected for: none, waiting for its pod, denied earlier. */
  const prior = fc.constantFrom<"none" | "pending" | "denied">("none", "pending", "denied");

  const priorStatus = (kind: "none" | "pending" | "denied"): DebugSessionStatus | undefined => {
    if (kind === "none") return undefined;
    if (kind === "pending")
      return decide({ session: session(), pod: undefined, access: access(), now: ago(MIN) }).status;
    return decide({ session: session(), pod: pod(), access: access({ policy: undefined }), now: ago(MIN) }).status;
  };

  it("an un-injected session's plan injects only if requester, policy and RBAC all say yes", () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.boolean(),
        mayUse,
        prior,
        fc.integer({ min: 0, max: 3 }),
        fc.boolean(),
        (hasRequester, hasPolicy, requesterMayUse, before, generation, hasFinalizer) => {
          const s = session({
            annotations: hasRequester ? { ...STAMP } : {},
            status: priorStatus(before),
            generation: before === "none" ? 1 : 1 + generation,
            finalizers: hasFinalizer ? [FINALIZER] : [],
          });
          const acc: AccessInput = {
            policy: hasPolicy ? policy({ maxSessionsPerPod: 100 }) : undefined,
            requesterMayUse,
            otherSessionsOnPod: 0,
          };
          const plan = decide({ session: s, pod: pod(), access: acc, now: NOW });
          const allowed = hasRequester && hasPolicy && requesterMayUse === true;
          if (injects(plan)) expect(allowed).toBe(true);
          if (!allowed) {
            expect(podWrites(plan)).toEqual([]);
            expect(plan.status.phase).toBe("Failed");
            const want = !hasRequester ? "RequesterUnknown" : !hasPolicy ? "PolicyNotFound" : "PolicyUseForbidden";
            expect(cond(plan, "Injected")?.reason).toBe(want);
          } else if (before !== "denied" || generation > 0) {
            // The converse, where decide gets it right (a same-generation re-evaluation does not: see above).
            expect(injects(plan)).toBe(true);
            expect(plan.status.phase).toBe("Injecting");
          }
        },
      ),
    );
  });
});
