// `kubectl dbg` as people use it: the real kubectl finds the built plugin on PATH, a requester with only
// the shipped roles (impersonated) gets a shell in a real terminal (tmux: keys in, the pane read back),
// detaches, reattaches, extends, ends; and a refused session ends the command at once with the reason.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createNamespace,
  deleteNamespace,
  installCRDs,
  kubectl,
  kubectlOk,
  repoDir,
  startOperator,
  testImage,
  waitFor,
  type Operator,
} from "../support/kube.ts";
import { createBarePod, podJson, sessionStatus, userRoleBinding } from "../support/workloads.ts";

const AS = ["--as", "erin", "--as-group", "team-ops"];
const socket = `${mkdtempSync(`${tmpdir()}/dbg-tmux-`)}/tmux.sock`;
const tmux = (...args: string[]): string => execFileSync("tmux", ["-S", socket, ...args], { encoding: "utf8" });
const pane = (name: string): string => tmux("capture-pane", "-p", "-J", "-t", name);

describe("kubectl dbg", () => {
  let ns: string;
  let operator: Operator;
  const env = { ...process.env, PATH: `${repoDir}/bin:${process.env.PATH ?? ""}` };
  const dbg = (args: string[], input?: string) =>
    spawnSync("kubectl", ["dbg", ...args, "-n", ns, ...AS], { env, input, encoding: "utf8", timeout: 120_000 });
  /** A terminal of 160x40 running `command` (argv), in its own tmux session. */
  const terminal = (name: string, command: string[]): void => {
    const quoted = command.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    tmux(
      "new-session",
      "-d",
      "-s",
      name,
      "-x",
      "160",
      "-y",
      "40",
      `env PATH='${env.PATH}' KUBECONFIG='${process.env.KUBECONFIG ?? ""}' ${quoted}`,
    );
  };

  beforeAll(() => {
    execFileSync("make", ["-s", "plugin"], { cwd: repoDir, stdio: "inherit" });
    installCRDs();
    ns = createNamespace("plugin");
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: `apiVersion: debugging.dev/v1alpha1
kind: DebugPolicy
metadata: {name: default}
spec:
  targetSelector: {}
  allowedImages: ["${testImage}"]
  maxTTL: 1h
  allowedModes: [Ephemeral, Copy]
  copy: {allowCommand: true}
---
${userRoleBinding("erin-requester", "erin", "debugsession-requester")}---
${userRoleBinding("erin-policy-user", "erin", "debugpolicy-user")}`,
    });
    createBarePod(ns, "web");
    createBarePod(ns, "other");
    operator = startOperator([], { namespace: ns });
  });

  afterAll(async () => {
    spawnSync("tmux", ["-S", socket, "kill-server"]);
    await operator?.stop();
    deleteNamespace(ns);
  });

  it("is found by kubectl on PATH", () => {
    expect(spawnSync("kubectl", ["plugin", "list"], { env, encoding: "utf8" }).stdout).toContain("kubectl-dbg");
  });

  it("gives a requester with no rights on pods a shell that sees the target's processes, in one command", async () => {
    terminal("one", [
      "kubectl",
      "dbg",
      "web",
      "-c",
      "web",
      "--image",
      testImage,
      "--name",
      "shell",
      "-n",
      ns,
      ...AS,
      "--",
      "sh",
    ]);
    await waitFor(() => /\/ # $/m.test(pane("one")), 90_000, "a shell prompt in the terminal");
    tmux("send-keys", "-t", "one", "ps auxww", "Enter");
    await waitFor(() => pane("one").includes("httpd -f -p 8080"), 20_000, "the target's httpd in ps");
    // Detach: the terminal goes away (its kubectl with it); the debugger keeps running.
    tmux("kill-session", "-t", "one");
    await new Promise((r) => setTimeout(r, 2_000));
    expect(sessionStatus(ns, "shell").phase).toBe("Running");

    terminal("two", ["kubectl", "dbg", "attach", "shell", "-n", ns, ...AS]);
    await new Promise((r) => setTimeout(r, 3_000));
    tmux("send-keys", "-t", "two", "echo again-$((40+2))", "Enter");
    await waitFor(() => pane("two").includes("again-42"), 30_000, "the reattached shell answering");
    tmux("kill-session", "-t", "two");
  });

  it("attaching to another pod is forbidden for that requester", () => {
    const r = kubectl(["attach", "other", "-c", "other", "-n", ns, ...AS]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("forbidden");
  });

  it("extend beyond the policy's maxTTL is refused with the policy's message; within it, the new expiry is shown", () => {
    const refused = dbg(["extend", "shell", "--ttl", "3h"]);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain("maxTTL");
    const ok = dbg(["extend", "shell", "--ttl", "45m"]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(`${ok.stdout}${ok.stderr}`).toContain(sessionStatus(ns, "shell").expiresAt!);
  });

  it("end removes the pod and the attach grant", async () => {
    const role = (
      JSON.parse(kubectlOk(["-n", ns, "get", "dbg", "shell", "-o", "json"])) as { status: { attachRole?: string } }
    ).status.attachRole;
    const uid = podJson(ns, "web")!.metadata.uid;
    const r = dbg(["end", "shell"]);
    expect(r.status, r.stderr).toBe(0);
    await waitFor(() => podJson(ns, "web")?.metadata.uid !== uid, 60_000, "the tainted pod removed");
    expect(kubectl(["-n", ns, "get", "role", role ?? "none"]).code).not.toBe(0);
  });

  it("--copy gives that requester a shell in a copy of the pod, whose container runs another command; the pod is untouched", async () => {
    const uid = podJson(ns, "other")!.metadata.uid;
    terminal("copy", [
      "kubectl",
      "dbg",
      "other",
      "--copy",
      "--copy-command",
      "sleep 7200",
      "--image",
      testImage,
      "--name",
      "copy-shell",
      "-n",
      ns,
      ...AS,
      "--",
      "sh",
    ]);
    await waitFor(() => /\/ # $/m.test(pane("copy")), 90_000, "a shell prompt in the copy");
    tmux("send-keys", "-t", "copy", "ps -o args", "Enter");
    // The pod sandbox of this cluster runs `sleep 3600` (hack/images.sh); the copy's container sleeps 7200.
    await waitFor(() => pane("copy").includes("sleep 7200"), 20_000, "the copy's replaced command in ps");
    tmux("kill-session", "-t", "copy");
    const status = sessionStatus(ns, "copy-shell");
    expect(status.pod).toMatch(/^copy-shell-copy-[0-9a-f]{12}$/);
    const copy = status.pod!;
    const source = podJson(ns, "other")!;
    expect([source.metadata.uid, source.spec.ephemeralContainers ?? []]).toEqual([uid, []]);
    const r = dbg(["end", "copy-shell"]);
    expect(r.status, r.stderr).toBe(0);
    await waitFor(() => podJson(ns, copy) === undefined, 60_000, "the copy deleted");
    expect(podJson(ns, "other")!.metadata.uid).toBe(uid);
  });

  it("--dry-run=client -o yaml prints a manifest that kubectl apply creates as the same session", () => {
    createBarePod(ns, "web2");
    const printed = dbg([
      "web2",
      "--image",
      testImage,
      "--name",
      "from-git",
      "--ttl",
      "20m",
      "--dry-run=client",
      "-o",
      "yaml",
    ]);
    expect(printed.status, printed.stderr).toBe(0);
    expect(printed.stdout).toContain("kind: DebugSession");
    expect(kubectl(["get", "dbg", "from-git", "-n", ns]).code).not.toBe(0);
    const applied = kubectl(["apply", "-n", ns, ...AS, "-f", "-"], { input: printed.stdout });
    expect(applied.stderr).toBe("");
    const spec = (
      JSON.parse(kubectlOk(["-n", ns, "get", "dbg", "from-git", "-o", "json"])) as { spec: Record<string, unknown> }
    ).spec;
    expect(spec).toMatchObject({ targetPod: "web2", image: testImage, ttl: "20m" });
  });

  it("a denied session ends the command within seconds, non-zero, with the rule's message", () => {
    const t0 = Date.now();
    const r = dbg(["other", "--image", "evil:1", "--name", "denied"]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('image "evil:1" is not allowed');
    expect(Date.now() - t0).toBeLessThan(15_000);
  });
});
