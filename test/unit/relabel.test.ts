import type { V1Pod } from "@kubernetes/client-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SESSION_LABEL, type LabelSelector, type LabelSelectorRequirement } from "../../src/api/types.ts";
import {
  ISOLATED_LABELS_ANNOTATION,
  ISOLATED_VALUE,
  applyChanges,
  planRelabel,
  relabelAnnotations,
  relabelOps,
  type LabelReaders,
  type Relabel,
  type RelabelPlan,
  type SelectingNetworkPolicy,
} from "../../src/controller/relabel.ts";
import { matchesSelector } from "../../src/policy/selector.ts";
import { NS, POD_UID } from "./fixtures.ts";

const HASH = "pod-template-hash";

function pod(labels: Record<string, string>, annotations?: Record<string, string>): V1Pod {
  return {
    metadata: { name: "web-6d4f8-x2x9z", namespace: NS, uid: POD_UID, labels, ...(annotations ? { annotations } : {}) },
  };
}
const WEB = { app: "web", [HASH]: "6d4f8" };
const replicaSet = (selector: LabelSelector = { matchLabels: WEB }) => ({ name: "ReplicaSet web-6d4f8", selector });
const service = (selector: Record<string, string>, name = "web") => ({ name, selector });
const policy = (podSelector: LabelSelector, o: Partial<SelectingNetworkPolicy> = {}): SelectingNetworkPolicy => ({
  name: "web-ingress",
  namespace: NS,
  podSelector,
  ...o,
});
const expr = (key: string, operator: LabelSelectorRequirement["operator"], values?: string[]): LabelSelector => ({
  matchExpressions: [{ key, operator, ...(values ? { values } : {}) }],
});

function relabel(plan: RelabelPlan): Relabel {
  if ("refused" in plan) throw new Error(`refused: ${plan.refused}`);
  return plan;
}
function refusal(plan: RelabelPlan): string {
  if (!("refused" in plan)) throw new Error(`planned: ${JSON.stringify(plan.changes)}`);
  return plan.refused;
}

