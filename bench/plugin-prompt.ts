// Issue 13 (b): "command typed -> shell prompt visible" for `kubectl dbg POD -c web -- sh` against
// `kubectl debug -it POD --target web -- sh` on the same kind of pods (real kubelet), 30 runs each,
// interleaved, each in a fresh pod, each in a real terminal (tmux, polled every 20 ms). Both attach the
// same way (kubectl attach), so both may print "If you don't see a command prompt, try pressing enter":
// then one Enter is sent, alike for both. The ratio is median ours / median kubectl debug (goal <= 1.0).
// 30 runs each by default, not the issue's 10: kubectl debug's time is bimodal (the kubelet reports its
// container running at once, or at its next relist up to 1 s later), and ten-run medians of the same
// code ranged 0.54-1.48 (docs/benchmarks.md).
//   BENCH=plugin-prompt make bench      (BENCH_PROMPT_RUNS=30)
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import {
  IMAGE,
  benchNamespace,
  deleteNamespace,
  kubectl,
  quantile,
  record,
  repo,
  round,
  sleep,
  startOperator,
} from "./support.ts";

const RUNS = Number(process.env.BENCH_PROMPT_RUNS ?? 30);
const socket = `${mkdtempSync(`${tmpdir()}/bench-tmux-`)}/tmux.sock`;
const tmux = (...args: string[]): string => execFileSync("tmux", ["-S", socket, ...args], { encoding: "utf8" });
// capture-pane drops the prompt's trailing space.
const PROMPT = /\/ #\s*$/m;
const HINT = "If you don't see a command prompt";

function pods(ns: string, names: string[]): void {
  const manifests = names.map((name) =>
    JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, labels: { app: "prompt" } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          { name: "web", image: IMAGE, imagePullPolicy: "IfNotPresent", command: ["httpd", "-f", "-p", "8080"] },
        ],
      },
    }),
  );
  kubectl(["apply", "-n", ns, "-f", "-"], manifests.join("\n"));
  kubectl(["wait", "-n", ns, "--for=condition=Ready", "pod", "-l", "app=prompt", "--timeout=300s"]);
}

/** ms from starting `command` in a new terminal to a shell prompt in it. */
async function promptAfter(name: string, command: string): Promise<number> {
  const started = performance.now();
  tmux("new-session", "-d", "-s", name, "-x", "160", "-y", "40", command);
  let nudged = false;
  for (;;) {
    const pane = tmux("capture-pane", "-p", "-t", name);
    if (PROMPT.test(pane)) break;
    if (!nudged && pane.includes(HINT)) {
      tmux("send-keys", "-t", name, "Enter");
      nudged = true;
    }
    if (performance.now() - started > 120_000) throw new Error(`no prompt from ${command}:\n${pane}`);
    await sleep(20);
  }
  const ms = performance.now() - started;
  tmux("kill-session", "-t", name);
  return ms;
}

async function main(): Promise<void> {
  const ns = await benchNamespace("prompt");
  execFileSync("make", ["-s", "plugin"], { cwd: repo, stdio: "inherit" });
  // The pods land on the real node: KWOK's nodes carry a taint these pods do not tolerate.
  const names = Array.from({ length: RUNS }, (_, i) => i);
  pods(ns, [...names.map((i) => `ours-${i}`), ...names.map((i) => `theirs-${i}`)]);
  const operator = await startOperator("plugin-prompt");
  const env = `env PATH='${repo}bin:${process.env.PATH ?? ""}' KUBECONFIG='${process.env.KUBECONFIG ?? ""}'`;
  // The server exits with its last session: one that lasts keeps the next new-session from racing that exit.
  tmux("new-session", "-d", "-s", "keep", "sleep 86400");
  const ours: number[] = [];
  const theirs: number[] = [];
  try {
    for (const i of names) {
      // The kubelet reports a started container at its next relist (every 1 s): a random pause before
      // each run samples that phase evenly, instead of letting the runs before it fix it (see docs).
      await sleep(Math.random() * 1000);
      ours.push(await promptAfter(`o${i}`, `${env} kubectl dbg ours-${i} -c web --image ${IMAGE} -n ${ns} -- sh`));
      await sleep(Math.random() * 1000);
      theirs.push(
        await promptAfter(
          `t${i}`,
          `${env} kubectl debug -it theirs-${i} -n ${ns} --image ${IMAGE} --image-pull-policy IfNotPresent --target web --profile general -- sh`,
        ),
      );
    }
    const result = {
      runs: RUNS,
      ours_ms: ours.map((x) => round(x)),
      kubectl_debug_ms: theirs.map((x) => round(x)),
      ours_p50_ms: round(quantile(ours, 0.5)),
      kubectl_debug_p50_ms: round(quantile(theirs, 0.5)),
      plugin_prompt_ratio_vs_kubectl_debug: round(quantile(ours, 0.5) / quantile(theirs, 0.5), 3),
    };
    console.log(JSON.stringify(result, null, 2));
    record({
      plugin_prompt: result,
      plugin_prompt_ratio_vs_kubectl_debug: result.plugin_prompt_ratio_vs_kubectl_debug,
    });
  } finally {
    spawnSync("tmux", ["-S", socket, "kill-server"]);
    deleteNamespace(ns, true);
    await operator.stop();
  }
}

await main();
