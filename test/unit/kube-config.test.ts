// loadClusterAccess against real files in a temporary directory and real exec plugins (sh scripts
// that count their runs and keep what they were given): which configuration is chosen, how files are
// merged, what credentials come out, when they are fetched again, and what the errors say.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  FILE_RECHECK_MS,
  KubeConfigError,
  loadClusterAccess,
  type ClusterAccess,
  type LoadOptions,
} from "../../src/runtime/kube/config.ts";

const V1 = "client.authentication.k8s.io/v1";
const V1BETA1 = "client.authentication.k8s.io/v1beta1";
const T0 = Date.parse("2030-01-01T00:00:00Z");
const CA = "-----BEGIN CERTIFICATE-----\nY2E=\n-----END CERTIFICATE-----\n";
const CERT = "-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\na2V5\n-----END PRIVATE KEY-----\n";

let root: string;
/** Counts its runs, keeps KUBERNETES_EXEC_INFO, and prints a token numbered by the run. */
let plugin: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "kube-config-"));
  plugin = script(
    join(root, "bin", "plugin"),
    `echo run >> "$STATE/runs"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$STATE/exec-info"
n=$(wc -l < "$STATE/runs" | tr -d ' ')
if [ -n "$DELAY" ]; then sleep "$DELAY"; fi
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"token-%s%s"%s}}\\n' "$API" "$n" "$SUFFIX" "$EXTRA"`,
  );
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fresh directory for one test. */
const scratch = (): string => mkdtempSync(join(root, "t-"));
const b64 = (text: string): string => Buffer.from(text).toString("base64");

function write(path: string, content: string | object): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, typeof content === "string" ? content : stringify(content));
  return path;
}

function script(path: string, body: string): string {
  write(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

interface Parts {
  clusters?: Record<string, object>;
  users?: Record<string, object>;
  contexts?: Record<string, object>;
  current?: string;
}

function kubeconfig(parts: Parts): object {
  const named = (entries: Record<string, object> | undefined, key: string) =>
    Object.entries(entries ?? {}).map(([name, value]) => ({ name, [key]: value }));
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: named(parts.clusters, "cluster"),
    users: named(parts.users, "user"),
    contexts: named(parts.contexts, "context"),
    "current-context": parts.current,
  };
}

/** A kubeconfig whose current context "ctx" joins cluster "c" and user "u". */
function single(cluster: object, user: object = {}, context: object = {}): object {
  return kubeconfig({
    clusters: { c: { server: "https://api.example:6443", ...cluster } },
    users: { u: user },
    contexts: { ctx: { cluster: "c", user: "u", ...context } },
    current: "ctx",
  });
}

/** loadClusterAccess with nothing taken from the machine running the tests. */
function load(opts: LoadOptions): ClusterAccess {
  return loadClusterAccess({
    env: { PATH: process.env.PATH },
    homeDir: join(root, "no-home"),
    serviceAccountDir: join(root, "no-sa"),
    now: () => T0,
    ...opts,
  });
}

/** Loads the kubeconfig `config`, written to a fresh directory. */
function loadConfig(config: object, opts: LoadOptions = {}): ClusterAccess {
  return load({ kubeconfig: write(join(scratch(), "config"), config), ...opts });
}

function loadError(opts: LoadOptions): KubeConfigError {
  try {
    load(opts);
  } catch (err) {
    expect(err).toBeInstanceOf(KubeConfigError);
    return err as KubeConfigError;
  }
  throw new Error("loaded without an error");
}

async function failure(p: Promise<unknown>): Promise<KubeConfigError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(KubeConfigError);
    return err as KubeConfigError;
  }
  throw new Error("succeeded without an error");
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function manualClock(start = T0): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe("which configuration", () => {
  it("an explicit kubeconfig that does not exist is an error naming it", () => {
    const missing = join(scratch(), "missing");
    expect(loadError({ kubeconfig: missing }).message).toBe(
      `kubeconfig ${missing} does not exist: correct --kubeconfig`,
    );
  });

  it("KUBECONFIG skips a listed file that does not exist", () => {
    const dir = scratch();
    const good = write(join(dir, "good"), single({ server: "https://good.example" }));
    const access = load({ env: { KUBECONFIG: `${join(dir, "missing")}::${good}` } });
    expect(access.server).toBe("https://good.example");
  });

  it("KUBECONFIG listing only missing files is an error naming them", () => {
    const dir = scratch();
    const [a, b] = [join(dir, "a"), join(dir, "b")];
    expect(loadError({ env: { KUBECONFIG: `${a}:${b}` } }).message).toBe(
      `none of the kubeconfig files in KUBECONFIG exists (${a}, ${b}): correct KUBECONFIG`,
    );
  });

  it("--kubeconfig wins over KUBECONFIG", () => {
    const dir = scratch();
    const flag = write(join(dir, "flag"), single({ server: "https://flag.example" }));
    const env = write(join(dir, "env"), single({ server: "https://env.example" }));
    expect(load({ kubeconfig: flag, env: { KUBECONFIG: env } }).server).toBe("https://flag.example");
  });

  it("uses ~/.kube/config when neither is given, even in a pod", () => {
    const home = scratch();
    write(join(home, ".kube", "config"), single({ server: "https://home.example" }));
    const env = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };
    expect(load({ homeDir: home, env }).server).toBe("https://home.example");
  });

  it("with nothing found, the error lists the three ways", () => {
    const home = join(root, "no-home");
    expect(loadError({}).message).toBe(
      `no Kubernetes configuration found (${join(home, ".kube", "config")} does not exist, and ` +
        `KUBERNETES_SERVICE_HOST/PORT are unset, so this is not a pod): pass --kubeconfig PATH, set KUBECONFIG, ` +
        `or run in a pod with a ServiceAccount`,
    );
  });
});

