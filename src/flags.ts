// Every command-line flag, once: its environment variable, default and help text. The parseArgs
// options, the --help text and the values main() reads are all generated from FLAGS, so a default
// cannot be written in two places that disagree.
import { parseArgs } from "node:util";
import { parseDuration } from "./api/duration.ts";

interface Flag<T> {
  /** The value's placeholder in --help ("N" in "--workers N"); a flag without one is a boolean. */
  arg?: string;
  /** Read when the flag is not given; for a boolean, only "true" turns it on. */
  env?: string;
  /** As it would be written on the command line; a boolean's is "false". */
  default?: string;
  help: string;
  /** `raw` is the flag's, else the environment's, else the default value; undefined when none. */
  parse: (raw: string | undefined, flag: { name: string; default?: string }) => T;
}

export interface ListenAddress {
  host: string;
  port: number;
}

export const FLAGS = {
  kubeconfig: { arg: "PATH", env: "KUBECONFIG", help: "kubeconfig to use (in a pod, its ServiceAccount)", parse: text },
  namespace: {
    arg: "NS",
    env: "WATCH_NAMESPACE",
    help: "watch and act in this namespace only (sessions, policies, pods, records); default: every namespace",
    parse: text,
  },
  workers: { arg: "N", env: "WORKERS", default: "64", help: "concurrent reconciles", parse: positiveInteger },
  "eviction-timeout": {
    arg: "DUR",
    env: "EVICTION_TIMEOUT",
    default: "60s",
    help: "how long a PodDisruptionBudget may refuse an eviction at expiry before the pod is deleted",
    parse: durationMs,
  },
  "request-timeout": {
    arg: "DUR",
    env: "REQUEST_TIMEOUT",
    default: "30s",
    help: "how long an API request may take for its whole answer (a watch: its first byte) before its connection is destroyed",
    parse: durationMs,
  },
  "shutdown-grace": {
    arg: "DUR",
    env: "SHUTDOWN_GRACE",
    default: "8s",
    help: "how long in-flight reconciles may run after SIGTERM",
    parse: durationMs,
  },
  "min-record-retention": {
    arg: "DUR",
    env: "MIN_RECORD_RETENTION",
    default: "24h",
    help: "the shortest time a DebugSessionRecord is kept, whatever a DebugPolicy's recordRetention says",
    parse: durationMs,
  },
  "record-sweep-interval": {
    arg: "DUR",
    env: "RECORD_SWEEP_INTERVAL",
    default: "10m",
    help: "how often DebugSessionRecords past their retention are looked for (and at each one's due time)",
    parse: durationMs,
  },
  "leader-elect": {
    env: "LEADER_ELECT",
    default: "false",
    help: "run reconciles only while holding a Lease",
    parse: on,
  },
  "leader-election-namespace": {
    arg: "NS",
    env: "POD_NAMESPACE",
    default: "debugsession-system",
    help: "namespace of the Lease",
    parse: required,
  },
  "leader-election-id": {
    arg: "NAME",
    env: "LEADER_ELECTION_ID",
    default: "debugsession-operator",
    help: "name of the Lease",
    parse: required,
  },
  "metrics-bind-address": {
    arg: "ADDR",
    env: "METRICS_BIND_ADDRESS",
    default: ":8080",
    help: "/metrics (and probes) listen address; 0 = off",
    parse: address,
  },
  "health-probe-bind-address": {
    arg: "ADDR",
    env: "HEALTH_PROBE_BIND_ADDRESS",
    default: ":8081",
    help: "/healthz and /readyz listen address; 0 = off",
    parse: address,
  },
  "log-level": {
    arg: "LEVEL",
    env: "LOG_LEVEL",
    default: "info",
    help: "trace, debug, info, warn, error",
    parse: required,
  },
  help: { help: "this text", parse: on },
} satisfies Record<string, Flag<unknown>>;

export type FlagName = keyof typeof FLAGS;
export type FlagValues = { [K in FlagName]: ReturnType<(typeof FLAGS)[K]["parse"]> };

const entries = (): [FlagName, Flag<unknown>][] => Object.entries(FLAGS) as [FlagName, Flag<unknown>][];

/** Flags from `args` (default: the process's), else `env`, else the defaults; throws on a bad value. */
export function readFlags(args?: string[], env: NodeJS.ProcessEnv = process.env): FlagValues {
  const type = (f: Flag<unknown>): "string" | "boolean" => (f.arg ? "string" : "boolean");
  const options = Object.fromEntries(entries().map(([name, f]) => [name, { type: type(f) }]));
  const { values } = parseArgs({ args, options, strict: true });
  const parsed: Partial<Record<FlagName, unknown>> = {};
  for (const [name, flag] of entries()) {
    const given = values[name];
    const fromEnv = flag.env === undefined ? undefined : env[flag.env];
    const raw = given === undefined ? (fromEnv ?? flag.default) : String(given);
    parsed[name] = flag.parse(raw, { name, default: flag.default });
  }
  // Each key was filled by its own flag's parse, which is what FlagValues says.
  return parsed as FlagValues;
}

const HELP_COLUMN = 37;
const HELP_WIDTH = 120;
/** Keeps "(default 60s)" on one line when wrapping. */
const NBSP = "\u00a0";

export function helpText(): string {
  const lines = entries().map(([name, f]) => {
    const usage = `  --${name}${f.arg ? ` ${f.arg}` : ""}`.padEnd(HELP_COLUMN - 1);
    const env = f.env === undefined ? "" : f.arg ? ` [${f.env}]` : ` [${f.env}=true]`;
    const fallback = f.default === undefined ? "" : ` (default${NBSP}${f.default})`;
    return wrap(`${usage} ${f.help}${env}${fallback}`);
  });
  return [
    "debugsession-operator: declarative, policy-checked, self-cleaning ephemeral debug containers.",
    "",
    "Flags (each also read from the environment variable in brackets):",
    ...lines,
    "",
  ].join("\n");
}

/** Breaks a help line at spaces, continuing under the help column. */
function wrap(line: string): string {
  const out: string[] = [];
  let rest = line;
  while (rest.length > HELP_WIDTH) {
    const cut = rest.lastIndexOf(" ", HELP_WIDTH);
    if (cut <= HELP_COLUMN) break;
    out.push(rest.slice(0, cut));
    rest = " ".repeat(HELP_COLUMN) + rest.slice(cut + 1);
  }
  out.push(rest);
  return out.join("\n").replaceAll(NBSP, " ");
}

function text(raw: string | undefined): string | undefined {
  return raw;
}

/** For flags with a default, which therefore always have a value. */
function required(raw: string | undefined): string {
  return raw ?? "";
}

function on(raw: string | undefined): boolean {
  return raw === "true";
}

function positiveInteger(raw: string | undefined, flag: { name: string }): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag.name} must be a positive integer, not ${raw}`);
  return n;
}

function durationMs(raw: string | undefined, flag: { name: string; default?: string }): number {
  const ms = parseDuration(raw ?? "");
  if (ms === undefined) throw new Error(`--${flag.name} must be a duration such as ${flag.default}`);
  return ms;
}

/** host:port or :port (every interface); "0" turns the listener off. */
function address(raw: string | undefined): ListenAddress | undefined {
  const value = raw ?? "0";
  if (value === "0") return undefined;
  const i = value.lastIndexOf(":");
  const port = Number(value.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`bad listen address "${value}": use host:port or :port`);
  }
  return { host: value.slice(0, i) || "0.0.0.0", port };
}
