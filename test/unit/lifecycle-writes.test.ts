// How many writes to debugsessions and pods one session costs, from creation to expiry and deletion.
// decide() is driven through a realistic lifecycle; each plan is carried out the way apply.ts does it
// (addFinalizer, pod writes, the status write when statusPatch finds a change, the rest) on a simulated
// session and pod, and every write triggers one more pass, as the watch of our own writes does.
import type { V1ContainerState, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { FINALIZER, SESSION_ANNOTATION, SESSION_LABEL, type DebugSession, type DebugSessionStatus } from "../../src/api/types.ts";
import { decide, type Plan } from "../../src/controller/decide.ts";
import { statusPatch } from "../../src/controller/status-diff.ts";
import { ALLOW_ALL, CNAME, CREATED, MIN, POD_UID, ecStatus, iso, pod, running, session, waiting } from "./fixtures.ts";

/** The session and its pod as the apiserver has them, the clock, and what the operator did to them. */
interface Cluster {
  session: DebugSession;
  pod: V1Pod | undefined;
  now: Date;
  /** Every write to debugsessions or pods, in order; Events are not writes here. */
  writes: string[];
  events: string[];
  /** The requeue the last pass asked for. */
  requeueAfterMs: number | undefined;
  /** This many evictions are refused, as a PodDisruptionBudget refuses them (429). */
  refuseEvictions?: number;
  /** The next pass stops after its pod writes, before the status write, as a crash does. */
  crashBeforeStatus?: boolean;
}

function cluster(finalizers: string[]): Cluster {
  return { session: session({ finalizers }), pod: pod(), now: new Date(CREATED.getTime() + 1000), writes: [], events: [], requeueAfterMs: undefined };
}

const condReason = (status: DebugSessionStatus, type: string): string | undefined => status.conditions?.find((c) => c.type === type)?.reason;

function writeStatus(c: Cluster, status: DebugSessionStatus): void {
  if (!statusPatch(c.session.status, status)) return;
  c.writes.push(`status ${status.phase}/${condReason(status, "Expired") ?? condReason(status, "Ready")}`);
  c.session = { ...c.session, status };
}

function setPod(c: Cluster, change: (p: V1Pod) => V1Pod): void {
  c.pod = change(structuredClone(c.pod!));
}

/** One reconcile: decide, then carry the plan out in apply's order. */
function reconcile(c: Cluster): { writes: number; failed: boolean } {
  const before = c.writes.length;
  const plan: Plan = decide({ session: c.session, pod: c.pod, access: ALLOW_ALL, now: c.now });
  c.requeueAfterMs = plan.requeueAfterMs;
  const metadata = c.session.metadata;
  if (plan.actions.some((a) => a.kind === "addFinalizer")) {
    c.writes.push("addFinalizer");
    c.session = { ...c.session, metadata: { ...metadata, finalizers: [...(metadata.finalizers ?? []), FINALIZER] } };
  }
  for (const a of plan.actions) {
    if (a.kind === "inject") {
      c.writes.push("inject");
      setPod(c, (p) => ({ ...p, spec: { ...p.spec!, ephemeralContainers: [...(p.spec?.ephemeralContainers ?? []), a.container] } }));
    } else if (a.kind === "markPod") {
      c.writes.push("markPod");
      setPod(c, (p) => ({
        ...p,
        metadata: { ...p.metadata, labels: { ...p.metadata?.labels, [SESSION_LABEL]: c.session.metadata.name! }, annotations: { ...p.metadata?.annotations, [SESSION_ANNOTATION]: a.taintedBy } },
      }));
    } else if (a.kind === "removePod") {
      if (c.refuseEvictions && a.how === "Evict") {
        c.refuseEvictions--;
        writeStatus(c, plan.ifRemovalRefused!("Cannot evict pod as it would violate the pod's disruption budget."));
        return { writes: c.writes.length - before, failed: true };
      }
      c.writes.push("removePod");
      setPod(c, (p) => ({ ...p, metadata: { ...p.metadata, deletionTimestamp: c.now } }));
    }
  }
  if (c.crashBeforeStatus) {
    c.crashBeforeStatus = false;
    return { writes: c.writes.length - before, failed: true };
  }
  writeStatus(c, plan.status);
  for (const a of plan.actions) {
    if (a.kind === "removeFinalizer") {
      c.writes.push("removeFinalizer");
      c.session = { ...c.session, metadata: { ...c.session.metadata, finalizers: c.session.metadata.finalizers?.filter((f) => f !== FINALIZER) } };
    } else if (a.kind === "deleteSession") {
      c.writes.push("deleteSession");
    } else if (a.kind === "event") {
      c.events.push(`${a.on}/${a.reason}`);
    }
  }
  return { writes: c.writes.length - before, failed: false };
}

const later = (ms: number) => (c: Cluster): void => {
  c.now = new Date(c.now.getTime() + ms);
};

/**
 * A change in the cluster, then passes until one succeeds without writing: each of our writes comes
 * back as a watch event, and a failed pass is retried a moment later.
 */
function step(c: Cluster, change: (c: Cluster) => void): { writes: string[]; events: string[] } {
  const [w, e] = [c.writes.length, c.events.length];
  change(c);
  for (let passes = 1; ; passes++) {
    expect(passes).toBeLessThan(8);
    const { writes, failed } = reconcile(c);
    if (failed) later(1000)(c);
    else if (writes === 0) break;
  }
  return { writes: c.writes.slice(w), events: c.events.slice(e) };
}

const kubelet = (state: V1ContainerState | undefined) => (c: Cluster): void => {
  later(2000)(c);
  setPod(c, (p) => ({ ...p, status: { ...p.status, ephemeralContainerStatuses: state ? [ecStatus(state)] : [] } }));
};
const untilRequeue = (c: Cluster): void => later(c.requeueAfterMs!)(c);
const dying = (c: Cluster): void => {
  kubelet({ terminated: { exitCode: 137, reason: "Error", startedAt: c.now, finishedAt: c.now } })(c);
};
const podGone = (c: Cluster): void => {
  later(30_000)(c);
  c.pod = undefined;
};
const sessionDeleted = (c: Cluster): void => {
  later(MIN)(c);
  c.session = { ...c.session, metadata: { ...c.session.metadata, deletionTimestamp: c.now } };
};

interface Step {
  name: string;
  change: (c: Cluster) => void;
  writes: string[];
  events: string[];
}

/** Created with the finalizer (the admission policy adds it) while its pod runs, to expiry. */
const HAPPY_PATH: Step[] = [
  {
    name: "created while its pod runs: inject, mark, then the status after the injection",
    change: () => undefined,
    writes: ["inject", "markPod", "status Injecting/ContainerCreating"],
    events: ["pod/DebuggerInjected", "session/Injected"],
  },
  { name: "the kubelet lists the debugger without a state", change: kubelet(undefined), writes: [], events: [] },
  { name: "the debugger is being created", change: kubelet(waiting("ContainerCreating")), writes: [], events: [] },
  { name: "the debugger runs", change: (c) => kubelet(running(c.now))(c), writes: ["status Running/Running"], events: ["session/Running"] },
  {
    name: "the TTL runs out at the requeue: evict, then the status after the removal",
    change: untilRequeue,
    writes: ["removePod", "status Expired/PodRemoved"],
    events: ["pod/DebugSessionExpired", "session/Expired"],
  },
  { name: "the dying debugger is reported", change: dying, writes: [], events: [] },
  { name: "the pod is gone", change: podGone, writes: [], events: [] },
];

const DELETION: Step = { name: "the session is deleted", change: sessionDeleted, writes: ["removeFinalizer"], events: [] };

function run(c: Cluster, steps: Step[]): void {
  for (const s of steps) {
    expect({ step: s.name, ...step(c, s.change) }).toEqual({ step: s.name, writes: s.writes, events: s.events });
  }
}

describe("writes per session lifecycle", () => {
  it("a session created with the finalizer costs 6 writes from creation to expiry and 1 more at deletion", () => {
    const c = cluster([FINALIZER]);
    run(c, HAPPY_PATH);
    expect(c.writes).toEqual(["inject", "markPod", "status Injecting/ContainerCreating", "status Running/Running", "removePod", "status Expired/PodRemoved"]);
    expect(c.session.metadata.finalizers).toEqual([FINALIZER]);
    run(c, [DELETION]);
    expect(c.writes).toHaveLength(7);
    expect(c.session.metadata.finalizers).toEqual([]);
  });

  it("a session created without the finalizer costs 7 writes to expiry: the finalizer comes before the injection", () => {
    const c = cluster([]);
    run(c, [{ ...HAPPY_PATH[0]!, writes: ["addFinalizer", ...HAPPY_PATH[0]!.writes] }, ...HAPPY_PATH.slice(1)]);
    expect(c.writes).toHaveLength(7);
    run(c, [DELETION]);
    expect(c.writes).toHaveLength(8);
  });

  it("records 5 Events per lifecycle: 2 on the pod, 3 on the session", () => {
    const c = cluster([FINALIZER]);
    run(c, [...HAPPY_PATH, DELETION]);
    expect(c.events).toEqual(["pod/DebuggerInjected", "session/Injected", "session/Running", "pod/DebugSessionExpired", "session/Expired"]);
  });

  it("a session deleted while its debugger runs costs 6 writes: the pod is deleted, then the finalizer removed", () => {
    const c = cluster([FINALIZER]);
    const running = HAPPY_PATH.findIndex((s) => s.name === "the debugger runs");
    run(c, HAPPY_PATH.slice(0, running + 1));
    run(c, [{ ...DELETION, writes: ["removePod", "removeFinalizer"], events: ["pod/DebugSessionDeleted"] }]);
    expect(c.writes).toEqual(["inject", "markPod", "status Injecting/ContainerCreating", "status Running/Running", "removePod", "removeFinalizer"]);
    expect(c.pod?.metadata?.deletionTimestamp).toEqual(c.now);
  });

  it("a crash between the injection and its status write costs no extra write: the debugger is adopted, not injected again", () => {
    const c = cluster([FINALIZER]);
    c.crashBeforeStatus = true;
    const [first, ...rest] = HAPPY_PATH;
    // The events of the crashed pass are lost with it; the pass that adopts has none of its own.
    run(c, [{ ...first!, writes: ["inject", "markPod", "status Injecting/ContainerCreating"], events: [] }]);
    expect(c.pod?.spec?.ephemeralContainers?.map((e) => e.name)).toEqual([CNAME]);
    expect(c.session.status).toMatchObject({ targetPodUID: POD_UID, containerName: CNAME, injectedAt: iso(c.now) });
    run(c, rest);
    expect(c.writes).toHaveLength(6);
    expect(c.pod).toBeUndefined();
  });

  it("a disruption budget refusing the eviction costs one status write more, however often it refuses", () => {
    const c = cluster([FINALIZER]);
    const expiry = HAPPY_PATH.findIndex((s) => s.change === untilRequeue);
    c.refuseEvictions = 3;
    run(c, HAPPY_PATH.map((s, i) => (i === expiry ? { ...s, writes: ["status Expired/EvictionBlocked", ...s.writes] } : s)));
    expect(c.refuseEvictions).toBe(0);
    expect(c.writes).toHaveLength(7);
  });
});
