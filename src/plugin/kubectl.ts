// The plugin's only way to the cluster: the user's own kubectl, as a subprocess, so every auth method,
// kubeconfig and flag kubectl knows works unchanged, and start-up costs no client library.
import { spawn, type ChildProcess } from "node:child_process";
import { constants } from "node:os";
import type { KubectlFlags } from "./args.ts";
import { JsonObjectStream } from "./json-stream.ts";

export const SESSIONS = "debugsessions.debugging.dev";
export const POLICIES = "debugpolicies.debugging.dev";
export const RECORDS = "debugsessionrecords.debugging.dev";

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** How a kubectl attach ended. */
export interface Attached {
  code: number;
  /** kubectl's words when it could not connect for a reason `notYet` names; they were not shown. */
  notYet?: string;
}

export interface Watch {
  /** Settles when kubectl exits (the server closed the watch, an error, or stop()). */
  readonly done: Promise<Captured>;
  stop(): void;
}

/** Every call the plugin makes goes through these; KubectlProcess runs kubectl, tests may fake it. */
export interface Kubectl {
  /** Output captured; with showErrors, kubectl's stderr also reaches the user as it comes, verbatim. */
  capture(args: readonly string[], o?: { input?: string; showErrors?: boolean }): Promise<Captured>;
  /** The user's terminal: stdout and stderr inherited, stdin too unless `input` is given. */
  interactive(args: readonly string[], o?: { input?: string }): Promise<number>;
  /**
   * kubectl attach on the user's terminal (stdin and stdout inherited). Its stderr reaches the user as it
   * comes, except, in its first seconds, a line matching `notYet`: when kubectl then fails, that refusal
   * is returned, unshown.
   */
  attach(args: readonly string[], notYet?: RegExp): Promise<Attached>;
  /** kubectl ... -o json --watch, one parsed object per update. */
  watch(args: readonly string[], onObject: (o: unknown) => void): Watch;
}

export class KubectlMissing extends Error {}

/** How long after its start a kubectl attach's error can still be a refusal to connect (attach's notYet). */
const REFUSAL_WINDOW_MS = 5000;

/** `args` followed by the user's kubectl flags; `namespace` overrides -n (a session's own namespace). */
export function withFlags(args: readonly string[], k: KubectlFlags, namespace?: string): string[] {
  const out = [...args];
  const ns = namespace ?? k.namespace;
  if (ns !== undefined) out.push("-n", ns);
  if (k.context !== undefined) out.push("--context", k.context);
  if (k.kubeconfig !== undefined) out.push("--kubeconfig", k.kubeconfig);
  if (k.as !== undefined) out.push("--as", k.as);
  for (const g of k.asGroups) out.push("--as-group", g);
  if (k.requestTimeout !== undefined) out.push("--request-timeout", k.requestTimeout);
  return out;
}

/** $KUBECTL, else kubectl from PATH. */
export const kubectlBinary = (env: NodeJS.ProcessEnv): string => env.KUBECTL || "kubectl";

export class KubectlProcess implements Kubectl {
  private readonly bin: string;
  private readonly running = new Set<ChildProcess>();

  constructor(bin: string) {
    this.bin = bin;
  }

  capture(args: readonly string[], o: { input?: string; showErrors?: boolean } = {}): Promise<Captured> {
    const child = this.start(args, [o.input === undefined ? "ignore" : "pipe", "pipe", "pipe"], o.input);
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr?.setEncoding("utf8").on("data", (c: string) => {
      stderr += c;
      if (o.showErrors) process.stderr.write(c);
    });
    return this.exit(child).then((code) => ({ code, stdout, stderr }));
  }

  interactive(args: readonly string[], o: { input?: string } = {}): Promise<number> {
    return this.exit(this.start(args, [o.input === undefined ? "inherit" : "pipe", "inherit", "inherit"], o.input));
  }

  attach(args: readonly string[], notYet?: RegExp): Promise<Attached> {
    const child = this.start(args, ["inherit", "inherit", "pipe"]);
    let held = "";
    // A refusal comes before the attach connects, within a second or two. Later, stderr is the
    // session's (a debugger without a TTY writes its stderr there), never held back.
    let holding = notYet !== undefined;
    const connected = setTimeout(() => {
      holding = false;
      if (held) process.stderr.write(held);
      held = "";
    }, REFUSAL_WINDOW_MS);
    child.stderr?.setEncoding("utf8").on("data", (c: string) => {
      if (holding && notYet?.test(c)) held += c;
      else process.stderr.write(c);
    });
    return this.exit(child).then((code) => {
      clearTimeout(connected);
      if (code !== 0 && held) return { code, notYet: held };
      // It exited 0 after all: what was held back is the user's to see.
      if (held) process.stderr.write(held);
      return { code };
    });
  }

  watch(args: readonly string[], onObject: (o: unknown) => void): Watch {
    const child = this.start(args, ["ignore", "pipe", "pipe"]);
    const objects = new JsonObjectStream();
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (c: string) => {
      for (const object of objects.push(c)) onObject(object);
    });
    child.stderr?.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const done = this.exit(child).then(
      (code) => ({ code, stdout: "", stderr }),
      (e: unknown) => ({ code: 127, stdout: "", stderr: e instanceof Error ? e.message : String(e) }),
    );
    return { done, stop: () => child.kill() };
  }

  /** Ends what is still running (a watch, the version probe) so the process can exit. */
  stopAll(): void {
    for (const child of this.running) child.kill();
  }

  private start(args: readonly string[], stdio: ("ignore" | "pipe" | "inherit")[], input?: string): ChildProcess {
    const child = spawn(this.bin, args, { stdio });
    this.running.add(child);
    if (input !== undefined && child.stdin) {
      // kubectl may exit (refusing its flags) before it reads stdin: that is its error to report.
      child.stdin.on("error", () => {});
      child.stdin.end(input);
    }
    return child;
  }

  private exit(child: ChildProcess): Promise<number> {
    return new Promise((resolve, reject) => {
      child.once("error", (e: NodeJS.ErrnoException) => {
        this.running.delete(child);
        reject(
          e.code === "ENOENT"
            ? new KubectlMissing(`kubectl not found (${this.bin}): put kubectl on PATH, or set KUBECTL to its path`)
            : e,
        );
      });
      child.once("close", (code, signal) => {
        this.running.delete(child);
        resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
      });
    });
  }
}