describe("planRelabel", () => {
  it("takes the pod out of its ReplicaSet and Service by giving app a value no selector names", () => {
    const plan = relabel(
      planRelabel(pod(WEB), { controller: replicaSet(), services: [service({ app: "web" })], networkPolicies: [] }),
    );
    expect(plan.changes).toEqual([{ key: "app", from: "web", to: ISOLATED_VALUE }]);
    expect(plan.labels).toEqual({ app: ISOLATED_VALUE, [HASH]: "6d4f8" });
    expect(plan.why).toEqual([
      `label app: web -> ${ISOLATED_VALUE}`,
      "so that ReplicaSet web-6d4f8 (selector app=web,pod-template-hash=6d4f8), Service web (selector app=web) no longer select the pod",
    ]);
  });

  it("changes nothing when nothing selects the pod any more, so planning again after the patch is a no-op", () => {
    const readers = { controller: replicaSet(), services: [service({ app: "web" })], networkPolicies: [] };
    const first = relabel(planRelabel(pod(WEB), readers));
    const again = relabel(planRelabel(pod(first.labels), readers));
    expect(again.changes).toEqual([]);
    expect(again.why).toEqual(["no Service and not the controller select the pod: nothing to change"]);
    expect(relabelOps(pod(first.labels), again.changes, {})).toEqual([]);
  });

  it("leaves the controller alone when it is not given (the pod is to stay with it)", () => {
    const plan = relabel(
      planRelabel(pod({ ...WEB, serving: "true" }), {
        services: [service({ app: "web", serving: "true" })],
        networkPolicies: [],
      }),
    );
    expect(plan.changes).toEqual([{ key: "app", from: "web", to: ISOLATED_VALUE }]);
  });

  it("changes as few labels as it can", () => {
    const labels = { a: "1", b: "2", c: "3" };
    const plan = relabel(planRelabel(pod(labels), { services: [service(labels)], networkPolicies: [] }));
    expect(plan.changes).toHaveLength(1);
  });

  it("ignores a Service without selector: it selects no pod", () => {
    const plan = relabel(planRelabel(pod(WEB), { services: [service({})], networkPolicies: [] }));
    expect(plan.changes).toEqual([]);
  });

  it("never changes the operator's own labels", () => {
    const labels = { [SESSION_LABEL]: "debug-web" };
    const plan = planRelabel(pod(labels), { services: [service(labels)], networkPolicies: [] });
    expect(refusal(plan)).toContain("no change to the pod's labels takes it out of Service web");
  });

  describe("NetworkPolicies of the pod's namespace select it exactly as before", () => {
    it("refuses the common case (Service, ReplicaSet and NetworkPolicy all on app=web), naming each and the fix", () => {
      const message = refusal(
        planRelabel(pod(WEB), {
          controller: replicaSet(),
          services: [service({ app: "web" })],
          networkPolicies: [policy({ matchLabels: { app: "web" } })],
        }),
      );
      expect(message).toBe(
        "cannot take pod web-6d4f8-x2x9z out of its Services and controller without leaving it less restricted: " +
          "Service web (selector app=web) selects it; changing or removing app: it would leave NetworkPolicy " +
          "shop/web-ingress (podSelector app=web), which restricts it. Fix: have the Service and the controller " +
          'select the pod by a label no NetworkPolicy reads (e.g. add serving: "true" to the pod template and to ' +
          "the Service's selector), or have the NetworkPolicy select it by a label the Service does not read; or " +
          "debug without taking the pod out (no spec.isolate, and expiryAction Evict or Delete)",
      );
    });

    it("takes the pod out by the labels no policy reads, keeping the ones it does", () => {
      const labels = { ...WEB, serving: "true" };
      const plan = relabel(
        planRelabel(pod(labels), {
          controller: replicaSet(),
          services: [service({ app: "web", serving: "true" })],
          networkPolicies: [policy({ matchLabels: { app: "web" } })],
        }),
      );
      expect(plan.changes).toEqual([
        { key: HASH, from: "6d4f8", to: ISOLATED_VALUE },
        { key: "serving", from: "true", to: ISOLATED_VALUE },
      ]);
      expect(plan.why).toContain("NetworkPolicy shop/web-ingress (podSelector app=web) still select it, as before");
    });

    it("gives a new value rather than removing, so an Exists selector keeps the pod", () => {
      const readers = { services: [service({ tier: "web" })], networkPolicies: [policy(expr("tier", "Exists"))] };
      const plan = relabel(planRelabel(pod({ tier: "web" }), readers));
      expect(plan.changes).toEqual([{ key: "tier", from: "web", to: ISOLATED_VALUE }]);
    });

    it("does not remove a label whose absence a policy selects on (DoesNotExist would start to match)", () => {
      const readers = {
        services: [service({ app: "web" })],
        networkPolicies: [policy(expr("app", "DoesNotExist"), { name: "unlabelled" })],
      };
      const plan = relabel(planRelabel(pod({ app: "web" }), readers));
      expect(plan.changes).toEqual([{ key: "app", from: "web", to: ISOLATED_VALUE }]);
      // Neither removal nor a new value would do when the policy reads any change (NotIn starts to match).
      const notIn = { services: [service({ app: "web" })], networkPolicies: [policy(expr("app", "NotIn", ["web"]))] };
      expect(refusal(planRelabel(pod({ app: "web" }), notIn))).toContain(
        "it would come under NetworkPolicy shop/web-ingress (podSelector app notin (web)), whose rules would change what traffic it is allowed",
      );
    });

    it("counts a policy of another namespace only as a peer: its podSelector never selects this pod", () => {
      const readers = {
        services: [service({ app: "web" })],
        networkPolicies: [policy({ matchLabels: { app: "web" } }, { namespace: "other" })],
      };
      expect(relabel(planRelabel(pod({ app: "web" }), readers)).changes).toHaveLength(1);
    });

    it("refuses when no change of the pod's labels takes it out of its controller", () => {
      const readers = { controller: replicaSet(expr("canary", "DoesNotExist")), services: [], networkPolicies: [] };
      expect(refusal(planRelabel(pod(WEB), readers))).toContain(
        "no change to the pod's labels takes it out of ReplicaSet web-6d4f8 (selector !canary)",
      );
    });
  });

  describe("peers: losing a peer match only restricts; gaining one is refused", () => {
    const db = (peer: LabelSelector) =>
      policy({ matchLabels: { app: "db" } }, { name: "db-ingress", namespace: "data", peerSelectors: [peer] });

    it("lets the pod stop being a peer, and says what it loses", () => {
      const plan = relabel(
        planRelabel(pod({ app: "web" }), {
          services: [service({ app: "web" })],
          networkPolicies: [db({ matchLabels: { app: "web" } })],
        }),
      );
      expect(plan.changes).toHaveLength(1);
      expect(plan.why).toContain(
        "it is no longer a peer of NetworkPolicy data/db-ingress (peer podSelector app=web): the traffic that rule " +
          "allowed to or from it stops (a peer rule only allows traffic, so losing one only restricts the pod)",
      );
    });

    it("removes the label when its new value would make the pod a peer", () => {
      const plan = relabel(
        planRelabel(pod({ app: "web" }), {
          services: [service({ app: "web" })],
          networkPolicies: [db(expr("app", "In", [ISOLATED_VALUE]))],
        }),
      );
      expect(plan.changes).toEqual([{ key: "app", from: "web" }]);
      expect(plan.labels).toEqual({});
      expect(plan.why[0]).toBe("label app removed (was web)");
    });

    it("refuses when every change would make the pod a peer", () => {
      const plan = planRelabel(pod({ app: "web" }), {
        services: [service({ app: "web" })],
        networkPolicies: [db(expr("app", "NotIn", ["web"]))],
      });
      expect(refusal(plan)).toContain(
        "it would become a peer NetworkPolicy data/db-ingress (peer podSelector app notin (web)) allows traffic to or from",
      );
    });
  });
});

