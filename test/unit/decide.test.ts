import type { V1ContainerState, V1Pod } from "@kubernetes/client-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  EXPIRES_ANNOTATION,
  EXPIRY_ACTION_ANNOTATION,
  FINALIZER,
  SESSION_ANNOTATION,
  SESSION_LABEL,
  type Condition,
  type DebugSession,
  type DebugSessionStatus,
  type Phase,
} from "../../src/api/types.ts";
import {
  decide as decideWithAccess,
  type AccessInput,
  type DecideInput,
  type Plan,
} from "../../src/controller/decide.ts";
import { markOps, injectOps } from "../../src/controller/writer.ts";
import { actionsOf, expire as expireWith, whenRefused, type Action } from "./plan-readers.ts";
import {
  ALLOW_ALL,
  CNAME,
  CREATED,
  MIN,
  NOW,
  POD_NAME,
  POD_UID,
  SESSION_NAME,
  STAMP,
  ago,
  ecStatus,
  iso,
  pod,
  running,
  session,
  terminated,
  waiting,
  type PodOpts,
  type SessionOpts,
} from "./fixtures.ts";

const TTL_30M = 30 * MIN;
const NEW_POD_UID = "pod-uid-replacement";

// ---- builders

/** decide with access granted: the rules of access have their own tests in decide-access.test.ts. */
const decide = (input: Omit<DecideInput, "access"> & { access?: AccessInput }): Plan =>
  decideWithAccess({ access: ALLOW_ALL, ...input });
/** Both passes of an expiry (plan-readers.ts), with the access of `decide` above. */
const expire = (input: Omit<DecideInput, "access"> & { access?: AccessInput }): Plan =>
  expireWith({ access: ALLOW_ALL, ...input });
/** The status decide plans when the apiserver refused a write of the plan it made for `input`. */
const refused = (
  input: Omit<DecideInput, "access">,
  of: "injection" | "eviction",
  message: string,
): DebugSessionStatus => whenRefused({ access: ALLOW_ALL, ...input }, of, message).status;

/** A pod that already carries this session's debugger (and its marks), in the given state. */
/**
 * Our debugger in the pod, and the pod marked: labelled, listing the session, and recording an expiry
 * later than any of these sessions' (a test about the recorded expiry sets its own annotations).
 */
function taintedPod(state?: V1ContainerState, o: PodOpts = {}): V1Pod {
  return pod({
    ephemeralContainers: [CNAME],
    ephemeralContainerStatuses: state ? [ecStatus(state)] : [],
    labels: { [SESSION_LABEL]: SESSION_NAME },
    annotations: MARKED,
    ...o,
  });
}

const MARKED = {
  [SESSION_ANNOTATION]: SESSION_NAME,
  [EXPIRES_ANNOTATION]: "2099-01-01T00:00:00.000Z",
  [EXPIRY_ACTION_ANNOTATION]: "Evict",
};

/** The status right after the reservation was written: the pod's UID and the injection time. */
function reserved(injectedAt: Date, extra: DebugSessionStatus = {}): DebugSessionStatus {
  return { phase: "Injecting", targetPodUID: POD_UID, injectedAt: iso(injectedAt), observedGeneration: 1, ...extra };
}

// ---- plan readers

type Kind = Action["kind"];
type ActionOf<K extends Kind> = Extract<Action, { kind: K }>;
const POD_WRITES: ReadonlySet<Kind> = new Set(["inject", "markPod", "removePod"]);

const kinds = (plan: Plan): Kind[] => actionsOf(plan).map((a) => a.kind);
const nonEventKinds = (plan: Plan): Kind[] => kinds(plan).filter((k) => k !== "event");
const podWrites = (plan: Plan): Action[] => actionsOf(plan).filter((a) => POD_WRITES.has(a.kind));
function actionOf<K extends Kind>(plan: Plan, kind: K): ActionOf<K> | undefined {
  return actionsOf(plan).find((a): a is ActionOf<K> => a.kind === kind);
}
const events = (plan: Plan): ActionOf<"event">[] =>
  actionsOf(plan).filter((a): a is ActionOf<"event"> => a.kind === "event");
const cond = (plan: Plan, type: string): Condition | undefined => plan.status.conditions?.find((c) => c.type === type);

/** Ready while the session starts or runs; once it ended, Reconciling carries that reason (kstatusConditions). */
const readyOr = (plan: Plan): Condition | undefined => cond(plan, "Ready") ?? cond(plan, "Reconciling");
/** Runs decide at `now` on the status an earlier plan produced, as a restarted operator would. */
function next(plan: Plan, o: SessionOpts, p: V1Pod | undefined, now: Date): Plan {
  return decide({ session: session({ ...o, status: plan.status }), pod: p, now });
}

// ---- tests

describe("decide: before injection", () => {
  it.each([
    {
      name: "a missing pod leaves the session Pending with TargetPodNotFound",
      pod: undefined,
      spec: {},
      phase: "Pending",
      reason: "TargetPodNotFound",
      requeues: true,
    },
    {
      name: "a Pending pod leaves the session Pending with TargetPodNotRunning",
      pod: pod({ phase: "Pending" }),
      spec: {},
      phase: "Pending",
      reason: "TargetPodNotRunning",
      requeues: true,
    },
    {
      name: "a pod being deleted is not injected into",
      pod: pod({ deletionTimestamp: ago(1000) }),
      spec: {},
      phase: "Pending",
      reason: "TargetPodNotRunning",
      requeues: true,
    },
    {
      name: "a Succeeded pod fails the session with TargetPodFinished",
      pod: pod({ phase: "Succeeded" }),
      spec: {},
      phase: "Failed",
      reason: "TargetPodFinished",
      requeues: false,
    },
    {
      name: "a Failed pod fails the session with TargetPodFinished",
      pod: pod({ phase: "Failed" }),
      spec: {},
      phase: "Failed",
      reason: "TargetPodFinished",
      requeues: false,
    },
    {
      name: "an absent targetContainer fails the session with TargetContainerNotFound",
      pod: pod({ containers: ["app", "sidecar"] }),
      spec: { targetContainer: "db" },
      phase: "Failed",
      reason: "TargetContainerNotFound",
      requeues: false,
    },
  ])("$name", ({ pod: p, spec, phase, reason, requeues }) => {
    const plan = decide({ session: session({ spec, finalizers: [] }), pod: p, now: NOW });
    expect(plan.status.phase).toBe(phase);
    expect(cond(plan, "Injected")).toMatchObject({ status: "False", reason });
    expect(readyOr(plan)).toMatchObject({ status: "False", reason });
    expect(plan.status.targetPodUID).toBeUndefined();
    expect(plan.status.injectedAt).toBeUndefined();
    expect(podWrites(plan)).toEqual([]);
    expect(nonEventKinds(plan)).toEqual([]);
    expect(events(plan)).toEqual([expect.objectContaining({ on: "session", type: "Warning", reason })]);
    if (requeues) {
      expect(plan.requeueAfterMs).toBeGreaterThanOrEqual(5_000);
      expect(plan.requeueAfterMs).toBeLessThanOrEqual(60_000);
    } else {
      expect(plan.requeueAfterMs).toBeUndefined();
    }
  });

  it.each([
    { age: 0, delay: 5_000 },
    { age: 4_000, delay: 5_000 },
    { age: 30_000, delay: 15_000 },
    { age: 100_000, delay: 50_000 },
    { age: 10 * MIN, delay: 60_000 },
    { age: 24 * 60 * MIN, delay: 60_000 },
  ])("re-checks a missing pod after $delay ms when the session is $age ms old", ({ age, delay }) => {
    const plan = decide({ session: session({ creationTimestamp: ago(age) }), pod: undefined, now: NOW });
    expect(plan.requeueAfterMs).toBe(delay);
  });

  it("does not repeat the Warning event while the pod stays missing", () => {
    const first = decide({ session: session(), pod: undefined, now: ago(MIN) });
    const second = next(first, {}, undefined, NOW);
    expect(second.status.phase).toBe("Pending");
    expect(events(second)).toEqual([]);
    expect(second.requeueAfterMs).toBe(60_000);
  });

  it("a failed session keeps its finalizer and is not retried for the same generation", () => {
    const failed = decide({ session: session(), pod: pod({ phase: "Succeeded" }), now: ago(MIN) });
    expect(nonEventKinds(failed)).toEqual([]);
    const again = next(failed, {}, pod(), NOW);
    expect(again.status).toEqual(failed.status);
    expect(actionsOf(again)).toEqual([]);
  });
});

