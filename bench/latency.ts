// Benchmark 1 of issue #6: time from the create request to the debugger reported running, 20 times
// one after another, ours (a DebugSession) against `kubectl debug` on the same pods, both seen by the
// same pod watch. Prints p50/p95 and the ratio of medians. Usage (cluster up, KUBECONFIG set):
//   node bench/latency.ts        (make bench runs it)
import { spawn } from "node:child_process";
import type { V1Pod } from "@kubernetes/client-node";
import type { DebugSession } from "../src/api/types.ts";
import { ephemeralContainerName } from "../src/controller/container.ts";
import {
  IMAGE,
  SESSIONS,
  benchNamespace,
  custom,
  deleteNamespace,
  client,
  kubectl,
  quantile,
  record,
  startOperator,
} from "./support.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const kubeconfig = process.env.KUBECONFIG!;

async function main(): Promise<void> {
  const ns = await benchNamespace("latency");
  const operator = await startOperator("latency");
  const pods = Array.from({ length: RUNS }, (_, i) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `web-${i}` },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        { name: "web", image: IMAGE, imagePullPolicy: "IfNotPresent", command: ["httpd", "-f", "-p", "8080"] },
      ],
    },
  }));
  kubectl(["apply", "-n", ns, "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: pods }));
  kubectl(["-n", ns, "wait", "--for=condition=Ready", "pod", "--all", "--timeout=300s"]);

  // One watch sees both kinds of debugger start.
  const runningAt = new Map<string, number>();
  const waiters = new Map<string, (t: number) => void>();
  const controller = await client.watch(
    `/api/v1/namespaces/${ns}/pods`,
    {},
    (_phase: string, pod: V1Pod) => {
      const now = performance.now();
      for (const s of pod.status?.ephemeralContainerStatuses ?? []) {
        const key = `${pod.metadata?.name}/${s.name}`;
        if (s.state?.running && !runningAt.has(key)) {
          runningAt.set(key, now);
          waiters.get(key)?.(now);
        }
      }
    },
    () => undefined,
  );
  const running = (key: string): Promise<number> =>
    new Promise((resolve) => (runningAt.has(key) ? resolve(runningAt.get(key)!) : waiters.set(key, resolve)));

  const ours: number[] = [];
  const kubectlDebug: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const pod = `web-${i}`;
      // Ours: one create request, watched until the kubelet reports the debugger running.
      const body: DebugSession = {
        apiVersion: "debugging.dev/v1alpha1",
        kind: "DebugSession",
        metadata: { name: `s-${i}`, namespace: ns },
        spec: {
          targetPod: pod,
          targetContainer: "web",
          image: IMAGE,
          imagePullPolicy: "IfNotPresent",
          command: ["sleep", "1d"],
        },
      };
      const t0 = performance.now();
      const created = (await custom.createNamespacedCustomObject({ ...SESSIONS, namespace: ns, body })) as DebugSession;
      ours.push((await running(`${pod}/${ephemeralContainerName(created)}`)) - t0);

      // kubectl debug on the same pod, as a user would type it.
      const t1 = performance.now();
      const child = spawn(
        "kubectl",
        [
          "--kubeconfig",
          kubeconfig,
          "-n",
          ns,
          "debug",
          pod,
          `--image=${IMAGE}`,
          "--image-pull-policy=IfNotPresent",
          "--target=web",
          "--profile=general",
          "-c",
          `kd-${i}`,
          "--",
          "sleep",
          "1d",
        ],
        { stdio: "ignore" },
      );
      const exited = new Promise((r) => child.on("exit", r));
      kubectlDebug.push((await running(`${pod}/kd-${i}`)) - t1);
      await exited;
    }
  } finally {
    controller.abort();
    deleteNamespace(ns, true);
    await operator.stop();
  }
  const result = {
    runs: RUNS,
    ours_ms: { p50: quantile(ours, 0.5), p95: quantile(ours, 0.95), raw: ours.map(Math.round) },
    kubectl_debug_ms: {
      p50: quantile(kubectlDebug, 0.5),
      p95: quantile(kubectlDebug, 0.95),
      raw: kubectlDebug.map(Math.round),
    },
    latency_ratio_vs_kubectl_debug: quantile(ours, 0.5) / quantile(kubectlDebug, 0.5),
  };
  console.log(JSON.stringify(result, null, 2));
  record({ latency: result, latency_ratio_vs_kubectl_debug: result.latency_ratio_vs_kubectl_debug });
}

await main();