/** RFC 6902, the ops relabelOps writes: enough to apply them as the apiserver would. */
function applyPatch(doc: V1Pod, ops: object[]): V1Pod {
  const out = structuredClone(doc) as unknown as Record<string, unknown>;
  for (const op of ops as { op: string; path: string; value?: unknown }[]) {
    const parts = op.path
      .split("/")
      .slice(1)
      .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    const last = parts.pop() ?? "";
    let parent = out;
    for (const p of parts) parent = parent[p] as Record<string, unknown>;
    if (op.op === "test" && JSON.stringify(parent[last]) !== JSON.stringify(op.value))
      throw new Error(`test ${op.path} failed`);
    if (op.op === "remove") delete parent[last];
    if (op.op === "add" || op.op === "replace") parent[last] = op.value;
  }
  return out;
}

describe("relabelOps", () => {
  const readers: LabelReaders = {
    services: [service({ "app.kubernetes.io/name": "web" })],
    networkPolicies: [
      policy(expr("app.kubernetes.io/name", "In", [ISOLATED_VALUE]), {
        namespace: "other",
        peerSelectors: [expr("app.kubernetes.io/name", "In", [ISOLATED_VALUE])],
      }),
    ],
  };
  const labels = { "app.kubernetes.io/name": "web", team: "shop" };

  it("applies only to the labels planned from, changes them, and records their original values", () => {
    const plan = relabel(planRelabel(pod(labels), readers));
    const ops = relabelOps(pod(labels), plan.changes, relabelAnnotations(pod(labels), plan.changes));
    expect(ops).toEqual([
      { op: "test", path: "/metadata/uid", value: POD_UID },
      { op: "test", path: "/metadata/labels/app.kubernetes.io~1name", value: "web" },
      { op: "remove", path: "/metadata/labels/app.kubernetes.io~1name" },
      {
        op: "add",
        path: "/metadata/annotations",
        value: { [ISOLATED_LABELS_ANNOTATION]: '{"app.kubernetes.io/name":"web"}' },
      },
    ]);
    expect(applyPatch(pod(labels), ops).metadata?.labels).toEqual(plan.labels);
    expect(applyPatch(pod({ ...labels, team: "other" }), ops).metadata?.labels).toEqual({ team: "other" });
    expect(() => applyPatch(pod({ ...labels, "app.kubernetes.io/name": "api" }), ops)).toThrow(
      "test /metadata/labels/app.kubernetes.io~1name failed",
    );
  });

  it("keeps the originals an earlier relabelling recorded, and the pod's other annotations", () => {
    const earlier = { [ISOLATED_LABELS_ANNOTATION]: '{"app.kubernetes.io/name":"first","gone":"1"}', note: "x" };
    const plan: Relabel = {
      changes: [{ key: "app.kubernetes.io/name", from: "web", to: ISOLATED_VALUE }],
      labels: {},
      why: [],
    };
    const ops = (p: V1Pod): object[] => relabelOps(p, plan.changes, relabelAnnotations(p, plan.changes));
    const patched = applyPatch(pod(labels, earlier), ops(pod(labels, earlier)));
    expect(patched.metadata?.labels).toEqual({ "app.kubernetes.io/name": ISOLATED_VALUE, team: "shop" });
    expect(patched.metadata?.annotations).toEqual({
      [ISOLATED_LABELS_ANNOTATION]: '{"app.kubernetes.io/name":"first","gone":"1"}',
      note: "x",
    });
    const garbled = { [ISOLATED_LABELS_ANNOTATION]: "not json" };
    const fresh = applyPatch(pod(labels, garbled), ops(pod(labels, garbled)));
    expect(fresh.metadata?.annotations).toEqual({ [ISOLATED_LABELS_ANNOTATION]: '{"app.kubernetes.io/name":"web"}' });
  });
});

