// decide() in Copy mode: the copy is created from the source, the debugger goes into the copy once it
// runs, the source is never written, and an ended session keeps no copy.
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { RECORD_SESSION_UID_LABEL, SESSION_LABEL, type DebugSessionStatus } from "../../src/api/types.ts";
import { decide, type AccessInput, type DecideInput, type Plan } from "../../src/controller/decide.ts";
import { COPY_OF_ANNOTATION, copyPodName } from "../../src/controller/pod-copy.ts";
import { actionsOf, whenRefused } from "./plan-readers.ts";
import {
  ALLOW_ALL,
  CNAME,
  MIN,
  NOW,
  POD_NAME,
  POD_UID,
  SESSION_NAME,
  SESSION_UID,
  iso,
  pod,
  session,
} from "./fixtures.ts";

const COPY_UID = "copy-uid";
const spec = { mode: "Copy" as const, targetContainer: "app", copy: { command: ["sleep", "infinity"] } };
const copySession = (o: { status?: DebugSessionStatus; deletionTimestamp?: Date } = {}) => session({ spec, ...o });
const COPY = copyPodName(copySession());

const ALLOW_COPY: AccessInput = {
  ...ALLOW_ALL,
  policy: {
    ...ALLOW_ALL.policy!,
    spec: { ...ALLOW_ALL.policy!.spec, allowedModes: ["Ephemeral", "Copy"], copy: { allowCommand: true } },
  },
};

/** A crash-looping source: Running, its container waiting in CrashLoopBackOff. */
const source = (): V1Pod => {
  const p = pod();
  p.status = {
    ...p.status,
    containerStatuses: [
      {
        name: "app",
        image: "shop:1",
        imageID: "",
        ready: false,
        restartCount: 7,
        state: { waiting: { reason: "CrashLoopBackOff" } },
      },
    ],
  };
  return p;
};

/** The copy as the apiserver would have it, optionally with our debugger in it. */
function copyPod(o: { phase?: string; injected?: boolean; deleting?: boolean } = {}): V1Pod {
  const p = pod({
    uid: COPY_UID,
    phase: o.phase ?? "Running",
    ephemeralContainers: o.injected ? [CNAME] : [],
    labels: { [SESSION_LABEL]: SESSION_NAME, [RECORD_SESSION_UID_LABEL]: SESSION_UID },
    annotations: { [COPY_OF_ANNOTATION]: POD_NAME },
    ...(o.deleting ? { deletionTimestamp: NOW } : {}),
  });
  p.metadata!.name = COPY;
  return p;
}

const input = (o: Partial<DecideInput> = {}): DecideInput => ({
  session: copySession(),
  pod: undefined,
  source: source(),
  access: ALLOW_COPY,
  now: NOW,
  readers: { services: [], networkPolicies: [] },
  ...o,
});

const kinds = (plan: Plan): string[] => actionsOf(plan).map((a) => (a.kind === "event" ? `event ${a.reason}` : a.kind));
const writesTo = (plan: Plan): string[] => plan.podWrites.map((w) => w.pod);

