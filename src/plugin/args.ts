// argv -> one typed command. Every mistake is a UsageError whose message says what to write instead.
import { parseDuration } from "../api/duration.ts";
import {
  EXPIRY_ACTIONS,
  PROFILES,
  PULL_POLICIES,
  TARGET_KINDS,
  type CopySpec,
  type ExpiryChoice,
  type Profile,
  type PullPolicy,
  type TargetRef,
} from "../api/types.ts";
import { SUBCOMMANDS, parseBool, tokenize, type FlagDef, type Subcommand, type Token } from "./flags.ts";

export class UsageError extends Error {}

/** kubectl's own flags, passed to every kubectl call. */
export interface KubectlFlags {
  namespace?: string;
  context?: string;
  kubeconfig?: string;
  as?: string;
  asGroups: string[];
  requestTimeout?: string;
}

export type Target = { pod: string } | { ref: TargetRef };

export interface CreateOptions {
  target: Target;
  targetContainer?: string;
  image: string;
  imagePullPolicy?: PullPolicy;
  command: string[];
  env: { name: string; value: string }[];
  profile?: Profile;
  ttl?: string;
  reason?: string;
  policy?: string;
  expiryAction?: ExpiryChoice;
  /** --copy and its options: spec.mode Copy and spec.copy. */
  copy?: CopySpec;
  isolate?: boolean;
  name?: string;
  stdin: boolean;
  tty: boolean;
  attach: boolean;
  quiet: boolean;
  dryRun?: "client" | "server";
  output?: string;
  timeoutMs: number;
}

export type Command =
  | { kind: "create"; kubectl: KubectlFlags; options: CreateOptions }
  | { kind: "list"; kubectl: KubectlFlags; allNamespaces: boolean; output?: string }
  | { kind: "attach"; kubectl: KubectlFlags; name: string; quiet: boolean; timeoutMs: number }
  | { kind: "logs"; kubectl: KubectlFlags; name: string; follow: boolean }
  | { kind: "extend"; kubectl: KubectlFlags; name: string; ttl: string }
  | { kind: "end"; kubectl: KubectlFlags; name: string; timeoutMs: number }
  | { kind: "policies"; kubectl: KubectlFlags }
  | { kind: "help"; topic: Subcommand };

export const DEFAULT_IMAGE = "busybox:1.36";
export const DEFAULT_COMMAND: readonly string[] = ["sh"];
export const DEFAULT_WAIT = "5m";
export const DEFAULT_END_WAIT = "2m";
/** The CRD's least ttl (debugsession-crd.ts). */
const MIN_TTL_MS = 60_000;

/** `kubectl <word>/NAME` spellings of the workload kinds a session may target, as kubectl get knows them. */
const KIND_SPELLINGS: Record<string, TargetRef["kind"] | "Pod"> = {
  pod: "Pod",
  pods: "Pod",
  po: "Pod",
  deployment: "Deployment",
  deployments: "Deployment",
  deploy: "Deployment",
  "deployment.apps": "Deployment",
  statefulset: "StatefulSet",
  statefulsets: "StatefulSet",
  sts: "StatefulSet",
  "statefulset.apps": "StatefulSet",
  replicaset: "ReplicaSet",
  replicasets: "ReplicaSet",
  rs: "ReplicaSet",
  "replicaset.apps": "ReplicaSet",
  daemonset: "DaemonSet",
  daemonsets: "DaemonSet",
  ds: "DaemonSet",
  "daemonset.apps": "DaemonSet",
  job: "Job",
  jobs: "Job",
  "job.batch": "Job",
};
/** The kind a `KIND/` word names (deploy, deployments, Deployment.apps, ...), "Pod" for pods. */
export const kindOf = (word: string): TargetRef["kind"] | "Pod" | undefined =>
  Object.hasOwn(KIND_SPELLINGS, word.toLowerCase()) ? KIND_SPELLINGS[word.toLowerCase()] : undefined;

/** The short forms to offer in messages and completion, one per kind. */
export const TARGET_PREFIXES = ["pod/", "deployment/", "statefulset/", "replicaset/", "daemonset/", "job/"] as const;

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const isName = (text: string): boolean => text.length <= 253 && DNS_SUBDOMAIN.test(text);

