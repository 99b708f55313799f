// Helpers for the suites that talk to a real cluster: kubectl, API clients, namespaces, waiting.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";

export const repoDir = fileURLToPath(new URL("../..", import.meta.url));
/** The image tests run; the local cluster has busybox:local. On kind: `kind load docker-image` one under this name, or set TEST_IMAGE. */
export const testImage = process.env.TEST_IMAGE ?? "busybox:local";

export function kubectlPath(): string {
  if (process.env.KUBECTL) return process.env.KUBECTL;
  const versions = readFileSync(`${repoDir}/hack/versions.env`, "utf8");
  const version = /^KUBE_VERSION=(\S+)/m.exec(versions)?.[1];
  const cache =
    process.env.DEBUGSESSION_CACHE_DIR ??
    `${process.env.XDG_CACHE_HOME ?? `${process.env.HOME}/.cache`}/debugsession-operator`;
  const local = `${cache}/kubernetes/${version}/bin/kubectl`;
  return existsSync(local) ? local : "kubectl";
}

export const kubeconfigPath = (): string => inject("kubeconfig");

/** kubectl with the suite's kubeconfig, as one shell-ready command prefix. */
export const kubectlCommand = (): string => `${kubectlPath()} --kubeconfig ${kubeconfigPath()}`;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl against the suite's cluster. */
export function kubectl(args: string[], opts: { input?: string; as?: string; timeoutMs?: number } = {}): Run {
  const r = spawnSync(kubectlPath(), ["--kubeconfig", kubeconfigPath(), ...args], {
    input: opts.input,
    encoding: "utf8",
    timeout: opts.timeoutMs ?? 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** kubectl in the background, so several requests can reach the apiserver at the same moment. */
export function kubectlAsync(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(kubectlPath(), ["--kubeconfig", kubeconfigPath(), ...args], {
      stdio: "pipe",
      timeout: opts.timeoutMs,
    });
    let [stdout, stderr] = ["", ""];
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    // A spawn that failed, or kubectl gone (its timeout) before reading all its input: a result, never
    // an error thrown in the test's process outside any test.
    child.on("error", (e) => resolve({ code: -1, stdout, stderr: `${stderr}${e.message}` }));
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

/** Like kubectl, but throws with stderr when it fails. */
export function kubectlOk(args: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  const r = kubectl(args, opts);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export function clients(): { kc: KubeConfig; core: CoreV1Api; custom: CustomObjectsApi } {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return { kc, core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) };
}

let counter = 0;
/** A fresh namespace for one test file; delete it in afterAll with deleteNamespace. */
export function createNamespace(prefix: string, labels: Record<string, string> = {}): string {
  const name = `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`.slice(0, 63);
  const labelYaml = Object.entries(labels)
    .map(([k, v]) => `    ${k}: "${v}"`)
    .join("\n");
  kubectlOk(["apply", "-f", "-"], {
    input: `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n${labelYaml ? `  labels:\n${labelYaml}\n` : ""}`,
  });
  // Pods need the default ServiceAccount, which the controller-manager creates.
  waitForSync(
    () => kubectl(["get", "serviceaccount", "default", "-n", name]).code === 0,
    30_000,
    "default ServiceAccount",
  );
  return name;
}

export function deleteNamespace(name: string): void {
  kubectl(["delete", "namespace", name, "--wait=false", "--ignore-not-found"]);
}

function waitForSync(check: () => boolean, timeoutMs: number, what: string): void {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    spawnSync("sleep", ["0.2"]);
  }
}

/** Polls until `check` returns a value other than undefined/false. Tests may poll; benchmarks watch. */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ""}`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** CRDs and the admission policies (what `make install` installs). */
export function installCRDs(): void {
  kubectlOk(["apply", "--server-side", "--force-conflicts", "-k", `${repoDir}/crds`]);
  kubectlOk([
    "wait",
    "--for=condition=Established",
    "crd/debugsessions.debugging.dev",
    "crd/debugpolicies.debugging.dev",
    "crd/debugsessionrecords.debugging.dev",
    "--timeout=60s",
  ]);
  kubectlOk(["apply", "--server-side", "--force-conflicts", "-k", `${repoDir}/config/admission`]);
  // Established is not enough: the mutating policy refuses DebugSessions (503) until it has the schema.
  const r = spawnSync(`${repoDir}/hack/wait-admission.sh`, {
    encoding: "utf8",
    env: { ...process.env, KUBECTL: kubectlPath(), KUBECONFIG: kubeconfigPath() },
  });
  if (r.status !== 0) throw new Error(`hack/wait-admission.sh failed: ${r.stderr}`);
}

/**
 * A DebugPolicy named `default` that allows what the core suites ask for (the test image, any pod,
 * the general profile). The suites run as cluster-admin, which may `use` any policy.
 */
export function allowAllPolicy(ns: string, extra = ""): void {
  kubectlOk(["apply", "-n", ns, "-f", "-"], { input: permissivePolicyYaml("default", extra) });
}

/** That policy under another name (`extra`: more spec lines, two spaces in), as YAML to apply. */
export const permissivePolicyYaml = (name: string, extra = ""): string => `apiVersion: debugging.dev/v1alpha1
kind: DebugPolicy
metadata: {name: ${name}}
spec:
  targetSelector: {}
  allowedImages: ["${testImage}", "busybox:*"]
  maxTTL: 24h
  maxSessionsPerPod: 10
${extra}`;

export interface Operator {
  /** Sends a signal and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  logs(): string;
  pid: number;
  /** Settles with the exit code when the process exits (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Not exited yet (by itself or by a signal). */
  alive(): boolean;
}

let operatorConfig: string | undefined;

/**
 * A kubeconfig holding a token of the operator's ServiceAccount, with exactly the shipped RBAC
 * (config/rbac): the e2e suites run the operator with it, so a missing permission fails them.
 */
export function operatorKubeconfig(): string {
  if (operatorConfig) return operatorConfig;
  kubectl(["create", "namespace", "debugsession-system"]);
  kubectlOk(["apply", "--server-side", "--force-conflicts", "-k", `${repoDir}/config/rbac`]);
  const token = kubectlOk([
    "create",
    "token",
    "debugsession-operator",
    "-n",
    "debugsession-system",
    "--duration=6h",
  ]).trim();
  const server = kubectlOk(["config", "view", "--minify", "--raw", "-o", "jsonpath={.clusters[0].cluster.server}"]);
  const ca = kubectlOk([
    "config",
    "view",
    "--minify",
    "--raw",
    "--flatten",
    "-o",
    "jsonpath={.clusters[0].cluster.certificate-authority-data}",
  ]);
  const file = `${mkdtempSync(`${tmpdir()}/debugsession-operator-`)}/kubeconfig`;
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "${server}", certificate-authority-data: "${ca}"}}]
users: [{name: operator, user: {token: "${token}"}}]
contexts: [{name: c, context: {cluster: c, user: operator}}]
current-context: c
`,
    { mode: 0o600 },
  );
  operatorConfig = file;
  return file;
}