describe("decide: injection", () => {
  const fresh = (): Plan => decide({ session: session({ finalizers: [] }), pod: pod(), now: NOW });

  it("injects into the running pod with no write before it; its status is the one after the injection", () => {
    const plan = fresh();
    expect(plan.status).toMatchObject({
      phase: "Injecting",
      message: "debugger is waiting: ContainerCreating",
      targetPodUID: POD_UID,
      containerName: CNAME,
      injectedAt: iso(NOW),
      expiresAt: "2026-01-01T00:40:00.000Z",
      observedGeneration: 1,
      attachCommand: `kubectl attach ${POD_NAME} -c ${CNAME} -n shop`,
    });
    expect(cond(plan, "Injected")).toMatchObject({
      status: "True",
      reason: "Injected",
      message: `ephemeral container ${CNAME} is in pod ${POD_NAME}`,
    });
    expect(readyOr(plan)).toMatchObject({
      status: "False",
      reason: "ContainerCreating",
      message: "waiting to start",
    });
    expect(plan.status.containerState).toBeUndefined();
    expect(plan.requeueAfterMs).toBe(TTL_30M);
  });

  it.each<{ name: string; state: V1ContainerState | undefined }>([
    { name: "no status yet", state: undefined },
    { name: "waiting in ContainerCreating", state: waiting("ContainerCreating") },
    { name: "waiting in PodInitializing", state: waiting("PodInitializing") },
  ])("the pass after the injection writes nothing and records no event when the debugger shows $name", ({ state }) => {
    const plan = fresh();
    const after = next(plan, {}, taintedPod(state), new Date(NOW.getTime() + 2000));
    expect(after.status).toStrictEqual(plan.status);
    expect(actionsOf(after)).toEqual([]);
  });

  it("plans addFinalizer, inject, markPod and the events, in that order", () => {
    const plan = fresh();
    expect(kinds(plan)).toEqual(["addFinalizer", "inject", "markPod", "event", "event"]);
    expect(actionOf(plan, "inject")).toMatchObject({
      pod: POD_NAME,
      podUID: POD_UID,
      container: { name: CNAME, image: "busybox:1.36" },
    });
    expect(injectOps(POD_UID, actionOf(plan, "inject")!.container, pod())[1]).toMatchObject({
      path: "/spec/ephemeralContainers",
    });
    const expiresAt = iso(new Date(NOW.getTime() + TTL_30M));
    const mark = actionOf(plan, "markPod")!;
    expect(mark).toEqual({
      kind: "markPod",
      pod: POD_NAME,
      podUID: POD_UID,
      label: SESSION_NAME,
      taintedBy: [SESSION_NAME],
      expiresAt,
      expiryAction: "Evict",
    });
    expect(plan.status.expiresAt).toBe(expiresAt);
    expect(markOps(POD_UID, mark, pod({ labels: undefined, annotations: undefined })).slice(1)).toEqual([
      { op: "add", path: "/metadata/labels", value: { [SESSION_LABEL]: SESSION_NAME } },
      {
        op: "add",
        path: "/metadata/annotations",
        value: {
          [SESSION_ANNOTATION]: SESSION_NAME,
          [EXPIRES_ANNOTATION]: expiresAt,
          [EXPIRY_ACTION_ANNOTATION]: "Evict",
        },
      },
    ]);
    expect(events(plan).map((e) => [e.on, e.type, e.reason])).toEqual([
      ["pod", "Normal", "DebuggerInjected"],
      ["session", "Normal", "Injected"],
    ]);
  });

  it.each([
    { ttl: "2h", ms: 2 * 60 * MIN },
    { ttl: "1h30m", ms: 90 * MIN },
    { ttl: "90s", ms: 90_000 },
  ])("a ttl of $ttl sets expiresAt and the requeue to now+$ms ms", ({ ttl, ms }) => {
    const plan = decide({ session: session({ spec: { ttl } }), pod: pod(), now: NOW });
    expect(plan.status.expiresAt).toBe(iso(new Date(NOW.getTime() + ms)));
    expect(plan.requeueAfterMs).toBe(ms);
  });

  it("does not add the finalizer again when the session already has it", () => {
    const plan = decide({ session: session(), pod: pod(), now: NOW });
    expect(kinds(plan)).not.toContain("addFinalizer");
    expect(kinds(plan)).toContain("inject");
  });

  it("appends to the pod's ephemeral containers when it already has others, and keeps other sessions' marks", () => {
    const p = pod({
      ephemeralContainers: ["debugger-abcde"],
      labels: { app: "web", [SESSION_LABEL]: "other" },
      annotations: { [SESSION_ANNOTATION]: "other" },
    });
    const plan = decide({ session: session(), pod: p, now: NOW });
    expect(actionOf(plan, "inject")).toMatchObject({ container: { name: CNAME } });
    expect(injectOps(POD_UID, actionOf(plan, "inject")!.container, p)[1]).toMatchObject({
      path: "/spec/ephemeralContainers/-",
    });
    const mark = actionOf(plan, "markPod")!;
    expect(mark).toMatchObject({ taintedBy: ["other", SESSION_NAME] });
    expect(markOps(POD_UID, mark, p).slice(1)).toEqual([
      { op: "add", path: "/metadata/labels/debugging.dev~1session", value: SESSION_NAME },
      { op: "add", path: "/metadata/annotations/debugging.dev~1tainted-by", value: `other,${SESSION_NAME}` },
      { op: "add", path: "/metadata/annotations/debugging.dev~1expires-at", value: plan.status.expiresAt },
      { op: "add", path: "/metadata/annotations/debugging.dev~1expiry-action", value: "Evict" },
    ]);
  });

  it("passes the session's container settings into the inject action", () => {
    const plan = decide({
      session: session({ spec: { targetContainer: "app", command: ["sh"], stdin: true, tty: true } }),
      pod: pod(),
      now: NOW,
    });
    expect(actionOf(plan, "inject")?.container).toMatchObject({
      targetContainerName: "app",
      command: ["sh"],
      stdin: true,
      tty: true,
    });
    expect(plan.status.attachCommand).toBe(`kubectl attach -it ${POD_NAME} -c ${CNAME} -n shop`);
  });

  it.each([
    { name: "with the reservation in status", status: reserved(ago(5 * MIN)), expiresAt: "2026-01-01T00:35:00.000Z" },
    {
      name: "even when the status was lost, counting from the container's start",
      status: undefined,
      expiresAt: "2026-01-01T00:39:00.000Z",
    },
  ])("adopts the debugger already in the pod after a restart $name: no second inject", ({ status, expiresAt }) => {
    const plan = decide({ session: session({ status }), pod: taintedPod(running()), now: NOW });
    expect(kinds(plan)).not.toContain("inject");
    expect(podWrites(plan)).toEqual([]);
    expect(plan.status).toMatchObject({ phase: "Running", targetPodUID: POD_UID, expiresAt });
    expect(plan.status.containerState).toEqual({ state: "running", startedAt: iso(ago(MIN)) });
  });

  // The injection went through and the operator stopped before the status write after it.
  it.each<{ name: string; state: V1ContainerState | undefined; injectedAt: Date }>([
    { name: "no status yet: from now", state: undefined, injectedAt: NOW },
    { name: "waiting in ContainerCreating: from now", state: waiting("ContainerCreating"), injectedAt: NOW },
    { name: "running: from its start", state: running(ago(2 * MIN)), injectedAt: ago(2 * MIN) },
    { name: "exited: from its start", state: terminated(0, "Completed"), injectedAt: ago(3 * MIN) },
  ])("adopts a debugger injected before a crash that lost the status write, $name", ({ state, injectedAt }) => {
    const pending = decide({ session: session(), pod: pod({ phase: "Pending" }), now: ago(MIN) });
    const plan = next(pending, {}, taintedPod(state), NOW);
    expect(kinds(plan)).not.toContain("inject");
    expect(podWrites(plan)).toEqual([]);
    expect(plan.status).toMatchObject({ targetPodUID: POD_UID, containerName: CNAME, injectedAt: iso(injectedAt) });
    expect(plan.status.expiresAt).toBe(iso(new Date(injectedAt.getTime() + TTL_30M)));
    expect(cond(plan, "Injected")).toMatchObject({ status: "True", reason: "Injected" });
    expect(plan.requeueAfterMs).toBe(injectedAt.getTime() + TTL_30M - NOW.getTime());
  });

  it("an adopted debugger that is still being created gets the status the injection would have written", () => {
    const pending = decide({ session: session(), pod: pod({ phase: "Pending" }), now: ago(MIN) });
    const injecting = next(pending, {}, pod(), NOW);
    const adopted = next(pending, {}, taintedPod(waiting("ContainerCreating")), NOW);
    expect(adopted.status).toStrictEqual(injecting.status);
  });

  it("marks an adopted pod when the crash came between the injection and the marks", () => {
    const plan = decide({
      session: session(),
      pod: taintedPod(running(), { labels: { app: "web" }, annotations: {} }),
      now: NOW,
    });
    expect(nonEventKinds(plan)).toEqual(["markPod"]);
    expect(actionOf(plan, "markPod")).toMatchObject({ podUID: POD_UID, taintedBy: [SESSION_NAME] });
  });

  it("adopts only the pod that carries this session's container: another session's debugger is not ours", () => {
    const p = pod({
      ephemeralContainers: ["dbg-other-12345"],
      ephemeralContainerStatuses: [ecStatus(running(), "dbg-other-12345")],
    });
    const plan = decide({ session: session(), pod: p, now: NOW });
    expect(actionOf(plan, "inject")).toMatchObject({ podUID: POD_UID, container: { name: CNAME } });
    expect(injectOps(POD_UID, actionOf(plan, "inject")!.container, p)[1]).toMatchObject({
      path: "/spec/ephemeralContainers/-",
    });
    expect(plan.status.injectedAt).toBe(iso(NOW));
  });

  it("adopts a container in the pod's spec whose status the kubelet has not reported yet", () => {
    const plan = decide({ session: session({ status: reserved(ago(5 * MIN)) }), pod: taintedPod(undefined), now: NOW });
    expect(kinds(plan)).not.toContain("inject");
    expect(plan.status.phase).toBe("Injecting");
    expect(cond(plan, "Injected")).toMatchObject({ status: "True", reason: "Injected" });
    expect(readyOr(plan)).toMatchObject({ status: "False", reason: "ContainerCreating" });
  });

  it("re-marks an adopted pod whose label and annotation are missing", () => {
    const p = taintedPod(running(), { labels: { app: "web" }, annotations: { note: "x" } });
    const plan = decide({ session: session({ status: reserved(ago(5 * MIN)) }), pod: p, now: NOW });
    expect(kinds(plan)).not.toContain("inject");
    expect(actionOf(plan, "markPod")).toMatchObject({
      podUID: POD_UID,
      label: SESSION_NAME,
      taintedBy: [SESSION_NAME],
    });
    expect(
      markOps(POD_UID, actionOf(plan, "markPod")!, p)
        .slice(1)
        .map((op) => (op as { path: string }).path),
    ).toEqual([
      "/metadata/labels/debugging.dev~1session",
      "/metadata/annotations/debugging.dev~1tainted-by",
      "/metadata/annotations/debugging.dev~1expires-at",
      "/metadata/annotations/debugging.dev~1expiry-action",
    ]);
  });

  it("retries the inject for a reserved pod that does not carry the debugger yet", () => {
    const plan = decide({ session: session({ status: reserved(ago(MIN)) }), pod: pod(), now: NOW });
    expect(actionOf(plan, "inject")).toMatchObject({ podUID: POD_UID });
    expect(plan.status.injectedAt).toBe(iso(ago(MIN)));
    expect(plan.requeueAfterMs).toBe(TTL_30M - MIN);
  });
});

