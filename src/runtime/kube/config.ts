// Where the apiserver is and how to prove who we are: kubeconfig files merged as kubectl merges them,
// or the pod's ServiceAccount (client-go's clientcmd loading rules and rest.InClusterConfig).
//
// Loading reads and checks the kubeconfig at once, so a mistake stops the operator at start with a
// message naming the fix. Files holding credentials are read by credentials(), and read again when
// they change: the kubelet rotates a ServiceAccount token, cert-manager rewrites a client certificate.
// Messages name files, fields and entries, never their secret values.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join, resolve, sep } from "node:path";
import type * as Yaml from "yaml";
import {
  DEFAULT_EXEC_TIMEOUT_MS,
  ExecPlugin,
  KubeConfigError,
  type ExecClusterInfo,
  type ExecConfig,
  type ExecCredential,
} from "./exec-credential.ts";

export { KubeConfigError } from "./exec-credential.ts";

export interface TlsMaterial {
  /** PEM; undefined: the system roots. */
  ca?: Buffer;
  /** Client certificate, PEM. */
  cert?: Buffer;
  /** Client key, PEM. */
  key?: Buffer;
  /** False only for insecure-skip-tls-verify: true. */
  rejectUnauthorized: boolean;
  /** tls-server-name. */
  servername?: string;
}

export interface Credentials {
  /** Headers for every request, e.g. { authorization: "Bearer ..." } or Basic; may be empty (client certs only). */
  headers: Record<string, string>;
  tls: TlsMaterial;
  /**
   * Changes exactly when `tls` changes (a rewritten cert/key/CA file, an exec plugin handing out a new
   * client cert): the caller rebuilds its connection pool then. A SHA-256 of the material, not the material.
   */
  tlsKey: string;
}

export interface ClusterAccess {
  /** e.g. "https://10.0.0.1:6443", no trailing slash. */
  server: string;
  /** Context name ("" in-cluster). */
  context: string;
  /** The context's namespace, or the in-cluster ServiceAccount's namespace; undefined if none. */
  namespace: string | undefined;
  /**
   * Current credentials; the same (frozen) object while nothing changed. Files are looked at again at
   * most every FILE_RECHECK_MS (one stat; a read only if it changed).
   */
  credentials(): Promise<Credentials>;
  /**
   * The apiserver answered 401: forget cached exec credentials and look at token files again, so the
   * next credentials() fetches fresh ones. Given the Credentials the refused request carried, does
   * nothing if those were replaced already (as client-go's exec authenticator does), so that a burst of
   * 401s for one stale token runs the plugin once.
   */
  invalidate(used?: Credentials): void;
}

export interface LoadOptions {
  /** --kubeconfig / KUBECONFIG: one path, or several separated by path.delimiter (":"). */
  kubeconfig?: string;
  context?: string;
  /** Default process.env; exec plugins inherit it. */
  env?: NodeJS.ProcessEnv;
  /** Default os.homedir(). */
  homeDir?: string;
  /** Default /var/run/secrets/kubernetes.io/serviceaccount. */
  serviceAccountDir?: string;
  /** Epoch ms; default Date.now. Paces file re-checks and judges exec credential expiry (tests drive it). */
  now?: () => number;
  /** How long an exec plugin may run before it is killed; default 60 s. */
  execTimeoutMs?: number;
}

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
/**
 * How often a credential file is looked at again. client-go re-reads a token file every minute; the
 * kubelet refreshes a projected token well before it expires, so a second is ample and costs one stat.
 */
export const FILE_RECHECK_MS = 1_000;

/** Throws KubeConfigError, with a message naming the fix, for a configuration client-go would refuse. */
export function loadClusterAccess(opts: LoadOptions = {}): ClusterAccess {
  const env = opts.env ?? process.env;
  const rt: Runtime = {
    env,
    now: opts.now ?? Date.now,
    execTimeoutMs: opts.execTimeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS,
  };
  const source = chooseSource(opts, env);
  if (source.kind === "in-cluster") return inClusterAccess(source, opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR, rt);
  return kubeconfigAccess(mergeKubeconfigs(source.paths.map(readKubeconfig)), opts.context, rt);
}

/** Epoch ms. */
type Clock = () => number;

