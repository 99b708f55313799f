// Benchmark 1 of issue #6: time from the create request to the debugger reported running, 20 times
// one after another, ours (a DebugSession) against `kubectl debug` on the same pods, both seen by the
// same pod watch. Prints p50/p95 and the ratio of medians. Usage (cluster up, KUBECONFIG set):
//   node bench/latency.ts        (make bench runs it)
import { spawnSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { CustomObjectsApi, KubeConfig, Watch, type V1Pod } from "@kubernetes/client-node";
import { ephemeralContainerName } from "../src/controller/container.ts";
import type { DebugSession } from "../src/api/types.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const IMAGE = process.env.TEST_IMAGE ?? "busybox:local";
const repo = new URL("..", import.meta.url).pathname;
const kubeconfig = process.env.KUBECONFIG;
if (!kubeconfig) throw new Error("KUBECONFIG must point at a cluster (make bench sets it for the local one)");

function kubectl(args: string[], input?: string): string {
  const r = spawnSync("kubectl", ["--kubeconfig", kubeconfig!, ...args], { input, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

async function main(): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig!);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const ns = `bench-latency-${Date.now().toString(36)}`;
  kubectl(["create", "namespace", ns]);
  for (let i = 0; i < 60 && spawnSync("kubectl", ["--kubeconfig", kubeconfig!, "-n", ns, "get", "sa", "default"]).status !== 0; i++) await new Promise((r) => setTimeout(r, 500));
  kubectl(["apply", "-n", ns, "-f", "-"], `apiVersion: debugging.dev/v1alpha1
kind: DebugPolicy
metadata: {name: default}
spec: {targetSelector: {}, allowedImages: ["${IMAGE}"], maxTTL: 24h, maxSessionsPerPod: 10}
`);
  const pods = Array.from({ length: RUNS }, (_, i) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `web-${i}` },
    spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "web", image: IMAGE, imagePullPolicy: "IfNotPresent", command: ["httpd", "-f", "-p", "8080"] }] },
  }));
  kubectl(["apply", "-n", ns, "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: pods }));
  kubectl(["-n", ns, "wait", "--for=condition=Ready", "pod", "--all", "--timeout=300s"]);

  // One watch sees both kinds of debugger start.
  const runningAt = new Map<string, number>();
  const waiters = new Map<string, (t: number) => void>();
  const controller = await new Watch(kc).watch(`/api/v1/namespaces/${ns}/pods`, {}, (_phase: string, pod: V1Pod) => {
    const now = performance.now();
    for (const s of pod.status?.ephemeralContainerStatuses ?? []) {
      const key = `${pod.metadata?.name}/${s.name}`;
      if (s.state?.running && !runningAt.has(key)) {
        runningAt.set(key, now);
        waiters.get(key)?.(now);
      }
    }
  }, () => undefined);
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
        spec: { targetPod: pod, targetContainer: "web", image: IMAGE, imagePullPolicy: "IfNotPresent", command: ["sleep", "1d"] },
      };
      const t0 = performance.now();
      const created = (await custom.createNamespacedCustomObject({ group: "debugging.dev", version: "v1alpha1", plural: "debugsessions", namespace: ns, body })) as DebugSession;
      ours.push((await running(`${pod}/${ephemeralContainerName(created)}`)) - t0);

      // kubectl debug on the same pod, as a user would type it.
      const t1 = performance.now();
      const child = spawn("kubectl", ["--kubeconfig", kubeconfig!, "-n", ns, "debug", pod, `--image=${IMAGE}`, "--image-pull-policy=IfNotPresent", "--target=web", "--profile=general", "-c", `kd-${i}`, "--", "sleep", "1d"], { stdio: "ignore" });
      const exited = new Promise((r) => child.on("exit", r));
      kubectlDebug.push((await running(`${pod}/kd-${i}`)) - t1);
      await exited;
    }
  } finally {
    controller.abort();
    spawnSync("kubectl", ["--kubeconfig", kubeconfig!, "delete", "namespace", ns, "--wait=false"]);
  }
  const result = {
    runs: RUNS,
    ours_ms: { p50: quantile(ours, 0.5), p95: quantile(ours, 0.95), raw: ours.map(Math.round) },
    kubectl_debug_ms: { p50: quantile(kubectlDebug, 0.5), p95: quantile(kubectlDebug, 0.95), raw: kubectlDebug.map(Math.round) },
    latency_ratio_vs_kubectl_debug: quantile(ours, 0.5) / quantile(kubectlDebug, 0.5),
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(`${repo}/bench/out`, { recursive: true });
  const file = `${repo}/bench/out/results.json`;
  const all = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>) : {};
  writeFileSync(file, JSON.stringify({ ...all, latency: result, latency_ratio_vs_kubectl_debug: result.latency_ratio_vs_kubectl_debug, date: new Date().toISOString() }, null, 2));
}

await main();