describe("decide: mirroring the debugger's state", () => {
  const INJECTED_AT = ago(5 * MIN);
  const UNTIL_EXPIRY = TTL_30M - 5 * MIN;

  it.each([
    {
      name: "a debugger waiting in ImagePullBackOff stays Injecting with a Warning",
      state: waiting("ImagePullBackOff", "Back-off pulling image"),
      phase: "Injecting",
      ready: { status: "False", reason: "ImagePullBackOff", message: "Back-off pulling image" },
      event: { type: "Warning", reason: "ImagePullBackOff" },
      mirror: { state: "waiting", reason: "ImagePullBackOff", message: "Back-off pulling image" },
    },
    {
      name: "a debugger in ContainerCreating stays Injecting, unmirrored and without an event",
      state: waiting("ContainerCreating"),
      phase: "Injecting",
      ready: { status: "False", reason: "ContainerCreating", message: "waiting to start" },
      event: undefined,
      mirror: undefined,
    },
    {
      name: "a debugger in PodInitializing counts as ContainerCreating",
      state: waiting("PodInitializing"),
      phase: "Injecting",
      ready: { status: "False", reason: "ContainerCreating", message: "waiting to start" },
      event: undefined,
      mirror: undefined,
    },
    {
      name: "a debugger failing to be created is mirrored with a Warning",
      state: waiting("CreateContainerError", "no such user"),
      phase: "Injecting",
      ready: { status: "False", reason: "CreateContainerError", message: "no such user" },
      event: { type: "Warning", reason: "CreateContainerError" },
      mirror: { state: "waiting", reason: "CreateContainerError", message: "no such user" },
    },
    {
      name: "a running debugger makes the session Running and Ready",
      state: running(ago(MIN)),
      phase: "Running",
      ready: { status: "True", reason: "Running" },
      event: { type: "Normal", reason: "Running" },
      mirror: { state: "running", startedAt: iso(ago(MIN)) },
    },
    {
      name: "a debugger that exited with 3 makes the session Completed with exitCode 3",
      state: terminated(3),
      phase: "Completed",
      ready: { status: "False", reason: "DebuggerExited" },
      event: { type: "Normal", reason: "DebuggerExited" },
      mirror: {
        state: "terminated",
        reason: "Error",
        exitCode: 3,
        startedAt: iso(ago(3 * MIN)),
        finishedAt: iso(ago(MIN)),
      },
    },
  ])("$name, and still requeues exactly until expiresAt", ({ state, phase, ready, event, mirror }) => {
    const plan = decide({ session: session({ status: reserved(INJECTED_AT) }), pod: taintedPod(state), now: NOW });
    expect(plan.status.phase).toBe(phase);
    expect(plan.status.expiresAt).toBe("2026-01-01T00:35:00.000Z");
    expect(cond(plan, "Injected")).toMatchObject({ status: "True", reason: "Injected" });
    expect(readyOr(plan)).toMatchObject(ready);
    expect(plan.status.containerState).toEqual(mirror);
    expect(events(plan)).toEqual(event ? [expect.objectContaining({ on: "session", ...event })] : []);
    expect(podWrites(plan)).toEqual([]);
    expect(plan.requeueAfterMs).toBe(UNTIL_EXPIRY);
  });

  it("ignores other ephemeral containers' statuses", () => {
    const p = taintedPod(undefined, {
      ephemeralContainers: ["other-dbg", CNAME],
      ephemeralContainerStatuses: [ecStatus(running(), "other-dbg")],
    });
    const plan = decide({ session: session({ status: reserved(INJECTED_AT) }), pod: p, now: NOW });
    expect(plan.status.phase).toBe("Injecting");
    expect(plan.status.containerState).toBeUndefined();
  });
});

