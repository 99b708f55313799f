// Every flag of `kubectl dbg`, once: its spelling, value, default, help and the subcommands it belongs
// to. The tokenizer, the typed commands (args.ts), --help (help.ts) and completion all read this table.
// Spelling follows kubectl's (pflag): `--name value`, `--name=value`, `-n value`, `-nvalue`, `-n=value`,
// booleans as `-i`, `-i=false`, `--tty=false`, grouped as `-it`; `--` ends the flags.

export const SUBCOMMANDS = ["list", "attach", "logs", "extend", "end", "policies", "help"] as const;
export type Subcommand = (typeof SUBCOMMANDS)[number] | "create";

export interface FlagDef {
  long: string;
  short?: string;
  /** Other long spellings (kubectl debug says --target for what kubectl attach calls -c). */
  aliases?: readonly string[];
  /** Placeholder of the value in --help; a flag without one is a boolean. */
  arg?: string;
  repeat?: boolean;
  /** As it would be written on the command line, for --help. */
  default?: string;
  help: string;
  on: readonly Subcommand[];
  /** Passed through to every kubectl call (kubectl's own global flags). */
  kubectl?: boolean;
}

const ALL: readonly Subcommand[] = ["create", "list", "attach", "logs", "extend", "end", "policies", "help"];

export const FLAGS: readonly FlagDef[] = [
  {
    long: "container",
    short: "c",
    aliases: ["target"],
    arg: "NAME",
    on: ["create"],
    help: "container of the target whose processes the debugger sees (spec.targetContainer)",
  },
  { long: "image", arg: "IMAGE", default: "busybox:1.36", on: ["create"], help: "debugger image" },
  { long: "image-pull-policy", arg: "POLICY", on: ["create"], help: "Always, IfNotPresent or Never" },
  {
    long: "profile",
    arg: "PROFILE",
    on: ["create"],
    help: "general (the operator's default), baseline, restricted, netadmin or sysadmin, as kubectl debug --profile",
  },
  {
    long: "ttl",
    arg: "DURATION",
    on: ["create", "extend"],
    help: "create: how long after injection the pod is removed (default: the policy's defaultTTL); extend: the new, longer ttl",
  },
  { long: "reason", arg: "TEXT", on: ["create"], help: "why, for the audit trail (ticket, incident)" },
  { long: "policy", arg: "NAME", on: ["create"], help: "DebugPolicy to run under (default: default)" },
  {
    long: "env",
    arg: "NAME=VALUE",
    repeat: true,
    on: ["create"],
    help: "environment variable of the debugger (repeatable)",
  },
  { long: "name", arg: "NAME", on: ["create"], help: "session name (default: dbg-<target>-<5 random characters>)" },
  {
    long: "expiry-action",
    arg: "ACTION",
    on: ["create"],
    help: "how the pod is removed: Evict, Delete, or Replace (its ReplicaSet's replacement is Ready first), as the policy allows (default: the policy's defaultExpiryAction, else Evict)",
  },
  {
    long: "copy",
    on: ["create"],
    help: "debug a copy of the pod, which the operator creates and deletes, not the pod itself (spec.mode: Copy)",
  },
  {
    long: "copy-command",
    arg: "WORDS",
    on: ["create"],
    help: "with --copy: the target container's command in the copy, split at spaces (e.g. 'sleep infinity' for a crash loop)",
  },
  { long: "copy-image", arg: "IMAGE", on: ["create"], help: "with --copy: the target container's image in the copy" },
  { long: "same-node", on: ["create"], help: "with --copy: put the copy on the pod's node" },
  { long: "keep-probes", on: ["create"], help: "with --copy: keep the probes, which a copy drops otherwise" },
  {
    long: "isolate",
    on: ["create"],
    help: "once the debugger is in, take the pod out of its Services (and its ReplicaSet, which replaces it)",
  },
  {
    long: "stdin",
    short: "i",
    default: "true",
    on: ["create"],
    help: "keep the debugger's stdin open and attach to it; -i=false runs the command and follows its log",
  },
  { long: "tty", short: "t", default: "true", on: ["create"], help: "give the debugger a terminal (needs stdin)" },
  {
    long: "attach",
    default: "true",
    on: ["create"],
    help: "--attach=false: wait until the debugger runs, print the session name and exit",
  },
  {
    long: "dry-run",
    arg: "client|server",
    on: ["create"],
    help: "client: print the session, create nothing; server: also ask the apiserver and its admission policies",
  },
  {
    long: "output",
    short: "o",
    arg: "FORMAT",
    on: ["create", "list"],
    help: "with --dry-run: yaml or json; list: any kubectl get -o format",
  },
  {
    long: "timeout",
    arg: "DURATION",
    on: ["create", "attach", "end"],
    help: "create, attach: how long to wait for the debugger to run (default 5m); end: for the session to be gone (default 2m)",
  },
  {
    long: "quiet",
    short: "q",
    on: ["create", "attach"],
    help: "no progress lines, only errors and the debugger itself",
  },
  { long: "all-namespaces", short: "A", on: ["list"], help: "sessions of every namespace" },
  { long: "follow", short: "f", on: ["logs"], help: "stream the log until the debugger ends" },
  {
    long: "namespace",
    short: "n",
    arg: "NAMESPACE",
    on: ALL,
    kubectl: true,
    help: "namespace (default: the kubeconfig context's)",
  },
  { long: "context", arg: "NAME", on: ALL, kubectl: true, help: "kubeconfig context" },
  {
    long: "kubeconfig",
    arg: "PATH",
    on: ALL,
    kubectl: true,
    help: "kubeconfig file (default: $KUBECONFIG, ~/.kube/config)",
  },
  { long: "as", arg: "USER", on: ALL, kubectl: true, help: "impersonate this user" },
  { long: "as-group", arg: "GROUP", repeat: true, on: ALL, kubectl: true, help: "impersonate this group (repeatable)" },
  {
    long: "request-timeout",
    arg: "DURATION",
    on: ALL,
    kubectl: true,
    help: "timeout of each kubectl request, as kubectl's flag",
  },
  { long: "help", short: "h", on: ALL, help: "this text" },
];

