// What GitOps tools show for a DebugSession in each state the operator writes: kstatus (kubectl-style
// waiters, kpt, cli-utils appliers), Flux with the shipped healthCheckExprs, Argo CD with the shipped
// health Lua. The judges are the tools' own code (test/support/judges.ts); no cluster is needed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Condition, Phase } from "../../src/api/types.ts";
import {
  argoConfigMapScript,
  argoHealthScriptPath,
  judge,
  judgeArgo,
  type ArgoHealth,
  type Judgement,
  type KstatusStatus,
} from "../support/judges.ts";

const AT = "2026-01-01T00:00:00Z";

const cond = (type: string, status: Condition["status"], reason: string, message = "", observedGeneration = 1) => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: AT,
  observedGeneration,
});

interface Shape {
  generation?: number;
  observedGeneration?: number;
  deleting?: boolean;
  phase: Phase;
  message: string;
  conditions: ReturnType<typeof cond>[];
}

function session(name: string, shape?: Shape): object {
  const generation = shape?.generation ?? 1;
  return {
    apiVersion: "debugging.dev/v1alpha1",
    kind: "DebugSession",
    metadata: {
      name,
      namespace: "shop",
      uid: `uid-${name}`,
      generation,
      creationTimestamp: AT,
      ...(shape?.deleting ? { deletionTimestamp: AT, finalizers: ["debugging.dev/pod-cleanup"] } : {}),
    },
    spec: { targetPod: "web-0", image: "busybox:1.36", ttl: "30m" },
    ...(shape && {
      status: {
        phase: shape.phase,
        observedGeneration: shape.observedGeneration ?? generation,
        message: shape.message,
        conditions: shape.conditions,
      },
    }),
  };
}

// The status shapes the operator writes, one per situation.
const pending: Shape = {
  phase: "Pending",
  message: "Waiting for pod web-0 to be running",
  conditions: [
    cond("Reconciling", "True", "WaitingForPod", "Waiting for pod web-0 to be running"),
    cond("Ready", "False", "WaitingForPod", "Waiting for pod web-0 to be running"),
    cond("Injected", "False", "WaitingForPod"),
  ],
};
const injectingNotYet: Shape = {
  phase: "Injecting",
  message: "Adding the debugger to pod web-0",
  conditions: [
    cond("Reconciling", "True", "Injecting", "Adding the debugger to pod web-0"),
    cond("Ready", "False", "Injecting", "Adding the debugger to pod web-0"),
    cond("Injected", "False", "Injecting"),
  ],
};
const injectingStarting: Shape = {
  phase: "Injecting",
  message: "Debugger added to pod web-0; waiting for it to start (pulling busybox:1.36)",
  conditions: [
    cond("Reconciling", "True", "ContainerStarting", "Waiting for the debugger to start"),
    cond("Ready", "False", "ContainerStarting", "Waiting for the debugger to start"),
    cond("Injected", "True", "Injected"),
  ],
};
const running: Shape = {
  phase: "Running",
  message: "Debugger running in pod web-0; expires at 2026-01-01T00:30:00Z",
  conditions: [
    cond("Ready", "True", "Running", "Debugger running"),
    cond("Reconciling", "False", "Running"),
    cond("Injected", "True", "Injected"),
  ],
};
const completed: Shape = {
  phase: "Completed",
  message: "The debugger exited (code 0); the session ends at 2026-01-01T00:30:00Z",
  conditions: [cond("Reconciling", "False", "Completed"), cond("Injected", "True", "Injected")],
};
const expired: Shape = {
  phase: "Expired",
  message: "TTL of 30m reached; pod web-0 evicted",
  conditions: [
    cond("Reconciling", "False", "Expired"),
    cond("Injected", "True", "Injected"),
    cond("Expired", "True", "TTLReached", "TTL of 30m reached"),
  ],
};
const terminated: Shape = {
  phase: "Terminated",
  message: "Pod web-0 was deleted while the debugger ran",
  conditions: [cond("Reconciling", "False", "PodGone"), cond("Injected", "True", "Injected")],
};
const failedPolicy: Shape = {
  phase: "Failed",
  message: "Refused by policy default: image busybox:1.36 is not in allowedImages",
  conditions: [
    cond("Stalled", "True", "PolicyViolation", "image busybox:1.36 is not in allowedImages"),
    cond("Reconciling", "False", "PolicyViolation"),
    cond("Injected", "False", "PolicyViolation"),
  ],
};
const failedRefused: Shape = {
  phase: "Failed",
  message: 'The apiserver refused the ephemeral container: pods "web-0" is forbidden',
  conditions: [
    cond("Stalled", "True", "InjectionRefused", 'pods "web-0" is forbidden'),
    cond("Reconciling", "False", "InjectionRefused"),
    cond("Injected", "False", "InjectionRefused"),
  ],
};
const unobserved = (shape: Shape): Shape => ({ ...shape, generation: 2, observedGeneration: 1 });