describe("decide: expiry", () => {
  const expiredAgo = (ms: number, extra: DebugSessionStatus = {}): DebugSessionStatus =>
    reserved(ago(TTL_30M + ms), { phase: "Running", ...extra });

  it("expires at exactly expiresAt even after a restart: evicts the pod with a UID precondition", () => {
    const plan = expire({ session: session({ status: expiredAgo(0) }), pod: taintedPod(running()), now: NOW });
    expect(plan.status.phase).toBe("Expired");
    expect(plan.status.expiresAt).toBe(iso(NOW));
    expect(actionOf(plan, "removePod")).toEqual({ kind: "removePod", pod: POD_NAME, podUID: POD_UID, how: "Evict" });
    expect(kinds(plan)).not.toContain("removeFinalizer");
  });

  it("plans the status after the removal: Expired, PodRemoved, the container state as it was before expiry", () => {
    const before = { state: "running" as const, startedAt: iso(ago(20 * MIN)) };
    const plan = expire({
      session: session({ status: expiredAgo(0, { containerState: before }) }),
      pod: taintedPod(terminated(137)),
      now: NOW,
    });
    expect(plan.status).toMatchObject({
      phase: "Expired",
      message: `the TTL ran out; pod ${POD_NAME} was evicted`,
      endedAt: iso(NOW),
      containerState: before,
    });
    expect(cond(plan, "Injected")).toMatchObject({ status: "True", reason: "Injected" });
    expect(readyOr(plan)).toMatchObject({
      status: "False",
      reason: "PodRemoved",
      message: "the pod was removed",
    });
    expect(cond(plan, "Expired")).toMatchObject({
      status: "True",
      reason: "PodRemoved",
      message: `expired at ${iso(NOW)}`,
    });
    expect(nonEventKinds(plan)).toEqual(["removePod"]);
    expect(events(plan).map((e) => [e.on, e.type, e.reason])).toEqual([
      ["pod", "Normal", "DebugSessionExpired"],
      ["session", "Normal", "Expired"],
    ]);
    expect(events(plan).at(-1)?.message).toBe(plan.status.message);
  });

  it("a disruption budget's refusal becomes Expired/EvictionBlocked, naming the time the pod is deleted instead", () => {
    const input = { session: session({ status: expiredAgo(0) }), pod: taintedPod(running()), now: NOW };
    const blocked = refused(input, "eviction", "Cannot evict pod as it would violate the pod's disruption budget.");
    expect(blocked.phase).toBe("Expired");
    expect(blocked.message).toContain("would violate the pod's disruption budget");
    expect(blocked.message).toContain(`deleted instead after ${iso(new Date(NOW.getTime() + 60_000))}`);
    expect(blocked.conditions?.find((c) => c.type === "Reconciling")).toMatchObject({
      status: "False",
      reason: "Expiring",
    });
    expect(blocked.conditions?.find((c) => c.type === "Expired")).toMatchObject({
      status: "True",
      reason: "EvictionBlocked",
    });
  });

  // That a 429 on a deletion is not taken for a disruption budget's refusal: apply.test.ts.
  it("expiryAction Delete plans a deletion, which no disruption budget can refuse", () => {
    const plan = decide({
      session: session({ spec: { expiryAction: "Delete" }, status: expiredAgo(0) }),
      pod: taintedPod(running()),
      now: NOW,
    });
    expect(actionOf(plan, "removePod")?.how).toBe("Delete");
  });

  it("does not expire one millisecond before expiresAt and comes back in exactly that millisecond", () => {
    const plan = decide({ session: session({ status: expiredAgo(-1) }), pod: taintedPod(running()), now: NOW });
    expect(plan.status.phase).toBe("Running");
    expect(kinds(plan)).not.toContain("removePod");
    expect(plan.requeueAfterMs).toBe(1);
  });

  it.each([
    { name: "expiryAction Delete deletes the pod", expiryAction: "Delete" as const, overdue: 0, how: "Delete" },
    {
      name: "an eviction just inside evictionTimeoutMs is still an eviction",
      expiryAction: undefined,
      overdue: 59_999,
      how: "Evict",
    },
    {
      name: "an eviction overdue by evictionTimeoutMs falls back to Delete",
      expiryAction: undefined,
      overdue: 60_000,
      how: "Delete",
    },
    {
      name: "an eviction overdue beyond evictionTimeoutMs falls back to Delete",
      expiryAction: "Evict" as const,
      overdue: 10 * MIN,
      how: "Delete",
    },
  ])("$name", ({ expiryAction, overdue, how }) => {
    const plan = expire({
      session: session({ spec: { expiryAction }, status: expiredAgo(overdue) }),
      pod: taintedPod(running()),
      now: NOW,
    });
    expect(plan.status.phase).toBe("Expired");
    expect(actionOf(plan, "removePod")).toEqual({ kind: "removePod", pod: POD_NAME, podUID: POD_UID, how });
    expect(plan.status.message).toBe(`the TTL ran out; pod ${POD_NAME} was ${how === "Evict" ? "evicted" : "deleted"}`);
    expect(cond(plan, "Expired")).toMatchObject({ status: "True", reason: "PodRemoved" });
  });

  it("honours custom evictionTimeoutMs", () => {
    const plan = decide({
      session: session({ status: expiredAgo(10_000) }),
      pod: taintedPod(running()),
      now: NOW,
      options: { evictionTimeoutMs: 5_000, minRecheckMs: 5_000, maxRecheckMs: 60_000 },
    });
    expect(actionOf(plan, "removePod")?.how).toBe("Delete");
  });

  it("retries the removal of an Expired session's pod that a disruption budget keeps standing", () => {
    const first = { session: session({ status: expiredAgo(0) }), pod: taintedPod(running()), now: NOW };
    const blocked = refused(first, "eviction", "would violate the pod's disruption budget");
    const again = expire({
      session: session({ status: blocked }),
      pod: taintedPod(running()),
      now: new Date(NOW.getTime() + 1000),
    });
    expect(actionOf(again, "removePod")).toMatchObject({ podUID: POD_UID, how: "Evict" });
    expect(again.status).toMatchObject({ phase: "Expired", endedAt: blocked.endedAt });
    expect(cond(again, "Expired")).toMatchObject({ reason: "PodRemoved" });
    const deadline = decide({
      session: session({ status: blocked }),
      pod: taintedPod(running()),
      now: new Date(NOW.getTime() + 60_000),
    });
    expect(actionOf(deadline, "removePod")).toMatchObject({ podUID: POD_UID, how: "Delete" });
  });

  it.each([
    { name: "being deleted", p: taintedPod(running(), { deletionTimestamp: ago(500) }) },
    { name: "gone", p: undefined },
    { name: "replaced", p: pod({ uid: NEW_POD_UID }) },
  ])("an eviction blocked until the pod is $name ends in Expired/PodRemoved without a removal", ({ p }) => {
    const first = { session: session({ status: expiredAgo(0) }), pod: taintedPod(running()), now: NOW };
    const blocked = refused(first, "eviction", "would violate the pod's disruption budget");
    const plan = decide({ session: session({ status: blocked }), pod: p, now: new Date(NOW.getTime() + 1000) });
    expect(plan.status.phase).toBe("Expired");
    expect(cond(plan, "Expired")).toMatchObject({ status: "True", reason: "PodRemoved" });
    expect(nonEventKinds(plan)).toEqual([]);
    expect(events(plan)).toEqual([expect.objectContaining({ on: "session", type: "Normal", reason: "PodRemoved" })]);
  });

  it("a pod already being deleted after expiry: Expired, no second removal, the finalizer stays", () => {
    const plan = decide({
      session: session({ status: expiredAgo(1000) }),
      pod: taintedPod(running(), { deletionTimestamp: ago(500) }),
      now: NOW,
    });
    expect(plan.status.phase).toBe("Expired");
    expect(cond(plan, "Expired")).toMatchObject({ status: "True", reason: "PodRemoved" });
    expect(nonEventKinds(plan)).toEqual([]);
  });

  it("a debugger that exited is still removed with its pod at expiry, and its exit stays in the status", () => {
    const completed = decide({
      session: session({ status: expiredAgo(MIN) }),
      pod: taintedPod(terminated(0, "Completed")),
      now: ago(2 * MIN),
    });
    expect(completed.status.phase).toBe("Completed");
    const plan = expire({
      session: session({ status: completed.status }),
      pod: taintedPod(terminated(0, "Completed")),
      now: NOW,
    });
    expect(plan.status.phase).toBe("Expired");
    expect(plan.status.containerState).toMatchObject({ state: "terminated", exitCode: 0 });
    expect(actionOf(plan, "removePod")).toMatchObject({ podUID: POD_UID });
  });

  it.each<{ name: string; p: V1Pod | undefined }>([
    { name: "still being deleted", p: taintedPod(running(), { deletionTimestamp: ago(500) }) },
    { name: "gone", p: undefined },
    { name: "replaced", p: taintedPod(running(), { uid: NEW_POD_UID }) },
    { name: "shown live by a stale cache", p: taintedPod(running()) },
  ])("once the pod was removed, the session writes and reports nothing more while the pod is $name", ({ p }) => {
    const removed = expire({ session: session({ status: expiredAgo(0) }), pod: taintedPod(running()), now: NOW });
    const later = next(removed, {}, p, new Date(NOW.getTime() + 5 * MIN));
    expect(later.status).toStrictEqual(removed.status);
    expect(actionsOf(later)).toEqual([]);
    expect(later.requeueAfterMs).toBeUndefined();
  });

  it("the removal's pass writes no status and comes back at once; the Expired status is the next pass's", () => {
    const input = { session: session({ status: expiredAgo(0) }), pod: taintedPod(running()), now: NOW };
    const removal = decide(input);
    expect(nonEventKinds(removal)).toEqual(["removePod"]);
    expect(removal.status).toStrictEqual(input.session.status);
    expect(removal.requeueAfterMs).toBe(0);
    expect(removal.record).toMatchObject({ how: "Expired", endedAt: iso(NOW) });
  });

  it.each<{ name: string; p: V1Pod | undefined; ttl?: string }>([
    { name: "a stale cache still shows the pod live", p: taintedPod(running()) },
    { name: "the ttl was raised since", p: taintedPod(running()), ttl: "2h" },
    { name: "the pod is gone and the ttl was raised", p: undefined, ttl: "2h" },
    { name: "the pod is being deleted", p: taintedPod(running(), { deletionTimestamp: NOW }) },
  ])("told of its removal, the next pass reports Expired once and removes nothing when $name", ({ p, ttl }) => {
    const input = { session: session({ status: expiredAgo(0) }), pod: taintedPod(running()), now: NOW };
    const removal = decide(input);
    const later = new Date(NOW.getTime() + 2000);
    const spec = ttl !== undefined ? { ttl } : {};
    const report = decide({
      session: session({ spec, status: removal.status }),
      pod: p,
      now: later,
      removed: { podUID: POD_UID, how: "Evict" },
    });
    expect(nonEventKinds(report)).toEqual([]);
    expect(report.status.phase).toBe("Expired");
    expect(cond(report, "Expired")).toMatchObject({ status: "True", reason: "PodRemoved" });
    // The session's Expired Event went out with the removal: none again.
    expect(events(report)).toEqual([]);
    if (p !== undefined) expect(report.status.message).toBe(`the TTL ran out; pod ${POD_NAME} was evicted`);
  });

  it("a removal of another pod (the one reserved before) says nothing of this one", () => {
    const report = decide({
      session: session({ status: expiredAgo(0) }),
      pod: taintedPod(running()),
      now: NOW,
      removed: { podUID: NEW_POD_UID, how: "Evict" },
    });
    expect(actionOf(report, "removePod")).toMatchObject({ podUID: POD_UID });
  });

  it("a record retried on later passes keeps one endedAt (the deadline), so its give-up clock does not restart", () => {
    const input = { session: session({ status: expiredAgo(0) }), pod: taintedPod(running()) };
    const first = decide({ ...input, now: NOW });
    const tenSecondsOn = decide({ ...input, now: new Date(NOW.getTime() + 10_000) });
    expect(first.record?.endedAt).toBe(iso(NOW));
    expect(tenSecondsOn.record?.endedAt).toBe(iso(NOW));
  });
});

