// Waits for a session's debugger while saying what the operator reports, attaches the user's terminal
// to it (or follows its log when it has no stdin), and decides the exit code from the session itself.
import { formatDuration } from "../api/duration.ts";
import type { DebugSession } from "../api/types.ts";
import { asKind, Failure, type Context } from "./context.ts";
import { SESSIONS, withFlags, type Attached, type Watch } from "./kubectl.ts";
import { afterLines, detachHint, kubectlMinor, outcomeOf, suggestedFlags } from "./outcome.ts";
import { progressOf } from "./progress.ts";

export interface FollowOptions {
  quiet: boolean;
  timeoutMs: number;
  /** false: stop once the debugger runs (--attach=false). */
  attach: boolean;
  /** kubectl's minor version, when the caller already asked (kubectlVersion); else follow asks. */
  minor?: Promise<number | undefined>;
}

/** kubectl version --client, for the detach hint only: a failure just leaves the hint general. */
export const kubectlVersion = (ctx: Context): Promise<number | undefined> =>
  ctx.kubectl.capture(["version", "--client", "-o", "json"]).then(
    (r) => kubectlMinor(r.stdout),
    () => undefined,
  );

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

/**
 * kubectl's own error lines refusing an attach made before the debugger runs: the kubelet has not
 * started it yet ("error: ... unable to upgrade connection: container ... not found in pod ..."), or
 * the attach grant is not yet in force ("Error from server (Forbidden): ..."). Retried until the
 * session reports the debugger running; after that they are errors like any other.
 */
const NOT_YET =
  /^(error: .*(unable to upgrade connection|container not found|not found in pod)|Error from server \(Forbidden\))/m;
/** How long, and how often at most, attaches are tried before the kubelet reports the debugger running; then its report is awaited. */
const EARLY_ATTACH_MS = 10_000;
const EARLY_ATTACH_TRIES = 20;
/** The pause after the n-th refused early attach: short at first (a start takes ~0.1-0.3 s), then longer. */
const earlyPause = (n: number): number => Math.min(1000, Math.round(50 * 1.5 ** n));

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
  const minor = o.attach ? (o.minor ?? kubectlVersion(ctx)) : Promise.resolve(undefined);
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
  const deadline = Date.now() + o.timeoutMs;
  // Early attaches: from the first time the debugger is seen starting, for EARLY_ATTACH_MS.
  let earlySince: number | undefined;
  let refused = 0;
  const early = (s: DebugSession): boolean => {
    if (!o.attach || !s.spec.stdin || progressOf(s).starting !== true) return false;
    earlySince ??= Date.now();
    return Date.now() - earlySince < EARLY_ATTACH_MS && refused < EARLY_ATTACH_TRIES;
  };
  let hinted = false;
  watch.start();
  try {
    for (;;) {
      await watch.until((s) => progressOf(s).step !== "wait" || early(s), deadline - Date.now(), interrupt.signal);
      clearTimeout(noStatus);
      const session = watch.latest;
      const step = session === undefined ? "wait" : progressOf(session).step;
      const starting = session !== undefined && step === "wait" && early(session);
      // Ctrl-C reaches the watching kubectl too (one process group): then its exit is no failure.
      const interrupted = interrupt.signal.aborted;
      if (!interrupted && step === "wait" && !starting && watch.failure !== undefined) throw new Failure(watch.failure);
      if (interrupted || session === undefined || (step === "wait" && !starting)) {
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
      if (!hinted) {
        hinted = true;
        hint(ctx, session, o.quiet, await minor);
      }
      // While attached, Ctrl-C belongs to the debugger (kubectl passes it on), not to this process.
      // An early attach that is refused leaves the terminal to this process again: Ctrl-C stops the wait.
      if (!starting) {
        process.off("SIGINT", onInterrupt);
        process.on("SIGINT", ignore);
      }
      attached = true;
      const r = await attach(ctx, session, starting ? NOT_YET : undefined);
      attached = false;
      // Ctrl-C during an early attempt (the terminal was not raw): the wait is interrupted, as above.
      if (r.notYet !== undefined || (starting && interrupt.signal.aborted)) {
        // Not running yet: try again soon, at once when the session moves on.
        await watch.until((s) => progressOf(s).step !== "wait", earlyPause(refused++), interrupt.signal);
        continue;
      }
      await watch.until((s) => outcomeOf(s).ended, ctx.settleMs);
      return await finish(ctx, watch.latest ?? session, true, r.code);
    }
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

/** Said once before the first attach: how to detach, and (kubectl -q says nothing) to press Enter. */
function hint(ctx: Context, s: DebugSession, quiet: boolean, minor: number | undefined): void {
  if (!s.spec.stdin || !s.spec.tty || quiet) return;
  ctx.err(detachHint(minor));
  // The shell printed its prompt before anyone attached; kubectl says the same in its own words.
  ctx.err("If you don't see a command prompt, try pressing enter.");
}

/**
 * kubectl attach with the user's terminal (-q: the hints and the reattach line are this plugin's), or
 * kubectl logs -f for a debugger without stdin. With `notYet`, a refusal it names comes back unshown.
 */
async function attach(ctx: Context, s: DebugSession, notYet: RegExp | undefined): Promise<Attached> {
  if (!s.spec.stdin) return { code: await ctx.kubectl.interactive(logsArgs(ctx, s, true)) };
  const { pod, container } = debuggerOf(s);
  const args = withFlags(
    ["attach", s.spec.tty ? "-it" : "-i", "-q", pod, "-c", container],
    ctx.flags,
    s.metadata.namespace,
  );
  return ctx.kubectl.attach(args, notYet);
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