export function parseArgs(argv: readonly string[]): Command {
  const tokens = tokenize(argv);
  const first = tokens.positionals[0];
  const sub: Subcommand = (SUBCOMMANDS as readonly string[]).includes(first ?? "") ? (first as Subcommand) : "create";
  const positionals = sub === "create" ? tokens.positionals : tokens.positionals.slice(1);
  const unknown = tokens.unknown[0];
  if (unknown !== undefined) throw new UsageError(`unknown flag ${unknown}; ${helpPointer(sub)}`);
  for (const t of tokens.flags) {
    if (!t.flag.on.includes(sub)) {
      const owners = t.flag.on.map((s) => `kubectl dbg ${s === "create" ? "POD" : s}`).join(", ");
      throw new UsageError(`${t.spelling} is not a flag of ${usageName(sub)}; it belongs to ${owners}`);
    }
    if (t.value === undefined) throw new UsageError(`${t.spelling} needs a value: ${t.spelling} ${t.flag.arg ?? ""}`);
  }
  const flags = new FlagReader(tokens.flags);
  if (flags.bool("help")) return { kind: "help", topic: sub === "help" ? helpTopic(positionals) : sub };
  if (sub === "help") return { kind: "help", topic: helpTopic(positionals) };
  if (sub !== "create" && tokens.command !== undefined) {
    throw new UsageError(`${usageName(sub)} takes no command after --; a command goes with kubectl dbg POD -- COMMAND`);
  }
  const kubectl = kubectlFlags(flags);
  switch (sub) {
    case "create":
      return { kind: "create", kubectl, options: createOptions(positionals, tokens.command, flags) };
    case "list":
      none(sub, positionals);
      return { kind: "list", kubectl, allNamespaces: flags.bool("all-namespaces"), ...optional("output", flags) };
    case "policies":
      none(sub, positionals);
      return { kind: "policies", kubectl };
    case "attach":
      return {
        kind: "attach",
        kubectl,
        name: sessionName(sub, positionals),
        quiet: flags.bool("quiet"),
        timeoutMs: flags.duration("timeout", DEFAULT_WAIT),
      };
    case "logs":
      return { kind: "logs", kubectl, name: sessionName(sub, positionals), follow: flags.bool("follow") };
    case "extend": {
      const name = sessionName(sub, positionals);
      const ttl = flags.string("ttl");
      if (ttl === undefined) {
        throw new UsageError(`kubectl dbg extend ${name} needs --ttl DURATION, longer than the session's: --ttl 1h`);
      }
      return { kind: "extend", kubectl, name, ttl: validTTL(ttl) };
    }
    case "end":
      return {
        kind: "end",
        kubectl,
        name: sessionName(sub, positionals),
        timeoutMs: flags.duration("timeout", DEFAULT_END_WAIT),
      };
  }
}

/** Values of the given tokens by the flag's long name; the last one wins, as in pflag. */
class FlagReader {
  private readonly tokens: Token[];
  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }
  private last(long: string): Token | undefined {
    return this.tokens.findLast((t) => t.flag.long === long);
  }
  given(long: string): boolean {
    return this.last(long) !== undefined;
  }
  string(long: string): string | undefined {
    return this.last(long)?.value;
  }
  all(long: string): string[] {
    return this.tokens.filter((t) => t.flag.long === long).map((t) => t.value ?? "");
  }
  bool(long: string, fallback = false): boolean {
    const t = this.last(long);
    if (t === undefined) return fallback;
    const value = parseBool(t.value ?? "");
    if (value === undefined) throw new UsageError(`${t.spelling}=${t.value} is not true or false`);
    return value;
  }
  oneOf<T extends string>(long: string, words: readonly T[]): T | undefined {
    const t = this.last(long);
    if (t === undefined) return undefined;
    const word = words.find((w) => w.toLowerCase() === (t.value ?? "").toLowerCase());
    if (word === undefined) throw new UsageError(`${t.spelling} ${t.value}: choose one of ${words.join(", ")}`);
    return word;
  }
  duration(long: string, fallback: string): number {
    const t = this.last(long);
    const ms = parseDuration(t?.value ?? fallback);
    if (ms === undefined || ms <= 0) {
      throw new UsageError(`${t?.spelling ?? `--${long}`} ${t?.value} is not a duration: write it as 30s, 5m or 1h`);
    }
    return ms;
  }
}