describe("decide: the pod went away or was replaced", () => {
  it.each<{ name: string; phase: Phase; injectedAgo: number; replacement: V1Pod }>([
    { name: "while Injecting", phase: "Injecting", injectedAgo: MIN, replacement: pod({ uid: NEW_POD_UID }) },
    { name: "while Running", phase: "Running", injectedAgo: 5 * MIN, replacement: pod({ uid: NEW_POD_UID }) },
    { name: "while Completed", phase: "Completed", injectedAgo: 5 * MIN, replacement: pod({ uid: NEW_POD_UID }) },
    {
      name: "even when the new pod has a container of the same name",
      phase: "Running",
      injectedAgo: 5 * MIN,
      replacement: taintedPod(running(), { uid: NEW_POD_UID }),
    },
  ])(
    "a replaced pod ($name) ends the session Terminated/TargetPodReplaced and the new pod is never written",
    ({ phase, injectedAgo, replacement }) => {
      const plan = decide({
        session: session({ status: reserved(ago(injectedAgo), { phase }) }),
        pod: replacement,
        now: NOW,
      });
      expect(plan.status.phase).toBe("Terminated");
      expect(plan.status.targetPodUID).toBe(POD_UID);
      expect(readyOr(plan)).toMatchObject({ status: "False", reason: "TargetPodReplaced" });
      expect(podWrites(plan)).toEqual([]);
      expect(nonEventKinds(plan)).toEqual([]);
      expect(plan.requeueAfterMs).toBeUndefined();
    },
  );

  it("a pod gone before expiry ends the session Terminated/TargetPodGone", () => {
    const plan = decide({
      session: session({ status: reserved(ago(5 * MIN), { phase: "Running" }) }),
      pod: undefined,
      now: NOW,
    });
    expect(plan.status.phase).toBe("Terminated");
    expect(readyOr(plan)).toMatchObject({ status: "False", reason: "TargetPodGone" });
    expect(nonEventKinds(plan)).toEqual([]);
    expect(events(plan)).toEqual([expect.objectContaining({ type: "Warning", reason: "TargetPodGone" })]);
  });

  it("a pod being deleted before expiry ends the session Terminated without another removal", () => {
    const plan = decide({
      session: session({ status: reserved(ago(5 * MIN), { phase: "Running" }) }),
      pod: taintedPod(running(), { deletionTimestamp: ago(1000) }),
      now: NOW,
    });
    expect(plan.status.phase).toBe("Terminated");
    expect(podWrites(plan)).toEqual([]);
    expect(nonEventKinds(plan)).toEqual([]);
  });

  it.each([
    { name: "gone", replacement: undefined },
    { name: "replaced", replacement: pod({ uid: NEW_POD_UID }) },
  ])("a pod $name after expiry makes the session Expired, not Terminated", ({ replacement }) => {
    const plan = decide({
      session: session({ status: reserved(ago(TTL_30M + MIN), { phase: "Expired" }) }),
      pod: replacement,
      now: NOW,
    });
    // phase Expired with no live pod is terminal: the status stays as it was.
    expect(plan.status.phase).toBe("Expired");
    const fromRunning = decide({
      session: session({ status: reserved(ago(TTL_30M + MIN), { phase: "Running" }) }),
      pod: replacement,
      now: NOW,
    });
    expect(fromRunning.status.phase).toBe("Expired");
    expect(cond(fromRunning, "Expired")).toMatchObject({ status: "True", reason: "PodRemoved" });
    expect(podWrites(fromRunning)).toEqual([]);
    expect(nonEventKinds(fromRunning)).toEqual([]);
  });

  it("a Terminated session stays Terminated when the pod comes back", () => {
    const gone = decide({
      session: session({ status: reserved(ago(5 * MIN), { phase: "Running" }) }),
      pod: undefined,
      now: ago(MIN),
    });
    const later = next(gone, {}, pod({ uid: NEW_POD_UID }), NOW);
    expect(later.status).toEqual(gone.status);
    expect(actionsOf(later)).toEqual([]);
  });
});

describe("decide: the session is deleted", () => {
  const deleting = (status?: DebugSessionStatus): DebugSession => session({ status, deletionTimestamp: ago(1000) });

  it("removes the pod it tainted (Delete, with a UID precondition), then its finalizer", () => {
    const plan = decide({
      session: deleting(reserved(ago(5 * MIN), { phase: "Running" })),
      pod: taintedPod(running()),
      now: NOW,
    });
    expect(nonEventKinds(plan)).toEqual(["removePod", "removeFinalizer"]);
    expect(actionOf(plan, "removePod")).toEqual({ kind: "removePod", pod: POD_NAME, podUID: POD_UID, how: "Delete" });
    expect(plan.status.phase).toBe("Running");
  });

  it.each<{ name: string; status: DebugSessionStatus | undefined }>([
    { name: "the status written after the injection is lost", status: undefined },
    {
      name: "the session was still Pending when the injection went through",
      status: { phase: "Pending", observedGeneration: 1 },
    },
  ])("removes the pod carrying its container when $name, by the pod's UID", ({ status }) => {
    const plan = decide({ session: deleting(status), pod: taintedPod(running()), now: NOW });
    expect(nonEventKinds(plan)).toEqual(["removePod", "removeFinalizer"]);
    expect(actionOf(plan, "removePod")).toEqual({ kind: "removePod", pod: POD_NAME, podUID: POD_UID, how: "Delete" });
    expect(events(plan)).toEqual([expect.objectContaining({ on: "pod", reason: "DebugSessionDeleted" })]);
    expect(plan.status).toEqual(status ?? {});
  });

  it("of an expired session whose pod was removed, only removes its finalizer", () => {
    const expired = decide({
      session: session({ status: reserved(ago(TTL_30M), { phase: "Running" }) }),
      pod: taintedPod(running()),
      now: NOW,
    });
    const plan = decide({
      session: deleting(expired.status),
      pod: taintedPod(running(), { deletionTimestamp: ago(500) }),
      now: NOW,
    });
    expect(actionsOf(plan)).toEqual([{ kind: "removeFinalizer" }]);
    expect(plan.status).toEqual(expired.status);
  });

  it("without the finalizer (gone already, or never added) plans nothing for a pod that is not live", () => {
    const plan = decide({
      session: session({
        status: reserved(ago(5 * MIN), { phase: "Running" }),
        deletionTimestamp: ago(1000),
        finalizers: [],
      }),
      pod: undefined,
      now: NOW,
    });
    expect(actionsOf(plan)).toEqual([]);
  });

  it.each([
    { name: "no pod", status: reserved(ago(5 * MIN), { phase: "Running" }), pod: undefined },
    {
      name: "a replaced pod",
      status: reserved(ago(5 * MIN), { phase: "Running" }),
      pod: taintedPod(running(), { uid: NEW_POD_UID }),
    },
    {
      name: "a pod already being deleted",
      status: reserved(ago(5 * MIN), { phase: "Running" }),
      pod: taintedPod(running(), { deletionTimestamp: ago(500) }),
    },
    { name: "a pod that was never injected into", status: undefined, pod: pod() },
  ])("with $name only removes its finalizer", ({ status, pod: p }) => {
    const plan = decide({ session: deleting(status), pod: p, now: NOW });
    expect(actionsOf(plan)).toEqual([{ kind: "removeFinalizer" }]);
  });
});

describe("decide: an injection the apiserver refuses", () => {
  const refusedStatus = (): DebugSessionStatus => {
    const input = { session: session(), pod: pod(), now: ago(MIN) };
    expect(kinds(decide(input))).toContain("inject");
    return refused(input, "injection", 'pods "web-0" is forbidden: violates PodSecurity "restricted:latest"');
  };

  it("becomes Failed with InjectionRefused", () => {
    const status = refusedStatus();
    expect(status.phase).toBe("Failed");
    expect(status.targetPodUID).toBe(POD_UID);
    expect(status.message).toContain("violates PodSecurity");
    expect(status.conditions?.find((c) => c.type === "Injected")).toMatchObject({
      status: "False",
      reason: "InjectionRefused",
    });
  });

  it("is not retried while the generation stays the same", () => {
    const status = refusedStatus();
    const plan = decide({ session: session({ status }), pod: pod(), now: NOW });
    expect(podWrites(plan)).toEqual([]);
    expect(plan.status).toEqual(status);
    expect(actionsOf(plan)).toEqual([]);
  });

  it("is tried again once the spec changed (generation bumped)", () => {
    const status = refusedStatus();
    const plan = decide({ session: session({ status, generation: 2, spec: { ttl: "1h" } }), pod: pod(), now: NOW });
    expect(actionOf(plan, "inject")).toMatchObject({ podUID: POD_UID, container: { name: CNAME } });
    expect(plan.status.phase).toBe("Injecting");
    expect(plan.status.observedGeneration).toBe(2);
  });
});

describe("decide: ttl changes", () => {
  it("a ttl grown to 1h after injection moves expiresAt and the requeue", () => {
    const status = reserved(ago(20 * MIN), {
      phase: "Running",
      expiresAt: iso(new Date(ago(20 * MIN).getTime() + TTL_30M)),
    });
    const plan = decide({
      session: session({ status, generation: 2, spec: { ttl: "1h" } }),
      pod: taintedPod(running()),
      now: NOW,
    });
    expect(plan.status.expiresAt).toBe("2026-01-01T00:50:00.000Z");
    expect(plan.status.observedGeneration).toBe(2);
    expect(plan.requeueAfterMs).toBe(40 * MIN);
  });

  it("a ttl grown past the old deadline keeps the pod after the old expiresAt", () => {
    const plan = decide({
      session: session({ status: reserved(ago(40 * MIN), { phase: "Running" }), spec: { ttl: "1h" } }),
      pod: taintedPod(running()),
      now: NOW,
    });
    expect(plan.status.phase).toBe("Running");
    expect(kinds(plan)).not.toContain("removePod");
    expect(plan.requeueAfterMs).toBe(20 * MIN);
  });
});

describe("decide: an expired session stays expired", () => {
  it("a ttl raised while a disruption budget still refuses the eviction does not revive the debugger", () => {
    const status = reserved(ago(31 * MIN), { phase: "Expired" });
    const plan = decide({
      session: session({ status, generation: 2, spec: { ttl: "2h" } }),
      pod: taintedPod(running()),
      now: NOW,
    });
    expect(plan.status.phase).toBe("Expired");
    expect(actionOf(plan, "removePod")).toMatchObject({ podUID: POD_UID });
  });
});

describe("decide: pod marks", () => {
  it("adds the label without listing the session twice in the annotation", () => {
    const p = taintedPod(running(), { labels: { app: "web" }, annotations: { [SESSION_ANNOTATION]: SESSION_NAME } });
    const plan = decide({ session: session({ status: reserved(ago(MIN), { phase: "Running" }) }), pod: p, now: NOW });
    expect(actionOf(plan, "markPod")).toMatchObject({ label: SESSION_NAME, taintedBy: [SESSION_NAME] });
  });

  it("appends a second session to the annotation of a pod another session tainted", () => {
    const p = taintedPod(running(), { annotations: { [SESSION_ANNOTATION]: "other" } });
    const plan = decide({ session: session({ status: reserved(ago(MIN), { phase: "Running" }) }), pod: p, now: NOW });
    expect(actionOf(plan, "markPod")).toMatchObject({ taintedBy: ["other", SESSION_NAME] });
  });
});