/** Where an operator runs: another kubeconfig (a proxy's address), a command it runs under (`ip netns exec NS`). */
export interface OperatorPlacement {
  kubeconfig?: string;
  /**
   * The namespace it acts in (--namespace), so suites can share the cluster at the same time: each
   * operator leaves the others' sessions alone. Unset: every namespace (such a suite runs alone).
   */
  namespace?: string;
  /** Execs node in the end (the operator's PID is the child's), as `ip netns exec NS` does. */
  prefix?: string[];
}

/** The operator's kubeconfig with another server address (same CA, same token). */
export function operatorKubeconfigFor(server: string): string {
  const file = `${mkdtempSync(`${tmpdir()}/debugsession-operator-`)}/kubeconfig`;
  const original = readFileSync(operatorKubeconfig(), "utf8");
  writeFileSync(file, original.replace(/server: "[^"]*"/, `server: "${server}"`), { mode: 0o600 });
  return file;
}

/**
 * Starts the operator from source (Node 24 runs TypeScript directly) against the suite's cluster, as
 * its ServiceAccount.
 */
export function startOperator(extraArgs: string[] = [], opts: OperatorPlacement = {}): Operator {
  // An ephemeral port for /metrics and the probes, so several operators can run side by side.
  const args = [
    "--kubeconfig",
    opts.kubeconfig ?? operatorKubeconfig(),
    "--metrics-bind-address=127.0.0.1:0",
    "--health-probe-bind-address=0",
    ...(opts.namespace === undefined ? [] : [`--namespace=${opts.namespace}`]),
    ...extraArgs,
  ];
  const [command, ...prefix] = [...(opts.prefix ?? []), process.execPath];
  const child = spawn(command, [...prefix, `${repoDir}/src/main.ts`, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, LOG_LEVEL: process.env.OPERATOR_LOG_LEVEL ?? "info" },
  });
  let output = "";
  // Every emitter has an 'error' listener: an error with none would be thrown in the test's process,
  // outside any test. What it says goes to the log the tests show on a failure.
  const noted = (what: string) => (e: Error) => (output += `\n[test] ${what}: ${e.message}\n`);
  child.stdout.on("data", (d: Buffer) => (output += d.toString())).on("error", noted("stdout"));
  child.stderr.on("data", (d: Buffer) => (output += d.toString())).on("error", noted("stderr"));
  const alive = () => child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => resolve(code));
    child.on("error", (e) => {
      noted("operator process")(e);
      if (child.pid === undefined) resolve(null); // never started: no 'exit' will come
    });
  });
  return {
    pid: child.pid ?? -1,
    logs: () => output,
    exited,
    alive,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (alive()) child.kill(signal);
      return exited;
    },
  };
}