function optional(long: string, flags: FlagReader): { output?: string } {
  const value = flags.string(long);
  return value === undefined ? {} : { output: value };
}

/** kubectl's flags among the given ones (completion reads them from a half-typed command line). */
export const kubectlFlagsOf = (tokens: Token[]): KubectlFlags => kubectlFlags(new FlagReader(tokens));

function kubectlFlags(flags: FlagReader): KubectlFlags {
  const k: KubectlFlags = { asGroups: flags.all("as-group") };
  const set = (key: "namespace" | "context" | "kubeconfig" | "as" | "requestTimeout", long: string): void => {
    const value = flags.string(long);
    if (value !== undefined) k[key] = value;
  };
  set("namespace", "namespace");
  set("context", "context");
  set("kubeconfig", "kubeconfig");
  set("as", "as");
  set("requestTimeout", "request-timeout");
  return k;
}

function createOptions(positionals: string[], command: string[] | undefined, flags: FlagReader): CreateOptions {
  const [target, ...extra] = positionals;
  if (target === undefined) {
    throw new UsageError(
      "kubectl dbg needs a target: a pod name, or KIND/NAME such as deployment/web; kubectl dbg --help shows examples",
    );
  }
  if (extra.length > 0) {
    throw new UsageError(
      `one target only, got ${[target, ...extra].join(" ")}; a command goes after --: kubectl dbg ${target} -- ${extra.join(" ")}`,
    );
  }
  const stdin = flags.bool("stdin", true);
  const tty = flags.bool("tty", stdin);
  if (tty && !stdin) {
    throw new UsageError("-t/--tty needs stdin: drop -i=false, or add -t=false to run without a terminal");
  }
  const dryRun = flags.oneOf("dry-run", ["none", "client", "server"] as const);
  const output = flags.string("output");
  if (output !== undefined && (dryRun === undefined || dryRun === "none")) {
    throw new UsageError(
      "-o/--output goes with --dry-run=client or --dry-run=server: kubectl dbg POD --dry-run=client -o yaml",
    );
  }
  const name = flags.string("name");
  if (name !== undefined && !isName(name)) throw new UsageError(`--name ${name}: ${NAME_RULE}`);
  const container = flags.string("container");
  const options: CreateOptions = {
    target: parseTarget(target),
    image: nonEmpty("--image", flags.string("image") ?? DEFAULT_IMAGE),
    command: command !== undefined && command.length > 0 ? command : [...DEFAULT_COMMAND],
    env: flags.all("env").map(envVar),
    stdin,
    tty,
    attach: flags.bool("attach", true),
    quiet: flags.bool("quiet"),
    timeoutMs: flags.duration("timeout", DEFAULT_WAIT),
  };
  if (container !== undefined) options.targetContainer = nonEmpty("-c/--container", container);
  const pull = flags.oneOf("image-pull-policy", PULL_POLICIES);
  if (pull !== undefined) options.imagePullPolicy = pull;
  const profile = flags.oneOf("profile", PROFILES);
  if (profile !== undefined) options.profile = profile;
  const ttl = flags.string("ttl");
  if (ttl !== undefined) options.ttl = validTTL(ttl);
  const reason = flags.string("reason");
  if (reason !== undefined) options.reason = reason;
  const policy = flags.string("policy");
  if (policy !== undefined) {
    if (!isName(policy)) throw new UsageError(`--policy ${policy}: ${NAME_RULE}`);
    options.policy = policy;
  }
  const action = flags.oneOf("expiry-action", EXPIRY_ACTIONS);
  if (action !== undefined) options.expiryAction = action;
  const copy = copyOptions(flags);
  if (copy !== undefined) options.copy = copy;
  if (flags.bool("isolate")) {
    if (copy !== undefined) throw new UsageError("--isolate does not go with --copy: a copy is in no Service already");
    options.isolate = true;
  }
  if (name !== undefined) options.name = name;
  if (dryRun === "client" || dryRun === "server") options.dryRun = dryRun;
  if (output !== undefined) options.output = output;
  return options;
}

