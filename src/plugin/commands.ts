// One function per subcommand; each returns the exit code. All cluster access is kubectl (context.ts).
import { parseDuration, formatDuration } from "../api/duration.ts";
import {
  DEFAULT_MAX_TTL,
  DEFAULT_POLICY,
  FINALIZER,
  RECORD_SESSION_UID_LABEL,
  SESSION_LABEL,
  TERMINAL_PHASES,
  type DebugSessionRecord,
  type DebugPolicy,
  type DebugSession,
} from "../api/types.ts";
import type { Command, CreateOptions } from "./args.ts";
import { Failure, parsePolicy, parseSession, type Context } from "./context.ts";
import { follow, kubectlVersion, logsArgs, SessionWatch } from "./follow.ts";
import { POLICIES, RECORDS, SESSIONS, withFlags } from "./kubectl.ts";
import { generatedName, sessionManifest } from "./manifest.ts";
import { currentTTLms, relative } from "./outcome.ts";
import { policiesReport } from "./policies.ts";
import { sessionLabelValue } from "../controller/container.ts";

export function runCommand(ctx: Context, cmd: Exclude<Command, { kind: "help" }>): Promise<number> {
  switch (cmd.kind) {
    case "create":
      return create(ctx, cmd.options);
    case "list":
      return ctx.kubectl.interactive(
        withFlags(["get", SESSIONS, ...(cmd.allNamespaces ? ["-A"] : []), ...output(cmd.output)], ctx.flags),
      );
    case "attach":
      return follow(ctx, cmd.name, ctx.flags.namespace, { quiet: cmd.quiet, timeoutMs: cmd.timeoutMs, attach: true });
    case "logs":
      return logs(ctx, cmd.name, cmd.follow);
    case "extend":
      return extend(ctx, cmd.name, cmd.ttl);
    case "end":
      return end(ctx, cmd.name, cmd.timeoutMs);
    case "policies":
      return policies(ctx);
  }
}

const output = (format: string | undefined): string[] => (format === undefined ? [] : ["-o", format]);

async function create(ctx: Context, o: CreateOptions): Promise<number> {
  const name = o.name ?? generatedName(o.target);
  const input = JSON.stringify(sessionManifest(o, name, ctx.flags.namespace));
  if (o.dryRun !== undefined) {
    // kubectl writes the YAML (or JSON), exactly as it would print the object it created.
    const args = ["create", "-f", "-", `--dry-run=${o.dryRun}`, ...output(o.output)];
    return ctx.kubectl.interactive(withFlags(args, ctx.flags), { input });
  }
  // Asked now, beside the create, so the answer is in before the debugger runs (it waits for nothing).
  const minor = o.attach ? kubectlVersion(ctx) : undefined;
  const created = await ctx.kubectl.capture(withFlags(["create", "-f", "-", "-o", "json"], ctx.flags), {
    input,
    showErrors: true,
  });
  // A refusal (admission, RBAC, validation) is kubectl's stderr, already shown as it came.
  if (created.code !== 0) return created.code;
  const namespace = parseSession(created.stdout).metadata.namespace;
  if (!o.quiet) ctx.err(`Created session ${name}${namespace ? ` in namespace ${namespace}` : ""}.`);
  return follow(ctx, name, namespace, { quiet: o.quiet, timeoutMs: o.timeoutMs, attach: o.attach, minor });
}

async function getSession(ctx: Context, name: string): Promise<DebugSession> {
  const r = await ctx.kubectl.capture(withFlags(["get", SESSIONS, name, "-o", "json"], ctx.flags), {
    showErrors: true,
  });
  if (r.code !== 0) throw new Failure("", r.code);
  return parseSession(r.stdout);
}

