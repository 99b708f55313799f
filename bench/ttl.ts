// Benchmark 4 of issue #6: TTL precision. 200 sessions on 200 KWOK pods are made to expire at the
// same instant T: once all are injected, each one's spec.ttl is raised (it may only grow) to exactly
// T - injectedAt, so status.expiresAt is T for all of them. A pod watch records when each pod is
// first seen with a deletionTimestamp (the removal request went through); lag = that time - T.
import type { V1Pod } from "@kubernetes/client-node";
import type { DebugSession } from "../src/api/types.ts";
import {
  FirstSeen,
  SESSIONS,
  benchNamespace,
  condition,
  createKwokPods,
  createSessions,
  custom,
  deleteNamespace,
  listSessions,
  pool,
  quantile,
  record,
  round,
  sleep,
  startOperator,
  waitUntil,
} from "./support.ts";
import { mergePatch } from "../src/runtime/kube/api.ts";

const N = Number(process.env.BENCH_TTL_SESSIONS ?? 200);
const wallClock = (t: number): number => performance.timeOrigin + t;

async function main(): Promise<void> {
  const ns = await benchNamespace("ttl");
  await createKwokPods(ns, "p", N);
  const operator = await startOperator("ttl");
  const removed = await FirstSeen.start<V1Pod>(`/api/v1/namespaces/${ns}/pods`, (p) =>
    Boolean(p.metadata?.deletionTimestamp),
  );
  try {
    await createSessions(ns, N, "1m", 32);
    let all: DebugSession[] = [];
    await waitUntil(
      async () => (all = await listSessions(ns)).filter((s) => condition(s, "Injected") === "True").length === N,
      300_000,
      "every session injected",
    );

    // One instant for all: 75 s after the last injection (every ttl stays >= its 1m), on a whole second.
    const injectedAt = new Map(all.map((s) => [s.metadata.name!, Date.parse(s.status!.injectedAt!)]));
    const target = Math.ceil((Math.max(...injectedAt.values()) + 75_000) / 1000) * 1000;
    await pool(all, 32, async (s) => {
      const ttlMs = target - injectedAt.get(s.metadata.name!)!;
      await custom.patchNamespacedCustomObject(
        { ...SESSIONS, namespace: ns, name: s.metadata.name!, body: { spec: { ttl: `${ttlMs}ms` } } },
        mergePatch,
      );
    });
    const expiresAt = new Date(target).toISOString();
    await waitUntil(
      async () => (await listSessions(ns)).every((s) => s.status?.expiresAt === expiresAt),
      60_000,
      `every status.expiresAt to read ${expiresAt}`,
    );
    const spreadMs = Math.max(...injectedAt.values()) - Math.min(...injectedAt.values());
    console.error(`${N} sessions expire at ${expiresAt} (their injections spread over ${spreadMs} ms); waiting`);

    await sleep(Math.max(0, target - Date.now()));
    // The operator's RSS while it records and removes all of them (each session end saves a record).
    let peakRss = operator.rssMb();
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, operator.rssMb())), 200);
    await removed.until(N, 120_000, "every pod removed").finally(() => clearInterval(sampler));
    const lags = [...removed.at.values()].map((t) => wallClock(t) - target);
    await waitUntil(
      async () => (await listSessions(ns)).every((s) => s.status?.phase === "Expired"),
      60_000,
      "every session Expired",
    );
    const result = {
      sessions: N,
      expires_at: expiresAt,
      injection_spread_ms: spreadMs,
      lag_ms: {
        p50: round(quantile(lags, 0.5)),
        p99: round(quantile(lags, 0.99)),
        max: round(Math.max(...lags)),
        min: round(Math.min(...lags)),
      },
      ttl_lag_p99_ms: round(quantile(lags, 0.99)),
      operator_peak_rss_mb: round(peakRss),
      operator_oom_kills: operator.oomKills(),
    };
    console.log(JSON.stringify(result, null, 2));
    record({ ttl: result, ttl_lag_p99_ms: result.ttl_lag_p99_ms });
  } finally {
    removed.stop();
    deleteNamespace(ns, true);
    await operator.stop();
  }
}

await main();
