// /metrics of a running operator: the series move when a session is injected, runs and expires.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allowAllPolicy,
  createNamespace,
  deleteNamespace,
  installCRDs,
  startOperator,
  waitFor,
  type Operator,
} from "../support/kube.ts";
import { applySession, createBarePod, sessionStatus } from "../support/workloads.ts";

function value(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe("metrics", () => {
  let ns: string;
  let operator: Operator;
  let port: number;
  const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

  beforeAll(async () => {
    installCRDs();
    ns = createNamespace("metrics");
    allowAllPolicy(ns);
    createBarePod(ns, "web");
    operator = startOperator([], { namespace: ns });
    port = await waitFor(
      () => Number(/"ports":\[(\d+)/.exec(operator.logs())?.[1]) || undefined,
      30_000,
      "the metrics port in the log",
    );
  });
  afterAll(async () => {
    await operator?.stop();
    deleteNamespace(ns);
  });

  it("counts the injection, the running session, the reconciles and the expiry with its lag", async () => {
    await waitFor(() => operator.logs().includes('"caches synced"'), 30_000, "caches synced");
    const before = await scrape();
    expect(value(before, "debugsession_is_leader")).toBe(1);
    applySession(ns, "m", { targetPod: "web", ttl: "1m", command: ["sleep", "3600"], interactive: false });
    await waitFor(() => sessionStatus(ns, "m").phase === "Running", 60_000, "Running");

    const running = await waitFor(
      async () => {
        const t = await scrape();
        // Sessions of other suites' namespaces may be counted too: at least ours.
        return value(t, 'debugsession_sessions{phase="Running"}') >= 1 ? t : undefined;
      },
      10_000,
      "sessions{phase=Running} >= 1",
    );
    expect(value(running, "debugsession_injections_total") - value(before, "debugsession_injections_total")).toBe(1);
    expect(value(running, 'debugsession_reconcile_total{result="requeue"}')).toBeGreaterThan(
      value(before, 'debugsession_reconcile_total{result="requeue"}'),
    );
    expect(value(running, "debugsession_reconcile_duration_seconds_count")).toBeGreaterThan(0);
    expect(value(running, "debugsession_workqueue_wait_seconds_count")).toBeGreaterThan(0);
    expect(running).toContain("debugsession_workqueue_depth");
    expect(running).toContain("debugsession_informer_restarts_total");

    const expiresAt = Date.parse(sessionStatus(ns, "m").expiresAt!);
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now())));
    const expired = await waitFor(
      async () => {
        const t = await scrape();
        return value(t, 'debugsession_expiries_total{action="Evict"}') === 1 ? t : undefined;
      },
      30_000,
      "expiries_total 1",
    );
    expect(value(expired, "debugsession_expiry_lag_seconds_count")).toBe(1);
    const lag = value(expired, "debugsession_expiry_lag_seconds_sum");
    console.log(`expiry lag from /metrics: ${Math.round(lag * 1000)} ms`);
    expect(lag).toBeGreaterThanOrEqual(0);
  }, 180_000);
});
