// kubectl-dbg: argv -> one subcommand -> an exit code. Run as kubectl_complete-dbg (or with the hidden
// first word __complete) it prints shell completions instead. Imports only node builtins and this
// plugin's files, so `make plugin` can join them into one file (hack/build-plugin.ts) that starts fast.
import { basename } from "node:path";
import { UsageError, parseArgs, type KubectlFlags } from "./args.ts";
import { runCommand } from "./commands.ts";
import { complete, completionOutput, type Lookup } from "./completion.ts";
import { Failure, type Context } from "./context.ts";
import { helpText } from "./help.ts";
import { KubectlMissing, KubectlProcess, POLICIES, SESSIONS, kubectlBinary, withFlags } from "./kubectl.ts";

/** After kubectl attach returns, how long the operator has to report that the debugger exited. */
const SETTLE_MS = 3000;
/** Completion must answer while the user waits at the prompt. */
const LOOKUP_TIMEOUT = "5s";

async function main(argv: string[], program: string): Promise<number> {
  const kubectl = new KubectlProcess(kubectlBinary(process.env));
  try {
    if (program.startsWith("kubectl_complete-") || argv[0] === "__complete") {
      const words = argv[0] === "__complete" ? argv.slice(1) : argv;
      process.stdout.write(completionOutput(await complete(words, (l, f) => lookup(kubectl, l, f))));
      return 0;
    }
    const cmd = parseArgs(argv);
    if (cmd.kind === "help") {
      process.stdout.write(helpText(cmd.topic));
      return 0;
    }
    const ctx: Context = {
      kubectl,
      flags: cmd.kubectl,
      out: (text) => process.stdout.write(text),
      err: (line) => process.stderr.write(`${line}\n`),
      now: () => new Date(),
      settleMs: SETTLE_MS,
    };
    return await runCommand(ctx, cmd);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    if (e instanceof Failure) {
      // An empty message: kubectl has already said what went wrong, verbatim.
      if (e.message) process.stderr.write(`error: ${e.message}\n`);
      return e.code;
    }
    process.stderr.write(`error: ${e instanceof KubectlMissing || !(e instanceof Error) ? String(e) : e.message}\n`);
    return 1;
  } finally {
    kubectl.stopAll();
  }
}

async function lookup(kubectl: KubectlProcess, l: Lookup, flags: KubectlFlags): Promise<string[]> {
  const k = { ...flags, requestTimeout: flags.requestTimeout ?? LOOKUP_TIMEOUT };
  try {
    const r = await kubectl.capture(lookupArgs(l, k));
    // -o name prints kind.group/name; contexts come bare.
    return r.code === 0
      ? r.stdout
          .split("\n")
          .filter(Boolean)
          .map((line) => line.slice(line.indexOf("/") + 1))
      : [];
  } catch {
    return [];
  }
}

function lookupArgs(l: Lookup, k: KubectlFlags): string[] {
  const names = (resource: string): string[] => withFlags(["get", resource, "-o", "name"], k);
  switch (l.what) {
    case "contexts":
      return withFlags(["config", "get-contexts", "-o", "name"], { ...k, namespace: undefined });
    case "pods":
      return names("pods");
    case "sessions":
      return names(SESSIONS);
    case "policies":
      return names(POLICIES);
    case "namespaces":
      return names("namespaces");
    case "workloads":
      return names(`${l.kind.toLowerCase()}s.${l.kind === "Job" ? "batch" : "apps"}`);
  }
}

// A reader who closes the pipe (kubectl dbg list | head) is not an error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code !== "EPIPE") throw e;
});
process.exitCode = await main(process.argv.slice(2), basename(process.argv[1] ?? ""));
