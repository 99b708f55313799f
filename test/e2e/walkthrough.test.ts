// The user flow DESIGN.md is judged by, declaratively: apply a session, wait for Ready, see the target's
// processes from the debugger, and at expiresAt the tainted pod is gone and its Deployment has a clean one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allowAllPolicy,
  createNamespace,
  deleteNamespace,
  installCRDs,
  kubectlOk,
  startOperator,
  waitFor,
  type Operator,
} from "../support/kube.ts";
import {
  applySession,
  createWebDeployment,
  podJson,
  runningPods,
  sessionStatus,
  type PodRef,
} from "../support/workloads.ts";

describe("walkthrough: apply, attach, expire", () => {
  let ns: string;
  let operator: Operator;
  let target: PodRef;

  beforeAll(() => {
    installCRDs();
    ns = createNamespace("walk");
    allowAllPolicy(ns);
    operator = startOperator([], { namespace: ns });
    createWebDeployment(ns);
    const pods = runningPods(ns, "web");
    expect(pods).toHaveLength(1);
    target = pods[0]!;
  });
  afterAll(async () => {
    await operator?.stop();
    deleteNamespace(ns);
  });

  it("becomes Ready within seconds, and the debugger sees the target's processes", () => {
    const applied = Date.now();
    applySession(ns, "debug-web", { targetPod: target.name, targetContainer: "web", ttl: "1m", command: ["sh"] });
    kubectlOk(["-n", ns, "wait", "--for=condition=Ready", "debugsession/debug-web", "--timeout=60s"]);
    console.log(`apply -> Ready: ${Date.now() - applied} ms`);

    const status = sessionStatus(ns, "debug-web");
    expect(status.phase).toBe("Running");
    expect(status.targetPodUID).toBe(target.uid);
    expect(status.attachCommand).toBe(`kubectl attach -it ${target.name} -c ${status.containerName} -n ${ns}`);
    expect(Date.parse(status.expiresAt!) - Date.parse(status.injectedAt!)).toBe(60_000);

    const ps = kubectlOk(["-n", ns, "exec", target.name, "-c", status.containerName!, "--", "ps", "-o", "args"]);
    expect(ps).toContain("httpd -f -p 8080");

    const pod = podJson(ns, target.name)!;
    expect(pod.spec.ephemeralContainers?.map((c) => c.name)).toEqual([status.containerName]);
    expect(pod.metadata.labels?.["debugging.dev/session"]).toBe("debug-web");
  });

  it("shows Pod, Container, Phase, Expires and Age in kubectl get dbg", () => {
    const [header, row] = kubectlOk(["-n", ns, "get", "dbg"]).trim().split("\n");
    expect(header?.split(/\s+/)).toEqual(["NAME", "POD", "CONTAINER", "PHASE", "REQUESTER", "EXPIRES", "AGE"]);
    const cells = row!.split(/\s+/);
    expect(cells.slice(0, 5)).toEqual([
      "debug-web",
      target.name,
      sessionStatus(ns, "debug-web").containerName,
      "Running",
      "kubernetes-admin",
    ]);
  });

  it("removes the pod at expiresAt; the Deployment's new pod is clean and the session Expired", async () => {
    const { expiresAt } = sessionStatus(ns, "debug-web");
    const deadline = Date.parse(expiresAt!);
    const removedAt = await waitFor(
      () => {
        const pod = podJson(ns, target.name);
        return !pod || pod.metadata.uid !== target.uid || pod.metadata.deletionTimestamp ? Date.now() : undefined;
      },
      deadline - Date.now() + 60_000,
      "the tainted pod to be removed",
      100,
    );
    expect(removedAt).toBeGreaterThanOrEqual(deadline);
    console.log(`pod removal seen ${removedAt - deadline} ms after expiresAt (polled every 100 ms)`);
    const logged = await waitFor(
      () => /"lagMs":(-?\d+)/.exec(operator.logs())?.[1],
      10_000,
      "the operator's removal log line",
    );
    console.log(`operator's removal request answered ${logged} ms after expiresAt`);
    expect(Number(logged)).toBeGreaterThanOrEqual(0);

    await waitFor(() => sessionStatus(ns, "debug-web").phase === "Expired", 30_000, "phase Expired");
    const fresh = await waitFor(
      () => runningPods(ns, "web").find((p) => p.uid !== target.uid),
      120_000,
      "a new web pod",
    );
    expect(podJson(ns, fresh.name)!.spec.ephemeralContainers ?? []).toEqual([]);
    const status = sessionStatus(ns, "debug-web");
    expect(status.conditions?.find((c) => c.type === "Expired")).toMatchObject({ status: "True" });
    await waitFor(() => podJson(ns, target.name)?.metadata.uid !== target.uid, 60_000, "the old pod to be gone");
  });
});
