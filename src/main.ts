// Flags and environment -> wire everything. `node dist/main.js --help` lists the flags.
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { AuthorizationV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { parseDuration } from "./api/duration.ts";
import { DEFAULT_DECIDE_OPTIONS } from "./controller/decide.ts";
import { Reconciler } from "./controller/reconciler.ts";
import { HealthState } from "./observability/health.ts";
import { createLogger } from "./observability/logger.ts";
import { Metrics, countBy } from "./observability/metrics.ts";
import { startServer, type ObservabilityServer } from "./observability/server.ts";
import { PooledKubeConfig } from "./runtime/kubeconfig.ts";
import { LeaderElector } from "./runtime/leader.ts";
import { WorkQueue } from "./runtime/workqueue.ts";
import { reconcilerHooks, workQueueHooks } from "./wiring.ts";

const HELP = `debugsession-operator: declarative, policy-checked, self-cleaning ephemeral debug containers.

Flags (each also read from the environment variable in brackets):
  --kubeconfig PATH                  kubeconfig to use [KUBECONFIG]; in a pod, its ServiceAccount
  --workers N                        concurrent reconciles [WORKERS] (default 64)
  --eviction-timeout DUR             how long a PodDisruptionBudget may refuse an eviction at expiry
                                     before the pod is deleted [EVICTION_TIMEOUT] (default 60s)
  --shutdown-grace DUR               how long in-flight reconciles may run after SIGTERM [SHUTDOWN_GRACE] (default 8s)
  --leader-elect                     run reconciles only while holding a Lease [LEADER_ELECT=true] (default off)
  --leader-election-namespace NS     namespace of the Lease [POD_NAMESPACE] (default debugsession-system)
  --leader-election-id NAME          name of the Lease [LEADER_ELECTION_ID] (default debugsession-operator)
  --metrics-bind-address ADDR        /metrics (and probes) listen address [METRICS_BIND_ADDRESS] (default :8080; 0 = off)
  --health-probe-bind-address ADDR   /healthz and /readyz listen address [HEALTH_PROBE_BIND_ADDRESS] (default :8081; 0 = off)
  --log-level LEVEL                  trace, debug, info, warn, error [LOG_LEVEL] (default info)
  --help                             this text
`;

function address(value: string): { host: string; port: number } | undefined {
  if (value === "0") return undefined;
  const i = value.lastIndexOf(":");
  const port = Number(value.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad listen address "${value}": use host:port or :port`);
  return { host: value.slice(0, i) || "0.0.0.0", port };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: "string" },
      workers: { type: "string" },
      "eviction-timeout": { type: "string" },
      "shutdown-grace": { type: "string" },
      "leader-elect": { type: "boolean" },
      "leader-election-namespace": { type: "string" },
      "leader-election-id": { type: "string" },
      "metrics-bind-address": { type: "string" },
      "health-probe-bind-address": { type: "string" },
      "log-level": { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const env = process.env;
  const log = createLogger(values["log-level"] ?? env.LOG_LEVEL ?? "info");
  const workers = Number(values.workers ?? env.WORKERS ?? 64);
  const evictionTimeoutMs = parseDuration(values["eviction-timeout"] ?? env.EVICTION_TIMEOUT ?? "60s");
  const graceMs = parseDuration(values["shutdown-grace"] ?? env.SHUTDOWN_GRACE ?? "8s");
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`--workers must be a positive integer, not ${values.workers ?? env.WORKERS}`);
  if (evictionTimeoutMs === undefined) throw new Error("--eviction-timeout must be a duration such as 60s");
  if (graceMs === undefined) throw new Error("--shutdown-grace must be a duration such as 8s");
  const leaderElect = values["leader-elect"] ?? env.LEADER_ELECT === "true";
  const metricsAddr = address(values["metrics-bind-address"] ?? env.METRICS_BIND_ADDRESS ?? ":8080");
  const healthAddr = address(values["health-probe-bind-address"] ?? env.HEALTH_PROBE_BIND_ADDRESS ?? ":8081");

  const kc = new PooledKubeConfig();
  const kubeconfig = values.kubeconfig ?? env.KUBECONFIG;
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();

  const metrics = new Metrics();
  const queue = new WorkQueue({ hooks: workQueueHooks(metrics) });
  const reconciler = new Reconciler({
    kubeConfig: kc,
    core: kc.makeApiClient(CoreV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    authz: kc.makeApiClient(AuthorizationV1Api),
    log,
    workers,
    queue,
    decide: { ...DEFAULT_DECIDE_OPTIONS, evictionTimeoutMs },
    hooks: reconcilerHooks(metrics),
  });
  metrics.queueDepthFrom(() => queue.len());
  metrics.sessionsByPhase(() => countBy(reconciler.sessions.list(), (s) => s.status?.phase ?? "Pending"));
  const health = new HealthState({
    informers: () => ({ debugsessions: reconciler.sessions, pods: reconciler.pods, debugpolicies: reconciler.policies }),
    synced: () => ({ debugsessions: reconciler.sessions.synced, pods: reconciler.pods.synced, debugpolicies: reconciler.policies.synced }),
  });
  health.start();
  const servers: ObservabilityServer[] = [];
  for (const addr of [metricsAddr, healthAddr]) {
    if (!addr || servers.some((s) => s.port === addr.port)) continue;
    servers.push(await startServer({ port: addr.port, host: addr.host, metrics, health, log }));
  }

  const elector = leaderElect
    ? new LeaderElector({
        api: kc.makeApiClient(CoordinationV1Api),
        namespace: values["leader-election-namespace"] ?? env.POD_NAMESPACE ?? "debugsession-system",
        name: values["leader-election-id"] ?? env.LEADER_ELECTION_ID ?? "debugsession-operator",
        identity: env.POD_NAME ?? `${hostname()}-${process.pid}`,
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
      })
    : undefined;

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, graceMs }, "shutting down");
    const hardStop = setTimeout(() => process.exit(0), graceMs + 1500);
    hardStop.unref();
    void (async () => {
      await reconciler.stop(graceMs);
      await elector?.stop();
      health.stop();
      await Promise.all(servers.map((s) => s.close()));
      log.info({}, "stopped");
      process.exit(0);
    })();
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));

  log.info({ server: kc.getCurrentCluster()?.server, workers, leaderElect, ports: servers.map((s) => s.port) }, "starting");
  // Followers keep warm caches (and report ready) so a takeover starts reconciling at once.
  await reconciler.startCaches();
  log.info({ sessions: reconciler.sessions.size, pods: reconciler.pods.size, policies: reconciler.policies.size }, "caches synced");
  if (elector) void elector.run();
  else {
    metrics.setLeader(true);
    reconciler.startWorkers();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`debugsession-operator: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
