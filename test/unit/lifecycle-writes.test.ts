// How many writes to debugsessions and pods one session costs, from creation to expiry and deletion.
// decide() is driven through a realistic lifecycle and each plan carried out by the real Applier on
// an in-memory ClusterWriter (test/support/fake-cluster-writer.ts); every write triggers one more
// pass, as the watch of our own writes does.
import type { V1ContainerState, V1Pod } from "@kubernetes/client-node";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { EXPIRES_ANNOTATION, FINALIZER } from "../../src/api/types.ts";
import { Applier } from "../../src/controller/apply.ts";
import { decideAndApply, removalAfter } from "../../src/controller/pass.ts";
import type { RemovedAtExpiry } from "../../src/controller/input.ts";
import { FakeClusterWriter } from "../support/fake-cluster-writer.ts";
import type { AccessInput } from "../../src/controller/decide.ts";
import { ALLOW_ALL, CNAME, CREATED, MIN, POD_UID, ecStatus, iso, pod, running, session, waiting } from "./fixtures.ts";

const log = pino({ level: "silent" });

/** The session and its pod as the apiserver has them (in the fake writer), the clock, the last requeue. */
class Cluster {
  readonly w: FakeClusterWriter;
  readonly applier: Applier;
  now = new Date(CREATED.getTime() + 1000);
  requeueAfterMs: number | undefined;
  access: AccessInput = ALLOW_ALL;
  /** What the reconciler remembers of a removal at expiry until a pass reports it. */
  removed: RemovedAtExpiry | undefined;

  constructor(finalizers: string[]) {
    this.w = new FakeClusterWriter(session({ finalizers }), pod(), () => this.now);
    this.applier = new Applier(this.w, log, {}, () => this.now);
  }

  get writes(): string[] {
    return this.w.writes;
  }
  get events(): string[] {
    return this.w.events;
  }
  get session() {
    return this.w.session;
  }
  set session(s) {
    this.w.session = s;
  }
  get pod(): V1Pod | undefined {
    return this.w.pod;
  }
  set pod(p: V1Pod | undefined) {
    this.w.pod = p;
  }
}

function cluster(finalizers: string[]): Cluster {
  return new Cluster(finalizers);
}

function setPod(c: Cluster, change: (p: V1Pod) => V1Pod): void {
  c.pod = change(structuredClone(c.pod!));
}

/** One reconcile: decide and apply, as the reconciler does; a thrown error or a backoff fails the pass. */
async function reconcile(c: Cluster): Promise<{ writes: number; failed: boolean }> {
  const before = c.writes.length;
  try {
    const input = { session: c.session, pod: c.pod, access: c.access, now: c.now, removed: c.removed };
    const pass = await decideAndApply(input, c.applier, log);
    const { plan } = pass;
    c.removed = removalAfter(pass, c.removed);
    await c.applier.events.flush(1000);
    c.requeueAfterMs = plan.requeueAfterMs;
    return { writes: c.writes.length - before, failed: plan.retryWithBackoff !== undefined };
  } catch {
    return { writes: c.writes.length - before, failed: true };
  }
}

const later =
  (ms: number) =>
  (c: Cluster): void => {
    c.now = new Date(c.now.getTime() + ms);
  };

/**
 * A change in the cluster, then passes until one succeeds without writing: each of our writes comes
 * back as a watch event, and a failed pass is retried a moment later.
 */
async function step(c: Cluster, change: (c: Cluster) => void): Promise<{ writes: string[]; events: string[] }> {
  const [w, e] = [c.writes.length, c.events.length];
  change(c);
  for (let passes = 1; ; passes++) {
    expect(passes).toBeLessThan(8);
    const { writes, failed } = await reconcile(c);
    if (failed) later(1000)(c);
    else if (writes === 0) break;
  }
  return { writes: c.writes.slice(w), events: c.events.slice(e) };
}

const kubelet =
  (state: V1ContainerState | undefined) =>
  (c: Cluster): void => {
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
  {
    name: "the debugger runs",
    change: (c) => kubelet(running(c.now))(c),
    writes: ["status Running/Running"],
    events: ["session/Running"],
  },
  {
    name: "the TTL runs out at the requeue: evict, then the status after the removal",
    change: untilRequeue,
    writes: ["removePod", "status Expired/PodRemoved"],
    events: ["pod/DebugSessionExpired", "session/Expired"],
  },
  { name: "the dying debugger is reported", change: dying, writes: [], events: [] },
  { name: "the pod is gone", change: podGone, writes: [], events: [] },
];

const DELETION: Step = {
  name: "the session is deleted",
  change: sessionDeleted,
  writes: ["removeFinalizer"],
  events: [],
};

async function run(c: Cluster, steps: Step[]): Promise<void> {
  for (const s of steps) {
    expect({ step: s.name, ...(await step(c, s.change)) }).toEqual({
      step: s.name,
      writes: s.writes,
      events: s.events,
    });
  }
}

