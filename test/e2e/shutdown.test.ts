// SIGTERM in the middle of a burst of 50 sessions: the operator exits promptly, and after a restart
// every session reaches Running with exactly one debugger each.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allowAllPolicy,
  createNamespace,
  deleteNamespace,
  installCRDs,
  kubectlOk,
  startOperator,
  testImage,
  waitFor,
  type Operator,
} from "../support/kube.ts";

const PODS = 10;
const SESSIONS = 50;

describe("graceful shutdown under load", () => {
  let ns: string;
  let operator: Operator | undefined;
  beforeAll(() => {
    installCRDs();
    ns = createNamespace("burst");
    allowAllPolicy(ns);
    const pods = Array.from({ length: PODS }, (_, i) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: `web-${i}`, labels: { app: "web" } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          { name: "web", image: testImage, imagePullPolicy: "IfNotPresent", command: ["httpd", "-f", "-p", "8080"] },
        ],
      },
    }));
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: JSON.stringify({ apiVersion: "v1", kind: "List", items: pods }),
    });
    kubectlOk(["-n", ns, "wait", "--for=condition=Ready", "pod", "-l", "app=web", "--timeout=180s"]);
  });
  afterAll(async () => {
    await operator?.stop("SIGKILL");
    deleteNamespace(ns);
  });

  it("exits within 10 s of SIGTERM mid-burst; after a restart all 50 run, one container each", async () => {
    operator = startOperator([], { namespace: ns });
    await waitFor(() => operator!.logs().includes('"caches synced"'), 30_000, "operator ready");
    const sessions = Array.from({ length: SESSIONS }, (_, i) => ({
      apiVersion: "debugging.dev/v1alpha1",
      kind: "DebugSession",
      metadata: { name: `s-${i}` },
      spec: {
        targetPod: `web-${i % PODS}`,
        image: testImage,
        imagePullPolicy: "IfNotPresent",
        command: ["sleep", "3600"],
        ttl: "30m",
      },
    }));
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: JSON.stringify({ apiVersion: "v1", kind: "List", items: sessions }),
    });
    await waitFor(() => operator!.logs().includes('"injected debugger"'), 30_000, "the burst to be under way");

    const signalled = Date.now();
    const code = await operator.stop("SIGTERM");
    const took = Date.now() - signalled;
    console.log(
      `exit ${code} ${took} ms after SIGTERM; injections before it: ${operator.logs().split('"injected debugger"').length - 1}`,
    );
    expect(code).toBe(0);
    expect(took).toBeLessThan(10_000);
    expect(operator.logs()).toContain('"stopped"');

    operator = startOperator([], { namespace: ns });
    await waitFor(
      () => {
        const phases = kubectlOk(["-n", ns, "get", "dbg", "-o", "jsonpath={.items[*].status.phase}"]).split(" ");
        return phases.length === SESSIONS && phases.every((p) => p === "Running");
      },
      240_000,
      "all 50 sessions Running",
      1_000,
    );

    const pods = JSON.parse(kubectlOk(["-n", ns, "get", "pods", "-o", "json"])) as {
      items: Array<{ metadata: { name: string }; spec: { ephemeralContainers?: Array<{ name: string }> } }>;
    };
    for (const pod of pods.items) {
      const names = (pod.spec.ephemeralContainers ?? []).map((c) => c.name);
      expect(names, pod.metadata.name).toHaveLength(SESSIONS / PODS);
      expect(new Set(names).size).toBe(names.length);
    }
  }, 420_000);
});