type Expected = [kstatus: KstatusStatus, flux: KstatusStatus, argo: ArgoHealth];
const IN_PROGRESS: Expected = ["InProgress", "InProgress", "Progressing"];
const CURRENT: Expected = ["Current", "Current", "Healthy"];
const FAILED: Expected = ["Failed", "Failed", "Degraded"];

const rows: [name: string, shape: Shape, expected: Expected][] = [
  ["pending", pending, IN_PROGRESS],
  ["injecting, container not yet added", injectingNotYet, IN_PROGRESS],
  ["injecting, container starting", injectingStarting, IN_PROGRESS],
  ["running", running, CURRENT],
  ["completed", completed, CURRENT],
  ["expired", expired, CURRENT],
  ["terminated", terminated, CURRENT],
  ["failed: policy violation", failedPolicy, FAILED],
  ["failed: injection refused", failedRefused, FAILED],
  ["running, spec changed and not yet observed", unobserved(running), IN_PROGRESS],
  ["expired, spec changed and not yet observed", unobserved(expired), IN_PROGRESS],
  ["failed, spec changed and not yet observed", unobserved(failedPolicy), IN_PROGRESS],
  ["pending, spec changed and not yet observed", unobserved(pending), IN_PROGRESS],
  [
    "running but Ready=False (the debugger just stopped)",
    {
      ...running,
      message: "The debugger container is not running",
      conditions: [cond("Ready", "False", "ContainerNotRunning"), ...running.conditions.slice(1)],
    },
    IN_PROGRESS,
  ],
  [
    "completed with a Ready=False left over",
    { ...completed, conditions: [cond("Ready", "False", "ContainerExited"), ...completed.conditions] },
    IN_PROGRESS,
  ],
  [
    "running while the operator reconciles again",
    {
      ...running,
      conditions: [
        ...running.conditions.filter((c) => c.type !== "Reconciling"),
        cond("Reconciling", "True", "Updating"),
      ],
    },
    IN_PROGRESS,
  ],
  [
    "stalled before the phase moved on",
    {
      ...pending,
      message: "Refused by policy default: profile sysadmin is not allowed",
      conditions: [
        cond("Stalled", "True", "PolicyViolation", "profile sysadmin is not allowed"),
        cond("Reconciling", "False", "PolicyViolation"),
      ],
    },
    FAILED,
  ],
];

const noStatus = session("no-status");
const emptyStatus = { ...session("empty-status"), status: {} };
const deleting = session("deleting", { ...running, deleting: true });
const failedWithoutStalled: Shape = {
  ...failedPolicy,
  conditions: failedPolicy.conditions.filter((c) => c.type !== "Stalled"),
};