describe("in a pod", () => {
  function serviceAccount(files: Record<string, string>): string {
    const dir = scratch();
    for (const [name, content] of Object.entries(files)) write(join(dir, name), content);
    return dir;
  }

  it.each([
    ["10.96.0.1", "https://10.96.0.1:443"],
    ["fd00::1", "https://[fd00::1]:443"],
  ])("the server of host %s is %s", (host, server) => {
    const dir = serviceAccount({ token: "sa-token\n" });
    const access = load({
      serviceAccountDir: dir,
      env: { KUBERNETES_SERVICE_HOST: host, KUBERNETES_SERVICE_PORT: "443" },
    });
    expect(access.server).toBe(server);
  });

  it("uses the ServiceAccount's CA, token and namespace, with context ''", async () => {
    const dir = serviceAccount({ token: "sa-token\n", "ca.crt": CA, namespace: "team-a\n" });
    const env = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "6443" };
    const access = load({ serviceAccountDir: dir, env });
    expect(access.context).toBe("");
    expect(access.namespace).toBe("team-a");
    const creds = await access.credentials();
    expect(creds.headers).toEqual({ authorization: "Bearer sa-token" });
    expect(creds.tls).toEqual({ ca: Buffer.from(CA), rejectUnauthorized: true });
  });

  it("has no namespace without the namespace file", () => {
    const dir = serviceAccount({ token: "t" });
    const env = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };
    expect(load({ serviceAccountDir: dir, env }).namespace).toBeUndefined();
  });

  it("picks up a rotated token at the next re-check, and keeps the last one while the file is gone", async () => {
    const dir = serviceAccount({ token: "first" });
    const clock = manualClock();
    const env = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };
    const access = load({ serviceAccountDir: dir, env, now: clock.now });
    expect((await access.credentials()).headers.authorization).toBe("Bearer first");
    write(join(dir, "token"), "second-token");
    expect((await access.credentials()).headers.authorization).toBe("Bearer first");
    clock.advance(FILE_RECHECK_MS);
    expect((await access.credentials()).headers.authorization).toBe("Bearer second-token");
    rmSync(join(dir, "token"));
    clock.advance(FILE_RECHECK_MS);
    expect((await access.credentials()).headers.authorization).toBe("Bearer second-token");
    write(join(dir, "token"), "third");
    clock.advance(FILE_RECHECK_MS);
    expect((await access.credentials()).headers.authorization).toBe("Bearer third");
  });

  it("invalidate() makes the next call look at the token file at once", async () => {
    const dir = serviceAccount({ token: "first" });
    const env = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };
    const access = load({ serviceAccountDir: dir, env });
    await access.credentials();
    write(join(dir, "token"), "second-token");
    access.invalidate();
    expect((await access.credentials()).headers.authorization).toBe("Bearer second-token");
  });

  it("without a token file is an error saying how to get one", () => {
    const dir = serviceAccount({});
    const env = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };
    expect(loadError({ serviceAccountDir: dir, env }).message).toBe(
      `KUBERNETES_SERVICE_HOST is set, but there is no ServiceAccount token at ${join(dir, "token")}: mount one ` +
        `(automountServiceAccountToken: true) or pass --kubeconfig`,
    );
  });
});

