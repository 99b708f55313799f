// Runs the built kubectl-dbg (as `make plugin` builds it) against a fake kubectl that records its argv
// and answers with canned JSON: which kubectl commands, with which flags, the plugin issues, and what it
// makes of the answers. The kubectl behaviour itself is the real-cluster suites' to check.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DebugSession, DebugSessionStatus } from "../../src/api/types.ts";
import { build } from "../../hack/build-plugin.ts";
import { callsIn, installFakeKubectl, type Call, type Rule } from "../support/fake-kubectl.ts";

let dir: string;
let bin: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kubectl-dbg-"));
  bin = build(join(dir, "bin"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  calls: Call[];
  ms: number;
}

/** kubectl-dbg ARGS with a fake kubectl answering by `rules`. */
function run(
  args: string[],
  rules: Rule[],
  o: { kubectl?: string; program?: string; interrupt?: boolean } = {},
): Promise<Run> {
  const fake = mkdtempSync(join(dir, "fake-"));
  const kubectl = o.kubectl ?? installFakeKubectl(fake, rules);
  const started = Date.now();
  const child = spawn(process.execPath, [o.program ?? bin, ...args], {
    env: { ...process.env, KUBECTL: kubectl },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let interrupted = false;
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
    // Ctrl-C once the plugin is waiting (it has said what it waits for).
    if (o.interrupt && !interrupted && stderr.includes("Pending")) interrupted = child.kill("SIGINT");
  });
  child.on("error", (e) => (stderr += `[test] ${e.message}\n`)); // shown by the failing assertion
  return new Promise((resolve) =>
    child.on("close", (code) =>
      resolve({ code, stdout, stderr, calls: o.kubectl ? [] : callsIn(fake), ms: Date.now() - started }),
    ),
  );
}

const session = (status?: DebugSessionStatus, spec: Partial<DebugSession["spec"]> = {}): DebugSession => ({
  apiVersion: "debugging.dev/v1alpha1",
  kind: "DebugSession",
  metadata: { name: "s1", namespace: "shop", generation: 1 },
  spec: { targetPod: "web-1", image: "busybox:1.36", command: ["sh"], stdin: true, tty: true, ...spec },
  ...(status ? { status } : {}),
});
const EXPIRES = "2030-01-01T00:30:00Z";
const debuggerAt = { pod: "web-1", containerName: "dbg-s1-0123456789ab", targetPodUID: "u1", expiresAt: EXPIRES };
const RUNNING: DebugSessionStatus = { phase: "Running", ...debuggerAt, containerState: { state: "running" } };
/** Injected, not yet reported running: an attach may already connect. */
const STARTING: DebugSessionStatus = {
  phase: "Injecting",
  ...debuggerAt,
  containerState: { state: "waiting", reason: "ContainerCreating" },
  conditions: [
    {
      type: "Injected",
      status: "True",
      reason: "Injected",
      message: "ephemeral container dbg-s1-0123456789ab is in pod web-1",
      lastTransitionTime: EXPIRES,
    },
  ],
};
const exited = (exitCode: number): DebugSessionStatus => ({
  phase: "Completed",
  ...debuggerAt,
  containerState: { state: "terminated", exitCode },
});
const VERSION: Rule = { when: ["version", "--client"], stdout: '{"clientVersion":{"major":"1","minor":"35"}}' };
const KUBECTL_FLAGS = ["--context", "kind", "--as", "alice", "--as-group", "devs", "--as-group", "ops"];
/** The session the plugin piped into kubectl create. */
const sent = (r: Run): DebugSession =>
  JSON.parse(r.calls.find((c) => c.argv[0] === "create")?.stdin ?? "{}") as DebugSession;
const argvs = (r: Run): string[][] => r.calls.map((c) => c.argv).filter((a) => a[0] !== "version");

// Each kubectl call is a Node process; on a busy machine a run takes seconds.
const SLOW = { timeout: 30_000 };

describe("kubectl dbg POD", SLOW, () => {
  it("creates the session, watches it, attaches with a terminal and exits with the debugger's exit code", async () => {
    const r = await run(
      ["web-1", "--name", "s1", "-n", "shop", "-c", "app", "--ttl", "1h", ...KUBECTL_FLAGS, "--request-timeout=30s"],
      [
        VERSION,
        { when: ["create"], echo: true },
        {
          when: ["get", "--watch"],
          hold: true,
          objects: [
            session({ phase: "Pending", message: "pod web-1 is not running yet" }),
            session({
              phase: "Injecting",
              ...debuggerAt,
              containerState: { state: "waiting", reason: "ContainerCreating" },
            }),
            session(RUNNING),
            session(exited(3)),
          ],
        },
        { when: ["attach"], stdout: "(the debugger's terminal)\n" },
      ],
    );
    const flags = ["-n", "shop", ...KUBECTL_FLAGS, "--request-timeout", "30s"];
    expect(argvs(r)).toEqual([
      ["create", "-f", "-", "-o", "json", ...flags],
      ["get", "debugsessions.debugging.dev", "s1", "-o", "json", "--watch", ...flags],
      ["attach", "-it", "-q", "web-1", "-c", "dbg-s1-0123456789ab", ...flags],
    ]);
    expect(sent(r)).toEqual({
      apiVersion: "debugging.dev/v1alpha1",
      kind: "DebugSession",
      metadata: { name: "s1", namespace: "shop" },
      spec: {
        targetPod: "web-1",
        targetContainer: "app",
        image: "busybox:1.36",
        command: ["sh"],
        stdin: true,
        tty: true,
        ttl: "1h",
      },
    });
    expect(r.stdout).toBe("(the debugger's terminal)\n");
    expect(r.stderr).toContain("Created session s1 in namespace shop.");
    expect(r.stderr).toContain("Pending: pod web-1 is not running yet");
    expect(r.stderr).toContain("Injecting: starting debugger dbg-s1-0123456789ab in pod web-1 (ContainerCreating");
    expect(r.stderr).toContain("Running: debugger dbg-s1-0123456789ab in pod web-1");
    expect(r.stderr).toContain("kubectl 1.35 has no detach keys");
    expect(r.stderr).toContain("If you don't see a command prompt, try pressing enter.");
    expect(r.stderr).toContain("Session s1: the debugger exited with code 3.");
    expect(r.stderr).toContain(`Pod web-1 stays tainted and is removed at ${EXPIRES}`);
    expect(r.code).toBe(3);
  });

  it("attaches while the debugger starts, before the kubelet reports it running, retrying quietly until it connects", async () => {
    const starting = session(STARTING);
    const notYet =
      "error: Internal error occurred: unable to upgrade connection: container dbg-s1-0123456789ab not found in pod web-1_shop\n";
    const r = await run(
      ["web-1", "--name", "s1", "-n", "shop"],
      [
        VERSION,
        { when: ["create"], echo: true },
        // Running is never reported before the debugger exits: every attach comes before it.
        { when: ["--watch"], hold: true, gapMs: 2500, objects: [starting, session(exited(3))] },
        { when: ["attach"], times: 2, stderr: notYet, code: 1 },
        { when: ["attach"], stdout: "(the debugger's terminal)\n" },
      ],
    );
    const attaches = argvs(r).filter((a) => a[0] === "attach");
    expect(attaches).toHaveLength(3);
    expect(attaches[2]).toEqual(["attach", "-it", "-q", "web-1", "-c", "dbg-s1-0123456789ab", "-n", "shop"]);
    expect(r.stdout).toBe("(the debugger's terminal)\n");
    expect(r.stderr).not.toContain("unable to upgrade connection");
    expect(r.stderr).not.toContain("Running:");
    expect(r.stderr.match(/If you don't see a command prompt/g)).toHaveLength(1);
    expect(r.code).toBe(3);
  });

  it("takes only kubectl's own refusal lines as 'not yet': a debugger's stderr that looks like one is shown, once", async () => {
    const own = "sh: wget: server returned error: is forbidden\n";
    const r = await run(
      ["web-1", "--name", "s1", "--tty=false"],
      [
        VERSION,
        { when: ["create"], echo: true },
        {
          when: ["--watch"],
          hold: true,
          gapMs: 2500,
          objects: [session(STARTING, { tty: false }), session(exited(1), { tty: false })],
        },
        { when: ["attach"], stderr: own, code: 1 },
      ],
    );
    expect(argvs(r).filter((a) => a[0] === "attach")).toHaveLength(1);
    expect(r.stderr).toContain(own.trim());
    expect(r.code).toBe(1);
  });

  it("shows a refused attach once the debugger is reported running: the refusal is no longer a start-up race", async () => {
    const forbidden =
      'Error from server (Forbidden): pods "web-1" is forbidden: User "alice" cannot create resource "pods/attach"\n';
    const r = await run(
      ["web-1", "--name", "s1"],
      [
        VERSION,
        { when: ["create"], echo: true },
        { when: ["--watch"], hold: true, objects: [session(RUNNING)] },
        { when: ["attach"], stderr: forbidden, code: 1 },
      ],
    );
    expect(argvs(r).filter((a) => a[0] === "attach")).toHaveLength(1);
    expect(r.stderr).toContain(forbidden.trim());
    expect(r.code).toBe(1);
  });

  it("stops within seconds on a Failed session, printing the operator's message, and never attaches", async () => {
    const message = "image alpine:3 is not allowed by DebugPolicy default (spec.allowedImages: busybox:*)";
    const r = await run(
      ["web-1", "--name", "s1", "--image", "alpine:3"],
      [
        VERSION,
        { when: ["create"], echo: true },
        {
          when: ["--watch"],
          hold: true,
          objects: [session({ phase: "Pending" }), session({ phase: "Failed", message })],
        },
      ],
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Session s1: Failed: ${message}`);
    expect(r.stdout).toBe("");
    expect(argvs(r).map((a) => a[0])).toEqual(["create", "get"]);
    expect(r.ms).toBeLessThan(10_000);
  });

  it("passes an admission refusal through verbatim and exits non-zero without watching", async () => {
    const refusal =
      "The debugsessions \"s1\" is invalid: : ValidatingAdmissionPolicy 'debugsession-policy-content' with binding " +
      "'debugsession-policy-content' denied request: spec.ttl 8h exceeds DebugPolicy default spec.maxTTL 2h\n";
    const r = await run(
      ["web-1", "--name", "s1", "--ttl", "8h"],
      [VERSION, { when: ["create"], stderr: refusal, code: 1 }],
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(refusal);
    expect(argvs(r).map((a) => a[0])).toEqual(["create"]);
  });

  it("runs a command without stdin by following its log, and exits with its code", async () => {
    const r = await run(
      ["web-1", "--name", "s1", "-i=false", "--", "ps", "aux"],
      [
        { when: ["create"], echo: true },
        {
          when: ["--watch"],
          hold: true,
          objects: [session(RUNNING, { stdin: false, tty: false }), session(exited(0))],
        },
        { when: ["logs"], stdout: "PID USER COMMAND\n" },
      ],
    );
    expect(sent(r).spec).toEqual({
      targetPod: "web-1",
      image: "busybox:1.36",
      command: ["ps", "aux"],
    });
    expect(argvs(r)[2]).toEqual(["logs", "-f", "web-1", "-c", "dbg-s1-0123456789ab", "-n", "shop"]);
    expect(r.stdout).toBe("PID USER COMMAND\n");
    expect(r.code).toBe(0);
  });

  it("prints the log of a debugger that exited before it could be attached", async () => {
    const r = await run(
      ["web-1", "--name", "s1"],
      [
        VERSION,
        { when: ["create"], echo: true },
        { when: ["--watch"], hold: true, objects: [session(exited(5))] },
        { when: ["logs"], stdout: "sh: oops\n" },
      ],
    );
    expect(argvs(r).at(-1)).toEqual(["logs", "web-1", "-c", "dbg-s1-0123456789ab", "-n", "shop"]);
    expect(r.stdout).toBe("sh: oops\n");
    expect(r.code).toBe(5);
  });

  it("after a detach, says the debugger keeps running, until when, and how to reattach, extend or end it", async () => {
    const r = await run(
      ["web-1", "--name", "s1", "--context", "kind"],
      [
        VERSION,
        { when: ["create"], echo: true },
        { when: ["--watch"], hold: true, objects: [session(RUNNING, { ttl: "30m" })] },
        { when: ["attach"] },
      ],
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`The debugger keeps running in pod web-1; the pod is removed at ${EXPIRES}`);
    expect(r.stderr).toContain("kubectl dbg attach s1 -n shop --context kind    reattach");
    expect(r.stderr).toContain("kubectl dbg extend s1 --ttl 1h -n shop --context kind");
    expect(r.stderr).toContain("kubectl dbg end s1 -n shop --context kind");
  });

  it("--attach=false waits for the debugger, prints the session name on stdout and exits 0", async () => {
    const r = await run(
      ["deployment/web", "--attach=false", "-q"],
      [
        { when: ["create"], echo: true },
        { when: ["--watch"], hold: true, objects: [session({ phase: "Pending" }), session(RUNNING)] },
      ],
    );
    const name = sent(r).metadata.name ?? "";
    expect(name).toMatch(/^dbg-web-[a-z0-9]{5}$/);
    expect(sent(r).spec.targetRef).toEqual({ kind: "Deployment", name: "web" });
    expect(r.stdout).toBe(`${name}\n`);
    expect(r.stderr).not.toContain("Pending");
    expect(argvs(r).map((a) => a[0])).toEqual(["create", "get"]);
    expect(r.code).toBe(0);
  });

  it.each([
    {
      how: "--timeout passes",
      args: ["--timeout", "1s"],
      code: 1,
      says: "Gave up after 1s: session s1 is still Pending:",
    },
    { how: "Ctrl-C", args: [], interrupt: true, code: 130, says: "Interrupted: session s1 is still Pending:" },
  ])("stops waiting when $how, saying the session stays and how to go on", async ({ args, interrupt, code, says }) => {
    const r = await run(
      ["web-1", "--name", "s1", ...args],
      [
        VERSION,
        { when: ["create"], echo: true },
        {
          when: ["--watch"],
          hold: true,
          objects: [session({ phase: "Pending", message: "pod web-1 is not running" })],
        },
      ],
      { interrupt },
    );
    expect(r.stderr).toContain(`${says} pod web-1 is not running.`);
    expect(r.stderr).toContain(
      "The session stays, and its debugger is injected once it can be: kubectl dbg attach s1 -n shop",
    );
    expect(r.code).toBe(code);
  });

  it("--dry-run=client -o yaml lets kubectl print the manifest and creates nothing", async () => {
    const r = await run(
      ["deployment/web", "--name", "s1", "--dry-run=client", "-o", "yaml", "-n", "shop", ...KUBECTL_FLAGS],
      [{ when: ["create", "--dry-run=client"], stdout: "apiVersion: debugging.dev/v1alpha1\nkind: DebugSession\n" }],
    );
    expect(argvs(r)).toEqual([["create", "-f", "-", "--dry-run=client", "-o", "yaml", "-n", "shop", ...KUBECTL_FLAGS]]);
    expect(sent(r).spec.targetRef).toEqual({ kind: "Deployment", name: "web" });
    expect(r.stdout).toBe("apiVersion: debugging.dev/v1alpha1\nkind: DebugSession\n");
    expect(r.code).toBe(0);
  });
});

describe("subcommands", SLOW, () => {
  it("list -A is kubectl get debugsessions -A with the user's flags", async () => {
    const table = "NAMESPACE   NAME   POD     CONTAINER   PHASE\nshop        s1     web-1   dbg-s1      Running\n";
    const r = await run(["list", "-A", ...KUBECTL_FLAGS], [{ when: ["get"], stdout: table }]);
    expect(argvs(r)).toEqual([["get", "debugsessions.debugging.dev", "-A", ...KUBECTL_FLAGS]]);
    expect(r.stdout).toBe(table);
    expect(r.code).toBe(0);
  });

  it("extend patches spec.ttl, then prints the expiry the operator recorded and the policy's maxTTL", async () => {
    const before = session({ ...RUNNING, observedGeneration: 1 }, { ttl: "30m" });
    const patched = { ...before, metadata: { ...before.metadata, generation: 2 }, spec: { ...before.spec, ttl: "1h" } };
    const after = { ...patched, status: { ...RUNNING, observedGeneration: 2, expiresAt: "2030-01-01T01:00:00Z" } };
    const policy = {
      apiVersion: "debugging.dev/v1alpha1",
      kind: "DebugPolicy",
      metadata: { name: "default" },
      spec: { maxTTL: "2h" },
    };
    const r = await run(
      ["extend", "s1", "--ttl", "1h", "--context", "kind"],
      [
        { when: ["--watch"], hold: true, objects: [patched, after] },
        { when: ["patch"], stdout: JSON.stringify(patched) },
        { when: ["get", "debugpolicies.debugging.dev", "default"], stdout: JSON.stringify(policy) },
        { when: ["get", "s1"], stdout: JSON.stringify(before) },
      ],
    );
    const flags = ["-n", "shop", "--context", "kind"];
    expect(argvs(r)).toContainEqual(["get", "debugsessions.debugging.dev", "s1", "-o", "json", "--context", "kind"]);
    expect(argvs(r)).toContainEqual([
      "patch",
      "debugsessions.debugging.dev",
      "s1",
      "--type",
      "merge",
      "-p",
      '{"spec":{"ttl":"1h"}}',
      "-o",
      "json",
      ...flags,
    ]);
    expect(argvs(r)).toContainEqual(["get", "debugpolicies.debugging.dev", "default", "-o", "json", ...flags]);
    expect(r.stdout).toContain("Session s1: ttl 1h; the pod is removed at 2030-01-01T01:00:00Z");
    expect(r.stdout).toContain("DebugPolicy default allows at most 2h (spec.maxTTL).");
    expect(r.code).toBe(0);
  });

  it("extend prints the apiserver's refusal verbatim", async () => {
    const refusal = 'The DebugSession "s1" is invalid: spec.ttl: Invalid value: "string": spec.ttl may only grow\n';
    const r = await run(
      ["extend", "s1", "--ttl", "45m"],
      [
        { when: ["patch"], stderr: refusal, code: 1 },
        { when: ["get", "s1"], stdout: JSON.stringify(session(RUNNING)) },
      ],
    );
    expect(r.stderr).toBe(refusal);
    expect(r.code).toBe(1);
  });

  it("end deletes the session, waits until it is gone, and says the tainted pod went with it", async () => {
    const r = await run(
      ["end", "s1", "--as", "alice"],
      [
        { when: ["delete"], stdout: 'debugsession.debugging.dev "s1" deleted\n' },
        { when: ["get", "s1"], stdout: JSON.stringify(session(RUNNING)) },
      ],
    );
    expect(argvs(r)).toEqual([
      ["get", "debugsessions.debugging.dev", "s1", "-o", "json", "--as", "alice"],
      ["delete", "debugsessions.debugging.dev", "s1", "--wait=true", "--timeout=120s", "-n", "shop", "--as", "alice"],
    ]);
    expect(r.stderr).toContain(
      "Ending session s1: the operator removes pod web-1 first (finalizer debugging.dev/pod-cleanup).",
    );
    expect(r.stdout).toContain("Session s1 is gone; pod web-1 was removed with it");
    expect(r.code).toBe(0);
  });

  it("attach of a missing session prints kubectl's error and exits non-zero", async () => {
    const notFound = 'Error from server (NotFound): debugsessions.debugging.dev "nope" not found\n';
    const r = await run(["attach", "nope"], [VERSION, { when: ["--watch"], stderr: notFound, code: 1 }]);
    expect(r.stderr).toContain(notFound.trim());
    expect(r.code).toBe(1);
  });

  it("policies shows the policies the caller may use, by kubectl auth can-i use", async () => {
    const policy = (name: string) => ({
      apiVersion: "debugging.dev/v1alpha1",
      kind: "DebugPolicy",
      metadata: { name, namespace: "shop" },
      spec: { allowedImages: ["busybox:*"], targetSelector: {} },
    });
    const r = await run(
      ["policies", "-n", "shop", "--as", "alice"],
      [
        { when: ["get"], stdout: JSON.stringify({ kind: "List", items: [policy("default"), policy("netadmin")] }) },
        { when: ["can-i", "debugpolicies.debugging.dev/default"], stdout: "yes\n" },
        { when: ["can-i"], stdout: "no\n", code: 1 },
      ],
    );
    expect(argvs(r)).toContainEqual([
      "get",
      "debugpolicies.debugging.dev",
      "-o",
      "json",
      "-n",
      "shop",
      "--as",
      "alice",
    ]);
    expect(argvs(r)).toContainEqual([
      "auth",
      "can-i",
      "use",
      "debugpolicies.debugging.dev/netadmin",
      "-n",
      "shop",
      "--as",
      "alice",
    ]);
    expect(r.stdout).toContain(
      "default  (sessions without --policy run under it)\n  targets           every pod of the namespace",
    );
    expect(r.stdout).toContain("Not yours to use: netadmin");
    expect(r.code).toBe(0);
  });

  it("kubectl_complete-dbg answers kubectl's plugin completion", async () => {
    const completer = join(dir, "bin", "kubectl_complete-dbg");
    const r = await run(
      ["-n", "shop", "attach", "s"],
      [{ when: ["get", "debugsessions.debugging.dev", "-o", "name"], stdout: "debugsession.debugging.dev/s1\n" }],
      { program: completer },
    );
    expect(argvs(r)).toEqual([
      ["get", "debugsessions.debugging.dev", "-o", "name", "-n", "shop", "--request-timeout", "5s"],
    ]);
    expect(r.stdout).toBe("s1\n:4\n");
    expect(r.stderr).toBe("");
  });

  it("says how to fix a usage mistake, with exit code 2, without calling kubectl", async () => {
    const r = await run(["web-1", "sh"], []);
    expect(r.stderr).toBe("error: one target only, got web-1 sh; a command goes after --: kubectl dbg web-1 -- sh\n");
    expect(r.calls).toEqual([]);
    expect(r.code).toBe(2);
  });

  it("says where kubectl should be when it is not there", async () => {
    const r = await run(["list"], [], { kubectl: join(dir, "no-such-kubectl") });
    expect(r.stderr).toContain("kubectl not found");
    expect(r.stderr).toContain("set KUBECTL to its path");
    expect(r.code).toBe(1);
  });
});
