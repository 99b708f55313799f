import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { SESSION_LABEL } from "../../src/api/types.ts";
import { choosePod, describeTarget, noPodMessage, targetPodName } from "../../src/controller/target.ts";
import { selectorQuery } from "../../src/policy/selector.ts";
import { session } from "./fixtures.ts";

function candidate(
  name: string,
  o: { ready?: boolean; phase?: string; deleting?: boolean; tainted?: boolean; app?: string; debugger?: string } = {},
): V1Pod {
  return {
    metadata: {
      name,
      labels: { app: o.app ?? "web", ...(o.tainted ? { [SESSION_LABEL]: "other" } : {}) },
      ...(o.deleting ? { deletionTimestamp: new Date() } : {}),
    },
    spec: { containers: [{ name: "web" }], ephemeralContainers: o.debugger ? [{ name: o.debugger }] : [] },
    status: {
      phase: o.phase ?? "Running",
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }],
    },
  };
}

const ALL = {};
const choose = (pods: V1Pod[], selector: object | undefined = ALL) =>
  choosePod("Deployment web", pods, "dbg-mine", selector);

describe("choosePod", () => {
  it("picks the first by name of the fit, untainted pods, whatever the order they were listed in", () => {
    const pods = [candidate("web-c"), candidate("web-a", { tainted: true }), candidate("web-b")];
    expect(choose(pods).chosen?.metadata?.name).toBe("web-b");
    expect(choose([...pods].reverse()).chosen?.metadata?.name).toBe("web-b");
  });

  it("passes over pods that are not Running, not Ready, being deleted, or not selected by the policy, saying why", () => {
    const c = choose(
      [
        candidate("a", { phase: "Pending" }),
        candidate("b", { ready: false }),
        candidate("c", { deleting: true }),
        candidate("d", { app: "other" }),
      ],
      { matchLabels: { app: "web" } },
    );
    expect(c.chosen).toBeUndefined();
    expect(c.passedOver).toEqual([
      { pod: "a", why: "is Pending" },
      { pod: "b", why: "is not Ready" },
      { pod: "c", why: "is being deleted" },
      { pod: "d", why: "is not selected by the policy's targetSelector" },
    ]);
    // Pods the policy does not select are counted, not named: the requester may not read pods.
    const message = noPodMessage(c);
    expect(message).toContain("a is Pending; b is not Ready; c is being deleted; 1 pod(s) not selected");
    expect(message).not.toContain(" d ");
  });

  it("takes a tainted pod only when every fit pod is tainted", () => {
    const c = choose([candidate("b", { tainted: true }), candidate("a", { tainted: true })]);
    expect(c.chosen?.metadata?.name).toBe("a");
    expect(c.because).toContain("tainted by another session");
  });

  it("keeps the pod that already carries this session's debugger, even if another would come first", () => {
    const c = choose([candidate("a"), candidate("z", { debugger: "dbg-mine", tainted: true })]);
    expect(c.chosen?.metadata?.name).toBe("z");
    expect(c.because).toContain("already carries");
  });

  it("a policy without targetSelector selects no pod", () => {
    expect(choosePod("Deployment web", [candidate("a")], "dbg-mine", undefined).chosen).toBeUndefined();
  });

  it("says what is missing when there is nothing to choose from", () => {
    expect(noPodMessage({ from: "Deployment web", passedOver: [] })).toBe(
      "Deployment web has no pods (yet); the session waits for one",
    );
    expect(
      noPodMessage({ from: "Deployment web", passedOver: [], missing: "Deployment web not found in namespace x" }),
    ).toContain("not found");
  });
});

describe("targets", () => {
  it("names the recorded pod first, then the spec's, and describes what a session targets", () => {
    const byRef = session({ spec: { targetPod: undefined, targetRef: { kind: "StatefulSet", name: "db" } } });
    expect(targetPodName(byRef)).toBeUndefined();
    expect(describeTarget(byRef)).toBe("StatefulSet db");
    expect(targetPodName({ ...byRef, status: { pod: "db-1" } })).toBe("db-1");
    const bySelector = session({ spec: { targetPod: undefined, targetSelector: { matchLabels: { app: "web" } } } });
    expect(describeTarget(bySelector)).toBe("pods app=web");
  });

  it("writes selectors in the apiserver's syntax, and refuses an operator it has no word for", () => {
    expect(
      selectorQuery({
        matchLabels: { app: "web" },
        matchExpressions: [
          { key: "tier", operator: "In", values: ["a", "b"] },
          { key: "x", operator: "NotIn", values: ["c"] },
          { key: "y", operator: "Exists" },
          { key: "z", operator: "DoesNotExist" },
        ],
      }),
    ).toBe("app=web,tier in (a,b),x notin (c),y,!z");
    expect(selectorQuery({})).toBe("");
    expect(selectorQuery({ matchExpressions: [{ key: "k", operator: "Gt" as "In" }] })).toBeUndefined();
  });
});