describe("writes per session lifecycle", () => {
  it("with grantAttach the requester's grant costs 2 writes at injection and 1 at expiry (the RoleBinding goes with its Role)", async () => {
    const c = cluster([FINALIZER]);
    c.access = {
      ...ALLOW_ALL,
      policy: { ...ALLOW_ALL.policy!, spec: { ...ALLOW_ALL.policy!.spec, grantAttach: true } },
    };
    const expiry = HAPPY_PATH.findIndex((s) => s.change === untilRequeue);
    await run(
      c,
      HAPPY_PATH.map((s, i) =>
        i === 0
          ? { ...s, writes: ["inject", "markPod", "createRole", "createRoleBinding", ...s.writes.slice(2)] }
          : i === expiry
            ? { ...s, writes: ["removePod", "deleteRole", ...s.writes.slice(1)] }
            : s,
      ),
    );
    expect(c.writes).toHaveLength(9);
    expect(c.w.grants.size).toBe(0);
  });

  it("a session created with the finalizer costs 6 writes from creation to expiry and 1 more at deletion", async () => {
    const c = cluster([FINALIZER]);
    await run(c, HAPPY_PATH);
    expect(c.writes).toEqual([
      "inject",
      "markPod",
      "status Injecting/ContainerCreating",
      "status Running/Running",
      "removePod",
      "status Expired/PodRemoved",
    ]);
    expect(c.session.metadata.finalizers).toEqual([FINALIZER]);
    await run(c, [DELETION]);
    expect(c.writes).toHaveLength(7);
    expect(c.session.metadata.finalizers).toEqual([]);
  });

  it("a session created without the finalizer costs 7 writes to expiry: the finalizer comes before the injection", async () => {
    const c = cluster([]);
    await run(c, [{ ...HAPPY_PATH[0]!, writes: ["addFinalizer", ...HAPPY_PATH[0]!.writes] }, ...HAPPY_PATH.slice(1)]);
    expect(c.writes).toHaveLength(7);
    await run(c, [DELETION]);
    expect(c.writes).toHaveLength(8);
  });

  it("records 5 Events per lifecycle: 2 on the pod, 3 on the session", async () => {
    const c = cluster([FINALIZER]);
    await run(c, [...HAPPY_PATH, DELETION]);
    expect(c.events).toEqual([
      "pod/DebuggerInjected",
      "session/Injected",
      "session/Running",
      "pod/DebugSessionExpired",
      "session/Expired",
    ]);
  });

  it("a session deleted while its debugger runs costs 6 writes: the pod is deleted, then the finalizer removed", async () => {
    const c = cluster([FINALIZER]);
    const running = HAPPY_PATH.findIndex((s) => s.name === "the debugger runs");
    await run(c, HAPPY_PATH.slice(0, running + 1));
    await run(c, [{ ...DELETION, writes: ["removePod", "removeFinalizer"], events: ["pod/DebugSessionDeleted"] }]);
    expect(c.writes).toEqual([
      "inject",
      "markPod",
      "status Injecting/ContainerCreating",
      "status Running/Running",
      "removePod",
      "removeFinalizer",
    ]);
    expect(c.pod?.metadata?.deletionTimestamp).toEqual(c.now);
  });

  it("a crash between the injection and its status write costs one pod write: the debugger is adopted, not injected again", async () => {
    const c = cluster([FINALIZER]);
    c.w.crashBeforeStatus = true;
    const [first, ...rest] = HAPPY_PATH;
    // The events of the crashed pass are lost with it; the pass that adopts has none of its own. Its
    // deadline counts from the adopting pass (a second later), which the pod's annotation then records.
    await run(c, [
      { ...first!, writes: ["inject", "markPod", "markPod", "status Injecting/ContainerCreating"], events: [] },
    ]);
    expect(c.pod?.spec?.ephemeralContainers?.map((e) => e.name)).toEqual([CNAME]);
    expect(c.session.status).toMatchObject({ targetPodUID: POD_UID, containerName: CNAME, injectedAt: iso(c.now) });
    expect(c.pod?.metadata?.annotations?.[EXPIRES_ANNOTATION]).toBe(c.session.status?.expiresAt);
    await run(c, rest);
    expect(c.writes).toHaveLength(7);
    expect(c.pod).toBeUndefined();
  });

  it("a disruption budget refusing the eviction costs one status write more, however often it refuses", async () => {
    const c = cluster([FINALIZER]);
    const expiry = HAPPY_PATH.findIndex((s) => s.change === untilRequeue);
    c.w.refuseEvictions = 3;
    await run(
      c,
      HAPPY_PATH.map((s, i) => (i === expiry ? { ...s, writes: ["status Expired/EvictionBlocked", ...s.writes] } : s)),
    );
    expect(c.w.refuseEvictions).toBe(0);
    expect(c.writes).toHaveLength(7);
  });
});
