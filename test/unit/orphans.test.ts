// orphanVerdict: which tainted pods no session holds, and when they go. What the operator then does
// with them against a real apiserver is test/e2e/orphans.test.ts.
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  EXPIRES_ANNOTATION,
  EXPIRY_ACTION_ANNOTATION,
  SESSION_ANNOTATION,
  SESSION_LABEL,
  type DebugSessionStatus,
} from "../../src/api/types.ts";
import { orphanVerdict } from "../../src/controller/orphans.ts";
import { CNAME, MIN, NOW, POD_UID, SESSION_NAME, after, ago, iso, pod, session } from "./fixtures.ts";

const orphan = (o: { expiresAt?: string; action?: string; containers?: string[]; labelled?: boolean } = {}): V1Pod =>
  pod({
    ephemeralContainers: o.containers ?? [CNAME],
    labels: o.labelled === false ? { app: "web" } : { app: "web", [SESSION_LABEL]: SESSION_NAME },
    annotations: {
      [SESSION_ANNOTATION]: SESSION_NAME,
      ...(o.expiresAt !== undefined ? { [EXPIRES_ANNOTATION]: o.expiresAt } : {}),
      ...(o.action !== undefined ? { [EXPIRY_ACTION_ANNOTATION]: o.action } : {}),
    },
  });
const holding = (status: DebugSessionStatus) => session({ status, name: "other", uid: "uid-other" });

describe("orphanVerdict", () => {
  it("waits, to the millisecond, for the expiry the pod records", () => {
    expect(orphanVerdict(orphan({ expiresAt: iso(after(5 * MIN)) }), [], NOW)).toEqual({ kind: "wait", ms: 5 * MIN });
  });

  it.each([
    { name: "at its recorded expiry", expiresAt: iso(NOW), action: undefined, how: "Evict" },
    { name: "after it, with Delete recorded", expiresAt: iso(ago(MIN)), action: "Delete", how: "Delete" },
    { name: "after it, with an unknown action recorded", expiresAt: iso(ago(MIN)), action: "Nuke", how: "Evict" },
  ])("removes an orphan $name: $how", ({ expiresAt, action, how }) => {
    const verdict = orphanVerdict(orphan({ expiresAt, ...(action ? { action } : {}) }), [], NOW);
    expect(verdict).toMatchObject({ kind: "remove", how, expiresAt });
    if (verdict.kind === "remove") {
      expect(verdict.message).toBe(
        `no DebugSession holds this pod any more (tainted by ${SESSION_NAME}) and its debugger's time ran out ` +
          `at ${expiresAt}; ${how === "Evict" ? "evicting" : "deleting"} it`,
      );
    }
  });

  it.each(["not a date", undefined])("removes at once an orphan whose recorded expiry is %s", (expiresAt) => {
    const verdict = orphanVerdict(orphan(expiresAt !== undefined ? { expiresAt } : {}), [], NOW);
    expect(verdict).toMatchObject({ kind: "remove", how: "Evict", expiresAt: undefined });
  });

  it.each([
    { name: "a session whose debugger went into this pod", s: holding({ phase: "Running", targetPodUID: POD_UID }) },
    {
      name: "a session that ended and still has to remove it",
      s: holding({ phase: "Expired", targetPodUID: POD_UID }),
    },
    { name: "a session whose container is in it, status lost (adopted)", s: session() },
  ])("leaves a pod held by $name", ({ s }) => {
    expect(orphanVerdict(orphan({ expiresAt: iso(ago(MIN)) }), [s], NOW)).toEqual({ kind: "leave" });
  });

  it.each([
    { name: "a Failed session that reserved the pod (its injection was refused)", phase: "Failed" as const },
    { name: "a session of another pod with the same name", phase: "Running" as const, uid: "pod-uid-replacement" },
  ])("does not count $name as holding it", ({ phase, uid }) => {
    const s = holding({ phase, targetPodUID: uid ?? POD_UID });
    expect(orphanVerdict(orphan({ expiresAt: iso(ago(MIN)) }), [s], NOW)).toMatchObject({ kind: "remove" });
  });

  it("does not count a session of another namespace", () => {
    const s = session();
    s.metadata.namespace = "elsewhere";
    expect(orphanVerdict(orphan({ expiresAt: iso(ago(MIN)) }), [s], NOW)).toMatchObject({ kind: "remove" });
  });

  it.each([
    {
      name: "carries our label but no debugger named as ours",
      p: orphan({ expiresAt: iso(ago(MIN)), containers: [] }),
    },
    {
      name: "carries a debugger someone else added",
      p: orphan({ expiresAt: iso(ago(MIN)), containers: ["debugger-x7k2p"] }),
    },
    { name: "carries our debugger but not our label", p: orphan({ expiresAt: iso(ago(MIN)), labelled: false }) },
  ])("never removes a pod that $name", ({ p }) => {
    expect(orphanVerdict(p, [], NOW)).toEqual({ kind: "leave" });
  });

  it("leaves a pod that is being deleted", () => {
    const p = orphan({ expiresAt: iso(ago(MIN)) });
    p.metadata!.deletionTimestamp = ago(1000);
    expect(orphanVerdict(p, [], NOW)).toEqual({ kind: "leave" });
  });
});
