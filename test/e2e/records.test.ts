// DebugSessionRecords on a real node: a requester's shell, typed into through a real terminal (tmux
// running `kubectl attach -it`), is in the record after the TTL removed the pod; the record outlives the
// session, is hidden from the requester, cannot be edited or forged, is capped, and goes at its retention.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DebugSessionRecord } from "../../src/api/types.ts";
import {
  createNamespace,
  deleteNamespace,
  installCRDs,
  kubectl,
  kubectlOk,
  kubectlPath,
  kubeconfigPath,
  repoDir,
  startOperator,
  testImage,
  waitFor,
  type Operator,
} from "../support/kube.ts";
import { createBarePod, podJson, sessionStatus, userRoleBinding } from "../support/workloads.ts";

const ERIN = ["--as", "erin", "--as-group", "team-ops"];
const TRANSCRIPT_CAP = 512 * 1024;
const LOUD_LINES = 20_000;
const LOUD_AWK = `srand(7); for (i = 1; i <= ${LOUD_LINES}; i++) { s = i; for (j = 0; j < 120; j++) s = s sprintf(" %07x", int(rand() * 268435455)); print s }`;
const socket = `${mkdtempSync(`${tmpdir()}/rec-tmux-`)}/tmux.sock`;
const tmux = (...args: string[]): string => execFileSync("tmux", ["-S", socket, ...args], { encoding: "utf8" });
const pane = (name: string): string => tmux("capture-pane", "-p", "-J", "-t", name);

