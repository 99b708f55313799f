// The client.authentication.k8s.io exec credential protocol, as client-go's exec authenticator speaks
// it: run the user's plugin with KUBERNETES_EXEC_INFO, read the ExecCredential it prints, and keep the
// result until it expires or the apiserver refuses it. An operator never has a terminal, so every run
// is non-interactive.
//
// Plugins are handed secrets in their args and env (kubelogin's --oidc-client-secret) and print
// tokens and keys on stdout: no error message here carries args, env values or stdout.
import { spawn } from "node:child_process";

/** A kubeconfig or credential problem; the message names the fix and never carries a secret. */
export class KubeConfigError extends Error {
  override name = "KubeConfigError";
}

export const EXEC_API_VERSIONS = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"] as const;

const INTERACTIVE_MODES = ["Never", "IfAvailable", "Always"] as const;

/** A user's `exec` stanza, its fields type-checked and `command` resolved against its file's directory. */
export interface ExecConfig {
  /** The kubeconfig user it belongs to, for messages. */
  user: string;
  command: string;
  args: string[];
  env: { name: string; value: string }[];
  apiVersion: string;
  interactiveMode: string | undefined;
  installHint: string | undefined;
  provideClusterInfo: boolean;
}

/** spec.cluster of KUBERNETES_EXEC_INFO (clientauthentication Cluster); empty fields are left out. */
export interface ExecClusterInfo {
  server: string;
  "tls-server-name"?: string;
  "insecure-skip-tls-verify"?: boolean;
  /** Base64 of the CA bundle's PEM, as Go encodes []byte. */
  "certificate-authority-data"?: string;
  /** The cluster's extension named client.authentication.k8s.io/exec. */
  config?: unknown;
}

/** What a plugin handed out. */
export interface ExecCredential {
  token: string | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
  /** Epoch ms; undefined: good until the apiserver refuses it. */
  expiresAt: number | undefined;
}

export interface ExecPluginOptions {
  /** The environment the plugin inherits, before the stanza's own `env`. */
  env: NodeJS.ProcessEnv;
  now: () => number;
  timeoutMs: number;
  /** Read when provideClusterInfo is set, at each run (the CA file may have been rewritten). */
  clusterInfo: () => Promise<ExecClusterInfo>;
}

export const DEFAULT_EXEC_TIMEOUT_MS = 60_000;
/** Refresh this long before expiry, so a request does not leave with a credential about to lapse. */
const REFRESH_EARLY_MS = 10_000;
/** A credential is a few KiB; anything near this is a plugin printing something else. */
const MAX_STDOUT_BYTES = 1024 * 1024;
const STDERR_TAIL_BYTES = 4096;
const STDERR_TAIL_LINES = 10;

export class ExecPlugin {
  private readonly config: ExecConfig;
  private readonly o: ExecPluginOptions;
  private cached: { credential: ExecCredential; freshUntil: number } | undefined;
  /** The run in progress: callers arriving meanwhile share it rather than start another. */
  private running: Promise<ExecCredential> | undefined;

  /** Throws KubeConfigError for a stanza client-go would refuse, or one that needs a terminal. */
  constructor(config: ExecConfig, options: ExecPluginOptions) {
    checkExecConfig(config);
    this.config = config;
    this.o = options;
  }

  /** The cached credential while fresh, else the result of one (shared) run of the plugin. */
  get(): Promise<ExecCredential> {
    const cached = this.cached;
    if (cached && this.o.now() < cached.freshUntil) return Promise.resolve(cached.credential);
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  /**
   * Forgets the cached credential so the next get() runs the plugin. With `used`, only if that is still
   * the cached one: a 401 for a credential already replaced must not throw its successor away.
   */
  invalidate(used?: ExecCredential): void {
    if (used === undefined || used === this.cached?.credential) this.cached = undefined;
  }

  private async run(): Promise<ExecCredential> {
    const { command, args } = this.config;
    const env = await this.environment();
    const outcome = await runPlugin(command, args, env, this.o.timeoutMs);
    const failure = describeFailure(outcome, this.config, this.o.timeoutMs);
    if (failure) throw new KubeConfigError(failure);
    const credential = parseExecCredential(outcome.stdout, this.config);
    // An already expired credential is still handed to the callers of this run, once: freshUntil is
    // then in the past and the next get() runs the plugin again, rather than this run looping.
    this.cached = { credential, freshUntil: freshUntil(credential.expiresAt, this.o.now()) };
    return credential;
  }

  private async environment(): Promise<Record<string, string>> {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.o.env)) if (value !== undefined) env[name] = value;
    for (const { name, value } of this.config.env) env[name] = value;
    const spec = this.config.provideClusterInfo
      ? { cluster: await this.o.clusterInfo(), interactive: false }
      : { interactive: false };
    env.KUBERNETES_EXEC_INFO = JSON.stringify({ apiVersion: this.config.apiVersion, kind: "ExecCredential", spec });
    return env;
  }
}

