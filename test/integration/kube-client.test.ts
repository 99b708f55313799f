// The operator's own API client (src/runtime/kube/) on the real apiserver, by every way of logging in
// it offers: client certificate files, a bearer token, a token file rotated under it, an exec
// credential plugin (run again after a 401), the in-cluster ServiceAccount, several kubeconfig files
// with a context picked. Who the apiserver took us for comes from a SelfSubjectReview, and kubectl
// (the reference) says who the same credentials are.
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiMessage, statusCode } from "../../src/runtime/errors.ts";
import { KubeClient } from "../../src/runtime/kube/client.ts";
import { loadClusterAccess, type LoadOptions } from "../../src/runtime/kube/config.ts";
import { createNamespace, deleteNamespace, kubeconfigPath, kubectlOk } from "../support/kube.ts";

interface SelfSubjectReview {
  status?: { userInfo?: { username?: string } };
}

/** Who the apiserver takes this client for. */
async function whoami(client: KubeClient): Promise<string | undefined> {
  const review = await client.request<SelfSubjectReview>({
    method: "POST",
    path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
  });
  return review.status?.userInfo?.username;
}

/** TCP connections of this process to `port`, from /proc. */
function connectionsTo(port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed while we looked
    }
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let n = 0;
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[2] remote address:port, f[3] state (01 = ESTABLISHED), f[9] inode
      if (f.length > 9 && f[2]!.endsWith(`:${hexPort}`) && f[3] === "01" && inodes.has(f[9]!)) n++;
    }
  }
  return n;
}

