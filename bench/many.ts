// Issue 11: the operator survives many sessions in one namespace within its shipped memory limit
// (config/manager/manager.yaml: 256Mi). MANY_SESSIONS (default 500) sessions on as many KWOK pods,
// MANY_LARGE (default 50) of them at the largest size the CRD admits (every list at maxItems, every
// string at maxLength), all created at once. Its RSS is sampled once a second from the first create
// until every session runs, then for 15 s more; the peak and the settled median count.
//   BENCH=many make bench    (or: node bench/many.ts against a cluster hack/bench.sh set up)
import type { DebugSession } from "../src/api/types.ts";
import {
  SESSIONS,
  benchNamespace,
  createKwokPods,
  custom,
  deleteNamespace,
  listSessions,
  pool,
  quantile,
  record,
  round,
  session,
  sleep,
  startOperator,
  waitUntil,
} from "./support.ts";

const N = Number(process.env.MANY_SESSIONS ?? 500);
const LARGE = Number(process.env.MANY_LARGE ?? 50);
/** The shipped limit; BENCH_OPERATOR_MEMORY_LIMIT_MB=256 runs the operator in a cgroup of that size. */
const LIMIT_MB = 256;

/** A session at the schema's bounds (src/api/debugsession-crd.ts). */
function large(s: DebugSession): DebugSession {
  s.spec.command = Array.from({ length: 16 }, (_, i) => `${i}`.padEnd(1024, "c"));
  s.spec.args = Array.from({ length: 32 }, (_, i) => `${i}`.padEnd(2048, "a"));
  s.spec.env = Array.from({ length: 24 }, (_, i) => ({ name: `V${i}`.padEnd(256, "_"), value: "v".repeat(1024) }));
  s.spec.reason = "r".repeat(1024);
  s.spec.workingDir = `/${"w".repeat(1023)}`;
  return s;
}

async function main(): Promise<void> {
  const ns = await benchNamespace("many");
  await createKwokPods(ns, "p", N);
  const operator = await startOperator("many");
  const samples: number[] = [];
  const sampler = setInterval(() => {
    if (operator.exit().code === null && operator.exit().signal === null) samples.push(round(operator.rssMb(), 1));
  }, 1_000);
  const t0 = Date.now();
  try {
    await pool(
      Array.from({ length: N }, (_, i) => i),
      20,
      async (i) => {
        const s = session(ns, `s-${i}`, `p-${i}`, "2h");
        await custom.createNamespacedCustomObject({ ...SESSIONS, namespace: ns, body: i < LARGE ? large(s) : s });
      },
    );
    await waitUntil(
      async () => {
        const { code, signal } = operator.exit();
        if (code !== null || signal !== null)
          throw new Error(`the operator ended (${code ?? signal}); OOM kills: ${operator.oomKills()}`);
        return (await listSessions(ns)).filter((s) => s.status?.phase === "Running").length === N;
      },
      900_000,
      `${N} sessions Running`,
      2_000,
    );
    const allRunningS = round((Date.now() - t0) / 1000);
    const before = samples.length;
    await sleep(15_000);
    const settled = samples.slice(before);
    const result = {
      sessions: N,
      large_sessions: LARGE,
      all_running_after_s: allRunningS,
      rss_peak_mb: Math.max(...samples),
      rss_settled_median_mb: quantile(settled, 0.5),
      limit_mb: LIMIT_MB,
      within_limit: Math.max(...samples) < LIMIT_MB,
      cgroup_limit_mb: Number(process.env.BENCH_OPERATOR_MEMORY_LIMIT_MB ?? 0) || undefined,
      oom_kills: operator.oomKills(),
      node_options: process.env.BENCH_OPERATOR_NODE_OPTIONS ?? "",
    };
    console.log(JSON.stringify(result, null, 2));
    record({ many_sessions: result });
  } finally {
    clearInterval(sampler);
    deleteNamespace(ns, true);
    await operator.stop();
  }
}

await main();