/** The debugger's log while its pod lives; after the session ended, the transcript its DebugSessionRecord kept. */
async function logs(ctx: Context, name: string, follow: boolean): Promise<number> {
  const got = await ctx.kubectl.capture(withFlags(["get", SESSIONS, name, "-o", "json"], ctx.flags));
  const session = got.code === 0 ? parseSession(got.stdout) : undefined;
  const ended = session?.status?.phase !== undefined && TERMINAL_PHASES.has(session.status.phase);
  if (session && !ended) return ctx.kubectl.interactive(logsArgs(ctx, session, follow));
  if (!session && !/NotFound|not found/.test(got.stderr)) throw new Failure(got.stderr.trim(), got.code);
  const selector = session?.metadata.uid
    ? `${RECORD_SESSION_UID_LABEL}=${session.metadata.uid}`
    : `${SESSION_LABEL}=${sessionLabelValue(name)}`;
  const namespace = session?.metadata.namespace;
  const r = await ctx.kubectl.capture(withFlags(["get", RECORDS, "-l", selector, "-o", "json"], ctx.flags, namespace));
  const where = session ? `session ${name} has ended` : `session ${name} no longer exists`;
  if (r.code !== 0) {
    const why = /forbidden/i.test(r.stderr)
      ? "reading it needs the debugsessionrecord-viewer role (auditors have it; a transcript can hold secrets)"
      : r.stderr.trim();
    throw new Failure(`${where}; its transcript is in its DebugSessionRecord, and ${why}`);
  }
  const records = (JSON.parse(r.stdout) as { items?: DebugSessionRecord[] }).items ?? [];
  // The same name may have been used by several sessions: the newest record is this name's last session.
  const record = records
    .filter((rec) => rec.spec.session.name === name)
    .sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)))
    .at(-1);
  if (!record)
    throw new Failure(
      `${where}, and no DebugSessionRecord of it was found (it never ran a debugger, or its retention passed)`,
    );
  const { transcript } = record.spec;
  ctx.err(
    `# transcript of session ${name} from DebugSessionRecord ${record.metadata.name ?? ""} (sha256 ${transcript.sha256 ?? "none"})`,
  );
  if (transcript.data) {
    const { gunzipSync } = await import("node:zlib");
    process.stdout.write(gunzipSync(Buffer.from(transcript.data, "base64")));
  }
  if (transcript.truncated)
    ctx.err(`# truncated: ${transcript.originalBytes ?? "?"} bytes were logged, ${transcript.savedBytes ?? "?"} kept`);
  if (transcript.error) ctx.err(`# ${transcript.error}`);
  return 0;
}

/** How long extend waits for the operator to record the new expiry. */
const EXTEND_SETTLE_MS = 15_000;

async function extend(ctx: Context, name: string, ttl: string): Promise<number> {
  const before = await getSession(ctx, name);
  const namespace = before.metadata.namespace;
  const current = currentTTLms(before);
  const wanted = parseDuration(ttl) ?? 0;
  if (current !== undefined && wanted < current) {
    // The apiserver refuses a shorter spec.ttl; a session without one (the policy's default) would not be.
    throw new Failure(
      `--ttl ${ttl} is shorter than the session's ttl ${formatDuration(current)}: a session cannot be shortened; kubectl dbg end ${name} ends it now`,
    );
  }
  const patch = JSON.stringify({ spec: { ttl } });
  const patched = await ctx.kubectl.capture(
    withFlags(["patch", SESSIONS, name, "--type", "merge", "-p", patch, "-o", "json"], ctx.flags, namespace),
    { showErrors: true },
  );
  if (patched.code !== 0) return patched.code;
  const generation = parseSession(patched.stdout).metadata.generation ?? 0;
  const policyName = before.spec.policy ?? DEFAULT_POLICY;
  const policy = ctx.kubectl
    .capture(withFlags(["get", POLICIES, policyName, "-o", "json"], ctx.flags, namespace))
    .then((r) => (r.code === 0 ? parsePolicy(r.stdout) : r.stderr.trim()));
  const watch = new SessionWatch(ctx, name, namespace, () => {});
  watch.start();
  await watch.until((s) => (s.status?.observedGeneration ?? 0) >= generation, EXTEND_SETTLE_MS);
  watch.stop();
  const after = watch.latest ?? before;
  const seen = (after.status?.observedGeneration ?? 0) >= generation;
  const expiresAt = after.status?.expiresAt;
  if (!seen) {
    ctx.out(
      `Session ${name}: ttl ${ttl}. The operator has not recorded it yet (status.expiresAt is still ${expiresAt ?? "unset"}); kubectl dbg list shows the new expiry once it has.\n`,
    );
  } else if (expiresAt === undefined) {
    ctx.out(
      `Session ${name}: ttl ${ttl}, counted from the debugger's injection (the session is ${after.status?.phase ?? "new"}).\n`,
    );
  } else {
    ctx.out(`Session ${name}: ttl ${ttl}; the pod is removed at ${expiresAt} (${relative(expiresAt, ctx.now())}).\n`);
  }
  const p = await policy.catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
  ctx.out(
    typeof p === "string"
      ? `The maxTTL of DebugPolicy ${policyName} could not be read: ${p}\n`
      : `DebugPolicy ${policyName} allows at most ${p.spec.maxTTL ?? DEFAULT_MAX_TTL} (spec.maxTTL).\n`,
  );
  return 0;
}