describe("merging several files", () => {
  it("takes each name from the first file defining it, and the first current-context", async () => {
    const dir = scratch();
    const a = write(
      join(dir, "a"),
      kubeconfig({
        clusters: { shared: { server: "https://a.example" } },
        contexts: { ctx: { cluster: "shared", user: "from-b", namespace: "ns-a" } },
      }),
    );
    const b = write(
      join(dir, "b"),
      kubeconfig({
        clusters: { shared: { server: "https://b.example" } },
        users: { "from-b": { token: "token-b" } },
        contexts: { ctx: { cluster: "shared", user: "from-b", namespace: "ns-b" }, other: { cluster: "shared" } },
        current: "ctx",
      }),
    );
    const c = write(join(dir, "c"), kubeconfig({ current: "other" }));
    const access = load({ env: { KUBECONFIG: [a, b, c].join(":") } });
    expect(access.context).toBe("ctx");
    expect(access.server).toBe("https://a.example");
    expect(access.namespace).toBe("ns-a");
    expect((await access.credentials()).headers).toEqual({ authorization: "Bearer token-b" });
  });

  it("resolves relative paths against the directory of the file that holds them", async () => {
    const dir = scratch();
    write(join(dir, "a", "ca.crt"), CA);
    write(join(dir, "b", "certs", "client.crt"), CERT);
    write(join(dir, "b", "certs", "client.key"), KEY);
    write(join(dir, "b", "token"), "file-token");
    script(join(dir, "b", "bin", "plugin"), `exec "${plugin}"`);
    const a = write(
      join(dir, "a", "config"),
      kubeconfig({
        clusters: { c: { server: "https://a.example", "certificate-authority": "ca.crt" } },
        contexts: { certs: { cluster: "c", user: "certs" }, exec: { cluster: "c", user: "exec" } },
        current: "certs",
      }),
    );
    const state = scratch();
    const b = write(
      join(dir, "b", "config"),
      kubeconfig({
        users: {
          certs: { "client-certificate": "certs/client.crt", "client-key": "certs/client.key", tokenFile: "token" },
          exec: {
            exec: {
              apiVersion: V1,
              command: "./bin/plugin",
              env: [
                { name: "STATE", value: state },
                { name: "API", value: V1 },
              ],
            },
          },
        },
      }),
    );
    const certs = await load({ kubeconfig: `${a}:${b}` }).credentials();
    expect(certs.tls).toEqual({
      ca: Buffer.from(CA),
      cert: Buffer.from(CERT),
      key: Buffer.from(KEY),
      rejectUnauthorized: true,
    });
    expect(certs.headers).toEqual({ authorization: "Bearer file-token" });
    const exec = await load({ kubeconfig: `${a}:${b}`, context: "exec" }).credentials();
    expect(exec.headers).toEqual({ authorization: "Bearer token-1" });
  });
});