interface Runtime {
  env: NodeJS.ProcessEnv;
  now: Clock;
  execTimeoutMs: number;
}

type Source = { kind: "files"; paths: string[] } | { kind: "in-cluster"; host: string; port: string };

/** clientcmd's loading rules: --kubeconfig, else KUBECONFIG, else ~/.kube/config, else in-cluster. */
function chooseSource(opts: LoadOptions, env: NodeJS.ProcessEnv): Source {
  const explicit = pathList(opts.kubeconfig);
  const [only] = explicit;
  if (explicit.length === 1 && only !== undefined) {
    if (!existsSync(only)) throw new KubeConfigError(`kubeconfig ${only} does not exist: correct --kubeconfig`);
    return { kind: "files", paths: [only] };
  }
  if (explicit.length > 1) return { kind: "files", paths: existingFiles(explicit, "--kubeconfig") };
  const listed = pathList(env.KUBECONFIG);
  if (listed.length > 0) return { kind: "files", paths: existingFiles(listed, "KUBECONFIG") };
  const home = join(opts.homeDir ?? homedir(), ".kube", "config");
  if (existsSync(home)) return { kind: "files", paths: [home] };
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (host && port) return { kind: "in-cluster", host, port };
  throw new KubeConfigError(
    `no Kubernetes configuration found (${home} does not exist, and KUBERNETES_SERVICE_HOST/PORT are unset, ` +
      `so this is not a pod): pass --kubeconfig PATH, set KUBECONFIG, or run in a pod with a ServiceAccount`,
  );
}

/** Absolute paths, in order, without empty entries or repeats. */
function pathList(value: string | undefined): string[] {
  const paths = (value ?? "").split(delimiter).filter((p) => p !== "");
  return [...new Set(paths.map((p) => resolve(p)))];
}

/** As kubectl does with KUBECONFIG, a listed file that does not exist is skipped; but one must. */
function existingFiles(paths: string[], from: string): string[] {
  const existing = paths.filter((p) => existsSync(p));
  if (existing.length === 0) {
    throw new KubeConfigError(`none of the kubeconfig files in ${from} exists (${paths.join(", ")}): correct ${from}`);
  }
  return existing;
}

/** One entry of clusters, users or contexts, with the file it came from (its relative paths start there). */
interface Named {
  name: string;
  fields: Record<string, unknown>;
  file: string;
}

interface Kubeconfig {
  files: string[];
  clusters: Map<string, Named>;
  users: Map<string, Named>;
  contexts: Map<string, Named>;
  currentContext: string | undefined;
}

function readKubeconfig(path: string): Kubeconfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new KubeConfigError(`cannot read kubeconfig ${path} (${errorCode(err)})`);
  }
  const doc = parseYaml(text, path) ?? {};
  if (!isRecord(doc)) throw new KubeConfigError(`kubeconfig ${path} is not a mapping: is it a kubeconfig file?`);
  return {
    files: [path],
    clusters: namedEntries(doc, "clusters", "cluster", path),
    users: namedEntries(doc, "users", "user", path),
    contexts: namedEntries(doc, "contexts", "context", path),
    currentContext: new Fields(doc, `kubeconfig ${path}`).string("current-context"),
  };
}

/**
 * The yaml package, loaded on first use: it costs ~45 ms and ~14 MB of RSS (measured), and a pod, using
 * its ServiceAccount, never reads a kubeconfig.
 */
function yaml(): typeof Yaml {
  return createRequire(import.meta.url)("yaml") as typeof Yaml;
}

function parseYaml(text: string, path: string): unknown {
  const { parse, YAMLParseError } = yaml();
  try {
    // YAML 1.1 as Go's yaml reads kubeconfigs (yes/no are booleans); warnings would go to the console.
    return parse(text, { version: "1.1", prettyErrors: false, logLevel: "error" });
  } catch (err) {
    // The parser's message may quote the offending line, which may hold a token: only say where it is.
    if (!(err instanceof YAMLParseError)) throw err;
    const line = text.slice(0, err.pos[0]).split("\n").length;
    throw new KubeConfigError(`kubeconfig ${path} is not valid YAML (${err.code} at line ${line}): fix that line`);
  }
}

