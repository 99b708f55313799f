// decide() for spec.isolate and expiryAction Replace (plans-relabel.ts), and the network rule of a
// copy (copy-network.ts): when the labels change, what the write is, and when nothing may be done.
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  RECORD_SESSION_UID_LABEL,
  SESSION_ANNOTATION,
  SESSION_LABEL,
  type DebugSessionSpec,
  type DebugSessionStatus,
} from "../../src/api/types.ts";
import { copyNetworkRefusal } from "../../src/controller/copy-network.ts";
import { decide, type AccessInput, type DecideInput, type Plan } from "../../src/controller/decide.ts";
import { RELEASED_FROM_ANNOTATION, type GatheredReaders } from "../../src/controller/label-readers.ts";
import {
  ISOLATED_LABELS_ANNOTATION,
  ISOLATED_VALUE,
  type SelectingNetworkPolicy,
} from "../../src/controller/relabel.ts";
import {
  ALLOW_ALL,
  CNAME,
  MIN,
  NOW,
  POD_NAME,
  POD_UID,
  SESSION_NAME,
  ecStatus,
  iso,
  pod,
  running,
  session,
} from "./fixtures.ts";

const WEB = { app: "web", serving: "true", "pod-template-hash": "6d4f8" };
const RS = {
  kind: "ReplicaSet",
  name: "web-6d4f8",
  selector: { matchLabels: { app: "web", "pod-template-hash": "6d4f8" } },
};
const NP_APP: SelectingNetworkPolicy = {
  name: "web-ingress",
  namespace: "shop",
  podSelector: { matchLabels: { app: "web" } },
  policyTypes: ["Ingress"],
  hasIngressRules: true,
};

const ALLOW: AccessInput = {
  ...ALLOW_ALL,
  policy: { ...ALLOW_ALL.policy!, spec: { ...ALLOW_ALL.policy!.spec, allowIsolate: true } },
};

function webPod(
  o: {
    labels?: Record<string, string>;
    injected?: boolean;
    owned?: boolean;
    annotations?: Record<string, string>;
  } = {},
): V1Pod {
  const p = pod({
    labels: { ...(o.labels ?? WEB), ...(o.injected ? { [SESSION_LABEL]: SESSION_NAME } : {}) },
    ephemeralContainers: o.injected ? [CNAME] : [],
    ephemeralContainerStatuses: o.injected ? [ecStatus(running())] : [],
    annotations: { ...(o.injected ? { [SESSION_ANNOTATION]: SESSION_NAME } : {}), ...o.annotations },
  });
  if (o.owned ?? true)
    p.metadata!.ownerReferences = [
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: RS.name, uid: "rs", controller: true },
    ];
  return p;
}

const readers = (o: Partial<GatheredReaders> = {}): GatheredReaders => ({
  services: [{ name: "web", selector: { app: "web", serving: "true" } }],
  networkPolicies: [NP_APP],
  controller: { ...RS, replicas: 1, readyReplicas: 1 },
  ...o,
});

const kinds = (plan: Plan): string[] => plan.podWrites.map((w) => w.kind);

describe("spec.isolate", () => {
  const isolating = (o: Partial<DecideInput> = {}): Plan =>
    decide({
      session: session({ spec: { isolate: true }, finalizers: undefined }),
      pod: webPod(),
      access: ALLOW,
      now: NOW,
      readers: readers(),
      ...o,
    });

  it("injects, then takes the pod out of its Service and ReplicaSet, never out of the NetworkPolicy that selects it", () => {
    const plan = isolating();
    expect(kinds(plan)).toEqual(["inject", "markPod", "relabel"]);
    const relabel = plan.podWrites[2]!;
    expect(relabel.kind === "relabel" && relabel.changes).toEqual([
      { key: "pod-template-hash", from: "6d4f8", to: ISOLATED_VALUE },
      { key: "serving", from: "true", to: ISOLATED_VALUE },
    ]);
    expect(relabel.kind === "relabel" && relabel.annotations).toEqual({
      [ISOLATED_LABELS_ANNOTATION]: '{"pod-template-hash":"6d4f8","serving":"true"}',
      [RELEASED_FROM_ANNOTATION]: `ReplicaSet/${RS.name}`,
    });
    expect(plan.events.map((e) => e.reason)).toContain("Isolated");
  });

  it("refuses before any write when the Service reads the label the NetworkPolicy selects by", () => {
    const plan = isolating({ readers: readers({ services: [{ name: "web", selector: { app: "web" } }] }) });
    expect(plan.podWrites).toEqual([]);
    expect(plan.status.phase).toBe("Failed");
    expect(plan.status.conditions?.find((c) => c.type === "Injected")?.reason).toBe("IsolationNotPossible");
    expect(plan.status.message).toContain("cannot take pod web-0 out of its Services and controller");
    expect(plan.status.message).toContain("NetworkPolicy shop/web-ingress");
  });

  it("fails closed when the Services and NetworkPolicies were not read", () => {
    const plan = isolating({ readers: undefined });
    expect(plan.podWrites).toEqual([]);
    expect(plan.status.conditions?.find((c) => c.type === "Injected")?.reason).toBe("IsolationNotPossible");
  });

  it("keeps a StatefulSet's pod with its StatefulSet: only the Service's label changes", () => {
    const sts = { kind: "StatefulSet", name: "db", selector: { matchLabels: { app: "web" } } };
    const plan = isolating({ readers: readers({ controller: sts }) });
    const relabel = plan.podWrites.find((w) => w.kind === "relabel");
    expect(relabel?.kind === "relabel" && relabel.changes).toEqual([
      { key: "serving", from: "true", to: ISOLATED_VALUE },
    ]);
    expect(relabel?.kind === "relabel" && relabel.annotations[RELEASED_FROM_ANNOTATION]).toBeUndefined();
  });

  it("is denied by a policy without allowIsolate", () => {
    const plan = isolating({ access: ALLOW_ALL });
    expect(plan.podWrites).toEqual([]);
    expect(plan.status.message).toContain("IsolateNotAllowed");
  });

  it("relabels a pod whose isolation did not happen in the injection's pass, and leaves a relabelled one alone", () => {
    const status: DebugSessionStatus = {
      phase: "Running",
      pod: POD_NAME,
      targetPodUID: POD_UID,
      containerName: CNAME,
      injectedAt: iso(new Date(NOW.getTime() - MIN)),
    };
    const s = session({ spec: { isolate: true }, status });
    expect(
      kinds(decide({ session: s, pod: webPod({ injected: true }), access: ALLOW, now: NOW, readers: readers() })),
    ).toContain("relabel");
    const done = webPod({ injected: true, annotations: { [ISOLATED_LABELS_ANNOTATION]: "{}" } });
    expect(kinds(decide({ session: s, pod: done, access: ALLOW, now: NOW }))).not.toContain("relabel");
  });
});