describe("choosing the context", () => {
  const config = kubeconfig({
    clusters: { one: { server: "https://one.example" }, two: { server: "https://two.example" } },
    contexts: { first: { cluster: "one" }, second: { cluster: "two", namespace: "ns-2" }, broken: { cluster: "nope" } },
    current: "first",
  });

  it("uses current-context by default", () => {
    const access = loadConfig(config);
    expect([access.context, access.server, access.namespace]).toEqual(["first", "https://one.example", undefined]);
  });

  it("uses the context asked for", () => {
    const access = loadConfig(config, { context: "second" });
    expect([access.context, access.server, access.namespace]).toEqual(["second", "https://two.example", "ns-2"]);
  });

  it("an unknown context is an error naming it and the contexts there", () => {
    const path = write(join(scratch(), "config"), config);
    expect(loadError({ kubeconfig: path, context: "third" }).message).toBe(
      `context "third" not found in ${path} (contexts: first, second, broken)`,
    );
  });

  it("an unknown cluster is an error naming it and the clusters there", () => {
    const path = write(join(scratch(), "config"), config);
    expect(loadError({ kubeconfig: path, context: "broken" }).message).toBe(
      `cluster "nope" of context "broken" not found in ${path} (clusters: one, two)`,
    );
  });

  it("an unknown user is an error naming it", () => {
    const path = write(join(scratch(), "config"), single({}, {}, { user: "ghost" }));
    expect(loadError({ kubeconfig: path }).message).toBe(
      `user "ghost" of context "ctx" not found in ${path} (users: u)`,
    );
  });

  it("no current-context and none asked for is an error listing the contexts", () => {
    const path = write(join(scratch(), "config"), { ...config, "current-context": "" });
    expect(loadError({ kubeconfig: path }).message).toBe(
      `${path} set no current-context: choose one with kubectl config use-context NAME (contexts: first, second, broken)`,
    );
  });
});

describe("the cluster", () => {
  it("strips the server's trailing slash and passes tls-server-name and the CA data", async () => {
    const access = loadConfig(
      single({
        server: "https://api.example:6443/",
        "tls-server-name": "kubernetes",
        "certificate-authority-data": b64(CA),
      }),
    );
    expect(access.server).toBe("https://api.example:6443");
    expect((await access.credentials()).tls).toEqual({
      ca: Buffer.from(CA),
      rejectUnauthorized: true,
      servername: "kubernetes",
    });
  });

  it("insecure-skip-tls-verify turns verification off", async () => {
    const access = loadConfig(single({ "insecure-skip-tls-verify": true }));
    expect((await access.credentials()).tls).toEqual({ rejectUnauthorized: false });
  });

  it("proxy-url is refused with what to do instead", () => {
    const path = write(join(scratch(), "config"), single({ "proxy-url": "http://proxy:3128" }));
    expect(loadError({ kubeconfig: path }).message).toBe(
      `cluster "c" (${path}) sets proxy-url, which is not supported: remove proxy-url and give the operator ` +
        `a direct route to the apiserver`,
    );
  });

  it("a CA file that cannot be read is an error naming it", async () => {
    const dir = scratch();
    const access = load({ kubeconfig: write(join(dir, "config"), single({ "certificate-authority": "ca.crt" })) });
    expect((await failure(access.credentials())).message).toBe(
      `cannot read certificate-authority of cluster "c" (${join(dir, "config")}): ${join(dir, "ca.crt")} ` +
        `(it does not exist)`,
    );
  });
});

