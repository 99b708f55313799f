// Issue 16, item 7: the soak. For SOAK_MINUTES (default 60) the operator gets five sessions a minute,
// one of each outcome, against a Deployment of three real pods (the node tier's kubelet, not KWOK)
// that is rolled every 10 minutes:
//   expire          ttl 1m, `sleep 3600`: Expired, the pod removed at the TTL
//   delete-early    ttl 10m, deleted ~30 s after it runs: gone, its pod removed by the finalizer
//   debugger-exits  ttl 2m, `sh -c "sleep 10; exit 3"`: exit code 3 seen, then Expired
//   denied          under DebugPolicy soak-narrow, which selects no pod: Failed (PolicyViolation)
//   target-missing  targetPod names no pod: Pending (TargetPodNotFound) until deleted after ~1 minute
// Every session the soak judged is deleted, so the operator's caches hold a steady number of them
// and RSS growth means a leak, not a growing namespace. Each minute the operator's /metrics give RSS,
// heap, handles, open fds and event-loop lag; its log is scanned for error-level lines.
// The report: a table per minute, a summary, bench/out/soak.json, and soak_* in bench/out/results.json.
// Exits 1 on error-level log lines, sessions that missed their expected end, missed scrapes or an
// operator that died; 130 when interrupted.
//   SOAK_MINUTES=3 make soak     (or: node bench/soak.ts against a cluster hack/soak.sh set up)
import { closeSync, existsSync, fstatSync, openSync, readSync, writeFileSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { setTimeout as delay } from "node:timers/promises";
import { spawnSync } from "node:child_process";
import {
  SESSION_LABEL,
  TERMINAL_PHASES,
  type DebugSession,
  type DebugSessionSpec,
  type DebugSessionStatus,
  type Phase,
} from "../src/api/types.ts";
import { Reason } from "../src/controller/reasons.ts";
import { apiMessage, isAdmissionRefusal, isConflict, isNotFound } from "../src/runtime/errors.ts";
import {
  IMAGE,
  SESSIONS,
  benchNamespace,
  core,
  custom,
  deleteNamespace,
  kubectl,
  listSessions,
  outDir,
  record,
  round,
  session,
  sleep,
  startOperator,
  waitUntil,
  type OperatorProcess,
} from "./support.ts";

const MINUTES = Number(process.env.SOAK_MINUTES ?? 60);
// hack/operator-kubeconfig.sh issues the operator a 2h token; setup, drain and teardown need the rest.
if (!Number.isInteger(MINUTES) || MINUTES < 1 || MINUTES > 100)
  throw new Error(`SOAK_MINUTES must be a whole number from 1 to 100 (the operator's token lasts 2h), not ${MINUTES}`);

const MINUTE = 60_000;
const APP = "web";
const REPLICAS = 3;
const NARROW_POLICY = "soak-narrow";
const POLL_MS = 3_000;
/** Longer than any session's own bounds below: past it, what is still running is cut short. */
const DRAIN_MS = 8 * MINUTE;
/**
 * An ended session's requeues and record writes are done by then: the after-drain sample waits this
 * long; so long at most is a hung API call waited for at the end.
 */
const SETTLE_MS = 30_000;
const SLOPE_MINUTES = 40;
const MAX_LINES_KEPT = 20;

const OUTCOMES = ["expire", "delete-early", "debugger-exits", "denied", "target-missing"] as const;
type Outcome = (typeof OUTCOMES)[number];
const EXPECTED: Record<Outcome, string> = {
  expire: "Expired, the pod removed at the TTL",
  "delete-early": "Running, then gone within 2 min of its deletion and its pod removed",
  "debugger-exits": "exit code 3 seen, then Expired with the pod removed",
  denied: "Failed (PolicyViolation), nothing injected",
  "target-missing": "Pending (TargetPodNotFound) until deleted, then gone",
};
const SHORT: Record<Outcome, string> = {
  expire: "expire",
  "delete-early": "delete",
  "debugger-exits": "exits",
  denied: "denied",
  "target-missing": "missing",
};

// preempted: Terminated because its pod went first (a rollout, or another session that removed a pod
// they shared): what the README promises then, so not a failure, but counted apart.
// unfinished: the run stopped (^C, drain timeout) before the session's story ended.
type Verdict = "ok" | "preempted" | "unexpected" | "unfinished";

interface Tracked {
  name: string;
  outcome: Outcome;
  minute: number;
  status?: DebugSessionStatus;
  phases: Phase[];
  exitCodes: Set<number>;
  seen: boolean;
  vanished: boolean;
  deleteRequestedAt?: number;
  gone: boolean;
  verdict?: Verdict;
  detail?: string;
}

interface Sample {
  minute: number;
  at: string;
  rss_mb: number | null;
  heap_used_mb: number | null;
  heap_total_mb: number | null;
  active_handles: number | null;
  active_resources: number | null;
  open_fds: number | null;
  /** Since the previous scrape: prom-client resets its event-loop histogram at each one. */
  eventloop_lag_p99_ms: number | null;
  eventloop_lag_max_ms: number | null;
  /** The operator's own count (debugsession_sessions, all phases): what its cache holds. */
  operator_sessions: number | null;
  sessions_created: number;
  ok: number;
  preempted: number;
  unexpected: number;
  error_lines: number;
  ready_pods: number | null;
  rollout: boolean;
}

// One controller for everything that waits: ^C, an operator that died or the drain timeout cut the
// waits short, so the finally blocks run at once.
const stop = new AbortController();
const stopReasons: string[] = [];
function stopRun(why: string): void {
  stopReasons.push(why);
  stop.abort();
}
let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`${signal}: stopping the soak and cleaning up (again to quit at once, leaving the namespace)`);
    stopRun(signal);
    process.once(signal, () => process.exit(130));
  });
}