/** `list` (e.g. clusters) as a map by name; each item holds its fields under `itemKey` (e.g. cluster). */
function namedEntries(doc: Record<string, unknown>, list: string, itemKey: string, file: string): Map<string, Named> {
  const entries = new Map<string, Named>();
  const items = doc[list] ?? [];
  if (!Array.isArray(items)) throw new KubeConfigError(`${list} in kubeconfig ${file} must be a list`);
  for (const item of items as unknown[]) {
    const name = isRecord(item) ? item.name : undefined;
    if (!isRecord(item) || typeof name !== "string" || name === "") {
      throw new KubeConfigError(`an entry of ${list} in kubeconfig ${file} has no name: give every entry a name`);
    }
    // client-go refuses a repeated name within one file; only across files does the first win.
    if (entries.has(name)) throw new KubeConfigError(`kubeconfig ${file} has two ${list} named "${name}": remove one`);
    const fields = item[itemKey] ?? {};
    if (!isRecord(fields)) throw new KubeConfigError(`${itemKey} of "${name}" in kubeconfig ${file} must be a mapping`);
    entries.set(name, { name, fields, file });
  }
  return entries;
}

/** KUBECONFIG's merge: the first file to define a name wins, and the first current-context. */
function mergeKubeconfigs(configs: Kubeconfig[]): Kubeconfig {
  const merged: Kubeconfig = {
    files: [],
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
    currentContext: undefined,
  };
  for (const config of configs) {
    merged.files.push(...config.files);
    addMissing(merged.clusters, config.clusters);
    addMissing(merged.users, config.users);
    addMissing(merged.contexts, config.contexts);
    merged.currentContext ??= config.currentContext;
  }
  return merged;
}

function addMissing<V>(into: Map<string, V>, from: Map<string, V>): void {
  for (const [name, value] of from) if (!into.has(name)) into.set(name, value);
}

function kubeconfigAccess(config: Kubeconfig, requested: string | undefined, rt: Runtime): ClusterAccess {
  const files = config.files.join(", ");
  const contextName = requested || config.currentContext;
  if (!contextName) {
    throw new KubeConfigError(
      `${files} set no current-context: choose one with kubectl config use-context NAME ` +
        `(contexts: ${names(config.contexts)})`,
    );
  }
  const context = config.contexts.get(contextName);
  if (!context) {
    throw new KubeConfigError(`context "${contextName}" not found in ${files} (contexts: ${names(config.contexts)})`);
  }
  const fields = new Fields(context.fields, `context "${contextName}" (${context.file})`);
  const clusterName = fields.string("cluster");
  if (!clusterName) throw new KubeConfigError(`context "${contextName}" names no cluster: set its cluster`);
  const clusterEntry = config.clusters.get(clusterName);
  if (!clusterEntry) {
    throw new KubeConfigError(
      `cluster "${clusterName}" of context "${contextName}" not found in ${files} (clusters: ${names(config.clusters)})`,
    );
  }
  // A context without a user is anonymous (or relies on nothing but the cluster's TLS).
  const userName = fields.string("user");
  const userEntry = userName === undefined ? undefined : config.users.get(userName);
  if (userName !== undefined && !userEntry) {
    throw new KubeConfigError(
      `user "${userName}" of context "${contextName}" not found in ${files} (users: ${names(config.users)})`,
    );
  }
  const cluster = clusterSettings(clusterEntry, rt.now);
  const user = userEntry ? userSettings(userEntry, rt.now) : NO_USER;
  const exec = userEntry ? execPlugin(userEntry, cluster, rt) : undefined;
  return accessTo(cluster, contextName, fields.string("namespace"), new CredentialSource(cluster, user, exec));
}

function names(entries: Map<string, Named>): string {
  return [...entries.keys()].join(", ") || "none";
}

function accessTo(
  cluster: ClusterSettings,
  context: string,
  namespace: string | undefined,
  source: CredentialSource,
): ClusterAccess {
  return {
    server: cluster.server,
    context,
    namespace,
    credentials: () => source.credentials(),
    invalidate: (used) => source.invalidate(used),
  };
}

/** Bytes given inline (…-data) or kept in a file that may be rewritten. */
type Material = { data: Buffer } | { file: WatchedFile };

interface ClusterSettings {
  server: string;
  ca: Material | undefined;
  insecure: boolean;
  servername: string | undefined;
  /** The cluster's client.authentication.k8s.io/exec extension, for plugins given the cluster info. */
  execExtension: unknown;
}