describe("the user", () => {
  it("a token becomes a bearer header", async () => {
    const creds = await loadConfig(single({}, { token: "abc" })).credentials();
    expect(creds.headers).toEqual({ authorization: "Bearer abc" });
  });

  it("tokenFile wins over token", async () => {
    const dir = scratch();
    write(join(dir, "token"), "from-file\n");
    const access = load({
      kubeconfig: write(join(dir, "config"), single({}, { token: "inline", tokenFile: "token" })),
    });
    expect((await access.credentials()).headers).toEqual({ authorization: "Bearer from-file" });
  });

  it("token stands in while tokenFile cannot be read", async () => {
    const dir = scratch();
    const access = load({
      kubeconfig: write(join(dir, "config"), single({}, { token: "inline", tokenFile: "token" })),
    });
    expect((await access.credentials()).headers).toEqual({ authorization: "Bearer inline" });
  });

  it("username and password become a Basic header", async () => {
    const creds = await loadConfig(single({}, { username: "admin", password: "pa:ss" })).credentials();
    expect(creds.headers).toEqual({ authorization: `Basic ${b64("admin:pa:ss")}` });
  });

  it("a user with nothing sends no headers", async () => {
    const creds = await loadConfig(single({})).credentials();
    expect(creds.headers).toEqual({});
    expect(creds.tls).toEqual({ rejectUnauthorized: true });
  });

  it("as and as-groups become impersonation headers", async () => {
    const creds = await loadConfig(single({}, { token: "t", as: "jane", "as-groups": ["devs"] })).credentials();
    expect(creds.headers).toEqual({
      authorization: "Bearer t",
      "impersonate-user": "jane",
      "impersonate-group": "devs",
    });
  });

  it("takes the client certificate from data", async () => {
    const user = { "client-certificate-data": b64(CERT), "client-key-data": b64(KEY) };
    const creds = await loadConfig(single({}, user)).credentials();
    expect(creds.tls).toEqual({ cert: Buffer.from(CERT), key: Buffer.from(KEY), rejectUnauthorized: true });
    expect(creds.headers).toEqual({});
  });

  it("takes the client certificate from files, data winning over a file", async () => {
    const dir = scratch();
    write(join(dir, "client.crt"), "file cert");
    write(join(dir, "client.key"), KEY);
    const user = {
      "client-certificate": "client.crt",
      "client-certificate-data": b64(CERT),
      "client-key": "client.key",
    };
    const creds = await load({ kubeconfig: write(join(dir, "config"), single({}, user)) }).credentials();
    expect(creds.tls).toEqual({ cert: Buffer.from(CERT), key: Buffer.from(KEY), rejectUnauthorized: true });
  });

  it.each([
    {
      half: "certificate",
      user: { "client-certificate-data": b64(CERT) },
      message: "has a client certificate but no key: set client-key(-data)",
    },
    {
      half: "key",
      user: { "client-key": "client.key" },
      message: "has a client key but no certificate: set client-certificate(-data)",
    },
  ])("a client $half without its pair is an error", ({ user, message }) => {
    const path = write(join(scratch(), "config"), single({}, user));
    expect(loadError({ kubeconfig: path }).message).toBe(`user "u" (${path}) ${message}`);
  });

  it("a legacy auth-provider is refused, pointing at exec plugins", () => {
    const path = write(join(scratch(), "config"), single({}, { "auth-provider": { name: "oidc", config: {} } }));
    expect(loadError({ kubeconfig: path }).message).toBe(
      `user "u" (${path}) uses auth-provider "oidc": legacy auth-provider plugins are not supported; switch to an ` +
        `exec credential plugin (kubelogin for OIDC, gke-gcloud-auth-plugin for GKE, kubelogin for Azure)`,
    );
  });

  it("a token together with a username is refused", () => {
    const path = write(join(scratch(), "config"), single({}, { token: "t", username: "admin" }));
    expect(loadError({ kubeconfig: path }).message).toBe(
      `user "u" (${path}) sets both a token and a username/password: keep one`,
    );
  });
});

describe("tlsKey", () => {
  it("stays equal while the TLS material does, and changes when the certificate file is rewritten", async () => {
    const dir = scratch();
    write(join(dir, "client.crt"), CERT);
    write(join(dir, "client.key"), KEY);
    write(join(dir, "token"), "one");
    const clock = manualClock();
    const user = { "client-certificate": "client.crt", "client-key": "client.key", tokenFile: "token" };
    const access = load({ kubeconfig: write(join(dir, "config"), single({}, user)), now: clock.now });
    const first = await access.credentials();
    expect(first.tlsKey).toMatch(/^[0-9a-f]{64}$/);
    expect(await access.credentials()).toBe(first);
    write(join(dir, "token"), "two!");
    clock.advance(FILE_RECHECK_MS);
    const rotatedToken = await access.credentials();
    expect(rotatedToken.headers.authorization).toBe("Bearer two!");
    expect(rotatedToken.tlsKey).toBe(first.tlsKey);
    write(join(dir, "client.crt"), `${CERT}\n`);
    clock.advance(FILE_RECHECK_MS);
    const rotatedCert = await access.credentials();
    expect(rotatedCert.tls.cert).toEqual(Buffer.from(`${CERT}\n`));
    expect(rotatedCert.tlsKey).not.toBe(first.tlsKey);
  });

  it("is the same for the same material, wherever it came from", async () => {
    const dir = scratch();
    write(join(dir, "client.crt"), CERT);
    write(join(dir, "client.key"), KEY);
    const fromFiles = { "client-certificate": "client.crt", "client-key": "client.key" };
    const fromData = { "client-certificate-data": b64(CERT), "client-key-data": b64(KEY) };
    const a = await load({ kubeconfig: write(join(dir, "a"), single({}, fromFiles)) }).credentials();
    const b = await load({ kubeconfig: write(join(dir, "b"), single({}, fromData)) }).credentials();
    const insecure = await load({
      kubeconfig: write(join(dir, "c"), single({ "insecure-skip-tls-verify": true }, fromData)),
    }).credentials();
    expect(a.tlsKey).toBe(b.tlsKey);
    expect(insecure.tlsKey).not.toBe(a.tlsKey);
  });
});