describe("decide, Copy mode", () => {
  it("creates the copy of the source, names it in status.pod and the source in status.sourcePod, writes nothing to the source", () => {
    const plan = decide(input());
    expect(kinds(plan)).toEqual(["createCopy", "event CopyCreated"]);
    const write = plan.podWrites[0]!;
    expect(write.kind === "createCopy" && write.manifest.metadata?.name).toBe(COPY);
    expect(write.kind === "createCopy" && write.manifest.spec?.containers[0]?.command).toEqual(["sleep", "infinity"]);
    expect(plan.status).toMatchObject({ phase: "Injecting", pod: COPY, sourcePod: POD_NAME });
    expect(plan.status.targetPodUID).toBeUndefined();
    expect(writesTo(plan)).not.toContain(POD_NAME);
  });

  it("adds the finalizer before the copy, so a deletion cannot leave the copy behind", () => {
    const plan = decide(input({ session: session({ spec, finalizers: [] }) }));
    expect(kinds(plan).slice(0, 2)).toEqual(["addFinalizer", "createCopy"]);
  });

  it("waits for a missing source and writes nothing", () => {
    const plan = decide(input({ source: undefined }));
    expect(plan.podWrites).toEqual([]);
    expect(plan.status).toMatchObject({ phase: "Pending" });
    expect(plan.status.message).toContain(`pod ${POD_NAME} not found`);
  });

  it("waits while the copy is not running, saying why", () => {
    const pending = copyPod({ phase: "Pending" });
    pending.status!.conditions = [{ type: "PodScheduled", status: "False", message: "0/1 nodes are available" }];
    const plan = decide(input({ pod: pending }));
    expect(plan.podWrites).toEqual([]);
    expect(plan.status).toMatchObject({ phase: "Injecting", pod: COPY });
    expect(plan.status.message).toContain("0/1 nodes are available");
    expect(plan.requeueAfterMs).toBeGreaterThan(0);
  });

  it("injects into the running copy, without a target container, and marks the copy", () => {
    const plan = decide(input({ pod: copyPod() }));
    expect(kinds(plan)).toEqual(["inject", "markPod", "event DebuggerInjected", "event Injected"]);
    const inject = plan.podWrites[0]!;
    expect(inject).toMatchObject({ kind: "inject", pod: COPY, podUID: COPY_UID });
    expect(inject.kind === "inject" && inject.container.targetContainerName).toBeUndefined();
    expect(plan.podWrites[1]).toMatchObject({ kind: "markPod", pod: COPY, expiryAction: "Delete" });
    expect(plan.status).toMatchObject({ phase: "Injecting", pod: COPY, targetPodUID: COPY_UID, sourcePod: POD_NAME });
  });

  it("deletes the copy at expiry, even where the policy allows only evictions", () => {
    const evictOnly: AccessInput = {
      ...ALLOW_COPY,
      policy: { ...ALLOW_COPY.policy!, spec: { ...ALLOW_COPY.policy!.spec, allowedExpiryActions: ["Evict"] } },
    };
    const status: DebugSessionStatus = {
      phase: "Running",
      pod: COPY,
      sourcePod: POD_NAME,
      targetPodUID: COPY_UID,
      containerName: CNAME,
      injectedAt: iso(new Date(NOW.getTime() - 31 * MIN)),
    };
    const plan = decide(
      input({
        session: copySession({ status }),
        pod: copyPod({ injected: true }),
        source: undefined,
        access: evictOnly,
      }),
    );
    expect(plan.podWrites).toEqual([{ kind: "removePod", pod: COPY, podUID: COPY_UID, how: "Delete" }]);
  });

  it.each([
    ["the copy ended before the debugger went in", { pod: copyPod({ phase: "Failed" }) }, "CopyFinished"],
    [
      "the source is gone while the copy waits",
      { pod: copyPod({ phase: "Pending" }), source: undefined },
      "SourcePodGone",
    ],
  ])("fails and deletes the copy when %s", (_what, o: Partial<DecideInput>, reason) => {
    const plan = decide(input(o));
    expect(plan.status.phase).toBe("Failed");
    expect(plan.status.conditions?.find((c) => c.type === "Injected")?.reason).toBe(reason);
    expect(plan.podWrites).toEqual([{ kind: "removePod", pod: COPY, podUID: COPY_UID, how: "Delete" }]);
  });

  it("is denied by a policy that allows no Copy, and deletes a copy made before the policy changed", () => {
    const ephemeralOnly: AccessInput = { ...ALLOW_ALL };
    const plan = decide(input({ access: ephemeralOnly }));
    expect(plan.status.phase).toBe("Failed");
    expect(plan.status.message).toContain("ModeNotAllowed: spec.mode Copy is not allowed");
    expect(plan.podWrites).toEqual([]);
    const withCopy = decide(input({ access: ephemeralOnly, pod: copyPod() }));
    expect(withCopy.podWrites).toEqual([{ kind: "removePod", pod: COPY, podUID: COPY_UID, how: "Delete" }]);
  });

  it("reports a refused copy as Failed with the apiserver's message, and does not try again", () => {
    const refused = whenRefused(input(), "copy", 'pods "x" is forbidden: violates PodSecurity "restricted:latest"');
    expect(refused.status.phase).toBe("Failed");
    expect(refused.status.message).toContain(
      `the apiserver refused the copy of pod ${POD_NAME}: pods "x" is forbidden`,
    );
    expect(refused.status.conditions?.find((c) => c.type === "Injected")?.reason).toBe("CopyRefused");
    const next = decide(input({ session: copySession({ status: refused.status }) }));
    expect(next.podWrites).toEqual([]);
  });

  it("never touches a pod under the copy's name that is not this session's", () => {
    const plan = decide(input({ copyNameTaken: true }));
    expect(plan.podWrites).toEqual([]);
    expect(plan.status.conditions?.find((c) => c.type === "Injected")?.reason).toBe("CopyNameTaken");
  });

  it("deletes the copy when the session is deleted before the debugger went in", () => {
    const plan = decide(
      input({ session: copySession({ deletionTimestamp: NOW }), pod: copyPod({ phase: "Pending" }) }),
    );
    expect(kinds(plan)).toEqual(["removePod", "event DebugSessionDeleted", "removeFinalizer"]);
    expect(plan.podWrites[0]).toMatchObject({ pod: COPY, podUID: COPY_UID, how: "Delete" });
  });

  it("judges a copy that exists on what it is: one that shares the node gets no debugger", () => {
    const planted = copyPod();
    planted.spec!.hostPID = true;
    const plan = decide(input({ pod: planted }));
    expect(plan.status.message).toContain("PrivilegedTarget");
    expect(plan.podWrites).toEqual([{ kind: "removePod", pod: COPY, podUID: COPY_UID, how: "Delete" }]);
  });

  it("judges the policy's target rules on the source, not on the copy", () => {
    const selective: AccessInput = {
      ...ALLOW_COPY,
      policy: {
        ...ALLOW_COPY.policy!,
        spec: { ...ALLOW_COPY.policy!.spec, targetSelector: { matchLabels: { app: "web" } } },
      },
    };
    const selected = source();
    selected.metadata!.labels = { app: "web" };
    expect(decide(input({ access: selective, source: selected })).podWrites.map((w) => w.kind)).toEqual(["createCopy"]);
    const denied = decide(input({ access: selective }));
    expect(denied.status.message).toContain("PodNotSelected");
    expect(POD_UID).not.toBe(COPY_UID);
  });
});