describe("decide: the expiry the pod records (for orphans.ts)", () => {
  const marked = (expiresAt: string, expiryAction = "Evict", by = SESSION_NAME): V1Pod =>
    taintedPod(running(), {
      annotations: {
        [SESSION_ANNOTATION]: by,
        [EXPIRES_ANNOTATION]: expiresAt,
        [EXPIRY_ACTION_ANNOTATION]: expiryAction,
      },
    });
  const runningFor = (spec: SessionOpts["spec"] = {}) =>
    session({ spec, status: reserved(ago(MIN), { phase: "Running" }) });
  const deadline = (ttlMs: number) => iso(new Date(ago(MIN).getTime() + ttlMs));

  it("writes nothing to a pod that records this session's expiry already", () => {
    const plan = decide({ session: runningFor(), pod: marked(deadline(TTL_30M)), now: NOW });
    expect(podWrites(plan)).toEqual([]);
  });

  it("records the later expiry when the ttl was raised after the injection, in one pod write", () => {
    const plan = decide({ session: runningFor({ ttl: "2h" }), pod: marked(deadline(TTL_30M)), now: NOW });
    expect(plan.status.expiresAt).toBe(deadline(120 * MIN));
    expect(podWrites(plan)).toEqual([
      expect.objectContaining({ kind: "markPod", expiresAt: deadline(120 * MIN), expiryAction: "Evict" }),
    ]);
  });

  it("keeps the later expiry, and its action, another session recorded on the pod", () => {
    const later = iso(new Date(NOW.getTime() + 600 * MIN));
    const plan = decide({ session: runningFor(), pod: marked(later, "Delete", "other"), now: NOW });
    expect(actionOf(plan, "markPod")).toMatchObject({
      taintedBy: ["other", SESSION_NAME],
      expiresAt: later,
      expiryAction: "Delete",
    });
  });

  it("replaces an expiry that does not parse", () => {
    const plan = decide({ session: runningFor(), pod: marked("soon"), now: NOW });
    expect(actionOf(plan, "markPod")).toMatchObject({ expiresAt: deadline(TTL_30M) });
  });

  it.each([
    { asked: "Delete" as const, allowed: undefined, recorded: "Delete" },
    { asked: "Delete" as const, allowed: ["Evict" as const], recorded: "Evict" },
    { asked: undefined, allowed: undefined, recorded: "Evict" },
  ])("records $recorded for expiryAction $asked when the policy allows $allowed", ({ asked, allowed, recorded }) => {
    // A policy changed after the injection: the pod records what the removal at expiry will do.
    const policy = { ...ALLOW_ALL.policy!, spec: { ...ALLOW_ALL.policy!.spec, allowedExpiryActions: allowed } };
    const plan = decide({
      session: runningFor({ expiryAction: asked, ttl: "2h" }),
      pod: marked(deadline(TTL_30M)),
      now: NOW,
      access: { ...ALLOW_ALL, policy },
    });
    expect(actionOf(plan, "markPod")).toMatchObject({ expiryAction: recorded });
  });
});

describe("decide: ttlSecondsAfterFinished", () => {
  /** A session that expired (its pod gone) two minutes before NOW. */
  const ended = (ttlSecondsAfterFinished?: number): { plan: Plan; opts: SessionOpts } => {
    const opts: SessionOpts = { spec: { ttlSecondsAfterFinished } };
    const endedAt = ago(2 * MIN);
    const injectedAt = new Date(endedAt.getTime() - TTL_30M);
    const plan = decide({
      session: session({ ...opts, status: reserved(injectedAt, { phase: "Running" }) }),
      pod: undefined,
      now: endedAt,
    });
    expect(plan.status.phase).toBe("Expired");
    return { plan, opts };
  };

  it.each([
    { after: 0, actions: [{ kind: "deleteSession" }], requeue: undefined },
    { after: 60, actions: [{ kind: "deleteSession" }], requeue: undefined },
    { after: 120, actions: [{ kind: "deleteSession" }], requeue: undefined },
    { after: 121, actions: [], requeue: 1000 },
    { after: 300, actions: [], requeue: 3 * MIN },
  ])(
    "ttlSecondsAfterFinished=$after two minutes after the end: actions $actions, requeue $requeue",
    ({ after, actions, requeue }) => {
      const { plan, opts } = ended(after);
      const later = next(plan, opts, undefined, NOW);
      expect(actionsOf(later)).toEqual(actions);
      expect(later.requeueAfterMs).toBe(requeue);
      expect(later.status).toEqual(plan.status);
    },
  );

  it("counts from the moment the session ended, not from an older condition change", () => {
    // Pending since CREATED (conditions False since then); the pod finishes at NOW: Failed, ended at NOW.
    const opts: SessionOpts = { spec: { ttlSecondsAfterFinished: 60 } };
    const pending = decide({ session: session(opts), pod: undefined, now: CREATED });
    const failed = next(pending, opts, pod({ phase: "Succeeded" }), NOW);
    expect(failed.status.phase).toBe("Failed");
    expect(failed.status.endedAt).toBe(iso(NOW));
    const oneSecondLater = next(failed, opts, pod({ phase: "Succeeded" }), new Date(NOW.getTime() + 1000));
    expect(kinds(oneSecondLater)).not.toContain("deleteSession");
    expect(oneSecondLater.requeueAfterMs).toBe(59_000);
  });

  it("keeps an ended session for audit when ttlSecondsAfterFinished is unset", () => {
    const { plan, opts } = ended(undefined);
    const later = next(plan, opts, undefined, new Date(NOW.getTime() + 365 * 24 * 60 * MIN));
    expect(actionsOf(later)).toEqual([]);
    expect(later.requeueAfterMs).toBeUndefined();
  });
});

describe("decide: conditions", () => {
  const T1 = ago(5 * MIN);
  const injectedAt = ago(8 * MIN);

  it("keep lastTransitionTime when the status does not flip", () => {
    const first = decide({ session: session({ status: reserved(injectedAt) }), pod: taintedPod(running()), now: T1 });
    expect(cond(first, "Ready")).toMatchObject({ status: "True", lastTransitionTime: iso(T1) });
    const second = next(first, {}, taintedPod(running()), NOW);
    expect(cond(second, "Ready")).toMatchObject({ status: "True", lastTransitionTime: iso(T1) });
    expect(cond(second, "Injected")).toMatchObject({ status: "True", lastTransitionTime: iso(T1) });
    expect(second.status).toEqual(first.status);
    expect(events(second)).toEqual([]);
  });

  it("move lastTransitionTime only for the condition whose status flipped", () => {
    const first = decide({ session: session({ status: reserved(injectedAt) }), pod: pod(), now: T1 });
    expect(cond(first, "Reconciling")).toMatchObject({ status: "True", lastTransitionTime: iso(T1) });
    const second = next(first, {}, taintedPod(running()), NOW);
    expect(second.status.phase).toBe("Running");
    expect(cond(second, "Reconciling")).toMatchObject({ status: "False", lastTransitionTime: iso(NOW) });
    expect(cond(second, "Injected")).toMatchObject({ status: "True", lastTransitionTime: iso(T1) });
  });

  it.each<{
    name: string;
    status: DebugSessionStatus | undefined;
    p: V1Pod | undefined;
    ready?: string;
    reconciling: string;
    stalled?: string;
  }>([
    { name: "Injecting: Reconciling, Ready False", status: undefined, p: pod(), ready: "False", reconciling: "True" },
    {
      name: "Running: Ready True, not Reconciling",
      status: reserved(injectedAt),
      p: taintedPod(running()),
      ready: "True",
      reconciling: "False",
    },
    {
      name: "Completed: no Ready, not Reconciling",
      status: reserved(injectedAt),
      p: taintedPod(terminated(3)),
      reconciling: "False",
    },
    {
      name: "Terminated: no Ready, not Reconciling",
      status: reserved(injectedAt, { phase: "Running" }),
      p: undefined,
      reconciling: "False",
    },
    {
      name: "Failed: Stalled, no Ready",
      status: undefined,
      p: pod({ phase: "Succeeded" }),
      reconciling: "False",
      stalled: "True",
    },
  ])("follow kstatus: $name", ({ status, p, ready, reconciling, stalled }) => {
    const plan = decide({ session: session({ status }), pod: p, now: NOW });
    expect(cond(plan, "Ready")?.status).toBe(ready);
    expect(cond(plan, "Reconciling")?.status).toBe(reconciling);
    expect(cond(plan, "Stalled")?.status).toBe(stalled);
  });

  it("carry the session's generation", () => {
    const plan = decide({
      session: session({ generation: 7, status: reserved(injectedAt) }),
      pod: taintedPod(running()),
      now: NOW,
    });
    expect(plan.status.conditions?.map((c) => c.observedGeneration)).toEqual([7, 7, 7]);
    expect(plan.status.observedGeneration).toBe(7);
  });
});