/** --copy and the flags that only go with it; undefined without --copy. */
function copyOptions(flags: FlagReader): CopySpec | undefined {
  const command = flags.string("copy-command")?.split(/\s+/).filter(Boolean);
  const image = flags.string("copy-image");
  const sameNode = flags.bool("same-node");
  const keepProbes = flags.bool("keep-probes");
  if (!flags.bool("copy")) {
    const stray = [
      command !== undefined ? "--copy-command" : "",
      image !== undefined ? "--copy-image" : "",
      sameNode ? "--same-node" : "",
      keepProbes ? "--keep-probes" : "",
    ].filter(Boolean);
    if (stray.length) throw new UsageError(`${stray.join(", ")} go with --copy: add --copy to debug a copy of the pod`);
    return undefined;
  }
  const copy: CopySpec = {};
  if (command !== undefined) {
    if (command.length === 0) throw new UsageError("--copy-command needs words: --copy-command 'sleep infinity'");
    copy.command = command;
  }
  if (image !== undefined) copy.image = nonEmpty("--copy-image", image);
  if (sameNode) copy.sameNode = true;
  if (keepProbes) copy.keepProbes = true;
  return copy;
}

const NAME_RULE =
  "a name is lower-case letters, digits, '-' and '.', starts and ends with a letter or digit, at most 253 characters";

export function parseTarget(text: string): Target {
  const slash = text.indexOf("/");
  if (slash < 0) {
    if (!isName(text)) throw new UsageError(`target ${text} is not a pod name: ${NAME_RULE}`);
    return { pod: text };
  }
  const word = text.slice(0, slash);
  const name = text.slice(slash + 1);
  const kind = kindOf(word);
  if (kind === undefined) {
    throw new UsageError(
      `target ${text}: ${word} is not a kind a session can target; write a pod name or ${TARGET_PREFIXES.map((p) => `${p}NAME`).join(", ")}`,
    );
  }
  if (!isName(name)) throw new UsageError(`target ${text}: ${name === "" ? "the name is missing" : NAME_RULE}`);
  if (kind === "Pod") return { pod: name };
  // KIND_SPELLINGS only holds TARGET_KINDS besides Pod; this keeps the two lists honest.
  if (!TARGET_KINDS.includes(kind)) throw new UsageError(`target ${text}: unknown kind ${kind}`);
  return { ref: { kind, name } };
}

function validTTL(text: string): string {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`--ttl ${text} is not a duration: write it as 30m, 2h or 1h30m`);
  if (ms < MIN_TTL_MS) throw new UsageError(`--ttl ${text} is shorter than 1m, the least a session may have`);
  return text;
}

function envVar(text: string): { name: string; value: string } {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UsageError(`--env ${text} must be NAME=VALUE, for example --env LOG_LEVEL=debug`);
  return { name: text.slice(0, eq), value: text.slice(eq + 1) };
}

function nonEmpty(flag: string, value: string): string {
  if (value === "") throw new UsageError(`${flag} needs a value that is not empty`);
  return value;
}

function sessionName(sub: Subcommand, positionals: string[]): string {
  const [name, ...extra] = positionals;
  if (name === undefined) throw new UsageError(`${usageName(sub)} needs a session NAME; kubectl dbg list shows them`);
  if (extra.length > 0) throw new UsageError(`${usageName(sub)} takes one session NAME, got ${positionals.join(" ")}`);
  if (!isName(name)) throw new UsageError(`${name} is not a session name: ${NAME_RULE}`);
  return name;
}

function none(sub: Subcommand, positionals: string[]): void {
  if (positionals.length > 0)
    throw new UsageError(`${usageName(sub)} takes no arguments, got ${positionals.join(" ")}`);
}

function helpTopic(positionals: string[]): Subcommand {
  const topic = positionals[0];
  return topic !== undefined && (SUBCOMMANDS as readonly string[]).includes(topic) ? (topic as Subcommand) : "create";
}

const usageName = (sub: Subcommand): string => (sub === "create" ? "kubectl dbg POD" : `kubectl dbg ${sub}`);
const helpPointer = (sub: Subcommand): string =>
  `${sub === "create" ? "kubectl dbg" : `kubectl dbg ${sub}`} --help lists the flags`;

/** The flags of one subcommand, for help and completion. */
export const flagsOf = (sub: Subcommand, all: readonly FlagDef[]): FlagDef[] => all.filter((f) => f.on.includes(sub));
