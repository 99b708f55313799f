// What every subcommand is given: the kubectl to call, the user's kubectl flags, where to write, a clock.
import type { DebugPolicy, DebugSession } from "../api/types.ts";
import type { KubectlFlags } from "./args.ts";
import type { Kubectl } from "./kubectl.ts";

export interface Context {
  kubectl: Kubectl;
  flags: KubectlFlags;
  /** Data (the manifest, lists, the session name): stdout. */
  out: (text: string) => void;
  /** Progress, hints and errors: stderr, so stdout stays scriptable. */
  err: (line: string) => void;
  now: () => Date;
  /** How long to wait, after kubectl attach returns, for the operator to report that the debugger exited. */
  settleMs: number;
}

export class Failure extends Error {
  readonly code: number;
  constructor(message: string, code = 1) {
    super(message);
    this.code = code;
  }
}

function parseObject<T extends { kind?: string }>(json: string, kind: string): T {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Failure(`kubectl printed something that is not JSON where a ${kind} was expected: ${json.slice(0, 200)}`);
  }
  if (typeof value !== "object" || value === null || (value as { kind?: unknown }).kind !== kind) {
    throw new Failure(`kubectl printed no ${kind}: ${json.slice(0, 200)}`);
  }
  // Checked above: an object of the kind; the apiserver's schema vouches for the rest.
  return value as T;
}

export const parseSession = (json: string): DebugSession => parseObject<DebugSession>(json, "DebugSession");
export const parsePolicy = (json: string): DebugPolicy => parseObject<DebugPolicy>(json, "DebugPolicy");

/** An object of `kind` from a watch, or undefined for anything else (a Status, an event wrapper). */
export function asKind<T>(value: unknown, kind: string): T | undefined {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === kind
    ? (value as T)
    : undefined;
}
