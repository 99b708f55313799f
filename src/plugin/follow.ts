// Waits for a session's debugger while saying what the operator reports, attaches the user's terminal
// to it (or follows its log when it has no stdin), and decides the exit code from the session itself.
import { formatDuration } from "../api/duration.ts";
import type { DebugSession } from "../api/types.ts";
import { asKind, Failure, type Context } from "./context.ts";
import { SESSIONS, withFlags, type Watch } from "./kubectl.ts";
import { afterLines, detachHint, kubectlMinor, outcomeOf, suggestedFlags } from "./outcome.ts";
import { progressOf } from "./progress.ts";

export interface FollowOptions {
  quiet: boolean;
  timeoutMs: number;
  /** false: stop once the debugger runs (--attach=false). */
  attach: boolean;
}

/** How often a watch the server closed is opened again before giving up. */
const MAX_RESTARTS = 100;
/** When a session still has no status after this long, the operator is probably not running. */
const NO_STATUS_MS = 10_000;

/** The session as its watch last showed it; reopens the watch when the server closes it. */
export class SessionWatch {
  latest: DebugSession | undefined;
  /** What kubectl said when the watch failed (NotFound, Forbidden, ...). */
  failure: string | undefined;
  private readonly ctx: Context;
  private readonly name: string;
  private readonly namespace: string | undefined;
  private readonly onUpdate: (s: DebugSession) => void;
  private watch: Watch | undefined;
  private stopped = false;
  private restarts = 0;
  private readonly waiters = new Set<() => void>();

  constructor(ctx: Context, name: string, namespace: string | undefined, onUpdate: (s: DebugSession) => void) {
    this.ctx = ctx;
    this.name = name;
    this.namespace = namespace;
    this.onUpdate = onUpdate;
  }

  start(): void {
    const args = withFlags(["get", SESSIONS, this.name, "-o", "json", "--watch"], this.ctx.flags, this.namespace);
    const startedAt = Date.now();
    const watch = this.ctx.kubectl.watch(args, (object) => {
      const session = asKind<DebugSession>(object, "DebugSession");
      if (session === undefined) return;
      this.latest = session;
      this.onUpdate(session);
      this.notify();
    });
    this.watch = watch;
    void watch.done.then((r) => {
      if (this.stopped) return;
      if (r.code === 0 && this.restarts < MAX_RESTARTS) {
        this.restarts++;
        setTimeout(() => this.stopped || this.start(), Math.max(0, 1000 - (Date.now() - startedAt)));
        return;
      }
      this.failure = r.stderr.trim() || `kubectl get --watch exited with code ${r.code}`;
      this.notify();
    });
  }

  stop(): void {
    this.stopped = true;
    this.watch?.stop();
  }

  /** Resolves once the session satisfies `until`, the watch failed, `ms` passed or `signal` aborted. */
  until(until: (s: DebugSession) => boolean, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        signal?.removeEventListener("abort", finish);
        resolve();
      };
      const check = (): void => {
        if (this.failure !== undefined || (this.latest !== undefined && until(this.latest))) finish();
      };
      const timer = setTimeout(finish, ms);
      signal?.addEventListener("abort", finish);
      this.waiters.add(check);
      check();
    });
  }

  private notify(): void {
    for (const check of [...this.waiters]) check();
  }
}

