// The Applier's order of writes and how it turns the apiserver's refusals into outcomes, on the
// in-memory ClusterWriter. What each write does on a real apiserver: test/e2e.
import pino from "pino";
import { describe, expect, it } from "vitest";
import { FINALIZER, SESSION_LABEL, type DebugSessionStatus } from "../../src/api/types.ts";
import { Applier } from "../../src/controller/apply.ts";
import { decide } from "../../src/controller/decide.ts";
import { decideAndApply, removalAfter } from "../../src/controller/pass.ts";
import type { RemovedAtExpiry } from "../../src/controller/input.ts";
import { FakeApiError, FakeClusterWriter } from "../support/fake-cluster-writer.ts";
import { ALLOW_ALL, CNAME, MIN, NOW, POD_UID, ago, ecStatus, iso, pod, running, session } from "./fixtures.ts";

const log = pino({ level: "silent" });

function setup(finalizers: string[], status?: DebugSessionStatus, tainted = false) {
  const p = tainted
    ? pod({
        ephemeralContainers: [CNAME],
        ephemeralContainerStatuses: [ecStatus(running())],
        labels: { [SESSION_LABEL]: "x" },
      })
    : pod();
  const w = new FakeClusterWriter(session({ finalizers, status }), p, () => NOW);
  const applier = new Applier(w, log, {}, () => NOW);
  // What the reconciler remembers between passes of a removal at expiry (input.removed).
  let removed: RemovedAtExpiry | undefined;
  const pass = async () => {
    const input = { session: w.session, pod: w.pod, access: ALLOW_ALL, now: NOW, removed };
    const result = await decideAndApply(input, applier, log);
    removed = removalAfter(result, removed);
    return result;
  };
  return { w, applier, pass };
}

const expiredStatus = (): DebugSessionStatus => ({
  phase: "Running",
  targetPodUID: POD_UID,
  injectedAt: iso(ago(30 * MIN)),
  expiresAt: iso(NOW),
  observedGeneration: 1,
});

describe("Applier", () => {
  it("adds the finalizer, then writes the pod, then the status, then records events", async () => {
    const { w, applier, pass } = setup([]);
    const { resourceVersion } = await pass();
    await applier.events.flush(1000);
    expect(w.writes).toEqual(["addFinalizer", "inject", "markPod", "status Injecting/ContainerCreating"]);
    expect(w.events).toEqual(["pod/DebuggerInjected", "session/Injected"]);
    expect(resourceVersion).toBe(w.session.metadata.resourceVersion);
    expect(w.session.metadata.finalizers).toEqual([FINALIZER]);
  });

  it.each([400, 403, 422])(
    "an injection refused with %i ends Failed/InjectionRefused in one status write, not retried",
    async (code) => {
      const { w, applier, pass } = setup([FINALIZER]);
      w.refuseInjection = new FakeApiError(code, 'pods "web-0" is forbidden: violates PodSecurity "restricted:latest"');
      const { plan } = await pass();
      await applier.events.flush(1000);
      expect(w.writes).toEqual(["status Failed/InjectionRefused"]);
      expect(w.events).toEqual(["session/InjectionRefused"]);
      expect(w.session.status).toMatchObject({
        phase: "Failed",
        message: expect.stringContaining("violates PodSecurity") as string,
      });
      expect(plan.retryWithBackoff).toBeUndefined();
      expect(w.pod?.spec?.ephemeralContainers ?? []).toEqual([]);
    },
  );

  it("a refusal after the finalizer write is reported at the resourceVersion that write produced", async () => {
    const { w, pass } = setup([]);
    w.refuseInjection = new FakeApiError(403, "forbidden");
    await pass();
    expect(w.writes).toEqual(["addFinalizer", "status Failed/InjectionRefused"]);
  });

  it("an injection that lost a race to another debugger (422, the list it sets drops one) is retried, not Failed", async () => {
    const { w, pass } = setup([FINALIZER]);
    const message =
      'Pod "web-0" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers "dbg-b-73c51" may not be removed';
    w.refuseInjection = new FakeApiError(422, message);
    await expect(pass()).rejects.toThrow("may not be removed");
    expect(w.writes).toEqual([]);
    await pass();
    expect(w.writes).toEqual(["inject", "markPod", "status Injecting/ContainerCreating"]);
  });

  it("an injection that fails for another reason (500) is thrown for a retry, and nothing after it is written", async () => {
    const { w, pass } = setup([FINALIZER]);
    w.refuseInjection = new FakeApiError(500, "etcdserver: request timed out");
    await expect(pass()).rejects.toThrow("etcdserver");
    expect(w.writes).toEqual([]);
  });

  it("an eviction a disruption budget refuses (429) writes Expired/EvictionBlocked and asks for a backoff retry", async () => {
    const { w, pass } = setup([FINALIZER], expiredStatus(), true);
    w.refuseEvictions = 1;
    const { plan } = await pass();
    expect(w.writes).toEqual(["status Expired/EvictionBlocked"]);
    expect(plan.retryWithBackoff).toContain("disruption budget");
    const again = await pass();
    expect(again.plan.retryWithBackoff).toBeUndefined();
    await pass();
    expect(w.writes).toEqual(["status Expired/EvictionBlocked", "removePod", "status Expired/PodRemoved"]);
  });

  it("a 429 on a deletion is no disruption budget's refusal: it is thrown for a retry", async () => {
    const { w, applier } = setup([FINALIZER], expiredStatus(), true);
    w.deletePod = () => Promise.reject(new FakeApiError(429, "too many requests"));
    const s = { ...w.session, spec: { ...w.session.spec, expiryAction: "Delete" as const } };
    const plan = decide({ session: s, pod: w.pod, access: ALLOW_ALL, now: NOW });
    await expect(applier.apply(plan, s, w.pod, log)).rejects.toThrow("too many requests");
    expect(w.writes).toEqual([]);
  });

  it("a pod already gone (404) or replaced (409) at removal counts as removed", async () => {
    for (const code of [404, 409]) {
      const { w, pass } = setup([FINALIZER], expiredStatus(), true);
      w.evictPod = () => Promise.reject(new FakeApiError(code, "gone"));
      const { plan } = await pass();
      expect(w.writes).toEqual([]);
      // The status is the next pass's, queued behind other sessions' removals (planExpiry).
      expect(plan.requeueAfterMs).toBe(0);
      await pass();
      expect(w.writes).toEqual(["status Expired/PodRemoved"]);
    }
  });

  it("a plan is plain data: it prints as JSON and reads back the same", () => {
    const plan = decide({ session: session(), pod: pod(), access: ALLOW_ALL, now: NOW });
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });
});
