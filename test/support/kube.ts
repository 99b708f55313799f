// Helpers for the suites that talk to a real cluster: kubectl, API clients, namespaces, waiting.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";

export const repoDir = fileURLToPath(new URL("../..", import.meta.url));
/** The image tests run; the local cluster has busybox:local. On kind: `kind load docker-image` one under this name, or set TEST_IMAGE. */
export const testImage = process.env.TEST_IMAGE ?? "busybox:local";

function kubectlPath(): string {
  if (process.env.KUBECTL) return process.env.KUBECTL;
  const versions = readFileSync(`${repoDir}/hack/versions.env`, "utf8");
  const version = /^KUBE_VERSION=(\S+)/m.exec(versions)?.[1];
  const cache = process.env.DEBUGSESSION_CACHE_DIR ?? `${process.env.XDG_CACHE_HOME ?? `${process.env.HOME}/.cache`}/debugsession-operator`;
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
  const labelYaml = Object.entries(labels).map(([k, v]) => `    ${k}: "${v}"`).join("\n");
  kubectlOk(["apply", "-f", "-"], { input: `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n${labelYaml ? `  labels:\n${labelYaml}\n` : ""}` });
  // Pods need the default ServiceAccount, which the controller-manager creates.
  waitForSync(() => kubectl(["get", "serviceaccount", "default", "-n", name]).code === 0, 30_000, "default ServiceAccount");
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
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what: string, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ""}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function installCRDs(): void {
  kubectlOk(["apply", "--server-side", "--force-conflicts", "-f", `${repoDir}/crds/`]);
  kubectlOk(["wait", "--for=condition=Established", "crd/debugsessions.debugging.dev", "--timeout=60s"]);
}

export interface Operator {
  /** Sends a signal and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  logs(): string;
  pid: number;
}

/** Starts the operator from source (Node 24 runs TypeScript directly) against the suite's cluster. */
export function startOperator(extraArgs: string[] = []): Operator {
  const child = spawn(process.execPath, [`${repoDir}/src/main.ts`, "--kubeconfig", kubeconfigPath(), ...extraArgs], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, LOG_LEVEL: process.env.OPERATOR_LOG_LEVEL ?? "info" },
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    pid: child.pid ?? -1,
    logs: () => output,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