/** support.ts's sleep, but cut short by the stop controller. */
const pause = (ms: number): Promise<void> =>
  delay(Math.max(0, ms), undefined, { signal: stop.signal }).catch(() => undefined);

/** True once `check` holds; false after timeoutMs or when the run stops. */
async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  try {
    await waitUntil(() => stop.signal.aborted || check(), timeoutMs, "", 1_000);
  } catch {
    return false;
  }
  return !stop.signal.aborted && check();
}

const conditionReason = (st: DebugSessionStatus | undefined, type: string): string | undefined =>
  st?.conditions?.find((c) => c.type === type)?.reason;

const describe = (t: Tracked): string => {
  const st = t.status;
  if (!st?.phase) return t.seen ? "no status yet" : "never seen";
  const reason = conditionReason(st, "Expired") ?? conditionReason(st, "Injected");
  return `${st.phase}${reason ? ` (${reason})` : ""}: ${(st.message ?? "").slice(0, 200)}`;
};

/** Ended for good: an Expired session only once its status says the pod was removed. */
function ended(t: Tracked): boolean {
  const st = t.status;
  if (!st?.phase || !TERMINAL_PHASES.has(st.phase)) return false;
  return st.phase !== "Expired" || !st.injectedAt || conditionReason(st, "Expired") === Reason.PodRemoved;
}

const expiredWithPodRemoved = (t: Tracked): boolean =>
  t.status?.phase === "Expired" && conditionReason(t.status, "Expired") === Reason.PodRemoved;

/**
 * The operator's log (startOperator writes its stdout and stderr to bench/out/operator-NAME.log),
 * read on from where the last scan stopped: pino JSON, level 50 (error) and up counted.
 */
class OperatorLog {
  errors = 0;
  warnings = 0;
  errorLines: string[] = [];
  /** Lines that are not pino JSON (stderr: a crash, a Node.js warning): reported, not judged. */
  otherLines: string[] = [];
  otherCount = 0;
  metricsPort: number | undefined;
  private offset = 0;
  private rest = "";
  private readonly decoder = new StringDecoder("utf8");
  private readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  scan(final = false): void {
    if (existsSync(this.path)) {
      const fd = openSync(this.path, "r");
      try {
        const size = fstatSync(fd).size;
        const buf = Buffer.alloc(1 << 20);
        while (this.offset < size) {
          const n = readSync(fd, buf, 0, Math.min(buf.length, size - this.offset), this.offset);
          if (n <= 0) break;
          this.offset += n;
          this.consume(this.decoder.write(buf.subarray(0, n)));
        }
      } finally {
        closeSync(fd);
      }
    }
    if (final) {
      this.consume(this.decoder.end() + "\n");
    }
  }

  private consume(text: string): void {
    const lines = (this.rest + text).split("\n");
    this.rest = lines.pop() ?? "";
    for (const line of lines) this.line(line);
  }

  private line(line: string): void {
    if (!line.trim()) return;
    let entry: { level?: unknown; msg?: unknown; port?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      this.otherCount++;
      if (this.otherLines.length < MAX_LINES_KEPT) this.otherLines.push(line);
      return;
    }
    const level = typeof entry.level === "number" ? entry.level : 0;
    if (level >= 50) {
      this.errors++;
      if (this.errorLines.length < MAX_LINES_KEPT) this.errorLines.push(line);
      console.error(`operator error-level line: ${line.slice(0, 400)}`);
    } else if (level >= 40) this.warnings++;
    if (typeof entry.msg === "string" && entry.msg.startsWith("serving /metrics") && typeof entry.port === "number")
      this.metricsPort = entry.port;
  }
}

