// A tainted pod whose session is gone (its finalizer removed by hand, then deleted; or lost with an
// etcd restore) is still removed, at the expiry the pod's own annotations record and never before,
// whether the operator watched the session go or was down at the time. A pod that only carries our
// label (anyone with `patch pods` can set it) is never removed.
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
import { applySession, createBarePod, podJson, sessionStatus } from "../support/workloads.ts";

const EXPIRES = "debugging.dev/expires-at";

describe("orphaned tainted pods", () => {
  let ns: string;
  let operator: Operator | undefined;
  beforeAll(() => {
    installCRDs();
    ns = createNamespace("orphans");
    allowAllPolicy(ns);
  });
  afterAll(async () => {
    await operator?.stop("SIGKILL");
    deleteNamespace(ns);
  });

  /**
   * The session goes without its finalizer's cleanup, while the operator is down (running, it would
   * remove the pod on the deletion). The finalizer guard lets only the operator's identity take the
   * finalizer off; a cluster admin deletes the guard's binding first (docs/security.md). The test takes
   * that identity instead of lifting the guard under the suites that share the cluster.
   */
  const loseSession = (name: string): void => {
    kubectlOk(["-n", ns, "delete", "dbg", name, "--wait=false"]);
    kubectlOk([
      ...["-n", ns, "patch", "dbg", name, "--type=merge", "-p", '{"metadata":{"finalizers":null}}'],
      "--as=system:serviceaccount:debugsession-system:debugsession-operator",
    ]);
    kubectlOk(["-n", ns, "wait", "--for=delete", `dbg/${name}`, "--timeout=30s"]);
  };
  const removed = (pod: string): boolean => {
    const p = podJson(ns, pod);
    return !p || p.metadata.deletionTimestamp !== undefined;
  };
  /** Polls until the pod is removed; fails if that happens before `notBefore`. Returns the lag after it. */
  const removalLag = async (pod: string, notBefore: number, timeoutMs: number): Promise<number> => {
    const at = await waitFor(() => (removed(pod) ? Date.now() : undefined), timeoutMs, `${pod} removed`, 100);
    expect(at, `${pod} removed ${notBefore - at} ms too early`).toBeGreaterThanOrEqual(notBefore);
    return at - notBefore;
  };
  const inject = (session: string, pod: string): number => {
    applySession(ns, session, { targetPod: pod, ttl: "1m", command: ["sleep", "3600"], interactive: false });
    kubectlOk(["-n", ns, "wait", "--for=condition=Injected", `dbg/${session}`, "--timeout=60s"]);
    const jsonpath = "jsonpath={.metadata.annotations.debugging\\.dev/expires-at}";
    const recorded = kubectlOk(["-n", ns, "get", "pod", pod, "-o", jsonpath]);
    expect(recorded, `pod ${pod} records the expiry of ${session}`).toBe(sessionStatus(ns, session).expiresAt);
    return Date.parse(recorded);
  };

  it("removes each orphan at its recorded expiry, never before, and leaves a pod that only carries the label", async () => {
    for (const pod of ["down-at-expiry", "back-before", "label-only"]) createBarePod(ns, pod);
    // The label, and an expiry long past, set by someone who may patch pods: no debugger of ours in it.
    kubectlOk(["-n", ns, "label", "pod", "label-only", "debugging.dev/session=forged"]);
    kubectlOk(["-n", ns, "annotate", "pod", "label-only", `${EXPIRES}=2020-01-01T00:00:00Z`]);
    operator = startOperator([], { namespace: ns });
    const downAt = inject("s1", "down-at-expiry");
    // s2 expires 10 s after s1: the operator comes back between the two expiries.
    await new Promise((r) => setTimeout(r, Math.max(0, downAt + 10_000 - 60_000 - Date.now())));
    const backBefore = inject("s2", "back-before");
    await operator.stop("SIGKILL");
    operator = undefined;
    loseSession("s1");
    loseSession("s2");

    await new Promise((r) => setTimeout(r, Math.max(0, downAt - Date.now()) + 2_000));
    expect(removed("down-at-expiry"), "nothing removes an orphan while the operator is down").toBe(false);
    const restartedAt = Date.now();
    operator = startOperator([], { namespace: ns });
    // 1. Down at the recorded expiry: removed as soon as the operator is back.
    const afterRestart = await removalLag("down-at-expiry", restartedAt, 30_000);
    // 2. Back before it: removed at the recorded expiry, not before.
    const afterExpiry = await removalLag("back-before", backBefore, backBefore - Date.now() + 30_000);
    console.log(
      `orphan removed ${afterRestart} ms after the restart (the operator was down at its expiry); ` +
        `another ${afterExpiry} ms after its recorded expiry (the operator was back before it)`,
    );
    const event = kubectlOk([
      ...["-n", ns, "get", "events", "-o", "jsonpath={.items[*].message}"],
      "--field-selector=involvedObject.name=back-before,reason=OrphanedPodRemoved",
    ]);
    expect(event).toContain("no DebugSession holds this pod any more (tainted by s2)");
    expect(event).toContain(`ran out at ${new Date(backBefore).toISOString()}`);

    expect(removed("label-only"), "a pod with the label but no debugger of ours is left alone").toBe(false);
    // The pod shows its removal before the operator's log line about it reaches us.
    const removals = (): number =>
      operator!
        .logs()
        .split("\n")
        .filter((l) => l.includes('"removed a tainted pod no session holds"')).length;
    await waitFor(() => removals() >= 2, 10_000, "both removals in the operator's log");
    expect(removals()).toBe(2);
  });
});
