// Issue 17: the operator's footprint as its users run it (the image runs `node dist/main.js`): the
// time from process start to /readyz answering 200 (caches synced), and its resident memory once idle
// with no sessions. Five fresh processes; each is polled every 10 ms for readiness, then left 20 s to
// settle, then its RSS is read once a second for 10 s (the median counts). Beside it, what Node.js
// itself and each runtime dependency cost on this machine, measured the same way, so the figures can
// be read against their floor.
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { outDir, quantile, record, repo, round, sleep } from "./support.ts";

const RUNS = Number(process.env.BENCH_FOOTPRINT_RUNS ?? 5);
const GOALS = { idle_rss_mb: 64, start_to_ready_ms: 1_500 };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

const rssMb = (pid: number): number =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;

async function ready(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
  } catch {
    return false;
  }
}

/** One fresh operator: start -> ready, then its settled RSS. */
async function measure(main: string, i: number): Promise<{ readyMs: number; rssMb: number }> {
  const opKubeconfig = process.env.OPERATOR_KUBECONFIG;
  if (!opKubeconfig)
    throw new Error("OPERATOR_KUBECONFIG must name the operator's kubeconfig (hack/bench.sh writes it)");
  const port = await freePort();
  const log = createWriteStream(`${outDir}/operator-footprint-${i}.log`);
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [main, "--kubeconfig", opKubeconfig, `--health-probe-bind-address=127.0.0.1:${port}`, "--metrics-bind-address=0"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_OPTIONS: "" } },
  );
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  try {
    while (!(await ready(port))) {
      if (child.exitCode !== null) throw new Error(`the operator exited with ${child.exitCode}; see its log`);
      if (performance.now() - started > 60_000) throw new Error("the operator was not ready within 60 s");
      await sleep(10);
    }
    const readyMs = performance.now() - started;
    await sleep(20_000);
    const samples: number[] = [];
    for (let s = 0; s < 10; s++) {
      samples.push(rssMb(child.pid!));
      await sleep(1_000);
    }
    return { readyMs, rssMb: quantile(samples, 0.5) };
  } finally {
    const exited = new Promise((r) => child.on("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
}

/** RSS of a bare `node` that imported `modules`, after a GC and 2 s of quiet; and how long the imports took. */
function floor(modules: string[]): { rss_mb: number; import_ms: number } {
  const script = `const t = performance.now();
for (const m of ${JSON.stringify(modules)}) await import(m);
const ms = performance.now() - t;
globalThis.gc();
await new Promise((r) => setTimeout(r, 2000));
console.log(JSON.stringify({ rss_mb: process.memoryUsage().rss / 2 ** 20, import_ms: ms }));`;
  const r = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], {
    cwd: repo,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`node could not import ${modules.join(", ")}: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { rss_mb: number; import_ms: number };
  return { rss_mb: round(out.rss_mb, 1), import_ms: round(out.import_ms) };
}

async function main(): Promise<void> {
  // What the image runs: the TypeScript compiled to JavaScript (hack/bench.sh builds it).
  const main = process.env.BENCH_OPERATOR_MAIN;
  if (!main) throw new Error("BENCH_OPERATOR_MAIN must name the operator's dist/main.js (hack/bench.sh builds it)");
  const sessions = spawnSync("kubectl", ["get", "debugsessions", "-A", "--no-headers"], { encoding: "utf8" });
  const sessionCount = sessions.stdout.split("\n").filter(Boolean).length;

  const runs: { readyMs: number; rssMb: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    runs.push(await measure(main, i));
    console.error(`run ${i + 1}: ready after ${round(runs[i]!.readyMs)} ms, idle RSS ${round(runs[i]!.rssMb, 1)} MB`);
  }
  const startToReady = round(
    quantile(
      runs.map((r) => r.readyMs),
      0.5,
    ),
  );
  const idleRss = round(
    quantile(
      runs.map((r) => r.rssMb),
      0.5,
    ),
    1,
  );
  const floors = {
    node: floor([]),
    yaml_pino_prom_client: floor(["yaml", "pino", "prom-client"]),
    client_node: floor(["@kubernetes/client-node"]),
  };
  const result = {
    runs: RUNS,
    sessions_in_cluster: sessionCount,
    start_to_ready_ms: { p50: startToReady, all: runs.map((r) => round(r.readyMs)) },
    idle_rss_mb: { p50: idleRss, all: runs.map((r) => round(r.rssMb, 1)) },
    floors,
    goals: {
      idle_rss_mb: { goal: GOALS.idle_rss_mb, met: idleRss <= GOALS.idle_rss_mb },
      start_to_ready_ms: { goal: GOALS.start_to_ready_ms, met: startToReady <= GOALS.start_to_ready_ms },
    },
  };
  record({ footprint: result, idle_rss_mb: idleRss, start_to_ready_ms: startToReady });
  const met = (ok: boolean): string => (ok ? "met" : "MISSED");
  console.error(
    `footprint: start -> ready p50 ${startToReady} ms (goal <= ${GOALS.start_to_ready_ms}: ${met(result.goals.start_to_ready_ms.met)}); ` +
      `idle RSS p50 ${idleRss} MB (goal <= ${GOALS.idle_rss_mb}: ${met(result.goals.idle_rss_mb.met)}); ` +
      `floors: node ${floors.node.rss_mb} MB, + yaml/pino/prom-client ${floors.yaml_pino_prom_client.rss_mb} MB, ` +
      `client-node alone ${floors.client_node.rss_mb} MB (import ${floors.client_node.import_ms} ms)`,
  );
}

await main();