// ---- Properties over random labels and selectors, against an oracle that tries every relabelling.

const KEYS = ["a", "b", "c", "d"] as const;
const VALUES = ["x", "y", ISOLATED_VALUE] as const;
const key = fc.constantFrom(...KEYS);
const value = fc.constantFrom(...VALUES);
const labelsArb = fc.dictionary(key, value, { maxKeys: 4 });

function selectorArb(labels: Record<string, string>): fc.Arbitrary<LabelSelector> {
  const own = Object.entries(labels);
  const matchLabels = fc.oneof(
    fc.subarray(own).map((entries) => Object.fromEntries(entries)),
    fc.dictionary(key, value, { maxKeys: 2 }),
  );
  const requirement: fc.Arbitrary<LabelSelectorRequirement> = fc.oneof(
    fc.record({
      key,
      operator: fc.constantFrom("In" as const, "NotIn" as const),
      values: fc.uniqueArray(value, { minLength: 1, maxLength: 2 }),
    }),
    fc.record({ key, operator: fc.constantFrom("Exists" as const, "DoesNotExist" as const) }),
  );
  return fc.record({ matchLabels, matchExpressions: fc.array(requirement, { maxLength: 2 }) });
}

const readersArb = (labels: Record<string, string>): fc.Arbitrary<LabelReaders> => {
  const sel = selectorArb(labels);
  return fc.record({
    controller: fc.option(fc.record({ name: fc.constant("ReplicaSet web"), selector: sel }), { nil: undefined }),
    services: fc.array(
      fc.record({ name: fc.constantFrom("s1", "s2"), selector: sel.map((s) => s.matchLabels ?? {}) }),
      { maxLength: 2 },
    ),
    networkPolicies: fc.array(
      fc.record({
        name: fc.constantFrom("p1", "p2"),
        namespace: fc.constantFrom(NS, "other"),
        podSelector: sel,
        peerSelectors: fc.array(sel, { maxLength: 2 }),
      }),
      { maxLength: 3 },
    ),
  });
};

const scenario = labelsArb.chain((labels) => fc.tuple(fc.constant(labels), readersArb(labels)));