async function end(ctx: Context, name: string, timeoutMs: number): Promise<number> {
  const s = await getSession(ctx, name);
  const namespace = s.metadata.namespace;
  const phase = s.status?.phase;
  const pod = s.status?.pod ?? s.spec.targetPod;
  const holdsPod = s.status?.targetPodUID !== undefined && (phase === undefined || !TERMINAL_PHASES.has(phase));
  if (holdsPod) ctx.err(`Ending session ${name}: the operator removes pod ${pod} first (finalizer ${FINALIZER}).`);
  const seconds = Math.ceil(timeoutMs / 1000);
  const deleted = await ctx.kubectl.capture(
    withFlags(["delete", SESSIONS, name, "--wait=true", `--timeout=${seconds}s`], ctx.flags, namespace),
    { showErrors: true },
  );
  if (deleted.stdout) ctx.out(deleted.stdout);
  if (deleted.code !== 0) {
    if (/timed out/i.test(deleted.stderr)) {
      ctx.err(
        `Session ${name} is still being deleted after ${formatDuration(timeoutMs)}: the operator has not finished removing pod ${pod}. ` +
          `Is the operator running? Its status.message says what it waits for (a PodDisruptionBudget, say).`,
      );
    }
    return deleted.code;
  }
  const what =
    s.status?.targetPodUID === undefined
      ? "no debugger had been injected, so no pod was touched"
      : phase === "Expired"
        ? `pod ${pod} had been removed when it expired`
        : phase === "Terminated"
          ? `pod ${pod} had already gone`
          : `pod ${pod} was removed with it (its controller, if it has one, starts a clean one)`;
  ctx.out(`Session ${name} is gone; ${what}.\n`);
  return 0;
}

async function policies(ctx: Context): Promise<number> {
  const r = await ctx.kubectl.capture(withFlags(["get", POLICIES, "-o", "json"], ctx.flags), { showErrors: true });
  if (r.code !== 0) return r.code;
  const items = ((JSON.parse(r.stdout) as { items?: unknown }).items ?? []) as DebugPolicy[];
  const answers = await Promise.all(items.map((p) => mayUse(ctx, p)));
  const usable = items.filter((_, i) => answers[i] === true);
  const others = items.filter((_, i) => answers[i] !== true).map((p) => p.metadata.name ?? "?");
  const namespace = items[0]?.metadata.namespace ?? ctx.flags.namespace;
  for (const line of policiesReport(usable, others, namespace)) ctx.out(`${line}\n`);
  return 0;
}

/** kubectl auth can-i use (a SelfSubjectAccessReview): "yes" exits 0, "no" exits 1. */
async function mayUse(ctx: Context, p: DebugPolicy): Promise<boolean> {
  const resource = `${POLICIES}/${p.metadata.name ?? ""}`;
  const r = await ctx.kubectl.capture(withFlags(["auth", "can-i", "use", resource], ctx.flags, p.metadata.namespace));
  // "yes", or "no" with the authorizer's reason after " - ".
  const answer = r.stdout.trim().split(/\s/)[0];
  if (answer !== "yes" && answer !== "no") {
    ctx.err(`kubectl auth can-i use ${resource}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return answer === "yes";
}