describe("DebugSession health as kstatus, Flux and Argo CD judge it", () => {
  let byName: Map<string, Judgement>;
  const verdicts = (name: string): Judgement => {
    const j = byName.get(name);
    if (!j) throw new Error(`no judgement for ${name}`);
    return j;
  };

  // All objects in one call, as the judges are meant to be used; the first call also builds them.
  beforeAll(async () => {
    const objects = [
      ...rows.map(([name, shape]) => session(name, shape)),
      noStatus,
      emptyStatus,
      deleting,
      session("failed phase without Stalled", failedWithoutStalled),
    ];
    const judged = await judge(objects);
    byName = new Map(objects.map((o, i) => [(o as { metadata: { name: string } }).metadata.name, judged[i]!]));
  }, 900_000);

  it.each(rows)("%s", (name, shape, [kstatus, flux, argo]) => {
    const j = verdicts(name);
    expect({ kstatus: j.kstatus.status, flux: j.flux.status, argo: j.argo.status }).toEqual({ kstatus, flux, argo });
    expect(j.kstatus.error ?? j.flux.error ?? j.argo.error).toBeUndefined();
    if (shape.observedGeneration === undefined) expect(j.argo.message).toBe(shape.message);
  });

  it("says which generation it waits for when the spec changed", () => {
    expect(verdicts("running, spec changed and not yet observed").kstatus.message).toBe(
      "DebugSession generation is 2, but latest observed generation is 1",
    );
    expect(verdicts("running, spec changed and not yet observed").argo.message).toBe(
      "Waiting for the operator to observe generation 2 (last observed: 1)",
    );
  });

  it("kstatus carries the message of the Stalled or Reconciling condition, not status.message", () => {
    expect(verdicts("failed: injection refused").kstatus.message).toBe('pods "web-0" is forbidden');
    expect(verdicts("injecting, container starting").kstatus.message).toBe("Waiting for the debugger to start");
  });

  it("Flux shows no message of its own for a healthCheckExprs verdict", () => {
    expect(verdicts("failed: policy violation").flux.message).toBe("");
  });

  it("kstatus reads only conditions: a Failed phase without Stalled=True is Current to it", () => {
    const j = verdicts("failed phase without Stalled");
    expect([j.kstatus.status, j.flux.status, j.argo.status]).toEqual(["Current", "Failed", "Degraded"]);
    expect(j.argo.message).toBe(failedWithoutStalled.message);
  });

  it("a session with no status yet is progressing for Argo CD and not yet healthy for Flux", () => {
    const j = verdicts("no-status");
    expect(j.argo).toEqual({
      status: "Progressing",
      message: "Waiting for the operator to report the session's status",
    });
    // status is then an unknown CEL variable; Flux keeps waiting on Unknown as on InProgress.
    expect(j.flux.status).toBe("Unknown");
    expect(j.flux.error).toMatch(/no such attribute\(s\): status/);
    // kstatus calls any object without conditions Current.
    expect(j.kstatus.status).toBe("Current");
  });

  it("an empty status is in progress for Flux and Argo CD", () => {
    const j = verdicts("empty-status");
    expect([j.kstatus.status, j.flux.status, j.argo.status]).toEqual(["Current", "InProgress", "Progressing"]);
  });

  it("a session being deleted is not healthy for any of them", () => {
    const j = verdicts("deleting");
    expect(j.kstatus).toEqual({ status: "Terminating", message: "Resource scheduled for deletion" });
    expect(j.flux.status).toBe("InProgress");
    expect(j.argo).toEqual({ status: "Progressing", message: "Pending deletion" });
  });
});

describe("the Argo CD runner", () => {
  let dir: string;
  beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), "argo-health-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it.each([
    ["the string library", 'return { status = string.format("%s", "Healthy") }'],
    ["string methods", 'return { status = ("healthy"):upper() }'],
    ["the math library", 'return { status = "Healthy", message = tostring(math.floor(1.5)) }'],
  ])("the runner, like Argo CD, gives a script no %s", async (_, lua) => {
    const script = join(dir, "health.lua");
    writeFileSync(script, lua);
    const [verdict] = await judgeArgo([session("any")], script);
    expect(verdict?.status).toBe("Unknown");
    expect(verdict?.error).toMatch(/attempt to (index|call)/);
  });

  it("the runner, like Argo CD, leaves JSON null fields out of obj", async () => {
    const script = join(dir, "health.lua");
    writeFileSync(
      script,
      'return { status = "Healthy", message = tostring(obj.status.message) .. " " .. #obj.status.conditions }',
    );
    const object = { ...session("nulls"), status: { message: null, conditions: [null, { type: "Ready" }] } };
    expect(await judgeArgo([object], script)).toEqual([{ status: "Healthy", message: "nil 1" }]);
  });
});

describe("shipped Argo CD configuration", () => {
  it("argocd-cm.yaml embeds exactly config/gitops/argocd-health.lua", () => {
    expect(argoConfigMapScript()).toBe(readFileSync(argoHealthScriptPath, "utf8"));
  });
});
