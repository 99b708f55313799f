// What the operator reads of Services, NetworkPolicies and a pod's controller, and when it reads them.
import type { V1NetworkPolicy, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  RELEASED_FROM_ANNOTATION,
  controllerRef,
  needsReaders,
  selectingNetworkPolicy,
  selectingService,
} from "../../src/controller/label-readers.ts";
import { ISOLATED_LABELS_ANNOTATION } from "../../src/controller/relabel.ts";
import { NOW, pod, session } from "./fixtures.ts";

const np = (spec: V1NetworkPolicy["spec"]): V1NetworkPolicy => ({ metadata: { name: "p", namespace: "shop" }, spec });

describe("selectingNetworkPolicy", () => {
  it("defaults policyTypes as the apiserver does: Ingress, and Egress when egress rules are given", () => {
    expect(selectingNetworkPolicy(np({ podSelector: {} })).policyTypes).toEqual(["Ingress"]);
    expect(selectingNetworkPolicy(np({ podSelector: {}, egress: [{}] })).policyTypes).toEqual(["Ingress", "Egress"]);
    expect(selectingNetworkPolicy(np({ podSelector: {}, policyTypes: ["Egress"] })).policyTypes).toEqual(["Egress"]);
  });

  it("keeps every peer's podSelector, with or without a namespaceSelector, and whether each direction allows anything", () => {
    const p = selectingNetworkPolicy(
      np({
        podSelector: { matchLabels: { app: "db" } },
        ingress: [{ _from: [{ podSelector: { matchLabels: { app: "web" } } }, { ipBlock: { cidr: "10.0.0.0/8" } }] }],
        egress: [{ to: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: "dns" } } }] }],
      }),
    );
    expect(p.peerSelectors).toEqual([{ matchLabels: { app: "web" } }, { matchLabels: { app: "dns" } }]);
    expect([p.hasIngressRules, p.hasEgressRules]).toEqual([true, true]);
    expect(selectingNetworkPolicy(np({ podSelector: {}, policyTypes: ["Egress"] })).hasEgressRules).toBe(false);
  });

  it("reads a Service without a selector as selecting nothing", () => {
    expect(selectingService({ metadata: { name: "ext" }, spec: { type: "ExternalName" } })).toEqual({
      name: "ext",
      selector: {},
    });
  });
});

describe("controllerRef", () => {
  it("is the controller owner, else the ReplicaSet a relabelling released the pod from", () => {
    const owned: V1Pod = pod();
    owned.metadata!.ownerReferences = [
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-1", uid: "u", controller: true },
    ];
    expect(controllerRef(owned)).toEqual({ kind: "ReplicaSet", name: "web-1" });
    expect(controllerRef(pod({ annotations: { [RELEASED_FROM_ANNOTATION]: "ReplicaSet/web-1" } }))).toEqual({
      kind: "ReplicaSet",
      name: "web-1",
    });
    expect(controllerRef(pod({ annotations: { [RELEASED_FROM_ANNOTATION]: "garbage" } }))).toBeUndefined();
    expect(controllerRef(pod())).toBeUndefined();
  });
});

describe("needsReaders", () => {
  it("reads only for Copy before injection, isolate until relabelled, and Replace past expiry", () => {
    expect(needsReaders(session(), pod(), undefined, NOW)).toBe(false);
    expect(needsReaders(session({ spec: { mode: "Copy" } }), undefined, undefined, NOW)).toBe(true);
    expect(needsReaders(session({ spec: { isolate: true } }), pod(), undefined, NOW)).toBe(true);
    const relabelled = pod({ annotations: { [ISOLATED_LABELS_ANNOTATION]: "{}" } });
    const injected = {
      phase: "Running" as const,
      targetPodUID: "pod-uid-original",
      expiresAt: new Date(NOW.getTime() + 1000).toISOString(),
    };
    expect(needsReaders(session({ spec: { isolate: true }, status: injected }), relabelled, undefined, NOW)).toBe(
      false,
    );
    const replace = session({ spec: { expiryAction: "Replace" }, status: injected });
    expect(needsReaders(replace, pod(), undefined, NOW)).toBe(false);
    expect(needsReaders(replace, pod(), undefined, new Date(NOW.getTime() + 1000))).toBe(true);
    expect(needsReaders(replace, pod({ deletionTimestamp: NOW }), undefined, new Date(NOW.getTime() + 1000))).toBe(
      false,
    );
  });
});