/** Every series of an exposition, summed over its labels. */
async function scrape(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET /metrics: HTTP ${res.status}`);
  const sums = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{.*\})?\s+(\S+)/.exec(line);
    if (!m || line.startsWith("#")) continue;
    const value = Number(m[2]);
    if (Number.isFinite(value)) sums.set(m[1]!, (sums.get(m[1]!) ?? 0) + value);
  }
  return sums;
}

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const sxy = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return sxx === 0 ? Number.NaN : sxy / sxx;
}

/** Every 10 minutes; a run too short for that still gets one rollout, halfway, so a smoke covers it. */
function rolloutMinutes(minutes: number): number[] {
  if (minutes >= 11) return Array.from({ length: Math.ceil(minutes / 10) - 1 }, (_, i) => (i + 1) * 10);
  return minutes >= 2 ? [Math.floor(minutes / 2)] : [];
}

class Soak {
  readonly tracked = new Map<string, Tracked>();
  readonly samples: Sample[] = [];
  afterDrain: Sample | undefined;
  readonly problems: string[] = [];
  scrapeFailures = 0;
  pollErrors = 0;
  readonly rollouts = rolloutMinutes(MINUTES);
  private readonly running: Promise<void>[] = [];
  private polling = true;
  private poller: Promise<void> | undefined;
  private readonly ns: string;
  private readonly operator: OperatorProcess;
  private readonly log: OperatorLog;

  constructor(ns: string, operator: OperatorProcess, log: OperatorLog) {
    this.ns = ns;
    this.operator = operator;
    this.log = log;
  }

  async run(): Promise<void> {
    this.poller = this.poll();
    const t0 = Date.now();
    await this.sample(0, false);
    console.log(HEADER);
    console.log(row(this.samples[0]!));
    for (let m = 0; m < MINUTES && !stop.signal.aborted; m++) {
      const rollout = this.rollouts.includes(m);
      if (rollout) this.rollout();
      for (const [k, outcome] of OUTCOMES.entries()) {
        // Spread over the minute, so the load is steady rather than a burst.
        await pause(t0 + m * MINUTE + k * (MINUTE / OUTCOMES.length) - Date.now());
        if (stop.signal.aborted) break;
        this.launch(outcome, m);
      }
      await pause(t0 + (m + 1) * MINUTE - Date.now());
      if (stop.signal.aborted) break;
      await this.sample(m + 1, rollout);
      console.log(row(this.samples.at(-1)!));
      if (exited(this.operator)) stopRun("the operator exited");
    }
    if (stop.signal.aborted) return;
    console.error(
      `load done; waiting for the ${this.inFlight()} sessions still in flight (at most ${DRAIN_MS / MINUTE} min)`,
    );
    const drained = await Promise.race([
      Promise.allSettled(this.running).then(() => true),
      pause(DRAIN_MS).then(() => false),
    ]);
    if (!drained) stopRun(`sessions still in flight after the ${DRAIN_MS / MINUTE} min drain`);
    if (stop.signal.aborted) return;
    await pause(SETTLE_MS);
    if (stop.signal.aborted) return;
    this.afterDrain = await this.measure(round((Date.now() - t0) / MINUTE, 1), false);
    console.log(row(this.afterDrain).replace(/^\s*[\d.]+/, "drain".padStart(5)));
  }

  /**
   * Ends the waits (the stop controller), then the poller. An API call that hangs is not waited for
   * beyond SETTLE_MS (the cap's timer is unref'd, so it never holds the process once all is done).
   */
  async settle(): Promise<void> {
    stop.abort();
    const cap = (): Promise<void> => delay(SETTLE_MS, undefined, { ref: false });
    await Promise.race([Promise.allSettled(this.running), cap()]);
    this.polling = false;
    await Promise.race([this.poller, cap()]);
  }

  private inFlight(): number {
    return [...this.tracked.values()].filter((t) => !t.verdict).length;
  }

  private rollout(): void {
    try {
      kubectl(["-n", this.ns, "rollout", "restart", `deployment/${APP}`]);
      console.error(`rolled deployment/${APP}`);
    } catch (err) {
      this.problems.push(`kubectl rollout restart failed: ${apiMessage(err)}`);
    }
  }

  /** One LIST every few seconds gives every tracked session's status; a watch would add nothing here. */
  private async poll(): Promise<void> {
    while (this.polling) {
      const started = Date.now();
      try {
        const present = new Set<string>();
        for (const s of await listSessions(this.ns)) {
          const t = this.tracked.get(s.metadata.name ?? "");
          if (!t) continue;
          present.add(t.name);
          t.seen = true;
          t.status = s.status;
          const phase = s.status?.phase;
          if (phase && t.phases.at(-1) !== phase) t.phases.push(phase);
          const code = s.status?.containerState?.exitCode;
          if (code !== undefined) t.exitCodes.add(code);
        }
        for (const t of this.tracked.values()) {
          if (present.has(t.name)) continue;
          // Only a list that began after the delete request can say the deletion finished.
          if (t.deleteRequestedAt !== undefined && t.deleteRequestedAt < started) t.gone = true;
          else if (t.seen && t.deleteRequestedAt === undefined) t.vanished = true;
        }
      } catch (err) {
        this.pollErrors++;
        if (this.pollErrors <= 5) console.error(`listing sessions failed: ${apiMessage(err)}`);
      }
      await sleep(POLL_MS);
    }
  }

  private launch(outcome: Outcome, minute: number): void {
    const t: Tracked = {
      name: `soak-${SHORT[outcome]}-${String(minute).padStart(3, "0")}`,
      outcome,
      minute,
      phases: [],
      exitCodes: new Set(),
      seen: false,
      vanished: false,
      gone: false,
    };
    this.tracked.set(t.name, t);
    const story = {
      expire: () => this.expire(t),
      "delete-early": () => this.deleteEarly(t),
      "debugger-exits": () => this.debuggerExits(t),
      denied: () => this.denied(t),
      "target-missing": () => this.targetMissing(t),
    }[outcome];
    this.running.push(
      story()
        // A failure after the verdict (the deletion of a judged session) still counts against it.
        .catch((err: unknown) => this.overrule(t, apiMessage(err)))
        .then(() => {
          if (!t.verdict) this.judge(t, "unfinished", `the run stopped first (last: ${describe(t)})`);
        }),
    );
  }

  private judge(t: Tracked, verdict: Verdict, detail?: string): void {
    if (t.verdict) return;
    if (stop.signal.aborted && verdict === "unexpected") verdict = "unfinished";
    t.verdict = verdict;
    t.detail = detail;
    if (verdict === "unexpected") console.error(`unexpected: ${t.name} (${t.outcome}): ${detail ?? ""}`);
  }

  private async create(
    t: Tracked,
    target: Pick<DebugSessionSpec, "targetPod" | "targetRef">,
    spec: Partial<DebugSessionSpec>,
  ): Promise<void> {
    const base = session(this.ns, t.name, "", "1m");
    const { targetPod: _pod, ...common } = base.spec;
    const body: DebugSession = { ...base, spec: { ...common, ...target, reason: `soak: ${t.outcome}`, ...spec } };
    for (let attempt = 1; ; attempt++) {
      try {
        await custom.createNamespacedCustomObject({ ...SESSIONS, namespace: this.ns, body });
        return;
      } catch (err) {
        // A 409 on a retry: the first attempt went through after all.
        if (attempt > 1 && isConflict(err)) return;
        if (attempt >= 3 || isAdmissionRefusal(err) || stop.signal.aborted)
          throw new Error(`create: ${apiMessage(err)}`, { cause: err });
      }
      await pause(5_000);
    }
  }

  /** Deletes the session; true once it is gone (the finalizer removed) within timeoutMs. */
  private async remove(t: Tracked, timeoutMs = 2 * MINUTE): Promise<boolean> {
    t.deleteRequestedAt = Date.now();
    try {
      await custom.deleteNamespacedCustomObject({ ...SESSIONS, namespace: this.ns, name: t.name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    return until(() => t.gone, timeoutMs);
  }

  /** Deletes a judged session; one that outstays its deletion was not what was expected after all. */
  private async removeJudged(t: Tracked): Promise<void> {
    if (stop.signal.aborted) return;
    if (!(await this.remove(t)) && !stop.signal.aborted)
      this.overrule(t, `still there 2 min after its deletion (last: ${describe(t)})`);
  }

  private overrule(t: Tracked, detail: string): void {
    if (t.verdict && stop.signal.aborted) return;
    t.verdict = undefined;
    this.judge(t, "unexpected", detail);
  }

  private async expire(t: Tracked): Promise<void> {
    await this.create(t, { targetRef: { kind: "Deployment", name: APP } }, { ttl: "1m", command: ["sleep", "3600"] });
    if (!(await until(() => ended(t), 5 * MINUTE)))
      return this.judge(t, "unexpected", `not ended after 5 min: ${describe(t)}`);
    if (expiredWithPodRemoved(t)) this.judge(t, "ok");
    else if (t.status?.phase === "Terminated") this.judge(t, "preempted", describe(t));
    else this.judge(t, "unexpected", describe(t));
    await this.removeJudged(t);
  }

  private async deleteEarly(t: Tracked): Promise<void> {
    await this.create(t, { targetRef: { kind: "Deployment", name: APP } }, { ttl: "10m", command: ["sleep", "3600"] });
    await until(() => t.status?.phase === "Running" || ended(t), 3 * MINUTE);
    if (stop.signal.aborted) return;
    if (t.status?.phase === "Running") await until(() => ended(t), 30_000);
    if (stop.signal.aborted) return;
    const before = { ...t.status };
    const endedFirst = ended(t);
    if (!(await this.remove(t))) {
      if (!stop.signal.aborted) this.judge(t, "unexpected", `still there 2 min after its deletion: ${describe(t)}`);
      return;
    }
    if (endedFirst && before.phase === "Terminated")
      return this.judge(t, "preempted", `${before.phase} before its deletion`);
    if (endedFirst || !t.phases.includes("Running"))
      return this.judge(t, "unexpected", `phases ${t.phases.join(" > ") || "none"} before its deletion`);
    const left = await this.podStillThere(before.pod, before.targetPodUID);
    this.judge(
      t,
      left ? "unexpected" : "ok",
      left ? `its pod ${before.pod} is still there after the session went` : undefined,
    );
  }

  private async debuggerExits(t: Tracked): Promise<void> {
    await this.create(
      t,
      { targetRef: { kind: "Deployment", name: APP } },
      { ttl: "2m", command: ["sh", "-c", "sleep 10; exit 3"] },
    );
    if (!(await until(() => ended(t), 6 * MINUTE)))
      return this.judge(t, "unexpected", `not ended after 6 min: ${describe(t)}`);
    const codes = [...t.exitCodes].join(", ") || "none";
    if (expiredWithPodRemoved(t) && t.exitCodes.has(3)) this.judge(t, "ok");
    else if (t.status?.phase === "Terminated") this.judge(t, "preempted", `${describe(t)} (exit codes seen: ${codes})`);
    else this.judge(t, "unexpected", `${describe(t)} (exit codes seen: ${codes})`);
    await this.removeJudged(t);
  }

  private async denied(t: Tracked): Promise<void> {
    // Admission already refuses an image the policy does not allow (config/admission/policy-content.yaml),
    // so the denial the operator makes is one that needs the pod: soak-narrow selects none.
    const pod = await this.calmPod();
    await this.create(t, { targetPod: pod }, { policy: NARROW_POLICY, ttl: "1m", command: ["sleep", "3600"] });
    if (!(await until(() => ended(t), MINUTE))) {
      // The pod went between our pick and the operator's look: it waits for it instead.
      const why = conditionReason(t.status, "Injected");
      if (why === Reason.TargetPodNotFound || why === Reason.TargetPodNotRunning)
        this.judge(t, "preempted", describe(t));
      else this.judge(t, "unexpected", `not Failed after 1 min: ${describe(t)}`);
    } else if (
      t.status?.phase === "Failed" &&
      conditionReason(t.status, "Injected") === Reason.PolicyViolation &&
      !t.status.injectedAt
    )
      this.judge(t, "ok");
    else this.judge(t, "unexpected", describe(t));
    await this.removeJudged(t);
  }

  private async targetMissing(t: Tracked): Promise<void> {
    await this.create(t, { targetPod: `absent-${t.name}` }, { ttl: "1m", command: ["sleep", "3600"] });
    await pause(MINUTE);
    if (stop.signal.aborted) return;
    const st = t.status;
    if (st?.phase === "Pending" && conditionReason(st, "Injected") === Reason.TargetPodNotFound && !st.injectedAt)
      this.judge(t, "ok");
    else this.judge(t, "unexpected", `after 1 min: ${describe(t)}`);
    await this.removeJudged(t);
  }

  /** A Running pod of the Deployment no session tainted: the one least likely to go in the next second. */
  private async calmPod(): Promise<string> {
    const pods = (await core.listNamespacedPod({ namespace: this.ns, labelSelector: `app=${APP}` })).items;
    const running = pods.filter((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp);
    const calm = running.filter((p) => p.metadata?.labels?.[SESSION_LABEL] === undefined);
    return (calm[0] ?? running[0] ?? pods[0])?.metadata?.name ?? `${APP}-none`;
  }

  private async podStillThere(name: string | undefined, uid: string | undefined): Promise<boolean> {
    if (!name || !uid) return false;
    try {
      const pod = await core.readNamespacedPod({ namespace: this.ns, name });
      return pod.metadata?.uid === uid && !pod.metadata.deletionTimestamp;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  private async sample(minute: number, rollout: boolean): Promise<void> {
    this.samples.push(await this.measure(minute, rollout));
  }

  private async measure(minute: number, rollout: boolean): Promise<Sample> {
    this.log.scan();
    let m = new Map<string, number>();
    try {
      m = await scrape(this.log.metricsPort!);
    } catch (err) {
      this.scrapeFailures++;
      console.error(`minute ${minute}: scraping the operator's /metrics failed: ${apiMessage(err)}`);
    }
    const get = (name: string, scale = 1, digits = 0): number | null => {
      const v = m.get(name);
      return v === undefined ? null : round(v * scale, digits);
    };
    let readyPods: number | null = null;
    try {
      const pods = (await core.listNamespacedPod({ namespace: this.ns, labelSelector: `app=${APP}` })).items;
      readyPods = pods.filter(
        (p) =>
          !p.metadata?.deletionTimestamp &&
          p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      ).length;
    } catch {
      // A missing count is shown as such; the sessions' own checks say whether anything went wrong.
    }
    const all = [...this.tracked.values()];
    const count = (v: Verdict): number => all.filter((t) => t.verdict === v).length;
    return {
      minute,
      at: new Date().toISOString(),
      rss_mb: get("process_resident_memory_bytes", 2 ** -20, 1),
      heap_used_mb: get("nodejs_heap_size_used_bytes", 2 ** -20, 1),
      heap_total_mb: get("nodejs_heap_size_total_bytes", 2 ** -20, 1),
      active_handles: get("nodejs_active_handles_total"),
      active_resources: get("nodejs_active_resources_total"),
      open_fds: get("process_open_fds"),
      eventloop_lag_p99_ms: get("nodejs_eventloop_lag_p99_seconds", 1000, 1),
      eventloop_lag_max_ms: get("nodejs_eventloop_lag_max_seconds", 1000, 1),
      operator_sessions: get("debugsession_sessions"),
      sessions_created: all.length,
      ok: count("ok"),
      preempted: count("preempted"),
      unexpected: count("unexpected"),
      error_lines: this.log.errors,
      ready_pods: readyPods,
      rollout,
    };
  }
}