describe("exec plugins", () => {
  interface PluginSetup {
    api?: string;
    /** More JSON members of status, each starting with ",". */
    extra?: string;
    delay?: string;
    exec?: Record<string, unknown>;
    cluster?: object;
    opts?: LoadOptions;
  }

  /** An access whose user runs the counting plugin; `state` holds its runs and what it was given. */
  function withPlugin(setup: PluginSetup = {}): { access: ClusterAccess; state: string; runs: () => number } {
    const state = scratch();
    const api = setup.api ?? V1;
    const env = [
      { name: "STATE", value: state },
      { name: "API", value: api },
      { name: "EXTRA", value: setup.extra ?? "" },
      { name: "DELAY", value: setup.delay ?? "" },
    ];
    const exec = { apiVersion: api, command: plugin, env, interactiveMode: "Never", ...setup.exec };
    const access = load({
      kubeconfig: write(join(state, "config"), single(setup.cluster ?? {}, { exec })),
      ...setup.opts,
    });
    const runs = (): number => {
      try {
        return readFileSync(join(state, "runs"), "utf8").split("\n").length - 1;
      } catch {
        return 0;
      }
    };
    return { access, state, runs };
  }

  const execInfo = (state: string): unknown => JSON.parse(readFileSync(join(state, "exec-info"), "utf8"));
  const at = (ms: number): string => `,"expirationTimestamp":"${new Date(ms).toISOString()}"`;

  it.each([V1, V1BETA1])("hands out the token of a %s plugin, saying it is not interactive", async (api) => {
    const { access, state } = withPlugin({ api });
    expect((await access.credentials()).headers).toEqual({ authorization: "Bearer token-1" });
    expect(execInfo(state)).toEqual({ apiVersion: api, kind: "ExecCredential", spec: { interactive: false } });
  });

  it("passes the cluster in KUBERNETES_EXEC_INFO when provideClusterInfo is set", async () => {
    const cluster = {
      "certificate-authority-data": b64(CA),
      "tls-server-name": "kubernetes",
      extensions: [{ name: "client.authentication.k8s.io/exec", extension: { audience: "x" } }],
    };
    const { access, state } = withPlugin({ cluster, exec: { provideClusterInfo: true } });
    await access.credentials();
    expect(execInfo(state)).toEqual({
      apiVersion: V1,
      kind: "ExecCredential",
      spec: {
        interactive: false,
        cluster: {
          server: "https://api.example:6443",
          "tls-server-name": "kubernetes",
          "certificate-authority-data": b64(CA),
          config: { audience: "x" },
        },
      },
    });
  });

  it("a client certificate from the plugin goes into tls", async () => {
    const extra = `,"clientCertificateData":${JSON.stringify(CERT)},"clientKeyData":${JSON.stringify(KEY)}`;
    const { access } = withPlugin({ extra, cluster: { "certificate-authority-data": b64(CA) } });
    const creds = await access.credentials();
    expect(creds.tls).toEqual({
      ca: Buffer.from(CA),
      cert: Buffer.from(CERT),
      key: Buffer.from(KEY),
      rejectUnauthorized: true,
    });
    expect(creds.headers).toEqual({ authorization: "Bearer token-1" });
  });

  it("keeps a credential until shortly before it expires", async () => {
    const clock = manualClock();
    const { access, runs } = withPlugin({ extra: at(T0 + 60_000), opts: { now: clock.now } });
    expect((await access.credentials()).headers.authorization).toBe("Bearer token-1");
    clock.advance(49_000);
    expect((await access.credentials()).headers.authorization).toBe("Bearer token-1");
    expect(runs()).toBe(1);
    clock.advance(1_000);
    expect((await access.credentials()).headers.authorization).toBe("Bearer token-2");
    expect(runs()).toBe(2);
  });

  it("uses an already expired credential once, and runs the plugin again on the next call", async () => {
    const { access, runs } = withPlugin({ extra: at(T0 - 1_000) });
    expect((await access.credentials()).headers.authorization).toBe("Bearer token-1");
    expect((await access.credentials()).headers.authorization).toBe("Bearer token-2");
    expect(runs()).toBe(2);
  });

  it("keeps a credential without expiry until invalidate()", async () => {
    const { access, runs } = withPlugin();
    const first = await access.credentials();
    expect(await access.credentials()).toBe(first);
    expect(runs()).toBe(1);
    access.invalidate();
    expect((await access.credentials()).headers.authorization).toBe("Bearer token-2");
    expect(runs()).toBe(2);
  });

  it("invalidate(used) with credentials already replaced keeps the current ones", async () => {
    const { access, runs } = withPlugin();
    const stale = await access.credentials();
    access.invalidate(stale);
    const current = await access.credentials();
    access.invalidate(stale);
    expect(await access.credentials()).toBe(current);
    expect(runs()).toBe(2);
  });

  it("concurrent calls share one run", async () => {
    const { access, runs } = withPlugin({ delay: "0.2" });
    const all = await Promise.all(Array.from({ length: 5 }, () => access.credentials()));
    expect(all.map((c) => c.headers.authorization)).toEqual(Array(5).fill("Bearer token-1"));
    expect(runs()).toBe(1);
  });

  it("passes the env entries on top of the inherited environment", async () => {
    const dir = scratch();
    const print = script(
      join(dir, "print"),
      `printf '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"token":"%s-%s"}}' "$INHERITED" "$OWN"`,
    );
    const exec = { apiVersion: V1, command: print, env: [{ name: "OWN", value: "own" }] };
    const access = load({
      kubeconfig: write(join(dir, "config"), single({}, { exec })),
      env: { PATH: process.env.PATH, INHERITED: "inherited", OWN: "overridden" },
    });
    expect((await access.credentials()).headers.authorization).toBe("Bearer inherited-own");
  });

  it("is not run when the user has a token of its own", async () => {
    const state = scratch();
    const exec = { apiVersion: V1, command: plugin, env: [{ name: "STATE", value: state }] };
    const access = loadConfig(single({}, { token: "static", exec }));
    expect((await access.credentials()).headers.authorization).toBe("Bearer static");
    expect(() => readFileSync(join(state, "runs"))).toThrow();
  });

  it("a non-zero exit is an error with the command, the code and the end of stderr", async () => {
    const dir = scratch();
    const failing = script(join(dir, "failing"), `for i in $(seq 1 12); do echo "line $i" >&2; done; exit 3`);
    const access = loadConfig(single({}, { exec: { apiVersion: V1, command: failing } }));
    const lines = Array.from({ length: 10 }, (_, i) => `line ${i + 3}`).join("\n");
    expect((await failure(access.credentials())).message).toBe(
      `exec plugin "${failing}" of user "u" exited with code 3; its stderr ends:\n${lines}`,
    );
  });

  it("a command that is not found is an error with the installHint", async () => {
    const exec = { apiVersion: V1, command: "no-such-credential-plugin", installHint: "brew install it" };
    const access = loadConfig(single({}, { exec }));
    expect((await failure(access.credentials())).message).toBe(
      `exec plugin of user "u": executable "no-such-credential-plugin" not found\n\nbrew install it`,
    );
  });

  it("a plugin that runs past the deadline is killed, with its children", async () => {
    const dir = scratch();
    const slow = script(join(dir, "slow"), `sleep 30 & echo $! > "${dir}/child"; wait`);
    const access = loadConfig(single({}, { exec: { apiVersion: V1, command: slow } }), { execTimeoutMs: 200 });
    const started = Date.now();
    expect((await failure(access.credentials())).message).toBe(
      `exec plugin "${slow}" of user "u" did not finish within 0.2 s and was killed`,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    const child = Number(readFileSync(join(dir, "child"), "utf8"));
    await expect.poll(() => isAlive(child), { timeout: 2_000 }).toBe(false);
  });

  it("output of another apiVersion is refused", async () => {
    const { access } = withPlugin({ exec: { apiVersion: V1BETA1 } });
    expect((await failure(access.credentials())).message).toBe(
      `exec plugin of user "u" returned apiVersion "${V1}", but the kubeconfig asks for ${V1BETA1}; fix or update ` +
        `the plugin`,
    );
  });

  it.each([
    [
      "Always",
      `has interactiveMode Always, but the operator has no terminal to prompt on: use a plugin configuration that needs no prompt and set interactiveMode to Never or IfAvailable`,
    ],
    ["Sometimes", `has interactiveMode "Sometimes": use Never, IfAvailable, Always`],
  ])("interactiveMode %s is refused", (interactiveMode, message) => {
    const path = write(
      join(scratch(), "config"),
      single({}, { exec: { apiVersion: V1, command: plugin, interactiveMode } }),
    );
    expect(loadError({ kubeconfig: path }).message).toBe(`exec plugin of user "u" ${message}`);
  });

  it("v1alpha1 is refused with the versions to use", () => {
    const exec = { apiVersion: "client.authentication.k8s.io/v1alpha1", command: plugin };
    const path = write(join(scratch(), "config"), single({}, { exec }));
    expect(loadError({ kubeconfig: path }).message).toBe(
      `exec plugin of user "u" uses apiVersion client.authentication.k8s.io/v1alpha1, which Kubernetes 1.24 ` +
        `removed: set it to ${V1} or ${V1BETA1} (updating the plugin if it speaks only v1alpha1)`,
    );
  });
});

describe("secrets stay out of error messages", () => {
  const SECRETS = ["s3cret-token", "s3cret-password", "s3cret-arg", "s3cret-env", "s3cret-key", "s3cret-config"];

  it("no message names a secret value", async () => {
    const dir = scratch();
    const printsToken = script(join(dir, "prints-token"), `echo 'not json s3cret-token'`);
    const failsQuietly = script(join(dir, "fails"), `exit 1`);
    const user = { token: "s3cret-token", password: "s3cret-password" };
    const exec = (command: string) => ({
      apiVersion: V1,
      command,
      args: ["--client-secret=s3cret-arg"],
      env: [{ name: "SECRET", value: "s3cret-env" }],
    });
    const configs: object[] = [
      single({}, { ...user, username: "admin" }),
      single({}, { "client-key-data": b64("s3cret-key") }),
      single({}, { "client-certificate-data": "s3cret-key not base64!", "client-key-data": b64("k") }),
      single({}, { ...user, "auth-provider": { name: "oidc", config: { "client-secret": "s3cret-config" } } }),
      single({ "proxy-url": "http://s3cret-password@proxy" }, user),
      single({}, { exec: { ...exec(plugin), apiVersion: "client.authentication.k8s.io/v1alpha1" } }),
      single({}, { token: 42 }),
      { ...single({}, user), contexts: [{ name: "ctx", context: { cluster: "c", user: "u" } }, { name: "ctx" }] },
    ];
    const messages = configs.map(
      (config) => loadError({ kubeconfig: write(join(scratch(), "config"), config) }).message,
    );
    messages.push(
      loadError({ kubeconfig: write(join(dir, "bad-yaml"), "users:\n- token: s3cret-token: x\n") }).message,
    );
    for (const command of [printsToken, failsQuietly, "no-such-plugin"]) {
      const access = load({ kubeconfig: write(join(scratch(), "config"), single({}, { exec: exec(command) })) });
      messages.push((await failure(access.credentials())).message);
    }
    // Each failed for the reason meant, not for another one before it.
    const reasons = [
      "sets both a token and a username/password",
      "has a client key but no certificate",
      "is not base64",
      'uses auth-provider "oidc"',
      "sets proxy-url",
      "uses apiVersion client.authentication.k8s.io/v1alpha1",
      "token of user",
      'two contexts named "ctx"',
      "is not valid YAML (BLOCK_AS_IMPLICIT_KEY at line 2)",
      "did not print JSON on stdout",
      "exited with code 1",
      'executable "no-such-plugin" not found',
    ];
    expect(messages.map((message, i) => message.includes(reasons[i] ?? "?"))).toEqual(reasons.map(() => true));
    for (const message of messages) for (const secret of SECRETS) expect(message).not.toContain(secret);
  });
});