describe("expiryAction Replace", () => {
  const expiredAt = new Date(NOW.getTime() - 5_000);
  const status: DebugSessionStatus = {
    phase: "Running",
    pod: POD_NAME,
    targetPodUID: POD_UID,
    containerName: CNAME,
    injectedAt: iso(new Date(expiredAt.getTime() - 30 * MIN)),
    expiresAt: iso(expiredAt),
  };
  const spec: Partial<DebugSessionSpec> = { expiryAction: "Replace", ttl: "30m" };
  const replace = (o: Partial<DecideInput> = {}): Plan =>
    decide({
      session: session({ spec, status }),
      pod: webPod({ injected: true }),
      access: ALLOW_ALL,
      now: NOW,
      readers: readers(),
      ...o,
    });
  const released = (): V1Pod =>
    webPod({
      injected: true,
      owned: false,
      labels: { ...WEB, "pod-template-hash": ISOLATED_VALUE },
      annotations: { [RELEASED_FROM_ANNOTATION]: `ReplicaSet/${RS.name}` },
    });

  it("first takes the pod out of its ReplicaSet only: its Service keeps it while the replacement starts", () => {
    const plan = replace();
    expect(kinds(plan)).toEqual(["relabel"]);
    const relabel = plan.podWrites[0]!;
    expect(relabel.kind === "relabel" && relabel.changes).toEqual([
      { key: "pod-template-hash", from: "6d4f8", to: ISOLATED_VALUE },
    ]);
    expect(plan.status.phase).toBe("Expired");
    expect(plan.status.conditions?.find((c) => c.type === "Expired")).toMatchObject({
      status: "True",
      reason: "Replacing",
    });
    expect(plan.requeueAfterMs).toBe(1000);
  });

  it("waits while the ReplicaSet has not all its replicas Ready, then evicts, and evicts anyway after the eviction timeout", () => {
    const notReady = readers({ controller: { ...RS, replicas: 1, readyReplicas: 0 } });
    const waiting = replace({ pod: released(), readers: notReady });
    expect(waiting.podWrites).toEqual([]);
    expect(waiting.status.message).toContain("waiting for ReplicaSet web-6d4f8's replacement (0/1 Ready)");
    const ready = replace({ pod: released() });
    expect(ready.podWrites).toEqual([{ kind: "removePod", pod: POD_NAME, podUID: POD_UID, how: "Evict" }]);
    const late = new Date(expiredAt.getTime() + 60_000);
    expect(kinds(replace({ pod: released(), readers: notReady, now: late }))).toEqual(["removePod"]);
  });

  it("falls back to Evict for a pod no ReplicaSet owns, saying why", () => {
    const plan = replace({
      pod: webPod({ injected: true, owned: false }),
      readers: readers({ controller: undefined }),
    });
    expect(kinds(plan)).toEqual(["removePod"]);
    const event = plan.events.find((e) => e.reason === "ReplaceNotPossible");
    expect(event?.message).toContain("has no controller; falls back to Evict");
  });

  it("falls back to Evict when the ReplicaSet and the Service read only the same labels", () => {
    const bare = { ...RS, selector: { matchLabels: { app: "web" } }, replicas: 1, readyReplicas: 1 };
    const plan = replace({
      readers: readers({ controller: bare, services: [{ name: "web", selector: { app: "web" } }] }),
    });
    expect(kinds(plan)).toEqual(["removePod"]);
    expect(plan.events.find((e) => e.reason === "ReplaceNotPossible")?.message).toContain("falls back to Evict");
  });

  it("gives a replaced pod's eviction its own --eviction-timeout before it becomes a delete", () => {
    const at = (ms: number): Date => new Date(expiredAt.getTime() + ms);
    const removal = (now: Date): Plan => replace({ pod: released(), now });
    expect(removal(at(90_000)).podWrites).toEqual([
      { kind: "removePod", pod: POD_NAME, podUID: POD_UID, how: "Evict" },
    ]);
    expect(removal(at(120_000)).podWrites).toEqual([
      { kind: "removePod", pod: POD_NAME, podUID: POD_UID, how: "Delete" },
    ]);
    const refused = decide({
      session: session({ spec, status }),
      pod: released(),
      access: ALLOW_ALL,
      now: at(90_000),
      readers: readers(),
      refusal: { of: "eviction", message: "Cannot evict pod as it would violate the pod's disruption budget." },
    });
    expect(refused.status.message).toContain(`deleted instead after ${iso(at(120_000))}`);
  });

  it("deletes a session's pod at expiry when the policy's defaultExpiryAction is Delete and the session sets none", () => {
    const deleteByDefault: AccessInput = {
      ...ALLOW_ALL,
      policy: { ...ALLOW_ALL.policy!, spec: { ...ALLOW_ALL.policy!.spec, defaultExpiryAction: "Delete" } },
    };
    const s = session({ spec: { ttl: "30m" }, status });
    const plan = decide({ session: s, pod: webPod({ injected: true }), access: deleteByDefault, now: NOW });
    expect(plan.podWrites).toEqual([{ kind: "removePod", pod: POD_NAME, podUID: POD_UID, how: "Delete" }]);
  });

  it("takes a session's expiryAction from the policy's defaultExpiryAction when it sets none", () => {
    const replaceByDefault: AccessInput = {
      ...ALLOW_ALL,
      policy: { ...ALLOW_ALL.policy!, spec: { ...ALLOW_ALL.policy!.spec, defaultExpiryAction: "Replace" } },
    };
    const plan = decide({
      session: session({ spec: { ttl: "30m" }, status }),
      pod: webPod({ injected: true }),
      access: replaceByDefault,
      now: NOW,
      readers: readers(),
    });
    expect(kinds(plan)).toEqual(["relabel"]);
  });
});

