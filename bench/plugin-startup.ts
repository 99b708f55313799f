// How long kubectl-dbg takes from its process start to its first kubectl call, against Node.js starting
// a script that spawns kubectl at once (the floor). Needs no cluster: kubectl is a shell script that
// notes the time it started. Builds the plugin as `make plugin` does, into a temp dir.
//   node bench/plugin-startup.ts        (BENCH_RUNS=20; make bench runs it as BENCH=plugin-startup)
import { spawn } from "node:child_process";
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
  `import { spawn } from "node:child_process";\nspawn(${JSON.stringify(kubectl)}, [], { stdio: "ignore" });\n`,
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

/** Milliseconds from spawning `argv` to its exit. */
function toExit(argv: string[]): Promise<number> {
  const started = performance.now();
  const child = spawn(argv[0] ?? "", argv.slice(1), { env, stdio: "ignore" });
  return new Promise((resolve) => child.on("close", () => resolve(performance.now() - started)));
}

const cases: [string, () => Promise<number>][] = [
  ["node -e 0 (start to exit)", () => toExit([process.execPath, "-e", "0"])],
  ["node floor.mjs (start to first spawn)", () => once([process.execPath, floor])],
  ["kubectl-dbg list", () => once([plugin, "list"])],
  ["kubectl-dbg POD --dry-run=client -o yaml", () => once([plugin, "web-1", "--dry-run=client", "-o", "yaml"])],
  ["kubectl-dbg deployment/web -c app --ttl 1h", () => once([plugin, "deployment/web", "-c", "app", "--ttl", "1h"])],
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
rmSync(dir, { recursive: true, force: true });

// Into bench/out/results.json beside the other benchmarks' figures (without bench/support.ts, whose
// client needs a cluster): the creating command, the one people type.
const created = samples.get("kubectl-dbg deployment/web -c app --ttl 1h") ?? [];
const results = join(dirname(new URL(import.meta.url).pathname), "out", "results.json");
mkdirSync(dirname(results), { recursive: true });
const previous = existsSync(results) ? (JSON.parse(readFileSync(results, "utf8")) as Record<string, unknown>) : {};
const floorMs = samples.get("node floor.mjs (start to first spawn)") ?? [];
writeFileSync(
  results,
  JSON.stringify(
    {
      ...previous,
      plugin_startup: { runs: RUNS, create_p50_ms: quantile(created, 0.5), node_floor_p50_ms: quantile(floorMs, 0.5) },
      plugin_startup_ms_p50: Math.round(quantile(created, 0.5)),
    },
    null,
    2,
  ),
);