function clusterSettings(entry: Named, now: Clock): ClusterSettings {
  const where = `cluster "${entry.name}" (${entry.file})`;
  const fields = new Fields(entry.fields, where);
  if (fields.string("proxy-url")) {
    throw new KubeConfigError(
      `${where} sets proxy-url, which is not supported: remove proxy-url and give the operator a direct route ` +
        `to the apiserver`,
    );
  }
  const server = fields.string("server");
  if (!server) throw new KubeConfigError(`${where} has no server: set it to the apiserver's URL`);
  const ca = material(fields, entry, now, "certificate-authority-data", "certificate-authority");
  const insecure = fields.boolean("insecure-skip-tls-verify");
  if (insecure && ca) {
    // client-go refuses this too: which of the two was meant cannot be guessed.
    throw new KubeConfigError(`${where} sets both insecure-skip-tls-verify and a certificate authority: remove one`);
  }
  return {
    server: serverUrl(server, where),
    ca,
    insecure,
    servername: fields.string("tls-server-name"),
    execExtension: execExtension(fields),
  };
}

/** The server without trailing "/"; https:// when it names no scheme, as client-go does for a TLS config. */
function serverUrl(server: string, where: string): string {
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `https://${server}`;
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new KubeConfigError(`server of ${where} is not a URL: set it to e.g. https://HOST:6443`);
  }
  if (protocol !== "https:" && protocol !== "http:") {
    throw new KubeConfigError(`server of ${where} is not an http(s) URL: set it to e.g. https://HOST:6443`);
  }
  return url.replace(/\/+$/, "");
}

const EXEC_EXTENSION = "client.authentication.k8s.io/exec";

function execExtension(cluster: Fields): unknown {
  const entry = cluster.list("extensions").find((e) => isRecord(e) && e.name === EXEC_EXTENSION);
  return isRecord(entry) ? entry.extension : undefined;
}

/** `dataKey` (base64) wins over `fileKey`, as in client-go; a relative file is relative to its kubeconfig. */
function material(fields: Fields, entry: Named, now: Clock, dataKey: string, fileKey: string): Material | undefined {
  const data = fields.string(dataKey);
  if (data !== undefined) return { data: base64(data, `${dataKey} of ${fields.where}`) };
  const file = fields.string(fileKey);
  if (file === undefined) return undefined;
  return { file: new WatchedFile(resolve(dirname(entry.file), file), `${fileKey} of ${fields.where}`, now) };
}

function base64(text: string, what: string): Buffer {
  // Buffer.from skips what is not base64, where Go refuses it: PEM pasted into a -data field
  // would otherwise become garbage that fails later with a TLS error naming nothing.
  if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(text)) {
    throw new KubeConfigError(`${what} is not base64: encode the PEM (base64 -w0), or name the file instead`);
  }
  return Buffer.from(text, "base64");
}

function readMaterial(material: Material | undefined): Promise<Buffer | undefined> | Buffer | undefined {
  if (material === undefined) return undefined;
  return "data" in material ? material.data : material.file.read();
}

interface UserSettings {
  cert: Material | undefined;
  key: Material | undefined;
  token: string | undefined;
  /** Read again as it changes; its value wins over `token`, which stands in only while it cannot be read. */
  tokenFile: WatchedFile | undefined;
  basic: { username: string; password: string } | undefined;
  /** Impersonate-* headers (as, as-uid, as-groups). */
  impersonation: Record<string, string>;
}

const NO_USER: UserSettings = {
  cert: undefined,
  key: undefined,
  token: undefined,
  tokenFile: undefined,
  basic: undefined,
  impersonation: {},
};

/** True when the user authenticates without its exec plugin: client-go then never runs the plugin. */
function hasStaticAuth(user: UserSettings): boolean {
  return (
    user.cert !== undefined || user.token !== undefined || user.tokenFile !== undefined || user.basic !== undefined
  );
}

