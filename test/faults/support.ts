// What the fault suites share: target pods, the sessions on them, and the invariants, counted from the
// cluster (never from the operator's log): one debugger per session, no pod removed before its
// expiresAt, every pod removed soon after expiresAt (or after the fault ended), every session ended,
// no tainted pod left without a live session.
//
// Removal times come from the pods themselves: the target pods run httpd as PID 1, which ignores
// SIGTERM, so an evicted pod stays Terminating for its whole grace period (GRACE_S) and a 1 s poll sees
// its deletionTimestamp; the removal was requested at deletionTimestamp - deletionGracePeriodSeconds
// (to the second).
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { expect } from "vitest";
import {
  kubectlAsync,
  repoDir,
  kubectlOk,
  startOperator,
  waitFor,
  testImage,
  type Operator,
  type OperatorPlacement,
} from "../support/kube.ts";
import { sessionYaml } from "../support/workloads.ts";

export const GRACE_S = 30;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export function targetPodsYaml(names: string[]): string {
  return names
    .map(
      (name) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: faults}}
spec:
  terminationGracePeriodSeconds: ${GRACE_S}
  containers:
  - {name: web, image: ${testImage}, imagePullPolicy: IfNotPresent, command: [httpd, -f, -p, "8080"]}
`,
    )
    .join("---\n");
}

/** Target pods, Ready. */
export function createTargetPods(ns: string, names: string[]): void {
  kubectlOk(["-n", ns, "apply", "-f", "-"], { input: targetPodsYaml(names) });
  kubectlOk(["-n", ns, "wait", "--for=condition=Ready", ...names.map((n) => `pod/${n}`), "--timeout=240s"]);
}

/** Session `name` on pod `pod-<name>`, with a debugger that runs until the pod goes. */
export function sessionOnItsPod(name: string, ttl: string): string {
  return sessionYaml(name, { targetPod: `pod-${name}`, ttl, command: ["sleep", "3600"], interactive: false });
}

interface PodSeen {
  /** When the removal was requested (ms, to the second). */
  removedAt?: number;
  /** The most ephemeral containers the pod was ever seen with. */
  maxDebuggers: number;
}

interface PodList {
  items: {
    metadata: { name: string; deletionTimestamp?: string; deletionGracePeriodSeconds?: number };
    spec: { ephemeralContainers?: unknown[] };
  }[];
}

/** Polls the namespace's pods every second (a failed poll, during an outage, is skipped). */
export class PodLedger {
  private readonly seen = new Map<string, PodSeen>();
  private readonly ns: string;
  private polling = false;
  private loop: Promise<void> | undefined;

  constructor(ns: string) {
    this.ns = ns;
  }

  start(): void {
    this.polling = true;
    this.loop = this.poll();
  }

  async stop(): Promise<void> {
    this.polling = false;
    await this.loop;
  }

  get(pod: string): PodSeen | undefined {
    return this.seen.get(pod);
  }

  private async poll(): Promise<void> {
    while (this.polling) {
      const r = await kubectlAsync(["-n", this.ns, "get", "pods", "-o", "json"], { timeoutMs: 5_000 });
      if (r.code === 0) this.note(JSON.parse(r.stdout) as PodList);
      await sleep(1_000);
    }
  }

  private note(pods: PodList): void {
    for (const p of pods.items) {
      const s = this.seen.get(p.metadata.name) ?? { maxDebuggers: 0 };
      s.maxDebuggers = Math.max(s.maxDebuggers, p.spec.ephemeralContainers?.length ?? 0);
      const { deletionTimestamp, deletionGracePeriodSeconds = 0 } = p.metadata;
      if (deletionTimestamp && s.removedAt === undefined)
        s.removedAt = Date.parse(deletionTimestamp) - deletionGracePeriodSeconds * 1000;
      this.seen.set(p.metadata.name, s);
    }
  }
}

interface SessionList {
  items: { metadata: { name: string }; spec: { targetPod: string }; status?: { phase?: string; expiresAt?: string } }[];
}

export async function sessions(ns: string): Promise<SessionList["items"]> {
  const r = await kubectlAsync(["-n", ns, "get", "dbg", "-o", "json"], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`kubectl get dbg: ${r.stderr}`);
  return (JSON.parse(r.stdout) as SessionList).items;
}

/** Waits until every session of `ns` is Expired, then for one more poll of the pods (PodLedger). */
export async function allExpired(ns: string, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => (await sessions(ns)).every((s) => s.status?.phase === "Expired"),
    timeoutMs,
    "every session Expired",
    2_000,
  );
  await sleep(2_000);
}

export interface Figures {
  sessions: number;
  /** Sessions whose pod was seen with more than one debugger. */
  duplicateDebuggers: string[];
  /** Sessions whose pod never got one. */
  neverInjected: string[];
  /** Pods whose removal was requested before the second of their session's expiresAt. */
  earlyRemovals: string[];
  notRemoved: string[];
  /** Removal request - max(expiresAt, when the operator could act again), ms. */
  maxLagMs: number;
  p50LagMs: number;
  /** The session with the largest lag, its times as ms since the epoch: what a failed bound prints. */
  worst?: { name: string; expiresAt: number; from: number; removedAt: number };
  notTerminal: string[];
  /** Tainted pods not being removed once every session ended. */
  taintedLeft: string[];
}

/**
 * The invariants over every session of `ns` (each on its own pod): call once every pod should be gone.
 * `actsFrom(expiresAt)` says from when the operator could act on an expiry (a fault's end, when it fell
 * within the fault); the lag counts from the later of the two.
 */
export async function invariants(
  ns: string,
  ledger: PodLedger,
  /** When the operator could act on a session expiring at expiresAt, whose pod went at removedAt. */
  actsFrom: (expiresAt: number, removedAt: number) => number = (t) => t,
): Promise<Figures> {
  const all = await sessions(ns);
  const lags: number[] = [];
  const f: Figures = {
    sessions: all.length,
    duplicateDebuggers: [],
    neverInjected: [],
    earlyRemovals: [],
    notRemoved: [],
    maxLagMs: 0,
    p50LagMs: 0,
    notTerminal: [],
    taintedLeft: [],
  };
  for (const s of all) {
    const name = s.metadata.name;
    const seen = ledger.get(s.spec.targetPod);
    if ((seen?.maxDebuggers ?? 0) > 1) f.duplicateDebuggers.push(name);
    if ((seen?.maxDebuggers ?? 0) === 0) f.neverInjected.push(name);
    if (s.status?.phase !== "Expired") f.notTerminal.push(`${name}:${s.status?.phase ?? "-"}`);
    const expiresAt = s.status?.expiresAt ? Date.parse(s.status.expiresAt) : undefined;
    if (seen?.removedAt === undefined || expiresAt === undefined) {
      f.notRemoved.push(name);
      continue;
    }
    // deletionTimestamp has whole seconds: a request in the second before expiresAt is early.
    if (seen.removedAt + 1_000 <= expiresAt) f.earlyRemovals.push(name);
    const from = Math.max(expiresAt, actsFrom(expiresAt, seen.removedAt));
    const lag = seen.removedAt - from;
    lags.push(lag);
    if (f.worst === undefined || lag > f.worst.removedAt - f.worst.from)
      f.worst = { name, expiresAt, from, removedAt: seen.removedAt };
  }
  lags.sort((a, b) => a - b);
  f.maxLagMs = lags.at(-1) ?? 0;
  f.p50LagMs = lags[Math.floor(lags.length / 2)] ?? 0;
  const left = kubectlOk([
    ...["-n", ns, "get", "pods", "-l", "debugging.dev/session"],
    "-o",
    'jsonpath={range .items[*]}{.metadata.name} {.metadata.deletionTimestamp}{"\\n"}{end}',
  ]);
  f.taintedLeft = left
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((fields) => fields[0] && fields.length === 1)
    .map((fields) => fields[0]!);
  return f;
}

/**
 * Every invariant that holds whatever the fault; the lag bound is each test's own. A broken bound names
 * the worst session and its times, plus what `context` says of that window (a CI log shows only this).
 */
export function expectInvariants(
  f: Figures,
  maxLagMs: number,
  context: (worst: NonNullable<Figures["worst"]>) => string = () => "",
): void {
  expect(f.duplicateDebuggers, "sessions with a second debugger").toEqual([]);
  expect(f.neverInjected, "sessions never injected").toEqual([]);
  expect(f.earlyRemovals, "pods removed before expiresAt").toEqual([]);
  expect(f.notRemoved, "pods never removed").toEqual([]);
  expect(f.notTerminal, "sessions not Expired").toEqual([]);
  expect(f.taintedLeft, "tainted pods left").toEqual([]);
  const w = f.worst;
  const why = w
    ? `; worst: ${w.name} expiresAt ${iso(w.expiresAt)}, counted from ${iso(w.from)}, removal ${iso(w.removedAt)}; ${context(w)}`
    : "";
  expect(f.maxLagMs, `max removal lag (ms)${why}`).toBeLessThan(maxLagMs);
}

export const iso = (ms: number): string => new Date(ms).toISOString().slice(11, 23);

/**
 * Runs an operator and starts it again whenever it exits, as a Deployment's kubelet would (an operator
 * that lost its Lease exits 1 on purpose). `kill()` SIGKILLs the current process.
 */
export class Supervisor {
  private current: Operator;
  private running = true;
  private readonly args: string[];
  private readonly placement: OperatorPlacement;
  /** Every exit of a process this supervisor ran (SIGKILLs and exits of its own, e.g. a lost Lease). */
  readonly exits: { pid: number; at: number; code: number | null }[] = [];
  /** Every SIGKILL this supervisor sent: which process, when. */
  readonly kills: { pid: number; at: number }[] = [];
  /**
   * Every process it ran, from its start to its SIGKILL or exit (none while it runs). A PID alone does
   * not name a process here: the machine's PIDs wrap at 32768 and a busy run uses thousands a minute.
   */
  readonly runs: { pid: number; from: number; to?: number }[] = [];
  private logs = "";
  private readonly watching: Promise<void>;

  constructor(args: string[], placement: OperatorPlacement = {}) {
    this.args = args;
    this.placement = placement;
    this.current = this.start();
    this.watching = this.watch();
  }

  private start(): Operator {
    const op = startOperator(this.args, this.placement);
    this.runs.push({ pid: op.pid, from: Date.now() });
    return op;
  }

  private ended(at: number): void {
    const run = this.runs.at(-1);
    if (run && run.to === undefined) run.to = at;
  }

  get pid(): number {
    return this.current.pid;
  }

  private async watch(): Promise<void> {
    while (this.running) {
      const code = await this.current.exited;
      this.logs += this.current.logs();
      this.exits.push({ pid: this.current.pid, at: Date.now(), code });
      this.ended(Date.now());
      if (!this.running) break;
      await sleep(500); // the kubelet's restart is not instant either
      if (this.running) this.current = this.start();
    }
  }

  /**
   * SIGKILL; the supervisor starts a new process. A process that already exited on its own (a lost
   * Lease) and is waiting for its restart is left alone: not a kill, and process.kill would throw ESRCH.
   */
  kill(): void {
    if (!this.current.alive()) return;
    this.kills.push({ pid: this.current.pid, at: Date.now() });
    this.ended(Date.now());
    void this.current.stop("SIGKILL");
  }

  allLogs(): string {
    return this.logs + (this.running ? this.current.logs() : "");
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.current.stop("SIGKILL");
    await this.watching;
  }
}

/** The operator's log, kept under test-results/ for whoever reads a failure. */
export function keepLogs(name: string, logs: string): void {
  mkdirSync(`${repoDir}/test-results`, { recursive: true });
  writeFileSync(`${repoDir}/test-results/operator-${name}.log`, logs);
}

/** pino lines at error level or above, for the report. */
export function errorLines(logs: string): string[] {
  return logs.split("\n").filter((l) => /"level":(5|6)\d/.test(l));
}

// ---- a host of the test's own for the operator: a network namespace joined to the host by a veth pair

export const OPERATOR_NETNS = "dbgsess-op";
const VETH_HOST = "dbgsess-oh";
const VETH_NS = "dbgsess-oo";
const HOST_ADDR = "10.78.0.1";
const NS_ADDR = "10.78.0.2";

function ip(...args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
}

function inNetns(...command: string[]): void {
  ip("netns", "exec", OPERATOR_NETNS, ...command);
}

/** The namespace, its veth pair and a default route to the host (which serves the apiserver's address). */
export function createOperatorNetns(): void {
  removeOperatorNetns();
  ip("netns", "add", OPERATOR_NETNS);
  ip("link", "add", VETH_HOST, "type", "veth", "peer", "name", VETH_NS);
  ip("link", "set", VETH_NS, "netns", OPERATOR_NETNS);
  ip("addr", "add", `${HOST_ADDR}/24`, "dev", VETH_HOST);
  ip("link", "set", VETH_HOST, "up");
  inNetns("ip", "addr", "add", `${NS_ADDR}/24`, "dev", VETH_NS);
  inNetns("ip", "link", "set", VETH_NS, "up");
  inNetns("ip", "link", "set", "lo", "up");
  inNetns("ip", "route", "add", "default", "via", HOST_ADDR);
}

/** Idempotent: also what a failed run left behind. */
export function removeOperatorNetns(): void {
  spawnSync("ip", ["netns", "del", OPERATOR_NETNS]);
  spawnSync("ip", ["link", "del", VETH_HOST]);
}

/** Drops every packet between the namespace and the host, both ways, silently (no reset, no ICMP). */
export function partition(): void {
  inNetns("iptables", "-I", "OUTPUT", "-o", VETH_NS, "-j", "DROP");
  inNetns("iptables", "-I", "INPUT", "-i", VETH_NS, "-j", "DROP");
}

export function heal(): void {
  inNetns("iptables", "-F", "OUTPUT");
  inNetns("iptables", "-F", "INPUT");
}

export const netnsPlacement = (kubeconfig: string, namespace: string): OperatorPlacement => ({
  kubeconfig,
  namespace,
  prefix: ["ip", "netns", "exec", OPERATOR_NETNS],
});