/** The refusals client-go makes when it builds the authenticator, worded with their fix. */
function checkExecConfig(config: ExecConfig): void {
  const who = `exec plugin of user "${config.user}"`;
  if (config.command === "") throw new KubeConfigError(`${who} has no command: set users[].user.exec.command`);
  if (config.apiVersion === "") {
    throw new KubeConfigError(`${who} has no apiVersion: set it to ${EXEC_API_VERSIONS.join(" or ")}`);
  }
  if (config.apiVersion === "client.authentication.k8s.io/v1alpha1") {
    throw new KubeConfigError(
      `${who} uses apiVersion client.authentication.k8s.io/v1alpha1, which Kubernetes 1.24 removed: ` +
        `set it to ${EXEC_API_VERSIONS.join(" or ")} (updating the plugin if it speaks only v1alpha1)`,
    );
  }
  if (!(EXEC_API_VERSIONS as readonly string[]).includes(config.apiVersion)) {
    throw new KubeConfigError(
      `${who} has apiVersion ${JSON.stringify(config.apiVersion)}: set it to ${EXEC_API_VERSIONS.join(" or ")}`,
    );
  }
  for (const { name } of config.env) {
    if (name === "") throw new KubeConfigError(`${who} has an env entry without a name`);
  }
  const mode = config.interactiveMode;
  if (mode !== undefined && !(INTERACTIVE_MODES as readonly string[]).includes(mode)) {
    throw new KubeConfigError(
      `${who} has interactiveMode ${JSON.stringify(mode)}: use ${INTERACTIVE_MODES.join(", ")}`,
    );
  }
  if (mode === "Always") {
    throw new KubeConfigError(
      `${who} has interactiveMode Always, but the operator has no terminal to prompt on: ` +
        `use a plugin configuration that needs no prompt and set interactiveMode to Never or IfAvailable`,
    );
  }
}

/** When a credential should be fetched again: shortly before it expires, but never before half its life. */
function freshUntil(expiresAt: number | undefined, now: number): number {
  if (expiresAt === undefined) return Infinity;
  const early = Math.min(REFRESH_EARLY_MS, Math.max(0, (expiresAt - now) / 2));
  return expiresAt - early;
}

interface PluginOutcome {
  stdout: Buffer;
  stderrTail: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why the process could not be started (ENOENT: no such command). */
  spawnError: NodeJS.ErrnoException | undefined;
  timedOut: boolean;
  stdoutTooLong: boolean;
}

/** Runs the plugin to its end (or its deadline) with stdin closed; never rejects. */
function runPlugin(
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<PluginOutcome> {
  return new Promise<PluginOutcome>((resolve) => {
    // Its own process group, so a deadline kills a wrapper script's children too: an orphan holding
    // stdout open would otherwise outlive us.
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = Buffer.alloc(0);
    const outcome: PluginOutcome = {
      stdout: Buffer.alloc(0),
      stderrTail: "",
      code: null,
      signal: null,
      spawnError: undefined,
      timedOut: false,
      stdoutTooLong: false,
    };
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      outcome.stdout = Buffer.concat(stdout);
      outcome.stderrTail = lastLines(stderr.toString("utf8"), STDERR_TAIL_LINES);
      resolve(outcome);
    };
    const stop = (): void => {
      killGroup(child.pid, () => child.kill("SIGKILL"));
      // Settle now: a grandchild that escaped the group may hold the pipes open for a long time.
      child.stdout.destroy();
      child.stderr.destroy();
      settle();
    };
    const deadline = setTimeout(() => {
      outcome.timedOut = true;
      stop();
    }, timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > MAX_STDOUT_BYTES) {
        outcome.stdoutTooLong = true;
        stop();
      } else stdout.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = Buffer.concat([stderr, chunk]);
      if (stderr.length > STDERR_TAIL_BYTES) stderr = stderr.subarray(stderr.length - STDERR_TAIL_BYTES);
    });
    child.on("error", (err: NodeJS.ErrnoException) => {
      outcome.spawnError = err;
      settle();
    });
    child.on("close", (code, signal) => {
      outcome.code = code;
      outcome.signal = signal;
      settle();
    });
  });
}