function userSettings(entry: Named, now: Clock): UserSettings {
  const where = `user "${entry.name}" (${entry.file})`;
  const fields = new Fields(entry.fields, where);
  refuseAuthProvider(fields);
  const cert = material(fields, entry, now, "client-certificate-data", "client-certificate");
  const key = material(fields, entry, now, "client-key-data", "client-key");
  if (cert && !key) throw new KubeConfigError(`${where} has a client certificate but no key: set client-key(-data)`);
  if (key && !cert) {
    throw new KubeConfigError(`${where} has a client key but no certificate: set client-certificate(-data)`);
  }
  const token = fields.string("token");
  const tokenPath = fields.string("tokenFile");
  const username = fields.string("username");
  if (username !== undefined && (token !== undefined || tokenPath !== undefined)) {
    throw new KubeConfigError(`${where} sets both a token and a username/password: keep one`);
  }
  const tokenFile = (path: string): WatchedFile =>
    new WatchedFile(resolve(dirname(entry.file), path), `tokenFile of ${where}`, now);
  return {
    cert,
    key,
    token,
    tokenFile: tokenPath === undefined ? undefined : tokenFile(tokenPath),
    basic: username === undefined ? undefined : { username, password: fields.string("password") ?? "" },
    impersonation: impersonation(fields),
  };
}

function refuseAuthProvider(user: Fields): void {
  const provider = user.record("auth-provider");
  if (!provider) return;
  const name = typeof provider.name === "string" ? ` "${provider.name}"` : "";
  throw new KubeConfigError(
    `${user.where} uses auth-provider${name}: legacy auth-provider plugins are not supported; switch to an exec ` +
      `credential plugin (kubelogin for OIDC, gke-gcloud-auth-plugin for GKE, kubelogin for Azure)`,
  );
}

function impersonation(user: Fields): Record<string, string> {
  const headers: Record<string, string> = {};
  const as = user.string("as");
  const uid = user.string("as-uid");
  const groups = user.strings("as-groups");
  if (as !== undefined) headers["impersonate-user"] = as;
  if (uid !== undefined) headers["impersonate-uid"] = uid;
  // Each group is a header of its own, which a header record cannot hold more than once.
  if (groups.length > 1) throw new KubeConfigError(`${user.where} impersonates several as-groups: keep at most one`);
  if (groups[0] !== undefined) headers["impersonate-group"] = groups[0];
  if (Object.keys(user.record("as-user-extra") ?? {}).length > 0) {
    throw new KubeConfigError(`${user.where} sets as-user-extra, which is not supported: remove it`);
  }
  return headers;
}

/** The user's exec plugin, checked even when static credentials make client-go (and us) ignore it. */
function execPlugin(entry: Named, cluster: ClusterSettings, rt: Runtime): ExecPlugin | undefined {
  const where = `user "${entry.name}" (${entry.file})`;
  const exec = new Fields(entry.fields, where).record("exec");
  if (!exec) return undefined;
  const config = execConfig(new Fields(exec, `exec of ${where}`), entry);
  return new ExecPlugin(config, {
    env: rt.env,
    now: rt.now,
    timeoutMs: rt.execTimeoutMs,
    clusterInfo: () => execClusterInfo(cluster),
  });
}

function execConfig(exec: Fields, entry: Named): ExecConfig {
  const command = exec.string("command") ?? "";
  // A bare name is looked up in PATH; one with a separator is a path, relative to its kubeconfig.
  const isRelativePath = command.includes(sep) && !isAbsolute(command);
  const env = exec.list("env").map((item, i) => {
    if (!isRecord(item)) throw new KubeConfigError(`env[${i}] of ${exec.where} must be a mapping`);
    const variable = new Fields(item, `env[${i}] of ${exec.where}`);
    return { name: variable.string("name") ?? "", value: variable.string("value") ?? "" };
  });
  return {
    user: entry.name,
    command: isRelativePath ? resolve(dirname(entry.file), command) : command,
    args: exec.strings("args"),
    env,
    apiVersion: exec.string("apiVersion") ?? "",
    interactiveMode: exec.string("interactiveMode"),
    installHint: exec.string("installHint"),
    provideClusterInfo: exec.boolean("provideClusterInfo"),
  };
}

async function execClusterInfo(cluster: ClusterSettings): Promise<ExecClusterInfo> {
  const info: ExecClusterInfo = { server: cluster.server };
  if (cluster.servername !== undefined) info["tls-server-name"] = cluster.servername;
  if (cluster.insecure) info["insecure-skip-tls-verify"] = true;
  const ca = await readMaterial(cluster.ca);
  if (ca !== undefined) info["certificate-authority-data"] = ca.toString("base64");
  if (cluster.execExtension !== undefined) info.config = cluster.execExtension;
  return info;
}

