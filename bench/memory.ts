// Benchmark 3 of issue #6: the operator's resident memory with 100 running sessions, first in a
// cluster holding just their 100 target pods, then after 10,000 other pods (not targets) were
// added. The operator caches only pods it tainted (selected by label), so it should not grow.
// Each state is measured on a freshly started operator (RSS of a long-running Node.js process says
// more about when its GC last ran than about what it holds): caches synced, 20 s to settle, then
// RSS once a second for 15 s; the median counts.
import {
  benchNamespace,
  createKwokPods,
  createSessions,
  deleteNamespace,
  listSessions,
  quantile,
  record,
  round,
  sleep,
  startOperator,
  waitUntil,
} from "./support.ts";

const SESSIONS_N = Number(process.env.BENCH_MEMORY_SESSIONS ?? 100);
const OTHER_PODS = Number(process.env.BENCH_MEMORY_OTHER_PODS ?? 10_000);

async function freshOperatorRss(name: string): Promise<{ median: number; samples: number[] }> {
  const operator = await startOperator(name);
  try {
    await sleep(20_000);
    const samples: number[] = [];
    for (let i = 0; i < 15; i++) {
      samples.push(round(operator.rssMb(), 1));
      await sleep(1_000);
    }
    return { median: quantile(samples, 0.5), samples };
  } finally {
    await operator.stop();
  }
}

async function main(): Promise<void> {
  const ns = await benchNamespace("mem");
  const others = await benchNamespace("mem-others");
  await createKwokPods(ns, "p", SESSIONS_N);
  let operator = await startOperator("memory-setup");
  try {
    await createSessions(ns, SESSIONS_N, "2h", 20);
    await waitUntil(
      async () => (await listSessions(ns)).filter((s) => s.status?.phase === "Running").length === SESSIONS_N,
      300_000,
      `${SESSIONS_N} sessions Running`,
      1_000,
    );
    await operator.stop();

    const small = await freshOperatorRss("memory-100");
    console.error(
      `RSS with ${SESSIONS_N} sessions and ${SESSIONS_N} pods: ${small.median} MB; adding ${OTHER_PODS} other pods`,
    );
    const t0 = Date.now();
    await createKwokPods(others, "other", OTHER_PODS, { app: "other" });
    console.error(`${OTHER_PODS} other pods running after ${round((Date.now() - t0) / 1000)} s`);
    const big = await freshOperatorRss("memory-10100");
    const result = {
      sessions: SESSIONS_N,
      other_pods: OTHER_PODS,
      rss_mb_with_100_pods: small.median,
      rss_mb_with_10000_more_pods: big.median,
      samples: { small: small.samples, big: big.samples },
      rss_growth_mb_100_to_10000_pods: round(big.median - small.median, 1),
    };
    console.log(JSON.stringify(result, null, 2));
    record({ memory: result, rss_growth_mb_100_to_10000_pods: result.rss_growth_mb_100_to_10000_pods });
  } finally {
    // An operator removes the sessions' finalizers as their namespace goes.
    operator = await startOperator("memory-cleanup");
    deleteNamespace(others);
    deleteNamespace(ns, true);
    await operator.stop();
  }
}

await main();
