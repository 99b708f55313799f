// Flags and environment -> wire everything. `node dist/main.js --help` lists the flags.
import { parseArgs } from "node:util";
import { AuthorizationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { parseDuration } from "./api/duration.ts";
import { DEFAULT_DECIDE_OPTIONS } from "./controller/decide.ts";
import { Reconciler } from "./controller/reconciler.ts";
import { createLogger } from "./observability/logger.ts";

const HELP = `debugsession-operator: declarative, policy-checked, self-cleaning ephemeral debug containers.

Flags (each also read from the environment variable in brackets):
  --kubeconfig PATH         kubeconfig to use [KUBECONFIG]; in a pod, the ServiceAccount is used
  --workers N               concurrent reconciles [WORKERS] (default 4)
  --eviction-timeout DUR    how long a PodDisruptionBudget may refuse an eviction at expiry
                            before the pod is deleted [EVICTION_TIMEOUT] (default 60s)
  --shutdown-grace DUR      how long in-flight reconciles may run after SIGTERM [SHUTDOWN_GRACE] (default 8s)
  --log-level LEVEL         trace, debug, info, warn, error [LOG_LEVEL] (default info)
  --help                    this text
`;

function main(): void {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: "string" },
      workers: { type: "string" },
      "eviction-timeout": { type: "string" },
      "shutdown-grace": { type: "string" },
      "log-level": { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const log = createLogger(values["log-level"] ?? process.env.LOG_LEVEL ?? "info");
  const workers = Number(values.workers ?? process.env.WORKERS ?? 4);
  const evictionTimeoutMs = parseDuration(values["eviction-timeout"] ?? process.env.EVICTION_TIMEOUT ?? "60s");
  const graceMs = parseDuration(values["shutdown-grace"] ?? process.env.SHUTDOWN_GRACE ?? "8s");
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`--workers must be a positive integer, not ${values.workers}`);
  if (evictionTimeoutMs === undefined) throw new Error("--eviction-timeout must be a duration such as 60s");
  if (graceMs === undefined) throw new Error("--shutdown-grace must be a duration such as 8s");

  const kc = new KubeConfig();
  const kubeconfig = values.kubeconfig ?? process.env.KUBECONFIG;
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();

  const reconciler = new Reconciler({
    kubeConfig: kc,
    core: kc.makeApiClient(CoreV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    authz: kc.makeApiClient(AuthorizationV1Api),
    log,
    workers,
    decide: { ...DEFAULT_DECIDE_OPTIONS, evictionTimeoutMs },
  });

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, graceMs }, "shutting down");
    void reconciler.stop(graceMs).then(() => {
      log.info({}, "stopped");
      process.exit(0);
    });
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));

  log.info({ server: kc.getCurrentCluster()?.server, workers }, "starting");
  reconciler
    .startCaches()
    .then(() => {
      log.info({ sessions: reconciler.sessions.size, pods: reconciler.pods.size }, "caches synced; reconciling");
      reconciler.startWorkers();
    })
    .catch((err: unknown) => {
      log.fatal({ err }, "could not start");
      process.exit(1);
    });
}

try {
  main();
} catch (err) {
  process.stderr.write(`debugsession-operator: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}
