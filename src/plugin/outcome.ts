// After the attach (or instead of it): has the debugger ended, with which exit code, and what can the
// person do next. Pure: the session and the clock in, lines and a code out.
import { formatDuration, parseDuration } from "../api/duration.ts";
import { TERMINAL_PHASES, type DebugSession } from "../api/types.ts";
import type { KubectlFlags } from "./args.ts";
import { progressOf } from "./progress.ts";

export type Outcome =
  /** The debugger exited (code is its exit code), or the session ended without one (code 1). */
  | { ended: true; code: number; why: string }
  /** The debugger still runs (or has not started): the attach ended, not the debugger. */
  | { ended: false };

export function outcomeOf(session: DebugSession): Outcome {
  const status = session.status ?? {};
  const state = status.containerState;
  if (state?.state === "terminated") {
    // The kubelet always reports an exit code for a terminated container; 1 if a mirror lacks it.
    const code = state.exitCode ?? 1;
    return {
      ended: true,
      code,
      why: `the debugger exited with code ${code}${state.reason ? ` (${state.reason})` : ""}`,
    };
  }
  switch (status.phase) {
    case "Failed":
    case "Expired":
    case "Terminated":
      return { ended: true, code: 1, why: status.message ?? `the session is ${status.phase}` };
    default:
      return { ended: false };
  }
}

/** kubectl's flags to repeat in a suggested command, so it reaches the same cluster as the same user. */
export function suggestedFlags(namespace: string | undefined, k: KubectlFlags): string {
  const parts: string[] = [];
  if (namespace !== undefined) parts.push("-n", namespace);
  if (k.context !== undefined) parts.push("--context", k.context);
  if (k.kubeconfig !== undefined) parts.push("--kubeconfig", k.kubeconfig);
  if (k.as !== undefined) parts.push("--as", k.as);
  for (const g of k.asGroups) parts.push("--as-group", g);
  return parts.map(shellWord).join(" ");
}

const shellWord = (w: string): string => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

/** "in 28m", "3m ago", "now": minutes once it is a minute or more away. */
export function relative(iso: string, now: Date): string {
  const ms = Date.parse(iso) - now.getTime();
  if (Number.isNaN(ms)) return "";
  const abs = Math.abs(ms);
  if (abs < 1000) return "now";
  const rounded = abs < 60_000 ? Math.round(abs / 1000) * 1000 : Math.round(abs / 60_000) * 60_000;
  return ms > 0 ? `in ${formatDuration(rounded)}` : `${formatDuration(rounded)} ago`;
}

/** A ttl to suggest for extend: twice the current one, or 1h when it is unknown. */
function longerTTL(session: DebugSession): string {
  const current = currentTTLms(session);
  return current === undefined ? "1h" : formatDuration(current * 2);
}

/** The session's ttl: its own, else the one its expiry fixed (the policy's defaultTTL at injection). */
export function currentTTLms(session: DebugSession): number | undefined {
  if (session.spec.ttl !== undefined) return parseDuration(session.spec.ttl);
  const { injectedAt, expiresAt } = session.status ?? {};
  if (injectedAt === undefined || expiresAt === undefined) return undefined;
  const ms = Date.parse(expiresAt) - Date.parse(injectedAt);
  return Number.isNaN(ms) ? undefined : ms;
}

/** What to print once the attach (or log) ended: why it ended, when the pod goes, how to go on. */
export function afterLines(session: DebugSession, outcome: Outcome, now: Date, k: KubectlFlags): string[] {
  const name = session.metadata.name ?? "";
  const flags = suggestedFlags(session.metadata.namespace, k);
  const cmd = (rest: string): string => `kubectl dbg ${rest}${flags ? ` ${flags}` : ""}`;
  const status = session.status ?? {};
  const pod = status.pod ?? session.spec.targetPod ?? "?";
  const removal = status.expiresAt ? ` at ${status.expiresAt} (${relative(status.expiresAt, now)})` : "";
  if (status.phase !== undefined && TERMINAL_PHASES.has(status.phase)) {
    return [`Session ${name}: ${progressOf(session).line}`];
  }
  if (outcome.ended) {
    return [
      `Session ${name}: ${outcome.why}.`,
      `Pod ${pod} stays tainted and is removed${removal || " when the session's ttl runs out"}.`,
      `  ${cmd(`end ${name}`)}    removes it now`,
    ];
  }
  return [
    `The debugger keeps running in pod ${pod}; the pod is removed${removal || " when the session's ttl runs out"}.`,
    `  ${cmd(`attach ${name}`)}    reattach`,
    `  ${cmd(`extend ${name} --ttl ${longerTTL(session)}`)}    keep it longer (up to the policy's maxTTL)`,
    `  ${cmd(`end ${name}`)}    end it now (the pod is removed)`,
  ];
}

/**
 * How to leave a debugger running. kubectl attach has detach keys (Ctrl-P Ctrl-Q, --detach-keys) from
 * v1.36 (kubernetes/kubernetes#134997); before that its raw terminal passes every key to the container,
 * so only ending the kubectl process (closing the terminal) detaches. Either way, exiting the shell ends
 * the debugger. `minor` is kubectl's client minor version, when known.
 */
export function detachHint(minor: number | undefined): string {
  if (minor !== undefined && minor >= 36) {
    return "Detach with Ctrl-P Ctrl-Q (the debugger keeps running); exiting the shell ends the debugger.";
  }
  if (minor !== undefined) {
    return `kubectl 1.${minor} has no detach keys: close the terminal to leave the debugger running; exiting the shell ends it.`;
  }
  return "Detach with Ctrl-P Ctrl-Q on kubectl 1.36+ (older: close the terminal); exiting the shell ends the debugger.";
}

/** kubectl version --client -o json -> its minor version ("35+" -> 35). */
export function kubectlMinor(versionJson: string): number | undefined {
  try {
    const v = JSON.parse(versionJson) as { clientVersion?: { major?: string; minor?: string } };
    const minor = Number.parseInt(v.clientVersion?.minor ?? "", 10);
    return v.clientVersion?.major === "1" && Number.isFinite(minor) ? minor : undefined;
  } catch {
    return undefined;
  }
}