function killGroup(pid: number | undefined, fallback: () => void): void {
  try {
    if (pid === undefined) throw new Error("not started");
    process.kill(-pid, "SIGKILL");
  } catch {
    fallback();
  }
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split("\n").slice(-count).join("\n");
}

/** The message for a run that produced no credential, or undefined when it exited 0. */
function describeFailure(outcome: PluginOutcome, config: ExecConfig, timeoutMs: number): string | undefined {
  const plugin = `exec plugin ${JSON.stringify(config.command)} of user "${config.user}"`;
  const stderr = outcome.stderrTail ? `; its stderr ends:\n${outcome.stderrTail}` : "";
  const err = outcome.spawnError;
  if (err?.code === "ENOENT") {
    const hint = config.installHint ?? "install it, or correct users[].user.exec.command in the kubeconfig";
    return `exec plugin of user "${config.user}": executable ${JSON.stringify(config.command)} not found\n\n${hint}`;
  }
  if (err) return `${plugin} could not be started (${err.code ?? err.message}): check that it exists and is executable`;
  if (outcome.timedOut) return `${plugin} did not finish within ${timeoutMs / 1000} s and was killed${stderr}`;
  if (outcome.stdoutTooLong) return `${plugin} printed more than ${MAX_STDOUT_BYTES} bytes and was killed`;
  if (outcome.signal) return `${plugin} was killed by ${outcome.signal}${stderr}`;
  if (outcome.code !== 0) return `${plugin} exited with code ${outcome.code}${stderr}`;
  return undefined;
}

/** The credential in a plugin's stdout, checked as client-go checks it; messages never quote stdout. */
export function parseExecCredential(stdout: Buffer, config: Pick<ExecConfig, "user" | "apiVersion">): ExecCredential {
  const fail = (what: string): KubeConfigError =>
    new KubeConfigError(`exec plugin of user "${config.user}" ${what}; fix or update the plugin`);
  let doc: unknown;
  try {
    doc = JSON.parse(stdout.toString("utf8"));
  } catch {
    // JSON.parse's own message quotes the input, which may hold a token.
    throw fail("did not print JSON on stdout");
  }
  if (!isRecord(doc) || doc.kind !== "ExecCredential") throw fail("did not print an ExecCredential");
  if (doc.apiVersion !== config.apiVersion) {
    const got = typeof doc.apiVersion === "string" ? doc.apiVersion.slice(0, 100) : "none";
    throw fail(`returned apiVersion ${JSON.stringify(got)}, but the kubeconfig asks for ${config.apiVersion}`);
  }
  const status = doc.status;
  if (!isRecord(status)) throw fail("returned no status");
  const token = optionalString(status.token);
  const cert = optionalString(status.clientCertificateData);
  const key = optionalString(status.clientKeyData);
  const expiration = optionalString(status.expirationTimestamp);
  if (token === null || cert === null || key === null || expiration === null) {
    throw fail("returned a status field that is not a string");
  }
  if (!token && !cert && !key) throw fail("returned neither a token nor a client certificate and key");
  if (!cert !== !key) throw fail("returned a client certificate without its key, or a key without its certificate");
  return {
    token: token || undefined,
    cert: cert ? Buffer.from(cert) : undefined,
    key: key ? Buffer.from(key) : undefined,
    expiresAt: expiration ? parseRfc3339(expiration, fail) : undefined,
  };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function parseRfc3339(text: string, fail: (what: string) => Error): number {
  const ms = RFC3339.test(text) ? Date.parse(text) : NaN;
  if (!Number.isNaN(ms)) return ms;
  throw fail(`returned expirationTimestamp ${JSON.stringify(text.slice(0, 100))}, which is not RFC 3339`);
}

/** The string, undefined when absent, null when something else. */
function optionalString(value: unknown): string | undefined | null {
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