describe("KubeClient on the real apiserver", () => {
  let ns: string;
  let dir: string;
  let server: URL;
  let caData: string;
  const tokens: Record<string, string> = {};
  /** Nothing in it: the tests name their configuration, never the machine's ~/.kube/config. */
  const base = (): LoadOptions => ({ env: {}, homeDir: join(dir, "home") });
  const client = (opts: LoadOptions) => new KubeClient(loadClusterAccess({ ...base(), ...opts }), 10_000);

  beforeAll(() => {
    ns = createNamespace("kclient");
    dir = mkdtempSync(join(tmpdir(), "kube-client-"));
    mkdirSync(join(dir, "home"));
    for (const sa of ["alpha", "beta"]) {
      kubectlOk(["create", "serviceaccount", sa, "-n", ns]);
      tokens[sa] = kubectlOk(["create", "token", sa, "-n", ns, "--duration=1h"]).trim();
    }
    const view = (path: string): string =>
      kubectlOk(["config", "view", "--minify", "--raw", "--flatten", "-o", `jsonpath={${path}}`]);
    server = new URL(view(".clusters[0].cluster.server"));
    caData = view(".clusters[0].cluster.certificate-authority-data");
  });
  afterAll(() => {
    deleteNamespace(ns);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A kubeconfig file for one user; `user` is the YAML of its `user:` map. */
  function kubeconfigFor(name: string, user: string, context = "c"): string {
    const file = join(dir, name);
    writeFileSync(
      file,
      `apiVersion: v1
kind: Config
clusters: [{name: c-${name}, cluster: {server: "${server.origin}", certificate-authority-data: "${caData}"}}]
users: [{name: u-${name}, user: ${user}}]
contexts: [{name: ${context}, context: {cluster: c-${name}, user: u-${name}, namespace: ${ns}}}]
current-context: ${context}
`,
      { mode: 0o600 },
    );
    return file;
  }

  it("logs in with the client certificate files of the suite's kubeconfig, as kubectl does", async () => {
    const expected = kubectlOk(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]).trim();
    expect(expected).not.toBe("");
    expect(await whoami(client({ kubeconfig: kubeconfigPath() }))).toBe(expected);
  });

  it("keeps one connection for calls one after another", async () => {
    const c = client({ kubeconfig: kubeconfigPath() });
    const port = Number(server.port || 443);
    const before = connectionsTo(port);
    for (let i = 0; i < 30; i++) await c.request({ method: "GET", path: "/api/v1/namespaces/default" });
    expect(connectionsTo(port) - before).toBe(1);
    c.close();
  });

  it("sends a bearer token, and a refusal carries the apiserver's own message", async () => {
    const c = client({ kubeconfig: kubeconfigFor("token", `{token: "${tokens.alpha}"}`) });
    expect(await whoami(c)).toBe(`system:serviceaccount:${ns}:alpha`);
    const err = await c
      .request({ method: "GET", path: "/api/v1/namespaces/kube-system/secrets" })
      .catch((e: unknown) => e);
    expect(statusCode(err)).toBe(403);
    expect(apiMessage(err)).toBe(
      `secrets is forbidden: User "system:serviceaccount:${ns}:alpha" cannot list resource "secrets" in API group "" in the namespace "kube-system"`,
    );
  });

  it("reads a token file again when it is rotated", async () => {
    const tokenFile = join(dir, "token-file");
    writeFileSync(tokenFile, tokens.alpha!);
    const c = client({ kubeconfig: kubeconfigFor("tokenfile", `{tokenFile: "${tokenFile}"}`) });
    expect(await whoami(c)).toBe(`system:serviceaccount:${ns}:alpha`);
    writeFileSync(tokenFile, tokens.beta!);
    // Re-read within a few seconds (as client-go re-reads its BearerTokenFile).
    const deadline = Date.now() + 5_000;
    let now = await whoami(c);
    while (now !== `system:serviceaccount:${ns}:beta` && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      now = await whoami(c);
    }
    expect(now).toBe(`system:serviceaccount:${ns}:beta`);
  });

  it("runs an exec credential plugin, and runs it again when the apiserver answers 401", async () => {
    const count = join(dir, "exec-count");
    const plugin = join(dir, "exec-plugin.sh");
    // The first run hands out a token the apiserver refuses; every later one the real token.
    writeFileSync(
      plugin,
      `#!/bin/sh
n=$(cat "${count}" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "${count}"
token=not-a-token; [ $n -gt 1 ] && token="${tokens.beta}"
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "$token"
`,
    );
    chmodSync(plugin, 0o755);
    const exec = `{exec: {apiVersion: client.authentication.k8s.io/v1, command: "${plugin}", interactiveMode: Never}}`;
    const c = client({ kubeconfig: kubeconfigFor("exec", exec) });
    expect(await whoami(c)).toBe(`system:serviceaccount:${ns}:beta`);
    expect(readFileSync(count, "utf8").trim()).toBe("2");
    // Cached: no third run.
    expect(await whoami(c)).toBe(`system:serviceaccount:${ns}:beta`);
    expect(readFileSync(count, "utf8").trim()).toBe("2");
  });

  it("logs in as the in-cluster ServiceAccount from its mounted token, CA and namespace", async () => {
    const sa = join(dir, "serviceaccount");
    mkdirSync(sa);
    writeFileSync(join(sa, "token"), tokens.alpha!);
    writeFileSync(join(sa, "ca.crt"), Buffer.from(caData, "base64"));
    writeFileSync(join(sa, "namespace"), ns);
    const env = { KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port || "443" };
    const access = loadClusterAccess({ ...base(), env, serviceAccountDir: sa });
    expect(access.namespace).toBe(ns);
    expect(await whoami(new KubeClient(access))).toBe(`system:serviceaccount:${ns}:alpha`);
    // The kubelet rotates the token in place.
    writeFileSync(join(sa, "token"), tokens.beta!);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await whoami(new KubeClient(access))).toBe(`system:serviceaccount:${ns}:beta`);
  });

  it("merges several kubeconfig files and uses the context asked for", async () => {
    const first = kubeconfigFor("merge-a", `{token: "${tokens.alpha}"}`, "ctx-a");
    const second = kubeconfigFor("merge-b", `{token: "${tokens.beta}"}`, "ctx-b");
    const kubeconfig = `${first}:${second}`;
    expect(await whoami(client({ kubeconfig }))).toBe(`system:serviceaccount:${ns}:alpha`);
    expect(await whoami(client({ kubeconfig, context: "ctx-b" }))).toBe(`system:serviceaccount:${ns}:beta`);
    // KUBECONFIG, as the operator's flag reads it from the environment.
    const fromEnv = new KubeClient(loadClusterAccess({ ...base(), env: { KUBECONFIG: `${second}:${first}` } }));
    expect(await whoami(fromEnv)).toBe(`system:serviceaccount:${ns}:beta`);
  });

  it("watches: events as they happen, and abort ends the stream", async () => {
    const c = client({ kubeconfig: kubeconfigPath() });
    const seen: string[] = [];
    let ended: unknown = "not yet";
    const watching = await c.watch<{ metadata?: { name?: string } }>(
      `/api/v1/namespaces/${ns}/configmaps`,
      { resourceVersion: "0" },
      (type, obj) => seen.push(`${type} ${obj.metadata?.name ?? ""}`),
      (err) => (ended = err),
    );
    kubectlOk(["create", "configmap", "watched", "-n", ns]);
    const deadline = Date.now() + 10_000;
    while (!seen.includes("ADDED watched") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(seen).toContain("ADDED watched");
    watching.abort();
    expect(ended).toBeNull();
  });
});
