// How long kubectl-dbg takes from its process start to its first kubectl call, against Node.js starting
// a script that spawns kubectl at once (the floor), and to its first API request (issue 13's figure):
// the real kubectl, with a kubeconfig naming an HTTP server here that notes when a request arrives.
// Needs no cluster: for the first figures kubectl is a shell script that notes the time it started.
// Builds the plugin as `make plugin` does, into a temp dir.
//   node bench/plugin-startup.ts        (BENCH_RUNS=20; make bench runs it as BENCH=plugin-startup)
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:http";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { build } from "../hack/build-plugin.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const dir = mkdtempSync(join(tmpdir(), "dbg-startup-"));
const stamps = join(dir, "stamps");
const kubectl = join(dir, "kubectl");
// date's own start is part of every figure below, the floor's included.
writeFileSync(kubectl, `#!/bin/sh\ndate +%s%N >> '${stamps}'\n`);
chmodSync(kubectl, 0o755);
const floor = join(dir, "floor.mjs");
writeFileSync(
  floor,
  `import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:http";\nspawn(${JSON.stringify(kubectl)}, [], { stdio: "ignore" });\n`,
);
const plugin = build(join(dir, "bin"));
// The shebang finds this Node first, as a user's PATH would find theirs.
const env = { ...process.env, KUBECTL: kubectl, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}` };

/** Milliseconds from spawning `argv` to the fake kubectl's first stamp. */
function once(argv: string[]): Promise<number> {
  writeFileSync(stamps, "");
  const started = performance.timeOrigin + performance.now();
  const child = spawn(argv[0] ?? "", argv.slice(1), { env, stdio: "ignore" });
  return new Promise((resolve, reject) =>
    child.on("close", () => {
      const first = readFileSync(stamps, "utf8").split("\n")[0] ?? "";
      if (!first) reject(new Error(`${argv.join(" ")} never ran kubectl`));
      resolve(Number(BigInt(first) / 1000n) / 1000 - started);
    }),
  );
}

// The apiserver stand-in: it notes the first request of each run and refuses it, so kubectl gives up.
let firstRequest: number | undefined;
const server = createServer((req, res) => {
  firstRequest ??= performance.timeOrigin + performance.now();
  req.resume();
  res.writeHead(503, { "content-type": "text/plain" }).end("bench\n");
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const address = server.address();
const port = typeof address === "object" && address ? address.port : 0;
const kubeconfig = join(dir, "kubeconfig");
writeFileSync(
  kubeconfig,
  JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "bench", cluster: { server: `http://127.0.0.1:${port}` } }],
    users: [{ name: "bench", user: {} }],
    contexts: [{ name: "bench", context: { cluster: "bench", user: "bench", namespace: "default" } }],
    "current-context": "bench",
  }),
);
const realKubectl = execFileSync("sh", ["-c", "command -v kubectl"], { encoding: "utf8" }).trim();
const requestEnv = { ...env, KUBECTL: realKubectl, KUBECONFIG: kubeconfig, HOME: dir };

/** Milliseconds from spawning `argv` (with the real kubectl) to the first API request. */
function toRequest(argv: string[]): Promise<number> {
  firstRequest = undefined;
  const started = performance.timeOrigin + performance.now();
  const child = spawn(argv[0] ?? "", argv.slice(1), { env: requestEnv, stdio: "ignore" });
  return new Promise((resolve, reject) =>
    child.on("close", () => {
      if (firstRequest === undefined) reject(new Error(`${argv.join(" ")} made no API request`));
      else resolve(firstRequest - started);
    }),
  );
}

/** Milliseconds from spawning `argv` to its exit. */
function toExit(argv: string[]): Promise<number> {
  const started = performance.now();
  const child = spawn(argv[0] ?? "", argv.slice(1), { env, stdio: "ignore" });
  return new Promise((resolve) => child.on("close", () => resolve(performance.now() - started)));
}

const FIRST_REQUEST = "kubectl-dbg deployment/web ... (to its first request)";
const cases: [string, () => Promise<number>][] = [
  ["node -e 0 (start to exit)", () => toExit([process.execPath, "-e", "0"])],
  ["node floor.mjs (start to first spawn)", () => once([process.execPath, floor])],
  ["kubectl-dbg list", () => once([plugin, "list"])],
  ["kubectl-dbg POD --dry-run=client -o yaml", () => once([plugin, "web-1", "--dry-run=client", "-o", "yaml"])],
  ["kubectl-dbg deployment/web -c app --ttl 1h", () => once([plugin, "deployment/web", "-c", "app", "--ttl", "1h"])],
  ["kubectl get --raw /version (to its request)", () => toRequest([realKubectl, "get", "--raw", "/version"])],
  [FIRST_REQUEST, () => toRequest([plugin, "deployment/web", "-c", "app", "--ttl", "1h", "--attach=false"])],
];
const samples = new Map<string, number[]>(cases.map(([name]) => [name, []]));
for (let i = 0; i < RUNS; i++) {
  // Interleaved, so a busy moment of the machine falls on every case alike.
  for (const [name, measure] of cases) samples.get(name)?.push(await measure());
}
const quantile = (xs: number[], q: number): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))] ?? NaN;
process.stdout.write(
  `${RUNS} runs each, ${process.version}, load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}\n`,
);
for (const [name, xs] of samples) {
  process.stdout.write(
    `${name.padEnd(48)} p50 ${quantile(xs, 0.5).toFixed(1).padStart(6)} ms   p90 ${quantile(xs, 0.9).toFixed(1).padStart(6)} ms\n`,
  );
}
server.close();
rmSync(dir, { recursive: true, force: true });

// Into bench/out/results.json beside the other benchmarks' figures (without bench/support.ts, whose
// client needs a cluster): the creating command, the one people type.
const created = samples.get("kubectl-dbg deployment/web -c app --ttl 1h") ?? [];
const requested = samples.get(FIRST_REQUEST) ?? [];
const kubectlAlone = samples.get("kubectl get --raw /version (to its request)") ?? [];
const results = join(dirname(new URL(import.meta.url).pathname), "out", "results.json");
mkdirSync(dirname(results), { recursive: true });
const previous = existsSync(results) ? (JSON.parse(readFileSync(results, "utf8")) as Record<string, unknown>) : {};
const floorMs = samples.get("node floor.mjs (start to first spawn)") ?? [];
writeFileSync(
  results,
  JSON.stringify(
    {
      ...previous,
      plugin_startup: {
        runs: RUNS,
        first_request_p50_ms: quantile(requested, 0.5),
        first_kubectl_p50_ms: quantile(created, 0.5),
        kubectl_alone_first_request_p50_ms: quantile(kubectlAlone, 0.5),
        node_floor_p50_ms: quantile(floorMs, 0.5),
      },
      plugin_startup_ms_p50: Math.round(quantile(requested, 0.5)),
    },
    null,
    2,
  ),
);