describe("decide: purity", () => {
  /** A plan is data: it survives a round trip through JSON unchanged. */
  const asData = (plan: Plan): object => JSON.parse(JSON.stringify(plan)) as object;

  it.each<{ name: string; s: DebugSession; p: V1Pod | undefined }>([
    { name: "fresh injection", s: session({ finalizers: [] }), p: pod() },
    { name: "missing pod", s: session(), p: undefined },
    { name: "running", s: session({ status: reserved(ago(5 * MIN)) }), p: taintedPod(running()) },
    { name: "expiry", s: session({ status: reserved(ago(TTL_30M)) }), p: taintedPod(running()) },
    { name: "replaced pod", s: session({ status: reserved(ago(5 * MIN)) }), p: pod({ uid: NEW_POD_UID }) },
    {
      name: "deleted session",
      s: session({ status: reserved(ago(5 * MIN)), deletionTimestamp: ago(1) }),
      p: taintedPod(running()),
    },
  ])("is deterministic and leaves its input untouched: $name", ({ s, p }) => {
    const sBefore = structuredClone(s);
    const pBefore = structuredClone(p);
    const a = decide({ session: s, pod: p, now: NOW });
    const b = decide({ session: structuredClone(s), pod: structuredClone(p), now: new Date(NOW.getTime()) });
    expect(asData(a)).toStrictEqual(asData(b));
    expect(s).toStrictEqual(sBefore);
    expect(p).toStrictEqual(pBefore);
  });
});

describe("decide: properties", () => {
  const T0 = new Date("2026-01-01T00:00:00Z");
  const DAY = 24 * 60 * MIN;
  const containerState = fc.constantFrom<V1ContainerState | undefined>(
    undefined,
    running(T0),
    waiting("ImagePullBackOff"),
    terminated(1),
  );

  it("a running tainted session requeues to exactly expiresAt before expiry and removes the pod iff now >= expiresAt", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: MIN, max: DAY }).chain((ttl) =>
          fc.record({
            ttl: fc.constant(ttl),
            elapsed: fc.oneof(fc.integer({ min: 0, max: 2 * ttl }), fc.constant(ttl), fc.constant(ttl - 1)),
          }),
        ),
        containerState,
        fc.constantFrom<"Evict" | "Delete" | undefined>(undefined, "Evict", "Delete"),
        ({ ttl, elapsed }, state, expiryAction) => {
          const now = new Date(T0.getTime() + elapsed);
          const s = session({ spec: { ttl: `${ttl}ms`, expiryAction }, status: reserved(T0, { phase: "Running" }) });
          const plan = expire({ session: s, pod: taintedPod(state), now });
          const expiresAt = T0.getTime() + ttl;
          expect(plan.status.expiresAt).toBe(new Date(expiresAt).toISOString());
          const removal = actionOf(plan, "removePod");
          if (now.getTime() >= expiresAt) {
            expect(removal).toMatchObject({ podUID: POD_UID });
            expect(plan.status.phase).toBe("Expired");
          } else {
            expect(removal).toBeUndefined();
            expect(now.getTime() + plan.requeueAfterMs!).toBe(expiresAt);
          }
        },
      ),
    );
  });

  it("never plans a write to a pod whose uid differs from status.targetPodUID", () => {
    const phase = fc.constantFrom<Phase | undefined>(
      undefined,
      "Pending",
      "Injecting",
      "Running",
      "Completed",
      "Expired",
      "Failed",
      "Terminated",
    );
    fc.assert(
      fc.property(
        fc.record({
          phase,
          injectedAgo: fc.integer({ min: 0, max: 3 * TTL_30M }),
          generation: fc.integer({ min: 1, max: 3 }),
          observedGeneration: fc.integer({ min: 1, max: 3 }),
          sessionDeleting: fc.boolean(),
          podDeleting: fc.boolean(),
          hasOurContainer: fc.boolean(),
          podPhase: fc.constantFrom("Pending", "Running", "Succeeded", "Failed"),
          state: containerState,
          hasFinalizer: fc.boolean(),
          ttlSecondsAfterFinished: fc.option(fc.integer({ min: 0, max: 3600 }), { nil: undefined }),
        }),
        (r) => {
          const s = session({
            generation: r.generation,
            finalizers: r.hasFinalizer ? [FINALIZER] : [],
            deletionTimestamp: r.sessionDeleting ? ago(1000) : undefined,
            spec: { ttlSecondsAfterFinished: r.ttlSecondsAfterFinished },
            status: reserved(ago(r.injectedAgo), { phase: r.phase, observedGeneration: r.observedGeneration }),
          });
          const p = pod({
            uid: NEW_POD_UID,
            phase: r.podPhase,
            ephemeralContainers: r.hasOurContainer ? [CNAME] : [],
            ephemeralContainerStatuses: r.hasOurContainer && r.state ? [ecStatus(r.state)] : [],
            deletionTimestamp: r.podDeleting ? ago(500) : undefined,
          });
          const plan = decide({ session: s, pod: p, now: NOW });
          expect(podWrites(plan)).toEqual([]);
        },
      ),
    );
  });

  it("the finalizer is removed only when the session is deleted, and added only before a pod is or stays tainted", () => {
    fc.assert(
      fc.property(
        fc.record({
          phase: fc.constantFrom<Phase | undefined>(
            undefined,
            "Pending",
            "Injecting",
            "Running",
            "Completed",
            "Expired",
            "Failed",
            "Terminated",
          ),
          reservedPod: fc.boolean(),
          injectedAgo: fc.integer({ min: 0, max: 3 * TTL_30M }),
          sessionDeleting: fc.boolean(),
          hasFinalizer: fc.boolean(),
          podKind: fc.constantFrom<"none" | "ours" | "tainted" | "replaced">("none", "ours", "tainted", "replaced"),
          podDeleting: fc.boolean(),
          podPhase: fc.constantFrom("Pending", "Running", "Succeeded"),
          state: containerState,
          ttlSecondsAfterFinished: fc.option(fc.integer({ min: 0, max: 3600 }), { nil: undefined }),
        }),
        (r) => {
          const status: DebugSessionStatus | undefined = r.reservedPod
            ? reserved(ago(r.injectedAgo), { phase: r.phase })
            : r.phase
              ? { phase: r.phase }
              : undefined;
          const s = session({
            finalizers: r.hasFinalizer ? [FINALIZER] : [],
            deletionTimestamp: r.sessionDeleting ? ago(1000) : undefined,
            spec: { ttlSecondsAfterFinished: r.ttlSecondsAfterFinished },
            status,
          });
          const deletionTimestamp = r.podDeleting ? ago(500) : undefined;
          const p =
            r.podKind === "none"
              ? undefined
              : r.podKind === "tainted"
                ? taintedPod(r.state, { phase: r.podPhase, deletionTimestamp })
                : pod({ uid: r.podKind === "replaced" ? NEW_POD_UID : POD_UID, phase: r.podPhase, deletionTimestamp });
          const plan = decide({ session: s, pod: p, now: NOW });
          if (kinds(plan).includes("removeFinalizer")) expect(r.sessionDeleting && r.hasFinalizer).toBe(true);
          if (r.sessionDeleting && r.hasFinalizer) expect(kinds(plan).at(-1)).toBe("removeFinalizer");
          if (kinds(plan).includes("addFinalizer")) {
            expect(r.hasFinalizer || r.sessionDeleting).toBe(false);
            expect(kinds(plan).includes("inject") || (r.podKind === "tainted" && !r.podDeleting)).toBe(true);
          }
        },
      ),
    );
  });

  it("every pod write carries the reserved pod's UID", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 * TTL_30M }),
        fc.boolean(),
        fc.boolean(),
        containerState,
        fc.constantFrom<Phase | undefined>(undefined, "Injecting", "Running", "Completed", "Expired"),
        (injectedAgo, hasOurContainer, sessionDeleting, state, phase) => {
          const s = session({
            deletionTimestamp: sessionDeleting ? ago(1000) : undefined,
            status: reserved(ago(injectedAgo), { phase }),
          });
          const p = hasOurContainer ? taintedPod(state, { labels: { app: "web" } }) : pod();
          const plan = decide({ session: s, pod: p, now: NOW });
          for (const a of podWrites(plan)) expect(a).toMatchObject({ pod: POD_NAME, podUID: POD_UID });
        },
      ),
    );
  });
});

describe("decide: what of the debugger reaches the session's status", () => {
  it("mirrors exit code and reason but never the termination message (the debugger's own output)", () => {
    const state: V1ContainerState = {
      terminated: { exitCode: 3, reason: "Error", message: "TOKEN=s3cr3t from the target's environment" },
    };
    const plan = decide({ session: session({ status: reserved(ago(MIN)) }), pod: taintedPod(state), now: NOW });
    expect(plan.status.containerState).toMatchObject({ state: "terminated", exitCode: 3, reason: "Error" });
    expect(JSON.stringify(plan.status)).not.toContain("s3cr3t");
  });
});

