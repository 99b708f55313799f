import { describe, expect, it } from "vitest";
import { UsageError, parseArgs, type Command, type CreateOptions } from "../../src/plugin/args.ts";
import { FLAGS, flagNamed, isBoolean, tokenize } from "../../src/plugin/flags.ts";

const create = (...argv: string[]): CreateOptions => {
  const cmd = parseArgs(argv);
  if (cmd.kind !== "create") throw new Error(`parsed as ${cmd.kind}`);
  return cmd.options;
};
const refused = (...argv: string[]): string => {
  try {
    parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  throw new Error(`${argv.join(" ")} was accepted`);
};

describe("the flag table", () => {
  it("spells every flag once: no long name, alias or shorthand is taken twice", () => {
    const spellings = FLAGS.flatMap((f) => [f.long, ...(f.aliases ?? []), ...(f.short ? [f.short] : [])]);
    expect(new Set(spellings).size).toBe(spellings.length);
  });

  it("gives every flag a help text and at least one subcommand", () => {
    for (const f of FLAGS) {
      expect(f.help, f.long).not.toBe("");
      expect(f.on.length, f.long).toBeGreaterThan(0);
    }
  });
});

describe("tokenize, as pflag splits a command line", () => {
  it.each([
    { argv: ["-n", "shop"], value: "shop" },
    { argv: ["-nshop"], value: "shop" },
    { argv: ["-n=shop"], value: "shop" },
    { argv: ["--namespace", "shop"], value: "shop" },
    { argv: ["--namespace=shop"], value: "shop" },
  ])("reads $argv as namespace shop", ({ argv }) => {
    const t = tokenize(argv);
    expect(t.flags.map((f) => [f.flag.long, f.value])).toEqual([["namespace", "shop"]]);
    expect(t.positionals).toEqual([]);
  });

  it("groups boolean shorthands (-it) and takes a value after = in a group (-it=false)", () => {
    expect(tokenize(["-it"]).flags.map((f) => [f.flag.long, f.value])).toEqual([
      ["stdin", "true"],
      ["tty", "true"],
    ]);
    expect(tokenize(["-it=false"]).flags.map((f) => [f.flag.long, f.value])).toEqual([
      ["stdin", "true"],
      ["tty", "false"],
    ]);
  });

  it("lets positionals and flags mix, and stops at --", () => {
    const t = tokenize(["web", "-c", "app", "--", "ps", "-ef", "--forest"]);
    expect(t.positionals).toEqual(["web"]);
    expect(t.command).toEqual(["ps", "-ef", "--forest"]);
    expect(t.flags).toHaveLength(1);
  });

  it("never consumes a word for a boolean (-i false is a boolean and a positional)", () => {
    const t = tokenize(["-i", "false"]);
    expect(t.flags[0]?.value).toBe("true");
    expect(t.positionals).toEqual(["false"]);
  });

  it("reports unknown flags and missing values instead of throwing", () => {
    const t = tokenize(["--nope", "-Z", "--image"]);
    expect(t.unknown).toEqual(["--nope", "-Z"]);
    expect(t.flags[0]?.value).toBeUndefined();
  });

  it("knows the arity of every flag by any spelling", () => {
    expect(isBoolean(flagNamed("i")!)).toBe(true);
    expect(isBoolean(flagNamed("target")!)).toBe(false);
    expect(flagNamed("target")?.long).toBe("container");
  });
});

describe("kubectl dbg TARGET", () => {
  it("defaults to busybox:1.36 running sh with stdin and a tty, waiting 5m, leaving ttl and policy to the policy", () => {
    expect(create("web-1")).toEqual({
      target: { pod: "web-1" },
      image: "busybox:1.36",
      command: ["sh"],
      env: [],
      stdin: true,
      tty: true,
      attach: true,
      quiet: false,
      timeoutMs: 300_000,
    });
  });

  it.each([
    { target: "web-1", want: { pod: "web-1" } },
    { target: "pod/web-1", want: { pod: "web-1" } },
    { target: "po/web-1", want: { pod: "web-1" } },
    { target: "deployment/web", want: { ref: { kind: "Deployment", name: "web" } } },
    { target: "deploy/web", want: { ref: { kind: "Deployment", name: "web" } } },
    { target: "Deployment.apps/web", want: { ref: { kind: "Deployment", name: "web" } } },
    { target: "statefulset/db", want: { ref: { kind: "StatefulSet", name: "db" } } },
    { target: "sts/db", want: { ref: { kind: "StatefulSet", name: "db" } } },
    { target: "rs/web-7d9f", want: { ref: { kind: "ReplicaSet", name: "web-7d9f" } } },
    { target: "daemonset/agent", want: { ref: { kind: "DaemonSet", name: "agent" } } },
    { target: "ds/agent", want: { ref: { kind: "DaemonSet", name: "agent" } } },
    { target: "job/migrate", want: { ref: { kind: "Job", name: "migrate" } } },
  ])("targets $target", ({ target, want }) => {
    expect(create(target).target).toEqual(want);
  });

  it("reads every session flag", () => {
    const o = create(
      "deployment/web",
      "-c",
      "app",
      "--image=nicolaka/netshoot:v0.13",
      "--image-pull-policy",
      "ifnotpresent",
      "--profile",
      "netadmin",
      "--ttl",
      "1h30m",
      "--reason",
      "INC-1234: hangs",
      "--policy",
      "netadmin",
      "--env",
      "A=1",
      "--env=B=x=y",
      "--name",
      "mine",
      "--expiry-action",
      "Delete",
      "-q",
      "--attach=false",
      "--timeout",
      "90s",
    );
    expect(o).toEqual({
      target: { ref: { kind: "Deployment", name: "web" } },
      targetContainer: "app",
      image: "nicolaka/netshoot:v0.13",
      imagePullPolicy: "IfNotPresent",
      command: ["sh"],
      env: [
        { name: "A", value: "1" },
        { name: "B", value: "x=y" },
      ],
      profile: "netadmin",
      ttl: "1h30m",
      reason: "INC-1234: hangs",
      policy: "netadmin",
      expiryAction: "Delete",
      name: "mine",
      stdin: true,
      tty: true,
      attach: false,
      quiet: true,
      timeoutMs: 90_000,
    });
  });

  it("takes --target as kubectl debug spells -c", () => {
    expect(create("web", "--target", "app").targetContainer).toBe("app");
  });

  it("makes everything after -- the debugger's command, flags included", () => {
    expect(create("web", "--", "tcpdump", "-i", "any", "-n").command).toEqual(["tcpdump", "-i", "any", "-n"]);
    expect(create("web", "--").command).toEqual(["sh"]);
  });

  it.each([
    { argv: ["-i=false"], stdin: false, tty: false },
    { argv: ["--stdin=false"], stdin: false, tty: false },
    { argv: ["--tty=false"], stdin: true, tty: false },
    { argv: ["-t=false"], stdin: true, tty: false },
    { argv: ["-it"], stdin: true, tty: true },
    { argv: ["-i=false", "-t=false"], stdin: false, tty: false },
  ])("$argv: stdin $stdin, tty $tty", ({ argv, stdin, tty }) => {
    expect(create("web", ...argv)).toMatchObject({ stdin, tty });
  });

  it.each(["client", "server"] as const)("--dry-run=%s with -o yaml", (mode) => {
    expect(create("web", `--dry-run=${mode}`, "-o", "yaml")).toMatchObject({ dryRun: mode, output: "yaml" });
  });

  it("--dry-run=none creates for real", () => {
    expect(create("web", "--dry-run=none").dryRun).toBeUndefined();
  });

  it("--copy and its options make spec.mode Copy and spec.copy; --isolate spec.isolate", () => {
    expect(create("web").copy).toBeUndefined();
    expect(create("web", "--copy").copy).toEqual({});
    expect(
      create(
        "web",
        "--copy",
        "--copy-command",
        "sleep  infinity",
        "--copy-image",
        "app:debug",
        "--same-node",
        "--keep-probes",
      ).copy,
    ).toEqual({ command: ["sleep", "infinity"], image: "app:debug", sameNode: true, keepProbes: true });
    expect(create("deployment/web", "--isolate", "--expiry-action", "Replace")).toMatchObject({
      isolate: true,
      expiryAction: "Replace",
    });
  });
});

describe("kubectl's flags", () => {
  it.each([
    ["create", ["web"]],
    ["list", ["list"]],
    ["attach", ["attach", "s"]],
    ["logs", ["logs", "s"]],
    ["extend", ["extend", "s", "--ttl", "1h"]],
    ["end", ["end", "s"]],
    ["policies", ["policies"]],
  ] as const)("are read by %s wherever they stand", (kind, argv) => {
    const cmd = parseArgs([
      "--context=kind",
      ...argv,
      "-n",
      "shop",
      "--kubeconfig",
      "/k",
      "--as",
      "alice",
      "--as-group",
      "devs",
      "--as-group=ops",
      "--request-timeout",
      "10s",
    ]);
    expect(cmd.kind).toBe(kind);
    expect((cmd as Exclude<Command, { kind: "help" }>).kubectl).toEqual({
      namespace: "shop",
      context: "kind",
      kubeconfig: "/k",
      as: "alice",
      asGroups: ["devs", "ops"],
      requestTimeout: "10s",
    });
  });
});

describe("subcommands", () => {
  it.each([
    { argv: ["list"], want: { kind: "list", allNamespaces: false } },
    { argv: ["list", "-A", "-o", "wide"], want: { kind: "list", allNamespaces: true, output: "wide" } },
    { argv: ["attach", "s1"], want: { kind: "attach", name: "s1", quiet: false, timeoutMs: 300_000 } },
    {
      argv: ["attach", "s1", "-q", "--timeout=1m"],
      want: { kind: "attach", name: "s1", quiet: true, timeoutMs: 60_000 },
    },
    { argv: ["logs", "s1"], want: { kind: "logs", name: "s1", follow: false } },
    { argv: ["logs", "-f", "s1"], want: { kind: "logs", name: "s1", follow: true } },
    { argv: ["extend", "s1", "--ttl", "2h"], want: { kind: "extend", name: "s1", ttl: "2h" } },
    { argv: ["end", "s1"], want: { kind: "end", name: "s1", timeoutMs: 120_000 } },
    { argv: ["end", "s1", "--timeout", "30s"], want: { kind: "end", name: "s1", timeoutMs: 30_000 } },
    { argv: ["policies"], want: { kind: "policies" } },
  ])("$argv", ({ argv, want }) => {
    expect(parseArgs(argv)).toMatchObject(want);
  });

  it.each([
    { argv: ["--help"], topic: "create" },
    { argv: ["-h"], topic: "create" },
    { argv: ["web", "--help"], topic: "create" },
    { argv: ["extend", "-h"], topic: "extend" },
    { argv: ["help"], topic: "create" },
    { argv: ["help", "end"], topic: "end" },
  ])("$argv asks for help on $topic", ({ argv, topic }) => {
    expect(parseArgs(argv)).toEqual({ kind: "help", topic });
  });

  it("treats a pod named like a subcommand as a target when written pod/NAME", () => {
    expect(parseArgs(["pod/list"])).toMatchObject({ kind: "create", options: { target: { pod: "list" } } });
  });
});

describe("mistakes, each with the fix in its message", () => {
  it.each([
    { argv: [], says: "kubectl dbg needs a target: a pod name, or KIND/NAME such as deployment/web" },
    { argv: ["web", "sh"], says: "one target only, got web sh; a command goes after --: kubectl dbg web -- sh" },
    {
      argv: ["svc/web"],
      says: "svc is not a kind a session can target; write a pod name or pod/NAME, deployment/NAME",
    },
    { argv: ["deployment/"], says: "target deployment/: the name is missing" },
    { argv: ["Web_1"], says: "target Web_1 is not a pod name: a name is lower-case letters" },
    { argv: ["web", "--ttl", "30"], says: "--ttl 30 is not a duration: write it as 30m, 2h or 1h30m" },
    { argv: ["web", "--ttl", "30s"], says: "--ttl 30s is shorter than 1m, the least a session may have" },
    {
      argv: ["web", "--profile", "root"],
      says: "--profile root: choose one of general, baseline, restricted, netadmin, sysadmin",
    },
    { argv: ["web", "--expiry-action", "Kill"], says: "--expiry-action Kill: choose one of Evict, Delete, Replace" },
    { argv: ["web", "--same-node"], says: "--same-node go with --copy: add --copy to debug a copy of the pod" },
    {
      argv: ["web", "--copy-command", "sleep 1", "--copy-image", "x"],
      says: "--copy-command, --copy-image go with --copy",
    },
    { argv: ["web", "--copy", "--copy-command", " "], says: "--copy-command needs words" },
    { argv: ["web", "--copy", "--isolate"], says: "--isolate does not go with --copy" },
    { argv: ["web", "--image-pull-policy", "Sometimes"], says: "choose one of Always, IfNotPresent, Never" },
    { argv: ["web", "--env", "DEBUG"], says: "--env DEBUG must be NAME=VALUE, for example --env LOG_LEVEL=debug" },
    { argv: ["web", "--env", "=1"], says: "--env =1 must be NAME=VALUE" },
    { argv: ["web", "--name", "My Session"], says: "--name My Session: a name is lower-case letters" },
    { argv: ["web", "--image="], says: "--image needs a value that is not empty" },
    { argv: ["web", "--image"], says: "--image needs a value: --image IMAGE" },
    { argv: ["web", "-t", "-i=false"], says: "-t/--tty needs stdin: drop -i=false, or add -t=false" },
    { argv: ["web", "-i=maybe"], says: "-i=maybe is not true or false" },
    { argv: ["web", "-o", "yaml"], says: "-o/--output goes with --dry-run=client or --dry-run=server" },
    { argv: ["web", "--dry-run=yes"], says: "--dry-run yes: choose one of none, client, server" },
    { argv: ["web", "--timeout", "soon"], says: "--timeout soon is not a duration" },
    { argv: ["web", "--frobnicate"], says: "unknown flag --frobnicate; kubectl dbg --help lists the flags" },
    { argv: ["list", "-x"], says: "unknown flag -x; kubectl dbg list --help lists the flags" },
    {
      argv: ["list", "--image", "x"],
      says: "--image is not a flag of kubectl dbg list; it belongs to kubectl dbg POD",
    },
    { argv: ["logs", "s", "--ttl", "1h"], says: "--ttl is not a flag of kubectl dbg logs" },
    { argv: ["list", "extra"], says: "kubectl dbg list takes no arguments, got extra" },
    { argv: ["attach"], says: "kubectl dbg attach needs a session NAME; kubectl dbg list shows them" },
    { argv: ["end", "a", "b"], says: "kubectl dbg end takes one session NAME, got a b" },
    { argv: ["extend", "s"], says: "kubectl dbg extend s needs --ttl DURATION, longer than the session's: --ttl 1h" },
    { argv: ["extend", "s", "--ttl", "soon"], says: "--ttl soon is not a duration" },
    { argv: ["attach", "s", "--", "sh"], says: "kubectl dbg attach takes no command after --" },
  ])("$argv", ({ argv, says }) => {
    expect(refused(...argv)).toContain(says);
  });
});