export async function follow(
  ctx: Context,
  name: string,
  namespace: string | undefined,
  o: FollowOptions,
): Promise<number> {
  let attached = false;
  let shown = "";
  const show = (s: DebugSession): void => {
    const p = progressOf(s);
    if (attached || o.quiet || p.step === "ended" || p.line === shown) return;
    shown = p.line;
    ctx.err(p.line);
  };
  // Only for the detach hint; a failure just leaves the hint general.
  const minor = o.attach
    ? ctx.kubectl.capture(["version", "--client", "-o", "json"]).then(
        (r) => kubectlMinor(r.stdout),
        () => undefined,
      )
    : Promise.resolve(undefined);
  const interrupt = new AbortController();
  const onInterrupt = (): void => interrupt.abort();
  const ignore = (): void => {};
  process.on("SIGINT", onInterrupt);
  const watch = new SessionWatch(ctx, name, namespace, show);
  const noStatus = setTimeout(() => {
    if (!o.quiet && watch.failure === undefined && watch.latest?.status?.phase === undefined) {
      ctx.err(`No status after ${NO_STATUS_MS / 1000}s: is the debugsession-operator running?`);
    }
  }, NO_STATUS_MS);
  watch.start();
  try {
    await watch.until((s) => progressOf(s).step !== "wait", o.timeoutMs, interrupt.signal);
    clearTimeout(noStatus);
    const session = watch.latest;
    const step = session === undefined ? "wait" : progressOf(session).step;
    // Ctrl-C reaches the watching kubectl too (one process group): then its exit is no failure.
    const interrupted = interrupt.signal.aborted;
    if (!interrupted && step === "wait" && watch.failure !== undefined) throw new Failure(watch.failure);
    if (interrupted || session === undefined || step === "wait") {
      const where = session === undefined ? "has not been seen" : `is still ${progressOf(session).line}`;
      const why = interrupted ? "Interrupted" : `Gave up after ${formatDuration(o.timeoutMs)}`;
      ctx.err(`${why}: session ${name} ${where}.`);
      ctx.err(staysLine(ctx, name, session?.metadata.namespace ?? namespace));
      return interrupted ? 130 : 1;
    }
    if (step === "ended") return await finish(ctx, session, false, 0);
    if (!o.attach) {
      for (const line of afterLines(session, { ended: false }, ctx.now(), ctx.flags)) ctx.err(line);
      ctx.out(`${name}\n`);
      return 0;
    }
    // While attached, Ctrl-C belongs to the debugger (kubectl passes it on), not to this process.
    process.off("SIGINT", onInterrupt);
    process.on("SIGINT", ignore);
    attached = true;
    const code = await attach(ctx, session, o.quiet, await minor);
    attached = false;
    await watch.until((s) => outcomeOf(s).ended, ctx.settleMs);
    return await finish(ctx, watch.latest ?? session, true, code);
  } finally {
    clearTimeout(noStatus);
    process.off("SIGINT", onInterrupt);
    process.off("SIGINT", ignore);
    watch.stop();
  }
}

function staysLine(ctx: Context, name: string, namespace: string | undefined): string {
  const flags = suggestedFlags(namespace, ctx.flags);
  const cmd = (sub: string): string => `kubectl dbg ${sub} ${name}${flags ? ` ${flags}` : ""}`;
  return `The session stays, and its debugger is injected once it can be: ${cmd("attach")} waits for it again, ${cmd("end")} deletes it.`;
}

/** kubectl attach with the user's terminal, or kubectl logs -f for a debugger without stdin. */
function attach(ctx: Context, s: DebugSession, quiet: boolean, minor: number | undefined): Promise<number> {
  if (!s.spec.stdin) return ctx.kubectl.interactive(logsArgs(ctx, s, true));
  if (s.spec.tty && !quiet) ctx.err(detachHint(minor));
  const { pod, container } = debuggerOf(s);
  const flags = [s.spec.tty ? "-it" : "-i", ...(quiet ? ["-q"] : [])];
  return ctx.kubectl.interactive(
    withFlags(["attach", ...flags, pod, "-c", container], ctx.flags, s.metadata.namespace),
  );
}

export function logsArgs(ctx: Context, s: DebugSession, follow: boolean): string[] {
  const { pod, container } = debuggerOf(s);
  return withFlags(["logs", ...(follow ? ["-f"] : []), pod, "-c", container], ctx.flags, s.metadata.namespace);
}

export function debuggerOf(s: DebugSession): { pod: string; container: string } {
  const pod = s.status?.pod ?? s.spec.targetPod;
  const container = s.status?.containerName;
  if (pod === undefined || container === undefined) {
    throw new Failure(`session ${s.metadata.name ?? ""} has no debugger yet: ${progressOf(s).line}`);
  }
  return { pod, container };
}

/** The exit code and last words once waiting or attaching is over. */
async function finish(ctx: Context, s: DebugSession, wasAttached: boolean, attachCode: number): Promise<number> {
  const outcome = outcomeOf(s);
  if (!outcome.ended) {
    for (const line of afterLines(s, outcome, ctx.now(), ctx.flags)) ctx.err(line);
    return attachCode;
  }
  if (!wasAttached && s.status?.containerState?.state === "terminated") {
    // It ran and exited before anyone attached (a short command): what it printed is in its log.
    await ctx.kubectl.interactive(logsArgs(ctx, s, false));
  }
  for (const line of afterLines(s, outcome, ctx.now(), ctx.flags)) ctx.err(line);
  return outcome.code;
}
