import { describe, expect, it } from "vitest";
import type { DebugSession, DebugSessionStatus } from "../../src/api/types.ts";
import { JsonObjectStream } from "../../src/plugin/json-stream.ts";
import {
  afterLines,
  currentTTLms,
  detachHint,
  kubectlMinor,
  outcomeOf,
  relative,
  suggestedFlags,
} from "../../src/plugin/outcome.ts";
import { progressOf } from "../../src/plugin/progress.ts";

const NOW = new Date("2026-12-02T10:00:00Z");
const EXPIRES = "2026-12-02T10:30:00Z";
const session = (status: DebugSessionStatus | undefined, spec: Partial<DebugSession["spec"]> = {}): DebugSession => ({
  apiVersion: "debugging.dev/v1alpha1",
  kind: "DebugSession",
  metadata: { name: "dbg-web-bcdfg", namespace: "shop" },
  spec: { targetPod: "web-1", image: "busybox:1.36", stdin: true, tty: true, ...spec },
  ...(status ? { status } : {}),
});
const running = { pod: "web-1", containerName: "dbg-x", expiresAt: EXPIRES, injectedAt: "2026-12-02T10:00:00Z" };
const noFlags = { asGroups: [] };

describe("progressOf: one line per state, and what to do next", () => {
  it.each([
    { status: undefined, step: "wait", line: "waiting for the operator to pick up session dbg-web-bcdfg" },
    { status: { phase: "Pending" }, step: "wait", line: "Pending: waiting for the target pod" },
    {
      status: { phase: "Pending", message: "pod web-1 is not running (phase Pending)" },
      step: "wait",
      line: "Pending: pod web-1 is not running (phase Pending)",
    },
    {
      status: { phase: "Injecting", message: "adding debugger dbg-x" },
      step: "wait",
      line: "Injecting: adding debugger dbg-x",
    },
    {
      status: { phase: "Injecting", ...running, containerState: { state: "waiting", reason: "ContainerCreating" } },
      step: "wait",
      line: "Injecting: starting debugger dbg-x in pod web-1 (ContainerCreating; image busybox:1.36 is pulled first unless the node has it)",
    },
    {
      status: {
        phase: "Injecting",
        ...running,
        containerState: {
          state: "waiting",
          reason: "ImagePullBackOff",
          message: 'Back-off pulling image "busybox:1.36"',
        },
      },
      step: "wait",
      line: 'Injecting: cannot pull image busybox:1.36 (ImagePullBackOff: Back-off pulling image "busybox:1.36")',
    },
    {
      status: {
        phase: "Injecting",
        ...running,
        containerState: { state: "waiting", reason: "CreateContainerError", message: "no" },
      },
      step: "wait",
      line: "Injecting: debugger dbg-x in pod web-1 is waiting: CreateContainerError: no",
    },
    {
      status: { phase: "Injecting", ...running, containerState: { state: "running" } },
      step: "running",
      line: "Running: debugger dbg-x in pod web-1",
    },
    {
      status: { phase: "Running", ...running, containerState: { state: "running" } },
      step: "running",
      line: `Running: debugger dbg-x in pod web-1 (the pod is removed at ${EXPIRES})`,
    },
    {
      status: { phase: "Completed", ...running, containerState: { state: "terminated", exitCode: 7 } },
      step: "ended",
      line: "Completed: the debugger exited with code 7",
    },
    {
      status: {
        phase: "Failed",
        message: "image alpine:3 is not allowed by DebugPolicy default",
        conditions: [
          { type: "Stalled", status: "True", reason: "PolicyViolation", message: "", lastTransitionTime: "" },
        ],
      },
      step: "ended",
      line: "Failed (PolicyViolation): image alpine:3 is not allowed by DebugPolicy default",
    },
    { status: { phase: "Failed" }, step: "ended", line: "Failed" },
    {
      status: { phase: "Expired", message: "pod web-1 was evicted" },
      step: "ended",
      line: "Expired: pod web-1 was evicted",
    },
    {
      status: { phase: "Terminated", message: "pod web-1 went away" },
      step: "ended",
      line: "Terminated: pod web-1 went away",
    },
  ] as { status: DebugSessionStatus | undefined; step: string; line: string }[])("$line", ({ status, step, line }) => {
    expect(progressOf(session(status))).toEqual({ step, line });
  });

  it("names the target pod before the operator has chosen one, and keeps waiting on a phase it does not know", () => {
    expect(progressOf(session({ phase: "Injecting" })).line).toBe("Injecting: adding debugger ? in pod web-1");
    const future = session({ phase: "Hibernating" as "Pending", message: "zzz" });
    expect(progressOf(future)).toEqual({ step: "wait", line: "Hibernating: zzz" });
  });
});

describe("outcomeOf: the exit code", () => {
  it.each([
    { status: { phase: "Completed", containerState: { state: "terminated", exitCode: 0 } }, code: 0 },
    { status: { phase: "Completed", containerState: { state: "terminated", exitCode: 42 } }, code: 42 },
    // The pod went at expiry while the debugger ran: its exit code (137, killed) still counts.
    { status: { phase: "Expired", containerState: { state: "terminated", exitCode: 137 } }, code: 137 },
    { status: { phase: "Completed", containerState: { state: "terminated" } }, code: 1 },
    { status: { phase: "Failed", message: "no" }, code: 1 },
    { status: { phase: "Expired", message: "expired" }, code: 1 },
    { status: { phase: "Terminated", message: "gone" }, code: 1 },
  ] as { status: DebugSessionStatus; code: number }[])("$status.phase, $status.containerState: exit $code", (t) => {
    expect(outcomeOf(session(t.status))).toMatchObject({ ended: true, code: t.code });
  });

  it.each([
    { phase: "Running", containerState: { state: "running" } },
    { phase: "Pending" },
    {},
  ] as DebugSessionStatus[])("%o has not ended: the attach ended, not the debugger", (status) => {
    expect(outcomeOf(session(status))).toEqual({ ended: false });
  });
});