const COLUMNS: [string, number, (s: Sample) => string | number | null][] = [
  ["min", 5, (s) => s.minute],
  ["rss MB", 8, (s) => s.rss_mb],
  ["heap MB", 8, (s) => s.heap_used_mb],
  ["handles", 8, (s) => s.active_handles],
  ["resources", 10, (s) => s.active_resources],
  ["fds", 5, (s) => s.open_fds],
  ["lag p99 ms", 11, (s) => s.eventloop_lag_p99_ms],
  ["lag max ms", 11, (s) => s.eventloop_lag_max_ms],
  ["op sessions", 12, (s) => s.operator_sessions],
  ["created", 8, (s) => s.sessions_created],
  ["ok", 5, (s) => s.ok],
  ["preempted", 10, (s) => s.preempted],
  ["unexpected", 11, (s) => s.unexpected],
  ["errors", 7, (s) => s.error_lines],
  ["ready", 6, (s) => s.ready_pods],
  ["", 0, (s) => (s.rollout ? "  rollout" : "")],
];
const HEADER = COLUMNS.map(([name, width]) => name.padStart(width)).join(" ");
const row = (s: Sample): string => COLUMNS.map(([, width, get]) => String(get(s) ?? "-").padStart(width)).join(" ");

/** `died`: how the operator ended, when it did so before the clean-up stopped it. */
function report(
  soak: Soak,
  log: OperatorLog,
  operator: OperatorProcess,
  died: { code: number | null; signal: string | null } | undefined,
  ns: string,
): number {
  const valid = soak.samples.filter((s) => s.rss_mb !== null);
  const last = soak.samples.at(-1)?.minute ?? 0;
  // 40 minutes of a run of an hour or more leave the first 20 for warm-up (caches, JIT, heap sizing);
  // a shorter run keeps the same proportion.
  const long = MINUTES >= 60;
  const windowed = long
    ? valid.filter((s) => s.minute >= last - SLOPE_MINUTES)
    : valid.slice(-Math.max(2, Math.ceil((valid.length * 2) / 3)));
  const rssSlope = slope(windowed.map((s) => ({ x: s.minute / 60, y: s.rss_mb! })));
  const window = {
    rule: long ? `last ${SLOPE_MINUTES} minutes` : "last 2/3 of the samples (run shorter than 60 minutes)",
    from_minute: windowed[0]?.minute ?? null,
    to_minute: windowed.at(-1)?.minute ?? null,
    samples: windowed.length,
  };
  // Sample 0's lag covers the operator's start-up (cache sync), which is not what a soak measures.
  const loaded = soak.samples.filter((s) => s.minute > 0);
  const maxOf = (xs: (number | null)[]): number | null => {
    const nums = xs.filter((x): x is number => x !== null);
    return nums.length ? Math.max(...nums) : null;
  };
  const sessions = [...soak.tracked.values()];
  const outcomes = Object.fromEntries(
    OUTCOMES.map((o) => {
      const mine = sessions.filter((t) => t.outcome === o);
      const endPhases: Record<string, number> = {};
      for (const t of mine) {
        const phase = t.phases.at(-1) ?? "none";
        endPhases[phase] = (endPhases[phase] ?? 0) + 1;
      }
      const n = (v: Verdict): number => mine.filter((t) => t.verdict === v).length;
      return [
        o,
        {
          expected: EXPECTED[o],
          created: mine.length,
          ok: n("ok"),
          preempted: n("preempted"),
          unexpected: n("unexpected"),
          unfinished: n("unfinished"),
          end_phases: endPhases,
        },
      ];
    }),
  );
  const missed = sessions.filter((t) => t.verdict === "unexpected" || t.verdict === "unfinished");
  const vanished = sessions.filter((t) => t.vanished).map((t) => t.name);
  const problems = [...soak.problems];
  if (log.errors) problems.push(`${log.errors} error-level line(s) in the operator's log`);
  if (missed.length) problems.push(`${missed.length} session(s) did not reach their expected end`);
  if (vanished.length) problems.push(`session(s) deleted by someone else: ${vanished.join(", ")}`);
  if (soak.scrapeFailures) problems.push(`${soak.scrapeFailures} scrape(s) of /metrics failed`);
  // ^C reaches the operator too (one process group): its exit then is no finding.
  if (died && !interrupted)
    problems.push(`the operator died during the run (code ${died.code}, signal ${died.signal})`);
  if (operator.oomKills()) problems.push(`the operator was OOM-killed ${operator.oomKills()} time(s)`);
  for (const why of stopReasons) problems.push(`stopped early: ${why}`);

  const first = valid[0];
  const lastValid = valid.at(-1);
  const result = {
    date: new Date().toISOString(),
    commit: spawnSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).stdout?.trim() || undefined,
    node: process.version,
    namespace: ns,
    minutes: MINUTES,
    sessions_per_minute: OUTCOMES.length,
    deployment: { name: APP, replicas: REPLICAS, image: IMAGE, rollouts_at_minute: soak.rollouts },
    rss_slope_mb_per_hour: Number.isNaN(rssSlope) ? null : round(rssSlope, 2),
    rss_slope_window: window,
    rss_mb: { first: first?.rss_mb ?? null, last: lastValid?.rss_mb ?? null, max: maxOf(valid.map((s) => s.rss_mb)) },
    heap_used_mb: {
      first: first?.heap_used_mb ?? null,
      last: lastValid?.heap_used_mb ?? null,
      max: maxOf(valid.map((s) => s.heap_used_mb)),
    },
    active_handles: {
      first: first?.active_handles ?? null,
      last: lastValid?.active_handles ?? null,
      max: maxOf(valid.map((s) => s.active_handles)),
      after_drain: soak.afterDrain?.active_handles ?? null,
    },
    // monitorEventLoopDelay samples every 10 ms, so an idle loop already reads about 10 ms.
    eventloop_lag_max_ms: maxOf(loaded.map((s) => s.eventloop_lag_max_ms)),
    eventloop_lag_p99_max_ms: maxOf(loaded.map((s) => s.eventloop_lag_p99_ms)),
    error_lines: log.errors,
    error_line_texts: log.errorLines,
    warn_lines: log.warnings,
    non_json_lines: log.otherCount,
    non_json_line_texts: log.otherLines,
    outcomes,
    sessions: {
      created: sessions.length,
      ok: sessions.filter((t) => t.verdict === "ok").length,
      preempted: sessions.filter((t) => t.verdict === "preempted").length,
      missed_expected_end: missed.length,
    },
    missed: missed.slice(0, 50).map((t) => ({
      name: t.name,
      outcome: t.outcome,
      verdict: t.verdict,
      phases: t.phases,
      detail: t.detail,
    })),
    scrape_failures: soak.scrapeFailures,
    session_list_errors: soak.pollErrors,
    operator_oom_kills: operator.oomKills(),
    problems,
    passed: problems.length === 0,
    samples: soak.samples,
    after_drain: soak.afterDrain ?? null,
  };
  writeFileSync(`${outDir}/soak.json`, JSON.stringify(result, null, 2) + "\n");
  const { samples: _samples, after_drain: _afterDrain, missed: _missed, ...summary } = result;
  record({
    soak: summary,
    soak_rss_slope_mb_per_hour: result.rss_slope_mb_per_hour,
    soak_eventloop_lag_max_ms: result.eventloop_lag_max_ms,
    soak_error_lines: result.error_lines,
    soak_sessions_missed_expected_end: missed.length,
  });

  const mb = (x: number | null | undefined): string => (x === null || x === undefined ? "-" : `${x} MB`);
  console.log("");
  console.log(
    `soak: ${MINUTES} min, ${sessions.length} sessions (${OUTCOMES.length} a minute), ` +
      `rollouts at minute ${soak.rollouts.join(", ") || "none"}`,
  );
  console.log(
    `RSS ${mb(result.rss_mb.first)} -> ${mb(result.rss_mb.last)} (max ${mb(result.rss_mb.max)}); ` +
      `slope ${result.rss_slope_mb_per_hour ?? "-"} MB/hour over minutes ${window.from_minute ?? "-"}-${window.to_minute ?? "-"} ` +
      `(${window.rule}, ${window.samples} samples)`,
  );
  console.log(
    `heap used ${mb(result.heap_used_mb.first)} -> ${mb(result.heap_used_mb.last)}; active handles ` +
      `${result.active_handles.first ?? "-"} -> ${result.active_handles.last ?? "-"} (after the drain: ${result.active_handles.after_drain ?? "-"})`,
  );
  console.log(
    `event-loop lag: max ${result.eventloop_lag_max_ms ?? "-"} ms, worst minute's p99 ${result.eventloop_lag_p99_max_ms ?? "-"} ms ` +
      "(minutes 1 on; ~10 ms is the monitor's resolution)",
  );
  console.log(
    `operator log: ${log.errors} error-level line(s), ${log.warnings} warning(s), ${log.otherCount} non-JSON line(s)`,
  );
  console.log("");
  console.log(
    `${"outcome".padEnd(16)}${"created".padStart(8)}${"ok".padStart(5)}${"preempted".padStart(10)}${"unexpected".padStart(11)}${"unfinished".padStart(11)}  end phases`,
  );
  for (const [o, c] of Object.entries(outcomes)) {
    const phases = Object.entries(c.end_phases)
      .map(([p, n]) => `${p} ${n}`)
      .join(", ");
    console.log(
      `${o.padEnd(16)}${String(c.created).padStart(8)}${String(c.ok).padStart(5)}${String(c.preempted).padStart(10)}` +
        `${String(c.unexpected).padStart(11)}${String(c.unfinished).padStart(11)}  ${phases}`,
    );
  }
  for (const t of missed.slice(0, 10)) console.log(`  ${t.name}: ${t.verdict}: ${t.detail ?? ""}`);
  if (missed.length > 10) console.log(`  ... ${missed.length - 10} more in bench/out/soak.json`);
  console.log("");
  console.log(result.passed ? "PASS" : `FAIL: ${problems.join("; ")}`);
  console.log(`report: ${outDir}/soak.json; operator log: ${outDir}/operator-soak.log`);
  if (interrupted) return 130;
  return result.passed ? 0 : 1;
}

