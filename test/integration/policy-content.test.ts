// The apply-time check (config/admission/policy-content.yaml, CEL run by the real apiserver) gives the
// controller's answer (src/policy) for the rules both hold: each case is sent to the apiserver as a
// server-side dry run and judged by evaluatePolicy, and the two must agree.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DebugPolicy, DebugSession, DebugSessionSpec } from "../../src/api/types.ts";
import { evaluatePolicy } from "../../src/policy/evaluate.ts";
import { createNamespace, deleteNamespace, installCRDs, kubectl, kubectlOk, waitFor } from "../support/kube.ts";

const DIGEST = "0".repeat(63) + "a";

const policySpec = {
  targetSelector: {},
  allowedImages: ["busybox:local", "registry.local/team/*", "ghcr.io/org/**", "library-less:1"],
  allowedProfiles: ["general", "baseline", "restricted"],
  allowedExpiryActions: ["Evict"],
};

/** Rules the controller checks and the apply-time check holds too (the rest need the pod). */
const SHARED_RULES = new Set([
  "imageIsNamed",
  "imageIsAllowed",
  "securityContextOnlyTightens",
  "expiryActionIsAllowed",
  "isolateIsAllowed",
  "profileIsAllowed",
]);

const CASES: [string, Partial<DebugSessionSpec>][] = [
  ["the pattern's own spelling", { image: "busybox:local" }],
  ["the Docker Hub full spelling", { image: "docker.io/library/busybox:local" }],
  ["index.docker.io", { image: "index.docker.io/library/busybox:local" }],
  ["docker.io without library/", { image: "docker.io/busybox:local" }],
  ["another tag", { image: "busybox:other" }],
  ["a registry path one level down", { image: "registry.local/team/tool:1" }],
  ["a registry path two levels down under *", { image: "registry.local/team/sub/tool:1" }],
  ["** across levels", { image: "ghcr.io/org/a/b:2" }],
  ["a lookalike registry", { image: "registry.local.evil.io/team/tool:1" }],
  ["an image named like a pattern without its tag", { image: "library-less" }],
  ["a localhost registry", { image: "localhost/busybox:local" }],
  ["a bare sha256 image ID", { image: `sha256:${DIGEST}` }],
  ["a bare hex image ID", { image: DIGEST }],
  ["expiryAction Delete", { image: "busybox:local", expiryAction: "Delete" }],
  ["expiryAction Evict", { image: "busybox:local", expiryAction: "Evict" }],
  ["expiryAction Replace", { image: "busybox:local", expiryAction: "Replace" }],
  ["isolate", { image: "busybox:local", isolate: true }],
  ["isolate false", { image: "busybox:local", isolate: false }],
  ["restricted with runAsNonRoot false", { profile: "restricted", securityContext: { runAsNonRoot: false } }],
  ["restricted with runAsUser 0", { profile: "restricted", securityContext: { runAsUser: 0 } }],
  ["restricted with runAsUser 1000", { profile: "restricted", securityContext: { runAsUser: 1000 } }],
  ["seccomp Unconfined", { securityContext: { seccompProfile: { type: "Unconfined" } } }],
  ["seccomp RuntimeDefault", { securityContext: { seccompProfile: { type: "RuntimeDefault" } } }],
  ["AppArmor Unconfined", { securityContext: { appArmorProfile: { type: "Unconfined" } } }],
  ["SELinux spc_t", { securityContext: { seLinuxOptions: { type: "spc_t" } } }],
  ["SELinux container_t with a level", { securityContext: { seLinuxOptions: { type: "container_t", level: "s0" } } }],
  ["procMount Unmasked", { securityContext: { procMount: "Unmasked" } }],
  ["a readOnlyRootFilesystem", { securityContext: { readOnlyRootFilesystem: true } }],
];

describe("the apply-time policy check agrees with the controller", () => {
  let ns: string;
  let policy: DebugPolicy;

  beforeAll(() => {
    installCRDs();
    ns = createNamespace("policy-content");
    policy = {
      apiVersion: "debugging.dev/v1alpha1",
      kind: "DebugPolicy",
      metadata: { name: "default", namespace: ns },
      spec: policySpec as DebugPolicy["spec"],
    };
    kubectlOk(["apply", "-n", ns, "-f", "-"], { input: JSON.stringify(policy) });
  });
  afterAll(() => deleteNamespace(ns));

  it.each(CASES)("%s", (_what, spec) => {
    const session: DebugSession = {
      apiVersion: "debugging.dev/v1alpha1",
      kind: "DebugSession",
      metadata: { name: "probe", namespace: ns },
      spec: { targetPod: "web", image: "busybox:local", policy: "default", ...spec },
    };
    const controller = evaluatePolicy({ session, policy, otherSessionsOnPod: 0 }).filter((v) =>
      SHARED_RULES.has(v.rule),
    );
    const r = kubectl(["create", "--dry-run=server", "-n", ns, "-f", "-"], { input: JSON.stringify(session) });
    expect({ refused: r.code !== 0, byPolicy: r.stderr.includes("ValidatingAdmissionPolicy") }).toEqual({
      refused: controller.length > 0,
      byPolicy: controller.length > 0,
    });
  });

  it("refuses what the controller refuses for at least one case of each shared rule (the table can fail)", () => {
    const refusedRules = new Set(
      CASES.flatMap(([, spec]) =>
        evaluatePolicy({
          session: {
            apiVersion: "debugging.dev/v1alpha1",
            kind: "DebugSession",
            metadata: { name: "probe", namespace: ns },
            spec: { targetPod: "web", image: "busybox:local", policy: "default", ...spec },
          },
          policy,
          otherSessionsOnPod: 0,
        }).map((v) => v.rule),
      ),
    );
    for (const rule of SHARED_RULES) if (rule !== "profileIsAllowed") expect(refusedRules, rule).toContain(rule);
  });
});

describe("the ResourceQuota sample bounds the sessions of a namespace", () => {
  let ns: string;
  beforeAll(() => {
    installCRDs();
    ns = createNamespace("quota");
    kubectlOk(["apply", "-n", ns, "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "debugging.dev/v1alpha1",
        kind: "DebugPolicy",
        metadata: { name: "default" },
        spec: { targetSelector: {}, allowedImages: ["busybox:local"] },
      }),
    });
  });
  afterAll(() => deleteNamespace(ns));

  it("refuses the session past the sample's count, with the quota's name", async () => {
    const sample = readFileSync(new URL("../../config/samples/resourcequota.yaml", import.meta.url), "utf8");
    kubectlOk(["apply", "-n", ns, "-f", "-"], { input: sample.replace('"50"', '"2"') });
    await waitFor(
      () => kubectlOk(["get", "resourcequota", "debugsessions", "-n", ns, "-o", "jsonpath={.status.hard}"]) !== "",
      60_000,
      "the quota controller computed the quota",
    );
    const create = (name: string) =>
      kubectl(["create", "-n", ns, "-f", "-"], {
        input: JSON.stringify({
          apiVersion: "debugging.dev/v1alpha1",
          kind: "DebugSession",
          metadata: { name },
          spec: { targetPod: "web", image: "busybox:local" },
        }),
      });
    // The policy-content check finds the new DebugPolicy once its param informer has it.
    await waitFor(() => create("q1").code === 0, 30_000, "the first session created");
    expect(create("q2").stderr).toBe("");
    const third = create("q3");
    expect(third.code).not.toBe(0);
    expect(third.stderr).toContain("exceeded quota: debugsessions");
  });
});
