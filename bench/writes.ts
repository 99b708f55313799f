// Benchmark 5 of issue #6: API writes per session lifecycle, from the apiserver's own
// apiserver_request_total. N sessions with the shortest ttl (1m) run on KWOK pods from create to
// Expired with the pod gone; the counters are read before and after, and once more after the
// sessions are deleted. Nothing else writes these resources meanwhile, except what is named below.
import type { V1Pod } from "@kubernetes/client-node";
import {
  FirstSeen,
  SESSIONS,
  apiserverRequests,
  benchNamespace,
  core,
  createKwokPods,
  createSessions,
  custom,
  deleteNamespace,
  listSessions,
  pool,
  record,
  requestDelta,
  round,
  sleep,
  startOperator,
  waitUntil,
} from "./support.ts";

const N = Number(process.env.BENCH_WRITES_SESSIONS ?? 20);
const indices = Array.from({ length: N }, (_, i) => i);
const WRITE_VERBS = new Set(["POST", "PUT", "PATCH", "DELETE", "APPLY"]);

/**
 * The operator's writes (not events): its resources and verbs. It deletes sessions only for
 * ttlSecondsAfterFinished, which these do not set; "DELETE debugsessions" is the benchmark's.
 */
const OPERATOR_ROWS = [
  "PATCH debugsessions",
  "PUT debugsessions",
  "PATCH debugsessions/status",
  "PUT debugsessions/status",
  "PATCH pods/ephemeralcontainers",
  "PATCH pods",
  "PUT pods",
  "POST pods/eviction",
];

function writesOnly(delta: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(delta).filter(([k]) => WRITE_VERBS.has(k.split(" ")[0]!)));
}

async function main(): Promise<void> {
  const ns = await benchNamespace("writes");
  await createKwokPods(ns, "p", N);
  const operator = await startOperator("writes");
  const gone = await FirstSeen.start<V1Pod>(`/api/v1/namespaces/${ns}/pods`, (p) =>
    Boolean(p.metadata?.deletionTimestamp),
  );
  try {
    await sleep(2_000);
    const before = apiserverRequests();
    await createSessions(ns, N, "1m", 10);
    await waitUntil(
      async () => (await listSessions(ns)).filter((s) => s.status?.phase === "Expired").length === N,
      180_000,
      "every session Expired",
      1_000,
    );
    await gone.until(N, 60_000, "every pod removed");
    await waitUntil(
      async () => (await core.listNamespacedPod({ namespace: ns })).items.length === 0,
      60_000,
      "the pods to be gone",
    );
    await sleep(3_000); // the reconciles the last deletions caused
    const lifecycle = writesOnly(requestDelta(before, apiserverRequests()));

    await pool(indices, 10, async (i) => {
      await custom.deleteNamespacedCustomObject({ ...SESSIONS, namespace: ns, name: `s-${i}` });
    });
    await waitUntil(async () => (await listSessions(ns)).length === 0, 60_000, "the sessions to be deleted");
    await sleep(2_000);
    const deletion = writesOnly(requestDelta(before, apiserverRequests()));

    // KWOK, standing in for the kubelet, finishes each evicted pod's deletion with DELETEs of its own
    // (sometimes two, the second answered 404). The operator deletes a pod only when its eviction is
    // refused for longer than --eviction-timeout; every eviction here must have gone through.
    if (
      (lifecycle["POST pods/eviction"] ?? 0) !== N ||
      Object.keys(lifecycle).some((k) => k.startsWith("POST pods/eviction ("))
    ) {
      throw new Error(`expected ${N} accepted evictions and no refused one: ${JSON.stringify(lifecycle)}`);
    }
    const operatorWrites = (d: Record<string, number>): number =>
      OPERATOR_ROWS.reduce((sum, row) => sum + (d[row] ?? 0), 0);
    const events = (d: Record<string, number>): number => (d["POST events"] ?? 0) + (d["PATCH events"] ?? 0);
    const result = {
      sessions: N,
      lifecycle_writes: lifecycle,
      writes_per_session: round(operatorWrites(lifecycle) / N, 2),
      events_per_session: round(events(lifecycle) / N, 2),
      writes_per_session_at_deletion: round((operatorWrites(deletion) - operatorWrites(lifecycle)) / N, 2),
      not_the_operator: {
        "POST debugsessions": "the benchmark creating the sessions",
        "DELETE debugsessions": "the benchmark deleting them (second reading)",
        "DELETE pods": "KWOK finishing the evicted pods' deletion (no eviction was refused, so none is the operator's)",
        "POST subjectaccessreviews": "the operator's RBAC check before injecting: a read, not a write",
        "(409)": "status writes refused because the operator's cache was behind: attempts, not writes",
        "PATCH pods/status, PUT leases, PATCH nodes/status": "KWOK",
      },
    };
    console.log(JSON.stringify(result, null, 2));
    record({ writes: result, writes_per_session: result.writes_per_session });
    const met = result.writes_per_session <= 6 ? "met" : "MISSED";
    console.error(`writes: ${result.writes_per_session} API writes per session lifecycle (goal <= 6: ${met})`);
  } finally {
    gone.stop();
    deleteNamespace(ns, true);
    await operator.stop();
  }
}

await main();