/**
 * Deletes the namespace while an operator still runs (it removes the sessions' finalizers; after a
 * normal drain no session is left, so this is the Deployment going). One that died or caught ^C is
 * replaced by a fresh one for the purpose.
 */
async function cleanUp(ns: string, operator: OperatorProcess | undefined): Promise<void> {
  let helper: OperatorProcess | undefined;
  try {
    if (operator && exited(operator)) {
      helper = await startOperator("soak-cleanup").catch((err: unknown) => {
        console.error(
          `could not start an operator to clean up (${apiMessage(err)}); the namespace may stay Terminating`,
        );
        return undefined;
      });
    }
    // Without any operator the sessions' finalizers stay: waiting would only run into the timeout.
    const finalizersGo = helper !== undefined || operator === undefined || !exited(operator);
    console.error(`deleting namespace ${ns}`);
    deleteNamespace(ns, finalizersGo);
  } finally {
    await helper?.stop();
    await operator?.stop();
  }
}

const exited = (operator: OperatorProcess): boolean => {
  const { code, signal } = operator.exit();
  return code !== null || signal !== null;
};

async function main(): Promise<number> {
  const ns = await benchNamespace("soak");
  let operator: OperatorProcess | undefined;
  let soak: Soak | undefined;
  let died: ReturnType<OperatorProcess["exit"]> | undefined;
  const log = new OperatorLog(`${outDir}/operator-soak.log`);
  try {
    kubectl(
      ["apply", "-n", ns, "-f", "-"],
      `apiVersion: debugging.dev/v1alpha1
kind: DebugPolicy
metadata: {name: ${NARROW_POLICY}}
spec: {targetSelector: {matchLabels: {soak-debuggable: "true"}}, allowedImages: ["${IMAGE}"], maxTTL: 1h}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${APP}}
spec:
  replicas: ${REPLICAS}
  selector: {matchLabels: {app: ${APP}}}
  template:
    metadata: {labels: {app: ${APP}}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: web
        image: ${IMAGE}
        imagePullPolicy: IfNotPresent
        command: [httpd, -f, -p, "8080"]
`,
    );
    kubectl(["-n", ns, "rollout", "status", `deployment/${APP}`, "--timeout=180s"]);
    if (stop.signal.aborted) throw new Error("interrupted during setup");
    operator = await startOperator("soak");
    await waitUntil(
      () => (log.scan(), log.metricsPort !== undefined),
      10_000,
      "the operator's metrics port in its log",
      100,
    );
    console.error(
      `soak: ${MINUTES} min in namespace ${ns}; operator pid ${operator.pid}, metrics on :${log.metricsPort}`,
    );
    soak = new Soak(ns, operator, log);
    try {
      await soak.run();
    } catch (err) {
      soak.problems.push(`the soak itself failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  } finally {
    await soak?.settle();
    if (operator && exited(operator)) died = operator.exit();
    await cleanUp(ns, operator);
    log.scan(true);
  }
  // Reached only when setup went through: the try block throws otherwise.
  return report(soak, log, operator, died, ns);
}

try {
  process.exitCode = await main();
} catch (err) {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = interrupted ? 130 : 1;
}
// A request that never answered would keep the process alive after the report: end it regardless.
setTimeout(() => process.exit(), 10_000).unref();