describe("decide: issue 11 escalation defences", () => {
  const onlyEvict: AccessInput = {
    ...ALLOW_ALL,
    policy: { ...ALLOW_ALL.policy!, spec: { ...ALLOW_ALL.policy!.spec, allowedExpiryActions: ["Evict"] } },
  };
  const deny: AccessInput = { ...ALLOW_ALL, requesterMayUse: false };

  it("adopts a container of its name only when the session may have it: a name in a pod proves nothing", () => {
    const plan = decideWithAccess({ session: session(), pod: taintedPod(running()), now: NOW, access: deny });
    expect(podWrites(plan)).toEqual([]);
    expect(plan.status).toMatchObject({ phase: "Failed" });
    expect(plan.status.targetPodUID).toBeUndefined();
  });

  it("a deleted session whose container it may not have adopted deletes no pod on a name match", () => {
    const s = session({ deletionTimestamp: ago(1000) });
    const plan = decideWithAccess({ session: s, pod: taintedPod(running()), now: NOW, access: deny });
    expect(nonEventKinds(plan)).toEqual(["removeFinalizer"]);
  });

  it("under a policy without Delete, expiryAction Delete is denied before anything is written", () => {
    const plan = decideWithAccess({
      session: session({ spec: { expiryAction: "Delete" } }),
      pod: pod(),
      now: NOW,
      access: onlyEvict,
    });
    expect(podWrites(plan)).toEqual([]);
    expect(plan.status.message).toContain("ExpiryActionNotAllowed");
  });

  it("under a policy without Delete, a long-refused eviction is never replaced by a delete", () => {
    const s = session({ status: reserved(ago(TTL_30M + 60 * MIN), { phase: "Expired" }) });
    const plan = decideWithAccess({ session: s, pod: taintedPod(running()), now: NOW, access: onlyEvict });
    expect(actionOf(plan, "removePod")?.how).toBe("Evict");
    const blocked = whenRefused(
      { session: s, pod: taintedPod(running()), now: NOW, access: onlyEvict },
      "eviction",
      "PDB",
    );
    expect(blocked.status.message).toContain("waits for the disruption budget");
    expect(blocked.retryWithBackoff).toBeDefined();
  });

  it("under a policy without Delete, deleting the session evicts the pod; a refused eviction keeps the finalizer", () => {
    const s = session({ status: reserved(ago(5 * MIN), { phase: "Running" }), deletionTimestamp: ago(1000) });
    const input = { session: s, pod: taintedPod(running()), now: NOW, access: onlyEvict };
    expect(actionOf(decideWithAccess(input), "removePod")?.how).toBe("Evict");
    const budget = "Cannot evict pod as it would violate the pod's disruption budget.";
    const blocked = whenRefused(input, "eviction", budget);
    expect(nonEventKinds(blocked)).toEqual([]);
    expect(blocked.retryWithBackoff).toContain("disruption budget");
    expect(events(blocked)).toEqual([expect.objectContaining({ reason: "EvictionBlocked" })]);
    expect(blocked.status.message).toContain("is being deleted");
    // The next refusal, with that status written, adds no second Event.
    const again = whenRefused({ ...input, session: { ...s, status: blocked.status } }, "eviction", budget);
    expect(events(again)).toEqual([]);
    expect(again.retryWithBackoff).toBeDefined();
  });

  it("the injection is conditional on the pod's resourceVersion as judged, and a failed test is a lost race", () => {
    const p = { ...pod(), metadata: { ...pod().metadata, resourceVersion: "42" } };
    const ops = injectOps(POD_UID, { name: CNAME, image: "busybox" }, p);
    expect(ops.slice(0, 2)).toEqual([
      { op: "test", path: "/metadata/uid", value: POD_UID },
      { op: "test", path: "/metadata/resourceVersion", value: "42" },
    ]);
  });

  it("keeps the container name the status recorded, so a debugger named by an older operator is still found", () => {
    const status = reserved(ago(5 * MIN), { phase: "Running", containerName: "dbg-debug-web-1a2b3" });
    const p = taintedPod(running(), { ephemeralContainers: ["dbg-debug-web-1a2b3"] });
    p.status!.ephemeralContainerStatuses = [ecStatus(running(), "dbg-debug-web-1a2b3")];
    const plan = decide({ session: session({ status }), pod: p, now: NOW });
    expect(kinds(plan)).not.toContain("inject");
    expect(plan.status).toMatchObject({ phase: "Running", containerName: "dbg-debug-web-1a2b3" });
  });
});

describe("decide: GitOps", () => {
  it("an ended session whose ttl was raised records the new generation, and nothing else", () => {
    const ended = decide({
      session: session({ status: reserved(ago(TTL_30M), { phase: "Running" }) }),
      pod: taintedPod(running(), { deletionTimestamp: ago(100) }),
      now: NOW,
    });
    expect(ended.status.phase).toBe("Expired");
    const raised = decide({ session: session({ status: ended.status, generation: 2 }), pod: undefined, now: NOW });
    expect(raised.status).toEqual({
      ...ended.status,
      observedGeneration: 2,
      conditions: ended.status.conditions?.map((c) => ({ ...c, observedGeneration: 2 })),
    });
    expect(podWrites(raised)).toEqual([]);
  });

  it.each<{ name: string; labels: Record<string, string>; annotations: Record<string, string> }>([
    { name: "a Flux Kustomization's label", labels: { "kustomize.toolkit.fluxcd.io/name": "apps" }, annotations: {} },
    { name: "Argo CD's tracking annotation", labels: {}, annotations: { "argocd.argoproj.io/tracking-id": "app:x/y" } },
  ])(
    "ttlSecondsAfterFinished keeps a session with $name, unless the policy says to delete",
    ({ labels, annotations }) => {
      const s = session({
        spec: { ttlSecondsAfterFinished: 0 },
        status: { phase: "Failed", endedAt: iso(ago(MIN)), observedGeneration: 1 },
      });
      s.metadata.labels = labels;
      s.metadata.annotations = { ...s.metadata.annotations, ...annotations };
      const kept = decide({ session: s, pod: undefined, now: NOW });
      expect(kinds(kept)).not.toContain("deleteSession");
      const policy = { ...ALLOW_ALL.policy!, spec: { ...ALLOW_ALL.policy!.spec, deleteGitOpsManagedSessions: true } };
      const deleted = decideWithAccess({ session: s, pod: undefined, now: NOW, access: { ...ALLOW_ALL, policy } });
      expect(kinds(deleted)).toContain("deleteSession");
    },
  );

  it("a session still Pending at its notAfter ends Expired/NotAfterPassed, writing nothing to any pod", () => {
    const s = session({ spec: { notAfter: iso(ago(1000)) } });
    const plan = decide({ session: s, pod: pod(), now: NOW });
    expect(plan.status.phase).toBe("Expired");
    expect(cond(plan, "Injected")?.reason).toBe("NotAfterPassed");
    expect(podWrites(plan)).toEqual([]);
  });

  it("the pod goes at notAfter when that comes before injectedAt + ttl", () => {
    const notAfter = iso(new Date(NOW.getTime() + 5 * MIN));
    const plan = decide({ session: session({ spec: { notAfter } }), pod: pod(), now: NOW });
    expect(actionOf(plan, "inject")).toBeDefined();
    expect(plan.status.expiresAt).toBe(new Date(notAfter).toISOString());
    expect(plan.requeueAfterMs).toBe(5 * MIN);
  });
});

describe("decide: attach grant", () => {
  const granting: AccessInput = {
    ...ALLOW_ALL,
    policy: { ...ALLOW_ALL.policy!, spec: { ...ALLOW_ALL.policy!.spec, grantAttach: true } },
  };
  const run = (s: DebugSession, p: V1Pod | undefined, access = granting) =>
    decideWithAccess({ session: s, pod: p, now: NOW, access });

  it("grants the requester attach to exactly the pod at injection, and names the Role in status", () => {
    const plan = run(session(), pod());
    const grant = actionOf(plan, "grantAttach");
    expect(grant).toMatchObject({ pod: POD_NAME, subject: { kind: "User", name: "alice" } });
    expect(plan.status.attachRole).toBe(grant?.role);
    expect(kinds(plan).indexOf("grantAttach")).toBeGreaterThan(kinds(plan).indexOf("inject"));
  });

  it("keeps the grant while the debugger runs, without writing it again", () => {
    const injected = run(session(), pod());
    const plan = run(session({ status: injected.status }), taintedPod(running()));
    expect(plan.status.phase).toBe("Running");
    expect(plan.status.attachRole).toBe(injected.status.attachRole);
    expect(kinds(plan)).not.toContain("grantAttach");
  });

  it.each<{
    name: string;
    status: (s: DebugSessionStatus) => DebugSessionStatus;
    p: () => V1Pod | undefined;
    deleting?: boolean;
  }>([
    { name: "the debugger exited", status: (s) => s, p: () => taintedPod(terminated(0, "Completed")) },
    {
      name: "the TTL ran out",
      status: (s) => reserved(ago(TTL_30M), { phase: "Running", attachRole: s.attachRole }),
      p: () => taintedPod(running()),
    },
    { name: "the pod went away", status: (s) => s, p: () => undefined },
    { name: "the session is deleted", status: (s) => s, p: () => taintedPod(running()), deleting: true },
  ])("revokes the grant when $name", ({ status, p, deleting }) => {
    const injected = run(session(), pod());
    const s = session({ status: status(injected.status), ...(deleting ? { deletionTimestamp: ago(1) } : {}) });
    const plan = run(s, p());
    expect(actionOf(plan, "revokeAttach")).toEqual({ kind: "revokeAttach", role: injected.status.attachRole });
    expect(plan.status.attachRole).toBeUndefined();
  });

  it("grants nothing when the policy says grantAttach: false, and binds a ServiceAccount requester as one", () => {
    expect(kinds(run(session(), pod(), ALLOW_ALL))).not.toContain("grantAttach");
    const sa = session({
      annotations: { ...STAMP, "debugging.dev/requested-by": "system:serviceaccount:ci:deployer" },
    });
    expect(actionOf(run(sa, pod()), "grantAttach")?.subject).toEqual({
      kind: "ServiceAccount",
      namespace: "ci",
      name: "deployer",
    });
  });
});