describe("afterLines", () => {
  const k = { context: "prod", asGroups: ["sre"], as: "alice" };

  it("says, after a detach, when the pod goes and how to reattach, extend and end, with the same kubectl flags", () => {
    const s = session({ phase: "Running", ...running }, { ttl: "30m" });
    expect(afterLines(s, { ended: false }, NOW, k)).toEqual([
      `The debugger keeps running in pod web-1; the pod is removed at ${EXPIRES} (in 30m).`,
      "  kubectl dbg attach dbg-web-bcdfg -n shop --context prod --as alice --as-group sre    reattach",
      "  kubectl dbg extend dbg-web-bcdfg --ttl 1h -n shop --context prod --as alice --as-group sre    keep it longer (up to the policy's maxTTL)",
      "  kubectl dbg end dbg-web-bcdfg -n shop --context prod --as alice --as-group sre    end it now (the pod is removed)",
    ]);
  });

  it("says, after the debugger exited, that the tainted pod stays until expiresAt", () => {
    const s = session({ phase: "Completed", ...running, containerState: { state: "terminated", exitCode: 0 } });
    expect(afterLines(s, outcomeOf(s), NOW, noFlags)).toEqual([
      "Session dbg-web-bcdfg: the debugger exited with code 0.",
      `Pod web-1 stays tainted and is removed at ${EXPIRES} (in 30m).`,
      "  kubectl dbg end dbg-web-bcdfg -n shop    removes it now",
    ]);
  });

  it("gives the operator's message verbatim for a session that failed or ended", () => {
    const s = session({ phase: "Failed", message: "DebugPolicy default does not allow image alpine:3" });
    expect(afterLines(s, outcomeOf(s), NOW, noFlags)).toEqual([
      "Session dbg-web-bcdfg: Failed: DebugPolicy default does not allow image alpine:3",
    ]);
  });
});

describe("small readers", () => {
  it.each([
    { at: "2026-12-02T10:29:40Z", says: "in 30m" },
    { at: "2026-12-02T10:00:20Z", says: "in 20s" },
    { at: "2026-12-02T11:30:00Z", says: "in 1h30m" },
    { at: "2026-12-02T09:57:00Z", says: "3m ago" },
    { at: "2026-12-02T10:00:00Z", says: "now" },
    { at: "soon", says: "" },
  ])("relative($at) is $says", ({ at, says }) => {
    expect(relative(at, NOW)).toBe(says);
  });

  it("takes the ttl from the spec, else from the expiry the operator fixed", () => {
    expect(currentTTLms(session(undefined, { ttl: "45m" }))).toBe(2_700_000);
    expect(currentTTLms(session({ ...running }))).toBe(1_800_000);
    expect(currentTTLms(session({ phase: "Pending" }))).toBeUndefined();
  });

  it("quotes what a shell would split", () => {
    expect(suggestedFlags("shop", { asGroups: ["system:masters", "my group"], kubeconfig: "/a b/c" })).toBe(
      "-n shop --kubeconfig '/a b/c' --as-group system:masters --as-group 'my group'",
    );
  });

  it.each([
    { json: '{"clientVersion":{"major":"1","minor":"36"}}', minor: 36 },
    { json: '{"clientVersion":{"major":"1","minor":"35+"}}', minor: 35 },
    { json: "not json", minor: undefined },
    { json: "{}", minor: undefined },
  ])("kubectl version $json -> minor $minor", ({ json, minor }) => {
    expect(kubectlMinor(json)).toBe(minor);
  });

  it("tells how to detach by kubectl version: detach keys only from 1.36", () => {
    expect(detachHint(36)).toContain("Ctrl-P Ctrl-Q");
    expect(detachHint(35)).toBe(
      "kubectl 1.35 has no detach keys: close the terminal to leave the debugger running; exiting the shell ends it.",
    );
    expect(detachHint(undefined)).toContain("kubectl 1.36+");
  });
});

describe("JsonObjectStream", () => {
  const objects = [
    { kind: "DebugSession", metadata: { name: "a" }, status: { message: 'braces } { and "quotes" \\ in a string' } },
    { kind: "DebugSession", metadata: { name: "b" }, spec: { command: ["sh", "-c", "echo {}"] } },
  ];
  const text = objects.map((o) => JSON.stringify(o, null, 4)).join("\n");

  it("cuts pretty-printed objects apart at any chunk boundary", () => {
    for (const size of [1, 2, 7, 64, text.length]) {
      const stream = new JsonObjectStream();
      const seen: unknown[] = [];
      for (let i = 0; i < text.length; i += size) seen.push(...stream.push(text.slice(i, i + size)));
      expect(seen, `chunks of ${size}`).toEqual(objects);
    }
  });

  it("keeps a half-read object for the next chunk", () => {
    const stream = new JsonObjectStream();
    expect(stream.push('{"kind": "Debug')).toEqual([]);
    expect(stream.push('Session"}\n{"a":')).toEqual([{ kind: "DebugSession" }]);
    expect(stream.push("1}")).toEqual([{ a: 1 }]);
  });
});