describe("the network rule of a copy", () => {
  const SOURCE = { app: "web" };
  const COPY = { [SESSION_LABEL]: "s", [RECORD_SESSION_UID_LABEL]: "u" };
  const egressOnly: SelectingNetworkPolicy = {
    ...NP_APP,
    name: "web-egress",
    policyTypes: ["Egress"],
    hasEgressRules: true,
  };
  const denyAll: SelectingNetworkPolicy = {
    name: "deny",
    namespace: "shop",
    podSelector: {},
    policyTypes: ["Ingress", "Egress"],
  };
  const forCopies = (rules: boolean): SelectingNetworkPolicy => ({
    name: "copies",
    namespace: "shop",
    podSelector: { matchExpressions: [{ key: RECORD_SESSION_UID_LABEL, operator: "Exists" }] },
    policyTypes: ["Ingress", "Egress"],
    hasEgressRules: rules,
  });

  it("refuses a copy that no policy would restrict where the source is restricted", () => {
    expect(copyNetworkRefusal("web-0", SOURCE, COPY, [egressOnly])).toContain(
      "restricted for Egress by NetworkPolicy web-egress",
    );
  });

  it("allows a copy under a namespace-wide default deny, or under a rule-less policy for copies", () => {
    expect(copyNetworkRefusal("web-0", SOURCE, COPY, [egressOnly, denyAll])).toBeUndefined();
    expect(copyNetworkRefusal("web-0", SOURCE, COPY, [egressOnly, forCopies(false)])).toBeUndefined();
    expect(copyNetworkRefusal("web-0", SOURCE, COPY, [])).toBeUndefined();
  });

  it("refuses a copy that a policy the source is not under would allow more", () => {
    expect(copyNetworkRefusal("web-0", SOURCE, COPY, [egressOnly, forCopies(true)])).toContain(
      "would come under NetworkPolicy copies",
    );
  });

  it("refuses a copy that a peer selector names where it does not name the source", () => {
    const peer: SelectingNetworkPolicy = {
      ...NP_APP,
      name: "db",
      podSelector: { matchLabels: { app: "db" } },
      peerSelectors: [{ matchExpressions: [{ key: "app", operator: "DoesNotExist" }] }],
    };
    expect(copyNetworkRefusal("web-0", SOURCE, COPY, [peer])).toContain("peer of NetworkPolicy db");
  });
});
