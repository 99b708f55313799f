// Shell completion through kubectl's plugin completion (kubectl 1.26+, kubernetes/kubernetes#105867):
// for `kubectl dbg a b c<TAB>` kubectl runs `kubectl_complete-dbg a b c` (the last word is the one being
// completed, "" for a new one) and reads one completion per line, optionally `value<TAB>description`,
// then an optional last line `:<cobra ShellCompDirective>`. kubectl's own flags typed before `dbg`
// are not passed on; those after it are, and the lookups use them (-n, --context, ...).
import { EXPIRY_ACTIONS, PROFILES, PULL_POLICIES, TARGET_KINDS } from "../api/types.ts";
import { DEFAULT_IMAGE, TARGET_PREFIXES, kindOf, kubectlFlagsOf, type KubectlFlags } from "./args.ts";
import { FLAGS, SUBCOMMANDS, flagNamed, isBoolean, tokenize, type FlagDef, type Subcommand } from "./flags.ts";

/** cobra's ShellCompDirective bits. */
export const DIRECTIVE_DEFAULT = 0;
export const NO_SPACE = 2;
export const NO_FILE_COMP = 4;

export type Lookup =
  | { what: "pods" | "sessions" | "policies" | "namespaces" | "contexts" }
  | { what: "workloads"; kind: (typeof TARGET_KINDS)[number] };

/** Names from the cluster; an empty list when kubectl cannot tell (completion never prints errors). */
export type Lookups = (lookup: Lookup, flags: KubectlFlags) => Promise<string[]>;

export interface Completions {
  /** `value` or `value\tdescription`. */
  values: string[];
  directive: number;
}

export const SUBCOMMAND_HELP: Record<(typeof SUBCOMMANDS)[number], string> = {
  list: "list sessions",
  attach: "attach to a session's debugger",
  logs: "print a session's debugger log",
  extend: "give a session a longer ttl",
  end: "end a session now (its pod is removed)",
  policies: "the DebugPolicies you may use, and what they allow",
  help: "help on a subcommand",
};

const NAMED_SUBCOMMANDS: readonly Subcommand[] = ["attach", "logs", "extend", "end"];

export async function complete(words: readonly string[], lookup: Lookups): Promise<Completions> {
  const word = words.at(-1) ?? "";
  const before = tokenize(words.slice(0, -1));
  const flags = kubectlFlagsOf(before.flags);
  // After `--` comes the debugger's own command line, which only the container knows.
  if (before.command !== undefined) return { values: [], directive: NO_FILE_COMP };
  const first = before.positionals[0];
  const sub: Subcommand = (SUBCOMMANDS as readonly string[]).includes(first ?? "") ? (first as Subcommand) : "create";
  const pending = before.flags.at(-1);
  if (pending !== undefined && pending.value === undefined) return valuesOf(pending.flag, sub, word, flags, lookup);
  if (word.startsWith("--") && word.includes("=")) {
    // cobra's shells complete the part after `=` and put the flag back in front themselves.
    const flag = flagNamed(word.slice(2, word.indexOf("=")));
    if (flag === undefined || isBoolean(flag)) return { values: [], directive: NO_FILE_COMP };
    return valuesOf(flag, sub, word.slice(word.indexOf("=") + 1), flags, lookup);
  }
  if (word.startsWith("-")) {
    const given = new Set(before.flags.filter((t) => !t.flag.repeat).map((t) => t.flag.long));
    return { values: flagNames(sub, word, given), directive: NO_FILE_COMP };
  }
  if (first === undefined) {
    const subcommands = SUBCOMMANDS.filter((s) => s.startsWith(word)).map((s) => `${s}\t${SUBCOMMAND_HELP[s]}`);
    return targets(word, flags, lookup, subcommands);
  }
  const args = sub === "create" ? before.positionals : before.positionals.slice(1);
  if (sub === "help" && args.length === 0) return fixed(SUBCOMMANDS, word);
  if (NAMED_SUBCOMMANDS.includes(sub) && args.length === 0) {
    return { values: starting(await lookup({ what: "sessions" }, flags), word), directive: NO_FILE_COMP };
  }
  return { values: [], directive: NO_FILE_COMP };
}

const starting = (values: readonly string[], prefix: string): string[] => values.filter((v) => v.startsWith(prefix));
const fixed = (values: readonly string[], prefix: string): Completions => ({
  values: starting(values, prefix),
  directive: NO_FILE_COMP,
});

function flagNames(sub: Subcommand, word: string, given: Set<string>): string[] {
  const out: string[] = [];
  for (const f of FLAGS.filter((x) => x.on.includes(sub) && !given.has(x.long))) {
    const help = f.help.replace(/\s+/g, " ");
    if (`--${f.long}`.startsWith(word)) out.push(`--${f.long}\t${help}`);
    if (f.short !== undefined && `-${f.short}`.startsWith(word)) out.push(`-${f.short}\t${help}`);
  }
  return out;
}

/** A pod name, KIND/ then a workload's name, or (besides) a subcommand. */
async function targets(word: string, flags: KubectlFlags, lookup: Lookups, also: string[]): Promise<Completions> {
  const slash = word.indexOf("/");
  if (slash >= 0) {
    const typed = word.slice(0, slash);
    const kind = kindOf(typed);
    if (kind === undefined) return { values: [], directive: NO_FILE_COMP };
    const names = await lookup(kind === "Pod" ? { what: "pods" } : { what: "workloads", kind }, flags);
    return {
      values: starting(
        names.map((n) => `${typed}/${n}`),
        word,
      ),
      directive: NO_FILE_COMP,
    };
  }
  const pods = await lookup({ what: "pods" }, flags);
  const values = [...also, ...starting(TARGET_PREFIXES, word), ...starting(pods, word)];
  // A lone KIND/ must not be followed by a space: the name comes right after it.
  const onlyPrefixes = values.length > 0 && values.every((v) => v.endsWith("/"));
  return { values, directive: NO_FILE_COMP | (onlyPrefixes ? NO_SPACE : 0) };
}

async function valuesOf(
  flag: FlagDef,
  sub: Subcommand,
  word: string,
  flags: KubectlFlags,
  lookup: Lookups,
): Promise<Completions> {
  const from = async (what: "namespaces" | "contexts" | "policies"): Promise<Completions> => ({
    values: starting(await lookup({ what }, flags), word),
    directive: NO_FILE_COMP,
  });
  switch (flag.long) {
    case "kubeconfig":
      return { values: [], directive: DIRECTIVE_DEFAULT };
    case "namespace":
      return from("namespaces");
    case "context":
      return from("contexts");
    case "policy":
      return from("policies");
    case "profile":
      return fixed(PROFILES, word);
    case "image-pull-policy":
      return fixed(PULL_POLICIES, word);
    case "expiry-action":
      return fixed(EXPIRY_ACTIONS, word);
    case "dry-run":
      return fixed(["client", "server", "none"], word);
    case "output":
      return fixed(sub === "list" ? ["wide", "yaml", "json", "name"] : ["yaml", "json"], word);
    case "image":
      return fixed([DEFAULT_IMAGE], word);
    case "ttl":
      return fixed(["30m", "1h", "2h"], word);
    default:
      return { values: [], directive: NO_FILE_COMP };
  }
}

/** What kubectl reads back: the values, then the directive line. */
export const completionOutput = (c: Completions): string => [...c.values, `:${c.directive}`].join("\n") + "\n";