describe("DebugSessionRecord", () => {
  let ns: string;
  let operator: Operator;
  // The floor under recordRetention is 24h by default; this suite checks a 20 s retention.
  const OPERATOR_ARGS = ["--min-record-retention=1s"];
  const asErin = (args: string[], input?: string) => kubectl([...args, "-n", ns, ...ERIN], { input });
  const session = (name: string, pod: string, extra: Record<string, unknown>) =>
    JSON.stringify({
      apiVersion: "debugging.dev/v1alpha1",
      kind: "DebugSession",
      metadata: { name },
      spec: {
        targetPod: pod,
        targetContainer: pod,
        image: testImage,
        imagePullPolicy: "IfNotPresent",
        ttl: "1m",
        ...extra,
      },
    });
  const recordOf = (uid: string): DebugSessionRecord | undefined => {
    const list = JSON.parse(
      kubectlOk(["-n", ns, "get", "debugsessionrecords", "-l", `debugging.dev/session-uid=${uid}`, "-o", "json"]),
    ) as { items: DebugSessionRecord[] };
    return list.items[0];
  };
  const transcriptOf = (r: DebugSessionRecord): Buffer =>
    gunzipSync(Buffer.from(r.spec.transcript.data ?? "", "base64"));
  /** `kubectl dbg logs NAME` from the plugin's source, as the suite's admin unless `as` says otherwise. */
  const dbgLogs = (name: string, as: string[] = []) =>
    spawnSync(
      process.execPath,
      [
        "--disable-warning=ExperimentalWarning",
        `${repoDir}src/plugin/main.ts`,
        ...["logs", name, "-n", ns, "--kubeconfig", kubeconfigPath(), ...as],
      ],
      { encoding: "utf8", env: { ...process.env, PATH: `${repoDir}node_modules/.bin:${process.env.PATH ?? ""}` } },
    );
  const uidOf = (name: string): string =>
    kubectlOk(["-n", ns, "get", "dbg", name, "-o", "jsonpath={.metadata.uid}"]).trim();

  beforeAll(() => {
    installCRDs();
    ns = createNamespace("records");
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: `apiVersion: debugging.dev/v1alpha1
kind: DebugPolicy
metadata: {name: default}
spec:
  targetSelector: {}
  allowedImages: ["${testImage}"]
---
apiVersion: debugging.dev/v1alpha1
kind: DebugPolicy
metadata: {name: short}
spec:
  targetSelector: {}
  allowedImages: ["${testImage}"]
  recordRetention: 20s
---
${userRoleBinding("erin-requester", "erin", "debugsession-requester")}---
${userRoleBinding("erin-policy-user", "erin", "debugpolicy-user")}`,
    });
    createBarePod(ns, "web");
    createBarePod(ns, "loud");
    createBarePod(ns, "gone");
    operator = startOperator(OPERATOR_ARGS, { namespace: ns });
  });

  afterAll(async () => {
    spawnSync("tmux", ["-S", socket, "kill-server"]);
    await operator?.stop();
    deleteNamespace(ns);
  });

  it("keeps what the requester's terminal showed, who they were, the image ID and the exit code, after the pod is gone", async () => {
    const created = asErin(["create", "-f", "-"], session("shell", "web", { command: ["sh"], stdin: true, tty: true }));
    expect(created.stderr).toBe("");
    // A loud debugger in another pod, under the short-retention policy, for the cap and retention below.
    const loud = session("loud", "loud", {
      // 20,000 numbered lines of random hex, ~19.6 MB: well past the cap after gzip. Long lines, so the
      // kubelet's own file (a ~47-byte prefix per line) stays under its rotation size.
      command: ["sh", "-c", `awk 'BEGIN { ${LOUD_AWK} }'; sleep 3600`],
      policy: "short",
      ttl: "2m",
    });
    expect(asErin(["create", "-f", "-"], loud).stderr).toBe("");
    await waitFor(() => sessionStatus(ns, "shell").phase === "Running", 60_000, "the shell Running");
    const { containerName } = sessionStatus(ns, "shell");
    const attach = [kubectlPath(), "--kubeconfig", kubeconfigPath(), "attach", "-it", "web", "-c"];
    const quoted = [...attach, containerName!, "-n", ns, ...ERIN].map((a) => `'${a}'`).join(" ");
    tmux("new-session", "-d", "-s", "rec", "-x", "160", "-y", "40", quoted);
    await new Promise((r) => setTimeout(r, 3_000));
    tmux("send-keys", "-t", "rec", "", "Enter");
    await waitFor(() => /\/ # $/m.test(pane("rec")), 30_000, "a shell prompt");
    tmux("send-keys", "-t", "rec", "echo marker-$RANDOM; ps auxww", "Enter");
    await waitFor(() => /^marker-\d+$/m.test(pane("rec")), 20_000, "the marker echoed");
    const marker = /^(marker-\d+)$/m.exec(pane("rec"))![1]!;
    await waitFor(() => pane("rec").includes("httpd -f -p 8080"), 20_000, "the target's httpd in ps");
    tmux("send-keys", "-t", "rec", "exit 7", "Enter");
    await waitFor(() => sessionStatus(ns, "shell").phase === "Completed", 30_000, "the shell Completed");

    const uid = uidOf("shell");
    const podUID = podJson(ns, "web")!.metadata.uid;
    await waitFor(() => podJson(ns, "web")?.metadata.uid !== podUID, 120_000, "the pod removed at expiry");
    const record = recordOf(uid);
    expect(record, "a record of the session").toBeDefined();
    const text = transcriptOf(record!).toString();
    expect(text).toContain(marker);
    expect(text).toContain("httpd -f -p 8080");
    expect(createHash("sha256").update(transcriptOf(record!)).digest("hex")).toBe(record!.spec.transcript.sha256);
    expect(record!.spec.requestedBy?.username).toBe("erin");
    expect(record!.spec.debugger.exitCode).toBe(7);
    expect(record!.spec.debugger.imageID).toMatch(/sha256:[0-9a-f]{64}/);
    expect(record!.spec.ended.how).toBe("Expired");
    expect(record!.spec.target).toMatchObject({ pod: "web", podUID, container: "web" });
    expect(record!.spec.events.map((e) => e.reason)).toContain("Running");
    // The operator's audit line carries the same sha256: a record changed in etcd would not match it.
    expect(operator.logs()).toContain(record!.spec.transcript.sha256!);

    // The session goes; the record stays.
    kubectlOk(["-n", ns, "delete", "dbg", "shell", "--wait=true", "--timeout=60s"]);
    expect(recordOf(uid)?.metadata.uid).toBe(record!.metadata.uid);

    // kubectl dbg logs reads it after the session is gone (for who may read records).
    const plugin = dbgLogs("shell");
    expect(plugin.status, plugin.stderr).toBe(0);
    expect(plugin.stdout).toContain(marker);
    const denied = dbgLogs("shell", ERIN);
    expect(denied.status).not.toBe(0);
    expect(denied.stderr).toContain("debugsessionrecord-viewer");
  });

  it("is hidden from the requester, and refused to anyone who would edit or forge one", () => {
    const name = kubectlOk(["-n", ns, "get", "debugsessionrecords", "-o", "jsonpath={.items[0].metadata.name}"]).trim();
    expect(name).not.toBe("");
    const read = asErin(["get", "debugsessionrecords"]);
    expect(read.code).not.toBe(0);
    expect(read.stderr).toContain("forbidden");
    const edit = kubectl(["-n", ns, "annotate", "debugsessionrecord", name, "edited=yes"]);
    expect(edit.code).not.toBe(0);
    expect(edit.stderr).toContain("written only by the debugsession operator");
    const forged = JSON.parse(
      kubectlOk(["-n", ns, "get", "debugsessionrecord", name, "-o", "json"]),
    ) as DebugSessionRecord;
    forged.metadata = { name: "forged", namespace: ns };
    const create = kubectl(["create", "-f", "-"], { input: JSON.stringify(forged) });
    expect(create.code).not.toBe(0);
    expect(create.stderr).toContain("written only by the debugsession operator");
  });

  it("says why there is no transcript when the pod went by other hands, and documents itself to kubectl explain", async () => {
    expect(asErin(["create", "-f", "-"], session("gone", "gone", { command: ["sleep", "3600"] })).stderr).toBe("");
    await waitFor(() => sessionStatus(ns, "gone").phase === "Running", 60_000, "the session Running");
    const uid = uidOf("gone");
    // Gone while no operator ran: an operator that sees the pod terminating reads its logs while it
    // still can (and keeps what it read), so this case is only certain with the pod gone in between.
    await operator.stop();
    kubectlOk(["-n", ns, "delete", "pod", "gone", "--grace-period=0", "--force", "--wait"]);
    operator = startOperator(OPERATOR_ARGS, { namespace: ns });
    await waitFor(() => recordOf(uid) !== undefined, 60_000, "the record of a session whose pod went");
    const record = recordOf(uid)!;
    expect(record.spec.ended.how).toBe("PodGone");
    expect(record.spec.transcript.data).toBeUndefined();
    expect(record.spec.transcript.error).toMatch(/went away|gone/);
    const explained = kubectlOk(["explain", "debugsessionrecord.spec.transcript"]);
    expect(explained).toContain("sha256");
    expect(explained).toContain("base64 -d | gunzip");
  });

  it("caps a 20 MB transcript, keeping its head and tail, and deletes the record at its retention", async () => {
    const uid = uidOf("loud");
    await waitFor(() => recordOf(uid) !== undefined, 120_000, "the loud session's record");
    const record = recordOf(uid)!;
    const t = record.spec.transcript;
    expect(t.truncated, JSON.stringify({ ...t, data: t.data?.length })).toBe(true);
    expect(t.compressedBytes).toBeLessThanOrEqual(TRANSCRIPT_CAP);
    expect(Buffer.from(t.data ?? "", "base64").length).toBe(t.compressedBytes);
    const kept = transcriptOf(record).toString();
    expect(t.originalBytes).toBeGreaterThan(19_000_000);
    expect(kept.startsWith("1 ")).toBe(true);
    const lines = kept.trimEnd().split("\n");
    expect(lines.at(-1)?.startsWith(`${LOUD_LINES} `)).toBe(true);
    expect(lines.at(-2)?.startsWith(`${LOUD_LINES - 1} `)).toBe(true);
    expect(kept).toMatch(/\[debugsession-operator: \d+ bytes of this log left out\]/);
    // Printer columns: session, pod, requester, ended, how, size.
    const table = kubectlOk(["-n", ns, "get", "debugsessionrecords", record.metadata.name!]);
    expect(table).toMatch(/SESSION\s+POD\s+REQUESTER\s+ENDED\s+HOW\s+SIZE/);
    expect(table).toMatch(/loud\s+loud\s+erin\s+\S+\s+Expired\s+\d+/);
    // recordRetention 20s under policy `short`.
    await waitFor(() => recordOf(uid) === undefined, 90_000, "the record deleted at its retention");
  });
});
