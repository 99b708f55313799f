// What the benchmarks share: the cluster, the operator under test as a child process, KWOK pods
// in bulk, a watch that records when things happen, quantiles, and bench/out/results.json.
// Everything runs against the cluster KUBECONFIG points at (hack/bench.sh sets it up).
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import type { V1Pod } from "@kubernetes/client-node";
import { kubeApis } from "../src/runtime/kube/api.ts";
import { KubeClient } from "../src/runtime/kube/client.ts";
import { loadClusterAccess } from "../src/runtime/kube/config.ts";
import type { DebugSession } from "../src/api/types.ts";

export const repo = new URL("..", import.meta.url).pathname;
export const outDir = `${repo}bench/out`;
export const IMAGE = process.env.TEST_IMAGE ?? "busybox:local";
const kubeconfig = process.env.KUBECONFIG;
if (!kubeconfig) throw new Error("KUBECONFIG must point at a cluster (make bench sets it for the local one)");

// The operator's own API client (src/runtime/kube/), so the bare script's writes cost what the
// operator's cost.
export const client = new KubeClient(loadClusterAccess({ kubeconfig }));
export const { core, custom } = kubeApis(client);

/**
 * The API as the operator's ServiceAccount (OPERATOR_KUBECONFIG): only the operator may take its
 * finalizer off a session (the debugsession-finalizer-guard admission policy), as a bare script
 * standing in for it must.
 */
export function asOperator(): ReturnType<typeof kubeApis> {
  const kubeconfig = process.env.OPERATOR_KUBECONFIG;
  if (!kubeconfig) throw new Error("OPERATOR_KUBECONFIG must name the operator's kubeconfig (hack/bench.sh writes it)");
  return kubeApis(new KubeClient(loadClusterAccess({ kubeconfig })));
}
export const SESSIONS = { group: "debugging.dev", version: "v1alpha1", plural: "debugsessions" } as const;

export function kubectl(args: string[], input?: string): string {
  const r = spawnSync("kubectl", ["--kubeconfig", kubeconfig!, ...args], {
    input,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank quantile. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(q * s.length) - 1)] ?? Number.NaN;
}

export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  intervalMs = 500,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Runs fn over items with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * A namespace with a DebugPolicy that lets the bench's user debug any pod with the test image.
 * BENCH_GRANT_ATTACH=false turns the per-session attach grant (a Role and a RoleBinding) off, to see
 * what it costs; the shipped default is on.
 */
export async function benchNamespace(prefix: string): Promise<string> {
  const ns = `bench-${prefix}-${Date.now().toString(36)}`;
  kubectl(["create", "namespace", ns]);
  await waitUntil(
    () => spawnSync("kubectl", ["--kubeconfig", kubeconfig!, "-n", ns, "get", "sa", "default"]).status === 0,
    30_000,
    `the default ServiceAccount of ${ns}`,
  );
  kubectl(
    ["apply", "-n", ns, "-f", "-"],
    `apiVersion: debugging.dev/v1alpha1
kind: DebugPolicy
metadata: {name: default}
spec: {targetSelector: {}, allowedImages: ["${IMAGE}"], maxTTL: 24h, maxSessionsPerPod: 10, grantAttach: ${process.env.BENCH_GRANT_ATTACH !== "false"}}
`,
  );
  return ns;
}

/** Deletes a namespace; `wait` until it is gone, so what it held cannot disturb the next measurement. */
export function deleteNamespace(ns: string, wait = false): void {
  spawnSync("kubectl", ["--kubeconfig", kubeconfig!, "delete", "namespace", ns, `--wait=${wait}`, "--timeout=600s"]);
}

/** Pods on the KWOK nodes (hack/kwok-up.sh), which KWOK reports Running at once. */
export function kwokPod(name: string, node: string, labels: Record<string, string> = {}): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels },
    spec: {
      nodeName: node,
      tolerations: [{ key: "kwok.x-k8s.io/node", operator: "Exists", effect: "NoSchedule" }],
      containers: [{ name: "web", image: IMAGE }],
    },
  };
}

export function kwokNodes(): string[] {
  return kubectl(["get", "nodes", "-l", "type=kwok", "-o", "jsonpath={.items[*].metadata.name}"])
    .split(/\s+/)
    .filter(Boolean);
}

