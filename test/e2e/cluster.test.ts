// The local cluster does what the operator relies on: pods run, `kubectl debug` adds an ephemeral
// container that joins the target's process namespace, exec and attach reach it.
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNamespace, deleteNamespace, kubectlCommand, kubectlOk, testImage, waitFor } from "../support/kube.ts";

describe("the cluster runs pods and ephemeral containers", () => {
  let ns: string;
  beforeAll(() => {
    ns = createNamespace("cluster");
  });
  afterAll(() => deleteNamespace(ns));

  it("runs a pod to Ready", () => {
    kubectlOk([
      "-n",
      ns,
      "run",
      "web",
      `--image=${testImage}`,
      "--image-pull-policy=IfNotPresent",
      "--restart=Never",
      "--",
      "httpd",
      "-f",
      "-p",
      "8080",
    ]);
    kubectlOk(["-n", ns, "wait", "--for=condition=Ready", "pod/web", "--timeout=120s"]);
    expect(kubectlOk(["-n", ns, "get", "pod", "web", "-o", "jsonpath={.status.phase}"])).toBe("Running");
  });

  it("adds an ephemeral container with kubectl debug that the pod reports running", async () => {
    kubectlOk([
      "-n",
      ns,
      "debug",
      "web",
      `--image=${testImage}`,
      "--image-pull-policy=IfNotPresent",
      "--target=web",
      "-c",
      "dbg",
      "--",
      "sleep",
      "3600",
    ]);
    const state = await waitFor(
      () => {
        const out = kubectlOk([
          "-n",
          ns,
          "get",
          "pod",
          "web",
          "-o",
          "jsonpath={.status.ephemeralContainerStatuses[?(@.name=='dbg')].state}",
        ]);
        return out.includes("running") ? out : undefined;
      },
      60_000,
      "ephemeral container dbg running",
    );
    expect(JSON.parse(state)).toHaveProperty("running.startedAt");
  });

  it("execs into the ephemeral container, which sees the target's processes", () => {
    const out = kubectlOk(["-n", ns, "exec", "web", "-c", "dbg", "--", "ps", "-o", "args"]);
    expect(out).toContain("httpd -f -p 8080");
  });

  it("attaches to an interactive debugger and runs commands from stdin", () => {
    // stdin stays open until the shell exits, as at a terminal: kubectl attach stops reading the
    // container's output once its own stdin is closed.
    const debug = [
      "-n",
      ns,
      "debug",
      "web",
      `--image=${testImage}`,
      "--image-pull-policy=IfNotPresent",
      "--profile=general",
      "--target=web",
      "-c",
      "dbg2",
      "-i",
      "--attach",
      "--",
      "sh",
    ];
    const script = "printf 'echo hello-from-$(hostname)\\nps -o args | grep -c \"httpd -f\"\\nexit 0\\n'; sleep 8";
    const r = spawnSync("bash", ["-c", `(${script}) | ${kubectlCommand()} ${debug.map((a) => `'${a}'`).join(" ")}`], {
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("hello-from-web");
    expect(r.stdout).toMatch(/^[1-9]\d*$/m);
  });
});