/** The goal, stated directly: out of the controller and every Service, NetworkPolicies as before, no new peer. */
function meetsGoal(readers: LabelReaders, before: Record<string, string>, after: Record<string, string>): boolean {
  const m = (s: LabelSelector, l: Record<string, string>) => matchesSelector(s, l);
  if (readers.controller && m(readers.controller.selector, after)) return false;
  if (readers.services.some((s) => Object.keys(s.selector).length > 0 && m({ matchLabels: s.selector }, after)))
    return false;
  for (const p of readers.networkPolicies) {
    if (p.namespace === NS && m(p.podSelector, before) !== m(p.podSelector, after)) return false;
    if ((p.peerSelectors ?? []).some((s) => !m(s, before) && m(s, after))) return false;
  }
  return true;
}

/** Every way of keeping, revaluing or removing each label a selecting Service or the controller reads. */
function bestByOracle(readers: LabelReaders, before: Record<string, string>): [number, number] | undefined {
  const selecting: LabelSelector[] = [
    ...(readers.controller ? [readers.controller.selector] : []),
    ...readers.services.filter((s) => Object.keys(s.selector).length > 0).map((s) => ({ matchLabels: s.selector })),
  ].filter((s) => matchesSelector(s, before));
  const read = new Set(
    selecting.flatMap((s) => [...Object.keys(s.matchLabels ?? {}), ...(s.matchExpressions ?? []).map((e) => e.key)]),
  );
  const keys = Object.keys(before).filter((k) => read.has(k));
  let best: [number, number] | undefined;
  const visit = (i: number, after: Record<string, string>, changed: number, removed: number): void => {
    if (i === keys.length) {
      const better = !best || changed < best[0] || (changed === best[0] && removed < best[1]);
      if (better && meetsGoal(readers, before, after)) best = [changed, removed];
      return;
    }
    const k = keys[i]!;
    visit(i + 1, after, changed, removed);
    if (before[k] !== ISOLATED_VALUE) visit(i + 1, { ...after, [k]: ISOLATED_VALUE }, changed + 1, removed);
    const { [k]: _gone, ...without } = after;
    visit(i + 1, without, changed + 1, removed + 1);
  };
  visit(0, { ...before }, 0, 0);
  return best;
}

describe("planRelabel properties", () => {
  it("a plan meets the goal: out of the controller and every Service, every NetworkPolicy as before, no new peer", () => {
    fc.assert(
      fc.property(scenario, ([labels, readers]) => {
        const plan = planRelabel(pod(labels), readers);
        if ("refused" in plan) return;
        expect(plan.labels).toEqual(applyChanges(labels, plan.changes));
        expect(meetsGoal(readers, labels, plan.labels)).toBe(true);
        for (const c of plan.changes) expect(c.to === undefined || c.to === ISOLATED_VALUE).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses only when no relabelling of those labels meets the goal, and otherwise changes as few (then removes as few) as can be", () => {
    fc.assert(
      fc.property(scenario, ([labels, readers]) => {
        const plan = planRelabel(pod(labels), readers);
        const best = bestByOracle(readers, labels);
        if ("refused" in plan) {
          expect(best).toBeUndefined();
          return;
        }
        expect(best).toBeDefined();
        const removed = plan.changes.filter((c) => c.to === undefined).length;
        expect([plan.changes.length, removed]).toEqual(best);
      }),
      { numRuns: 2000 },
    );
  });

  it("planning again on the relabelled pod changes nothing", () => {
    fc.assert(
      fc.property(scenario, ([labels, readers]) => {
        const plan = planRelabel(pod(labels), readers);
        if ("refused" in plan) return;
        const again = planRelabel(pod(plan.labels), readers);
        expect("refused" in again ? again.refused : again.changes).toEqual([]);
      }),
      { numRuns: 1000 },
    );
  });

  it("the patch turns the pod's labels into the plan's", () => {
    fc.assert(
      fc.property(scenario, ([labels, readers]) => {
        const plan = planRelabel(pod(labels), readers);
        if ("refused" in plan) return;
        const ops = relabelOps(pod(labels), plan.changes, relabelAnnotations(pod(labels), plan.changes));
        expect(applyPatch(pod(labels), ops).metadata?.labels ?? {}).toEqual(plan.labels);
      }),
      { numRuns: 500 },
    );
  });
});