/** The flag a spelling names (long, alias or short), whatever subcommand it belongs to. */
export function flagNamed(spelling: string): FlagDef | undefined {
  return FLAGS.find((f) => f.long === spelling || f.short === spelling || f.aliases?.includes(spelling));
}

export const isBoolean = (f: FlagDef): boolean => f.arg === undefined;

export interface Token {
  flag: FlagDef;
  /** As the user wrote it, for messages: "-n", "--target". */
  spelling: string;
  /** A boolean's value is "true" unless written (`-i=false`); undefined: a value was due but missing. */
  value: string | undefined;
}

export interface Tokens {
  flags: Token[];
  positionals: string[];
  /** Everything after `--`; undefined when there is no `--`. */
  command: string[] | undefined;
  /** Spellings no flag has. */
  unknown: string[];
}

/** Splits argv as pflag would. Never throws: unknown flags and missing values are reported in the result. */
export function tokenize(argv: readonly string[]): Tokens {
  const out: Tokens = { flags: [], positionals: [], command: undefined, unknown: [] };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? "";
    if (word === "--") {
      out.command = argv.slice(i + 1);
      break;
    }
    const next = (): string | undefined => (i + 1 < argv.length ? argv[++i] : undefined);
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      const name = word.slice(2, eq < 0 ? undefined : eq);
      const flag = flagNamed(name);
      if (!flag || name.length === 1) {
        out.unknown.push(`--${name}`);
        continue;
      }
      const inline = eq < 0 ? undefined : word.slice(eq + 1);
      const value = inline ?? (isBoolean(flag) ? "true" : next());
      out.flags.push({ flag, spelling: `--${name}`, value });
    } else if (word.startsWith("-") && word.length > 1) {
      let rest = word.slice(1);
      while (rest.length > 0) {
        const letter = rest[0] ?? "";
        const flag = FLAGS.find((f) => f.short === letter);
        if (!flag) {
          out.unknown.push(`-${letter}`);
          break;
        }
        const spelling = `-${letter}`;
        if (rest[1] === "=") {
          out.flags.push({ flag, spelling, value: rest.slice(2) });
          break;
        }
        if (isBoolean(flag)) {
          out.flags.push({ flag, spelling, value: "true" });
          rest = rest.slice(1);
          continue;
        }
        out.flags.push({ flag, spelling, value: rest.length > 1 ? rest.slice(1) : next() });
        break;
      }
    } else {
      out.positionals.push(word);
    }
  }
  return out;
}

/** strconv.ParseBool, which pflag uses for booleans. */
export function parseBool(text: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  return undefined;
}