/** Creates `count` KWOK pods named `${prefix}-${i}` spread over the KWOK nodes and waits until all run. */
export async function createKwokPods(
  ns: string,
  prefix: string,
  count: number,
  labels: Record<string, string> = {},
): Promise<V1Pod[]> {
  const nodes = kwokNodes();
  if (nodes.length === 0) throw new Error("no KWOK nodes: run hack/kwok-up.sh (make bench does)");
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  await pool(names, 50, async (name, i) => {
    await core.createNamespacedPod({ namespace: ns, body: kwokPod(name, nodes[i % nodes.length]!, labels) });
  });
  let pods: V1Pod[] = [];
  await waitUntil(
    async () => {
      pods = (
        await core.listNamespacedPod({
          namespace: ns,
          labelSelector:
            Object.entries(labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(",") || undefined,
        })
      ).items;
      return (
        pods.filter((p) => p.metadata?.name?.startsWith(`${prefix}-`) && p.status?.phase === "Running").length >= count
      );
    },
    600_000,
    `${count} KWOK pods running in ${ns}`,
    1_000,
  );
  return pods.filter((p) => p.metadata?.name?.startsWith(`${prefix}-`));
}

export function session(ns: string, name: string, pod: string, ttl = "1h"): DebugSession {
  return {
    apiVersion: "debugging.dev/v1alpha1",
    kind: "DebugSession",
    metadata: { name, namespace: ns },
    spec: {
      targetPod: pod,
      targetContainer: "web",
      image: IMAGE,
      imagePullPolicy: "IfNotPresent",
      command: ["sleep", "1d"],
      ttl,
    },
  };
}

export const condition = (s: DebugSession, type: string): string | undefined =>
  s.status?.conditions?.find((c) => c.type === type)?.status;

/** The sessions of a namespace, read from the apiserver. */
export async function listSessions(ns: string): Promise<DebugSession[]> {
  return ((await custom.listNamespacedCustomObject({ ...SESSIONS, namespace: ns })) as { items: DebugSession[] }).items;
}

/** Creates sessions s-0..s-(count-1), each targeting pod p-i (as createKwokPods(ns, "p", count) names them). */
export async function createSessions(ns: string, count: number, ttl: string, concurrency: number): Promise<void> {
  await pool(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    async (i) => {
      await custom.createNamespacedCustomObject({
        ...SESSIONS,
        namespace: ns,
        body: session(ns, `s-${i}`, `p-${i}`, ttl),
      });
    },
  );
}

/**
 * One watch on a collection that records, per object name, the first time (performance.now())
 * a predicate held. `until(n)` resolves once n objects have matched.
 */
export class FirstSeen<T extends { metadata?: { name?: string; resourceVersion?: string } }> {
  readonly at = new Map<string, number>();
  private waiter: { n: number; resolve: () => void } | undefined;
  private controller: { abort(): void } | undefined;
  private stopped = false;
  private resourceVersion: string | undefined;
  private readonly path: string;
  private readonly predicate: (obj: T) => boolean;

  private constructor(path: string, predicate: (obj: T) => boolean) {
    this.path = path;
    this.predicate = predicate;
  }

  static async start<T extends { metadata?: { name?: string; resourceVersion?: string } }>(
    path: string,
    predicate: (obj: T) => boolean,
  ): Promise<FirstSeen<T>> {
    const w = new FirstSeen<T>(path, predicate);
    await w.connect();
    return w;
  }

  /**
   * Watches on; a watch that ends (the client's 30 s inactivity timeout, a server close) resumes where
   * it was, and one refused (a 429 from an apiserver whose watch cache is still starting) is asked again.
   */
  private async connect(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.open();
        return;
      } catch (err) {
        if (this.stopped || attempt >= 30) throw err;
        console.error(`watch ${this.path} refused (${err instanceof Error ? err.message : String(err)}); again in 1 s`);
        await sleep(1_000);
      }
    }
  }

  private async open(): Promise<void> {
    const query = {
      allowWatchBookmarks: true,
      ...(this.resourceVersion ? { resourceVersion: this.resourceVersion } : {}),
    };
    this.controller = await client.watch(
      this.path,
      query,
      (type: string, obj: T) => {
        this.resourceVersion = obj.metadata?.resourceVersion ?? this.resourceVersion;
        if (type !== "BOOKMARK") this.seen(obj);
      },
      (err: unknown) => {
        if (this.stopped) return;
        const timeout = err instanceof Error && err.name === "TimeoutError";
        if (err && !timeout)
          console.error(
            `watch ${this.path} ended (${err instanceof Error ? err.message : JSON.stringify(err)}); resuming`,
          );
        this.connect().catch((e: unknown) => console.error(`watch ${this.path} gave up: ${String(e)}`));
      },
    );
  }

  private seen(obj: T): void {
    const now = performance.now();
    const name = obj.metadata?.name;
    if (!name || this.at.has(name) || !this.predicate(obj)) return;
    this.at.set(name, now);
    if (this.waiter && this.at.size >= this.waiter.n) this.waiter.resolve();
  }

  until(n: number, timeoutMs: number, what: string): Promise<void> {
    if (this.at.size >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${this.at.size}/${n})`)),
        timeoutMs,
      );
      this.waiter = { n, resolve: () => (clearTimeout(timer), resolve()) };
    });
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
  }
}

export interface OperatorProcess {
  pid: number;
  /** CPU time used so far (user + system), in seconds. */
  cpuSeconds(): number;
  /** Resident set size in MB, from /proc. */
  rssMb(): number;
  /** V8's heap in MB from the operator's /metrics: used (live objects and garbage not yet collected) and total (reserved). */
  heapMb(): Promise<{ used: number; total: number }>;
  stop(): Promise<void>;
  /** How the process ended (both null while it runs). */
  exit(): { code: number | null; signal: string | null };
  /** Kills by the kernel's OOM killer in the operator's memory cgroup (BENCH_OPERATOR_MEMORY_LIMIT_MB). */
  oomKills(): number;
}

/** NODE_OPTIONS as the manager Deployment sets them (config/manager/manager.yaml): the bench runs what ships. */
function shippedNodeOptions(): string {
  const manifest = readFileSync(`${repo}config/manager/manager.yaml`, "utf8");
  const options = /- name: NODE_OPTIONS\n\s+value: (.+)/.exec(manifest)?.[1];
  if (options === undefined) throw new Error("config/manager/manager.yaml sets no NODE_OPTIONS for the operator");
  return options.trim();
}

/**
 * The operator with the ServiceAccount kubeconfig hack/operator-kubeconfig.sh wrote (OPERATOR_KUBECONFIG):
 * BENCH_OPERATOR_MAIN, which hack/bench.sh sets to the dist/main.js it built (what the image runs), or
 * another build (say a worktree of an older commit) for a comparison; `node src/main.ts` when unset.
 * BENCH_OPERATOR_ARGS adds flags (say --workers=8). Resolves once its caches synced.
 */
export async function startOperator(name: string, extraArgs: string[] = []): Promise<OperatorProcess> {
  const opKubeconfig = process.env.OPERATOR_KUBECONFIG;
  if (!opKubeconfig)
    throw new Error("OPERATOR_KUBECONFIG must name the operator's kubeconfig (hack/bench.sh writes it)");
  mkdirSync(outDir, { recursive: true });
  const log = createWriteStream(`${outDir}/operator-${name}.log`);
  const cgroup = memoryCgroup(name);
  // Inside a memory cgroup the shell moves itself in, then becomes the operator (same pid).
  const [command, prefix] = cgroup
    ? ["/bin/sh", ["-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup.dir, process.execPath]]
    : [process.execPath, []];
  const child = spawn(
    command,
    [
      ...prefix,
      process.env.BENCH_OPERATOR_MAIN ?? `${repo}src/main.ts`,
      "--kubeconfig",
      opKubeconfig,
      "--metrics-bind-address=127.0.0.1:0",
      "--health-probe-bind-address=0",
      ...(process.env.BENCH_OPERATOR_ARGS ?? "").split(" ").filter(Boolean),
      ...extraArgs,
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
      // BENCH_OPERATOR_NODE_OPTIONS: say "--cpu-prof --cpu-prof-dir=bench/out/prof" to profile the operator.
      env: { ...process.env, NODE_OPTIONS: process.env.BENCH_OPERATOR_NODE_OPTIONS ?? shippedNodeOptions() },
    },
  );
  let synced = false;
  let metricsPort: number | undefined;
  child.stdout.on("data", (d: Buffer) => {
    log.write(d);
    const text = d.toString();
    metricsPort ??= Number(/"port":(\d+)[^\n]*serving \/metrics/.exec(text)?.[1]) || undefined;
    if (!synced && text.includes("caches synced")) synced = true;
  });
  child.stderr.pipe(log);
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  await waitUntil(() => synced || child.exitCode !== null, 30_000, "the operator's caches to sync", 100);
  if (child.exitCode !== null)
    throw new Error(`the operator exited with ${child.exitCode}; see ${outDir}/operator-${name}.log`);
  return {
    pid: child.pid!,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    rssMb: () => {
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1];
      return Number(kb) / 1024;
    },
    async heapMb() {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const gauge = (name: string): number => Number(new RegExp(`^${name} (\\S+)`, "m").exec(text)?.[1]) / 2 ** 20;
      return { used: gauge("nodejs_heap_size_used_bytes"), total: gauge("nodejs_heap_size_total_bytes") };
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
      log.end();
      cgroup?.remove();
    },
    exit: () => ({ code: child.exitCode, signal: child.signalCode }),
    oomKills: () => cgroup?.oomKills() ?? 0,
  };
}

/**
 * With BENCH_OPERATOR_MEMORY_LIMIT_MB set, a memory cgroup of that limit for the operator (v2 or
 * v1, whichever the machine mounts), as a container's limits.memory would give it; else undefined.
 */
function memoryCgroup(name: string): { dir: string; oomKills(): number; remove(): void } | undefined {
  const mb = Number(process.env.BENCH_OPERATOR_MEMORY_LIMIT_MB ?? 0);
  if (!mb) return undefined;
  const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
  const dir = v2 ? `/sys/fs/cgroup/bench-${name}` : `/sys/fs/cgroup/memory/bench-${name}`;
  mkdirSync(dir, { recursive: true });
  const bytes = String(mb * 1024 * 1024);
  if (v2) {
    writeFileSync(`${dir}/memory.max`, bytes);
    writeFileSync(`${dir}/memory.swap.max`, "0");
  } else {
    writeFileSync(`${dir}/memory.limit_in_bytes`, bytes);
  }
  const oomKills = (): number => {
    const file = v2 ? `${dir}/memory.events` : `${dir}/memory.oom_control`;
    return Number(/oom_kill (\d+)/.exec(readFileSync(file, "utf8"))?.[1] ?? 0);
  };
  return { dir, oomKills, remove: () => rmdirSync(dir) };
}

/** Merges `entries` into bench/out/results.json, so each benchmark adds its part. */
export function record(entries: Record<string, unknown>): void {
  mkdirSync(outDir, { recursive: true });
  const file = `${outDir}/results.json`;
  const all = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>) : {};
  writeFileSync(file, JSON.stringify({ ...all, ...entries }, null, 2) + "\n");
}

export const round = (x: number, digits = 0): number => Number(x.toFixed(digits));

/** apiserver_request_total by "VERB resource[/subresource]" (and " (code)" for refusals), summed over versions. */
export type RequestCounts = Map<string, number>;

export function apiserverRequests(): RequestCounts {
  const counts: RequestCounts = new Map();
  for (const line of kubectl(["get", "--raw", "/metrics"]).split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const labels: Record<string, string> = Object.fromEntries(
      [...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]),
    );
    if (!labels.resource) continue;
    // Refused requests (409 conflicts, 429s) are counted apart: they are work, but not writes.
    const code = Number(labels.code);
    const key = `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ""}${code >= 400 ? ` (${code})` : ""}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return counts;
}

/** after - before, without the rows that did not change. */
export function requestDelta(before: RequestCounts, after: RequestCounts): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [k, v] of [...after].sort(([a], [b]) => a.localeCompare(b))) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) delta[k] = d;
  }
  return delta;
}

/** CPU seconds (user + system) used so far by a process, from /proc/PID/stat (100 ticks a second). */
export function processCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of the local cluster's components (hack/ PID files), when the cluster is the local one. */
export function clusterCpuSeconds(): Record<string, number> {
  const dir = `${process.env.CLUSTER_DIR ?? "/var/lib/debugsession-cluster"}/pids`;
  const out: Record<string, number> = {};
  for (const name of ["kube-apiserver", "etcd", "kwok", "kube-controller-manager"]) {
    const file = `${dir}/${name}.pid`;
    if (existsSync(file)) out[name] = processCpuSeconds(Number(readFileSync(file, "utf8").trim()));
  }
  return out;
}

export function cpuDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(after).map((k) => [k, round(after[k]! - (before[k] ?? 0), 2)]));
}
