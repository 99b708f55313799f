// Flags and environment -> wire everything. `node dist/main.js --help` lists the flags (src/flags.ts).
import { hostname } from "node:os";
import { DEFAULT_DECIDE_OPTIONS } from "./controller/decide.ts";
import { Reconciler } from "./controller/reconciler.ts";
import { readFlags, helpText, type FlagValues, type ListenAddress } from "./flags.ts";
import { HealthState } from "./observability/health.ts";
import { createLogger, type Logger } from "./observability/logger.ts";
import { Metrics, countBy } from "./observability/metrics.ts";
import { startServer, type ObservabilityServer } from "./observability/server.ts";
import { errorMessage } from "./runtime/errors.ts";
import { kubeApis, type KubeApis } from "./runtime/kube/api.ts";
import { KubeClient } from "./runtime/kube/client.ts";
import { loadClusterAccess } from "./runtime/kube/config.ts";
import { LeaderElector } from "./runtime/leader.ts";
import { WorkQueue } from "./runtime/workqueue.ts";
import { reconcilerHooks, workQueueHooks } from "./wiring.ts";

async function main(): Promise<void> {
  const flags = readFlags();
  if (flags.help) {
    process.stdout.write(helpText());
    return;
  }
  const log = createLogger(flags["log-level"]);
  const workers = flags.workers;
  const apis = kubeApis(new KubeClient(loadClusterAccess({ kubeconfig: flags.kubeconfig }), flags["request-timeout"]));
  const metrics = new Metrics();
  const queue = new WorkQueue({ hooks: workQueueHooks(metrics) });
  const reconciler = new Reconciler({
    ...apis,
    log,
    workers,
    queue,
    decide: { ...DEFAULT_DECIDE_OPTIONS, evictionTimeoutMs: flags["eviction-timeout"] },
    records: { minRetentionMs: flags["min-record-retention"], sweepIntervalMs: flags["record-sweep-interval"] },
    namespace: flags.namespace || undefined,
    hooks: reconcilerHooks(metrics),
  });
  metrics.queueDepthFrom(() => queue.len());
  metrics.sessionsByPhase(() => countBy(reconciler.sessions.list(), (s) => s.status?.phase ?? "Pending"));
  const health = cacheHealth(reconciler);
  health.start();
  const addresses = [flags["metrics-bind-address"], flags["health-probe-bind-address"]];
  const servers = await startServers(addresses, metrics, health, log);
  const elector = flags["leader-elect"] ? leaderElector(apis, flags, log, metrics, reconciler) : undefined;
  stopOnSignals(flags["shutdown-grace"], log, async (graceMs) => {
    await reconciler.stop(graceMs);
    await elector?.stop();
    health.stop();
    await Promise.all(servers.map((s) => s.close()));
  });

  const server = apis.client.access.server;
  log.info({ server, workers, leaderElect: elector !== undefined, ports: servers.map((s) => s.port) }, "starting");
  // Followers keep warm caches (and report ready) so a takeover starts reconciling at once.
  await reconciler.startCaches();
  const { sessions, pods, policies } = reconciler;
  log.info({ sessions: sessions.size, pods: pods.size, policies: policies.size }, "caches synced");
  if (elector) void elector.run();
  else {
    metrics.setLeader(true);
    reconciler.startWorkers();
  }
}

/** Liveness and readiness of the three caches, read at every probe. */
function cacheHealth(r: Reconciler): HealthState {
  return new HealthState({
    informers: () => ({ debugsessions: r.sessions, pods: r.pods, debugpolicies: r.policies }),
    synced: () => ({ debugsessions: r.sessions.synced, pods: r.pods.synced, debugpolicies: r.policies.synced }),
  });
}

/** One server per distinct port: metrics and probes may share one. */
async function startServers(
  addresses: (ListenAddress | undefined)[],
  metrics: Metrics,
  health: HealthState,
  log: Logger,
): Promise<ObservabilityServer[]> {
  const servers: ObservabilityServer[] = [];
  for (const addr of addresses) {
    if (!addr || servers.some((s) => s.port === addr.port)) continue;
    servers.push(await startServer({ port: addr.port, host: addr.host, metrics, health, log }));
  }
  return servers;
}

function leaderElector(apis: KubeApis, flags: FlagValues, log: Logger, metrics: Metrics, reconciler: Reconciler) {
  return new LeaderElector({
    api: apis.leases,
    namespace: flags["leader-election-namespace"],
    name: flags["leader-election-id"],
    identity: process.env.POD_NAME ?? `${hostname()}-${process.pid}`,
    log,
    onStartedLeading: () => {
      metrics.setLeader(true);
      reconciler.startWorkers();
    },
    onStoppedLeading: () => {
      // Another replica may already be reconciling: stop at once, let the kubelet restart us.
      metrics.setLeader(false);
      process.exit(1);
    },
  });
}

/** On the first SIGTERM or SIGINT, runs `stop` and exits; exits anyway shortly after the grace period. */
function stopOnSignals(graceMs: number, log: Logger, stop: (graceMs: number) => Promise<void>): void {
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, graceMs }, "shutting down");
    const hardStop = setTimeout(() => process.exit(0), graceMs + 1500);
    hardStop.unref();
    void (async () => {
      await stop(graceMs);
      log.info({}, "stopped");
      process.exit(0);
    })();
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(`debugsession-operator: ${errorMessage(err)}\n`);
  process.exit(2);
});