function inClusterAccess(source: { host: string; port: string }, saDir: string, rt: Runtime): ClusterAccess {
  const tokenPath = join(saDir, "token");
  if (!existsSync(tokenPath)) {
    throw new KubeConfigError(
      `KUBERNETES_SERVICE_HOST is set, but there is no ServiceAccount token at ${tokenPath}: mount one ` +
        `(automountServiceAccountToken: true) or pass --kubeconfig`,
    );
  }
  // As client-go: without ca.crt the system roots are used.
  const caPath = join(saDir, "ca.crt");
  const cluster: ClusterSettings = {
    server: `https://${urlHost(source.host)}:${source.port}`,
    ca: existsSync(caPath) ? { file: new WatchedFile(caPath, "ServiceAccount CA", rt.now) } : undefined,
    insecure: false,
    servername: undefined,
    execExtension: undefined,
  };
  const user: UserSettings = { ...NO_USER, tokenFile: new WatchedFile(tokenPath, "ServiceAccount token", rt.now) };
  return accessTo(cluster, "", serviceAccountNamespace(saDir), new CredentialSource(cluster, user, undefined));
}

/** An IPv6 address in brackets, as net.JoinHostPort writes it. */
function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

function serviceAccountNamespace(saDir: string): string | undefined {
  try {
    return readFileSync(join(saDir, "namespace"), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Builds Credentials from the cluster's and user's material, and again only when some of it changed. */
class CredentialSource {
  private readonly cluster: ClusterSettings;
  private readonly user: UserSettings;
  private readonly exec: ExecPlugin | undefined;
  private last: { inputs: unknown[]; credentials: Credentials } | undefined;
  /** The exec credential each Credentials carries, so that invalidate(used) can tell whether it is current. */
  private readonly execCredentialOf = new WeakMap<Credentials, ExecCredential>();

  constructor(cluster: ClusterSettings, user: UserSettings, exec: ExecPlugin | undefined) {
    this.cluster = cluster;
    this.user = user;
    this.exec = hasStaticAuth(user) ? undefined : exec;
  }

  async credentials(): Promise<Credentials> {
    const { cluster, user } = this;
    const [ca, cert, key, token, exec] = await Promise.all([
      readMaterial(cluster.ca),
      readMaterial(user.cert),
      readMaterial(user.key),
      this.bearerToken(),
      this.exec?.get(),
    ]);
    const inputs = [ca, cert, key, token, exec];
    if (this.last && inputs.every((input, i) => input === this.last?.inputs[i])) return this.last.credentials;
    const credentials = assemble(cluster, user, { ca, cert, key, token, exec });
    if (exec) this.execCredentialOf.set(credentials, exec);
    this.last = { inputs, credentials };
    return credentials;
  }

  invalidate(used?: Credentials): void {
    this.exec?.invalidate(used && this.execCredentialOf.get(used));
    this.user.tokenFile?.recheck();
  }

  private async bearerToken(): Promise<string | undefined> {
    const { token, tokenFile } = this.user;
    if (!tokenFile) return token;
    try {
      return (await tokenFile.read()).toString("utf8").trim();
    } catch (err) {
      // client-go's BearerTokenFile: the inline token stands in while the file cannot be read.
      if (token !== undefined) return token;
      throw err;
    }
  }
}

interface Parts {
  ca: Buffer | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
  token: string | undefined;
  exec: ExecCredential | undefined;
}

function assemble(cluster: ClusterSettings, user: UserSettings, parts: Parts): Credentials {
  const headers: Record<string, string> = { ...user.impersonation };
  const token = parts.token ?? parts.exec?.token;
  if (token) headers.authorization = `Bearer ${token}`;
  else if (user.basic) headers.authorization = basicAuthorization(user.basic);
  const tls: TlsMaterial = { rejectUnauthorized: !cluster.insecure };
  const cert = parts.cert ?? parts.exec?.cert;
  const key = parts.key ?? parts.exec?.key;
  if (parts.ca) tls.ca = parts.ca;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  if (cluster.servername !== undefined) tls.servername = cluster.servername;
  return Object.freeze({ headers: Object.freeze(headers), tls: Object.freeze(tls), tlsKey: tlsKey(tls) });
}

function basicAuthorization({ username, password }: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
}

/** A digest of everything in `tls`: equal material, equal key, whichever file or plugin it came from. */
export function tlsKey(tls: TlsMaterial): string {
  const hash = createHash("sha256");
  for (const part of [tls.ca, tls.cert, tls.key]) {
    // Length-prefixed, so that bytes moving from one part to the next change the digest.
    hash.update(`${part?.length ?? -1}:`);
    if (part) hash.update(part);
  }
  hash.update(JSON.stringify([tls.rejectUnauthorized, tls.servername ?? null]));
  return hash.digest("hex");
}

/**
 * A file looked at again at most every FILE_RECHECK_MS: one stat, and a read only when the stat differs
 * (a rename over it, as the kubelet's atomic writer does, changes the inode). While the file cannot be
 * read, or is empty (a writer truncated it and has not written yet), the last good content is kept.
 */
class WatchedFile {
  readonly path: string;
  private readonly what: string;
  private readonly now: Clock;
  private content: Buffer | undefined;
  private signature = "";
  private checkedAt = -Infinity;
  /** The check in progress, shared by the callers arriving meanwhile. */
  private checking: Promise<Buffer> | undefined;

  constructor(path: string, what: string, now: Clock) {
    this.path = path;
    this.what = what;
    this.now = now;
  }

  read(): Promise<Buffer> | Buffer {
    if (this.content && this.now() - this.checkedAt < FILE_RECHECK_MS) return this.content;
    this.checking ??= this.check().finally(() => (this.checking = undefined));
    return this.checking;
  }

  /** The next read looks at the file, however recently it did. */
  recheck(): void {
    this.checkedAt = -Infinity;
  }

  private async check(): Promise<Buffer> {
    this.checkedAt = this.now();
    let signature: string;
    let bytes: Buffer;
    try {
      const s = await stat(this.path, { bigint: true });
      signature = `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
      if (this.content && signature === this.signature) return this.content;
      bytes = await readFile(this.path);
    } catch (err) {
      return this.lastGood(errorCode(err));
    }
    if (bytes.length === 0) return this.lastGood("it is empty");
    // A rewrite between the stat and the read is caught by the next check: its stat differs again.
    this.content = bytes;
    this.signature = signature;
    return bytes;
  }

  private lastGood(reason: string): Buffer {
    if (this.content) return this.content;
    throw new KubeConfigError(`cannot read ${this.what}: ${this.path} (${reason})`);
  }
}

/** Typed reads of one kubeconfig mapping; a wrong type is an error naming the field and where it is, not its value. */
class Fields {
  readonly where: string;
  private readonly fields: Record<string, unknown>;

  constructor(fields: Record<string, unknown>, where: string) {
    this.fields = fields;
    this.where = where;
  }

  /** The string; undefined when absent or empty (Go does not tell the two apart). */
  string(key: string): string | undefined {
    const value = this.value(key);
    if (value === undefined) return undefined;
    if (typeof value !== "string") throw this.wrongType(key, "a string");
    return value === "" ? undefined : value;
  }

  boolean(key: string): boolean {
    const value = this.value(key) ?? false;
    if (typeof value !== "boolean") throw this.wrongType(key, "true or false");
    return value;
  }

  list(key: string): unknown[] {
    const value = this.value(key) ?? [];
    if (!Array.isArray(value)) throw this.wrongType(key, "a list");
    return value as unknown[];
  }

  strings(key: string): string[] {
    const value = this.list(key);
    if (!value.every((item) => typeof item === "string")) throw this.wrongType(key, "a list of strings");
    return value;
  }

  record(key: string): Record<string, unknown> | undefined {
    const value = this.value(key);
    if (value !== undefined && !isRecord(value)) throw this.wrongType(key, "a mapping");
    return value;
  }

  private value(key: string): unknown {
    return this.fields[key] ?? undefined;
  }

  private wrongType(key: string, what: string): KubeConfigError {
    return new KubeConfigError(`${key} of ${this.where} must be ${what}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" ? "it does not exist" : (code ?? "unreadable");
}
