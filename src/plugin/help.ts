// --help, generated from the flag table (flags.ts) so a flag's help and default are written once.
import { FLAGS, type FlagDef, type Subcommand } from "./flags.ts";

const USAGE: Record<Subcommand, string> = {
  create: "kubectl dbg POD|KIND/NAME [-c CONTAINER] [--image IMAGE] [--ttl DURATION] [flags] [-- COMMAND [ARGS...]]",
  list: "kubectl dbg list [-A] [-o FORMAT]",
  attach: "kubectl dbg attach NAME",
  logs: "kubectl dbg logs NAME [-f]",
  extend: "kubectl dbg extend NAME --ttl DURATION",
  end: "kubectl dbg end NAME",
  policies: "kubectl dbg policies",
  help: "kubectl dbg help [SUBCOMMAND]",
};

const ABOUT: Record<Subcommand, string> = {
  create:
    "Creates a DebugSession: the debugsession-operator checks it against a DebugPolicy, injects the debugger as an\n" +
    "ephemeral container, and removes the pod when the ttl runs out (an ephemeral container cannot be taken out).\n" +
    "kubectl dbg shows the session's progress, attaches your terminal to the debugger, and exits with its exit code.\n" +
    "KIND is deployment, statefulset, replicaset, daemonset or job: the operator picks one of its pods.",
  list: "Lists the sessions of the namespace (kubectl get debugsessions).",
  attach: "Waits for a session's debugger if it is not running yet, and attaches your terminal to it.",
  logs:
    "The debugger's log: what it printed (kubectl logs POD -c CONTAINER). Once the session ended, the transcript\n" +
    "its DebugSessionRecord kept (reading records needs the debugsessionrecord-viewer role).",
  extend: "Gives a session a longer ttl (a ttl never shrinks), within the policy's maxTTL.",
  end: "Deletes a session and waits until it is gone; the operator removes the tainted pod first.",
  policies:
    "The DebugPolicies of the namespace you may use (verb use, by SelfSubjectAccessReview), and what each allows.",
  help: "Help on a subcommand.",
};

const EXAMPLES = `Examples:
  # A shell (busybox:1.36, sh) in pod web-7d9f-abcde that sees the processes of its container app
  kubectl dbg web-7d9f-abcde -c app

  # Any pod of deployment web, for an hour, with a reason for the audit trail
  kubectl dbg deployment/web -c app --ttl 1h --reason "INC-1234: checkout hangs"

  # Another image and command, with the network tools' profile (if the policy allows both)
  kubectl dbg web-7d9f-abcde --image nicolaka/netshoot:v0.13 --profile netadmin -- bash

  # One command without a terminal: prints its output, exits with its exit code
  kubectl dbg web-7d9f-abcde -i=false -- ps auxww

  # A crash-looping pod: debug a copy whose app container sleeps instead (if the policy allows Copy)
  kubectl dbg web-7d9f-abcde -c app --copy --copy-command 'sleep infinity'

  # Out of its Service while you debug; its Deployment starts a replacement (policy allowIsolate)
  kubectl dbg web-7d9f-abcde -c app --isolate

  # The session as YAML, for Git, created by nobody
  kubectl dbg deployment/web --ttl 1h --dry-run=client -o yaml

  kubectl dbg list
  kubectl dbg attach dbg-web-7d9f-abcde-x2k4f
  kubectl dbg extend dbg-web-7d9f-abcde-x2k4f --ttl 2h
  kubectl dbg end dbg-web-7d9f-abcde-x2k4f
  kubectl dbg policies -n shop`;

const NOTES = `Detaching: exiting the shell ends the debugger. To leave it running, press Ctrl-P Ctrl-Q with kubectl 1.36 or
later (kubectl attach --detach-keys); older kubectl attach has no detach keys, so close the terminal instead. The
debugger's stdin stays open: kubectl dbg attach NAME reattaches until the ttl runs out.

Progress and hints go to stderr; stdout carries only the debugger (or, with --dry-run, the manifest). Exit status:
the debugger's exit code when it ended; 1 when the session was refused, failed or ended without it, or waiting
timed out; 2 for a mistake on the command line. All API calls are made by kubectl ($KUBECTL, else kubectl on PATH),
so every kubeconfig, auth plugin and the flags below work as they do for kubectl.`;

const COLUMN = 32;
const WIDTH = 120;

/** Wraps a flag's line at WIDTH, continuing under its help text. */
function wrap(line: string): string {
  const indent = " ".repeat(COLUMN + 3);
  const lines: string[] = [];
  let rest = line;
  while (rest.length > WIDTH) {
    const cut = rest.lastIndexOf(" ", WIDTH);
    if (cut <= COLUMN + 3) break;
    lines.push(rest.slice(0, cut));
    rest = indent + rest.slice(cut + 1);
  }
  return [...lines, rest].join("\n");
}

function flagLine(f: FlagDef): string {
  const names = `${f.short ? `-${f.short}, ` : "    "}--${f.long}${f.arg ? ` ${f.arg}` : ""}`;
  const fallback = f.default !== undefined && f.arg !== undefined ? ` (default ${f.default})` : "";
  const bool = f.arg === undefined && f.default === "true" ? " (default true)" : "";
  const aliases = f.aliases?.length ? ` (also --${f.aliases.join(", --")})` : "";
  return wrap(`  ${names.padEnd(COLUMN)} ${f.help}${fallback}${bool}${aliases}`);
}

export function helpText(sub: Subcommand): string {
  const own = FLAGS.filter((f) => f.on.includes(sub) && !f.kubectl && f.long !== "help");
  const kubectl = FLAGS.filter((f) => f.kubectl);
  const parts = [`Usage:\n  ${USAGE[sub]}`, ABOUT[sub]];
  if (sub === "create") {
    const others = (["list", "attach", "logs", "extend", "end", "policies"] as const).map((s) => `  ${USAGE[s]}`);
    parts.push(`Subcommands:\n${others.join("\n")}`, EXAMPLES);
  }
  if (own.length > 0) parts.push(`Flags:\n${own.map(flagLine).join("\n")}`);
  parts.push(`kubectl's flags, passed to every kubectl call:\n${kubectl.map(flagLine).join("\n")}`);
  if (sub === "create" || sub === "attach") parts.push(NOTES);
  return `${parts.join("\n\n")}\n`;
}
