import type { V1Container, V1Pod, V1Probe } from "@kubernetes/client-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RECORD_SESSION_UID_LABEL, SESSION_ANNOTATION, SESSION_LABEL } from "../../src/api/types.ts";
import { derivedContainerName, ephemeralContainer } from "../../src/controller/container.ts";
import {
  COPY_OF_ANNOTATION,
  COPY_OF_UID_ANNOTATION,
  NOT_COPIED,
  buildPodCopy,
  copyDebugger,
  copyPodName,
  isCopyFor,
  type CopyOptions,
} from "../../src/controller/pod-copy.ts";
import { NS, POD_UID, SESSION_NAME, SESSION_UID, session } from "./fixtures.ts";

const probe: V1Probe = { httpGet: { path: "/healthz", port: 8080 } };
const probes = { livenessProbe: probe, readinessProbe: probe, startupProbe: probe };

function app(o: Partial<V1Container> = {}): V1Container {
  return {
    name: "app",
    image: "shop:1",
    command: ["/shop"],
    args: ["--port=8080"],
    ports: [{ containerPort: 8080, hostPort: 80, hostIP: "0.0.0.0", name: "http" }],
    ...probes,
    ...o,
  };
}

/** A Deployment's pod, scheduled and running, with every field the copy must think about. */
function source(): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "web-6d4f8-x2x9z",
      generateName: "web-6d4f8-",
      namespace: NS,
      uid: POD_UID,
      resourceVersion: "4711",
      generation: 1,
      creationTimestamp: new Date("2026-01-01T00:00:00Z"),
      labels: { app: "web", "pod-template-hash": "6d4f8" },
      annotations: { "prometheus.io/scrape": "true", "kubectl.kubernetes.io/default-container": "app" },
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-6d4f8", uid: "rs-uid", controller: true },
      ],
      finalizers: ["example.com/hold"],
      managedFields: [{ manager: "kube-controller-manager", operation: "Update" }],
    },
    spec: {
      containers: [app(), { name: "proxy", image: "envoy:1", ...probes }],
      initContainers: [
        { name: "migrate", image: "shop:1" },
        { name: "log-shipper", image: "fluent:1", restartPolicy: "Always", ...probes },
      ],
      ephemeralContainers: [{ name: "dbg-old-0123456789ab", image: "busybox:1.36" }],
      nodeName: "node-a",
      restartPolicy: "Always",
      serviceAccountName: "web",
      priorityClassName: "high",
      priority: 1000,
      preemptionPolicy: "PreemptLowerPriority",
      runtimeClassName: "kata",
      overhead: { cpu: "250m" },
      schedulingGates: [{ name: "example.com/quota" }],
      schedulingGroup: { podGroupName: "web-gang" },
      readinessGates: [{ conditionType: "target-health.example.com/web" }],
      activeDeadlineSeconds: 600,
      hostname: "web",
      tolerations: [{ key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" }],
      volumes: [
        { name: "data", persistentVolumeClaim: { claimName: "web-data" } },
        { name: "config", configMap: { name: "web" } },
        {
          name: "kube-api-access-abcde",
          projected: { sources: [{ serviceAccountToken: { path: "token", expirationSeconds: 3607 } }] },
        },
      ],
    },
    status: { phase: "Running", podIP: "10.0.0.7" },
  };
}

function copyOf(pod: V1Pod = source(), opts: CopyOptions = {}, s = session()): V1Pod {
  const out = buildPodCopy(pod, s, opts);
  if (!("pod" in out)) throw new Error(`refused: ${out.refused}`);
  return out.pod;
}
const container = (p: V1Pod, name: string): V1Container | undefined =>
  [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])].find((c) => c.name === name);

describe("copyPodName", () => {
  it("is the session's name, -copy- and 12 hex of its UID's hash: the same suffix as its debugger", () => {
    const name = copyPodName(session());
    expect(name).toMatch(new RegExp(`^${SESSION_NAME}-copy-[0-9a-f]{12}$`));
    expect(name.slice(-12)).toBe(derivedContainerName(session()).slice(-12));
  });

  it("is the same for the same session, and differs between sessions of the same name", () => {
    expect(copyPodName(session())).toBe(copyPodName(session()));
    expect(copyPodName(session({ uid: "another-uid" }))).not.toBe(copyPodName(session()));
  });

  it("cuts a long or dotted name to a DNS-1123 label of at most 63 characters", () => {
    const name = copyPodName(session({ name: `${"a".repeat(50)}.b-${"c".repeat(200)}` }));
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^a+-copy-[0-9a-f]{12}$/);
    expect(copyPodName(session({ name: "debug.web" }))).toMatch(/^debug-web-copy-/);
  });

  it("is a DNS-1123 label for any session name and UID, and unique per UID", () => {
    const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
    const sessionName = fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/);
    fc.assert(
      fc.property(sessionName, fc.uuid(), fc.uuid(), (name, uid, other) => {
        const a = copyPodName(session({ name, uid }));
        expect(a.length).toBeLessThanOrEqual(63);
        expect(a).toMatch(label);
        if (uid !== other) expect(copyPodName(session({ name, uid: other }))).not.toBe(a);
      }),
    );
  });
});

describe("buildPodCopy", () => {
  it("names the copy after the session, in the source's namespace", () => {
    const copy = copyOf();
    expect(copy.metadata?.name).toBe(copyPodName(session()));
    expect(copy.metadata?.namespace).toBe(NS);
    expect(copy.apiVersion).toBe("v1");
    expect(copy.kind).toBe("Pod");
  });

  it("replaces the labels by the operator's own, so no Service, controller or PodDisruptionBudget selects it", () => {
    expect(copyOf().metadata?.labels).toEqual({
      [SESSION_LABEL]: SESSION_NAME,
      [RECORD_SESSION_UID_LABEL]: SESSION_UID,
    });
  });

  it("keeps only the source labels it is given, and never lets one stand in for the operator's", () => {
    const keepLabels = { app: "web", [SESSION_LABEL]: "forged", [RECORD_SESSION_UID_LABEL]: "forged" };
    expect(copyOf(source(), { keepLabels }).metadata?.labels).toEqual({
      app: "web",
      [SESSION_LABEL]: SESSION_NAME,
      [RECORD_SESSION_UID_LABEL]: SESSION_UID,
    });
    const noUid = session({ uid: "x" });
    delete noUid.metadata.uid;
    expect(copyOf(source(), { keepLabels }, noUid).metadata?.labels).toEqual({
      app: "web",
      [SESSION_LABEL]: SESSION_NAME,
    });
  });

  it("carries only the operator's annotations and the source's name and UID", () => {
    expect(copyOf().metadata?.annotations).toEqual({
      [SESSION_ANNOTATION]: SESSION_NAME,
      [COPY_OF_ANNOTATION]: "web-6d4f8-x2x9z",
      [COPY_OF_UID_ANNOTATION]: POD_UID,
    });
  });

  it("has fresh metadata: no owner (the ReplicaSet would count it), no finalizers, nothing the apiserver sets", () => {
    expect(Object.keys(copyOf().metadata ?? {}).sort()).toEqual(["annotations", "labels", "name", "namespace"]);
    expect(copyOf().status).toBeUndefined();
  });

  it.each(Object.keys(NOT_COPIED))("drops spec.%s", (field) => {
    expect(source().spec).toHaveProperty(field);
    expect(copyOf().spec).not.toHaveProperty(field);
  });

  it("drops exactly the fields it documents, and keeps the rest of the spec", () => {
    expect(Object.keys(NOT_COPIED).sort()).toEqual(
      [
        "activeDeadlineSeconds",
        "ephemeralContainers",
        "nodeName",
        "overhead",
        "preemptionPolicy",
        "priority",
        "readinessGates",
        "schedulingGates",
        "schedulingGroup",
      ].sort(),
    );
    const spec = copyOf().spec;
    expect(spec?.serviceAccountName).toBe("web");
    expect(spec?.priorityClassName).toBe("high");
    expect(spec?.runtimeClassName).toBe("kata");
    expect(spec?.hostname).toBe("web");
    expect(spec?.tolerations).toEqual(source().spec?.tolerations);
    expect(spec?.initContainers?.map((c) => c.name)).toEqual(["migrate", "log-shipper"]);
  });

  it("keeps the node only when sameNode asks for it, and only when the source has one", () => {
    expect(copyOf(source(), { sameNode: true }).spec?.nodeName).toBe("node-a");
    expect(copyOf(source(), { sameNode: false }).spec).not.toHaveProperty("nodeName");
    const unscheduled = source();
    delete unscheduled.spec!.nodeName;
    expect(copyOf(unscheduled, { sameNode: true }).spec).not.toHaveProperty("nodeName");
  });

  it("removes liveness, readiness and startup probes from every container, sidecars included", () => {
    const copy = copyOf();
    for (const name of ["app", "proxy", "log-shipper"]) {
      const c = container(copy, name);
      expect(c).toBeDefined();
      expect(c).not.toHaveProperty("livenessProbe");
      expect(c).not.toHaveProperty("readinessProbe");
      expect(c).not.toHaveProperty("startupProbe");
    }
  });

  it("keeps the probes when keepProbes says so", () => {
    const copy = copyOf(source(), { keepProbes: true });
    for (const name of ["app", "proxy", "log-shipper"]) expect(container(copy, name)).toMatchObject(probes);
  });

  it("removes the target's probes even with keepProbes when its command is replaced, and only the target's", () => {
    const copy = copyOf(source(), { keepProbes: true, command: ["sleep", "infinity"] });
    expect(container(copy, "app")).not.toHaveProperty("livenessProbe");
    expect(container(copy, "proxy")).toMatchObject(probes);
  });

  it("shares the process namespace, so the debugger sees every container's processes", () => {
    expect(copyOf().spec?.shareProcessNamespace).toBe(true);
    const unshared = source();
    unshared.spec!.shareProcessNamespace = false;
    expect(copyOf(unshared).spec?.shareProcessNamespace).toBe(true);
  });

  it.each([
    { policy: "Never", command: undefined, expected: "Never" },
    { policy: "OnFailure", command: undefined, expected: "OnFailure" },
    { policy: "Always", command: undefined, expected: "Always" },
    { policy: "Never", command: ["sleep", "infinity"], expected: "Always" },
    { policy: "OnFailure", command: ["sleep", "infinity"], expected: "Always" },
  ])("restartPolicy $policy with command $command is $expected", ({ policy, command, expected }) => {
    const pod = source();
    pod.spec!.restartPolicy = policy;
    expect(copyOf(pod, command ? { command } : {}).spec?.restartPolicy).toBe(expected);
  });

  it("replaces the target container's command and clears its args, leaving the other containers alone", () => {
    const copy = copyOf(source(), { command: ["sleep", "infinity"] });
    expect(container(copy, "app")?.command).toEqual(["sleep", "infinity"]);
    expect(container(copy, "app")).not.toHaveProperty("args");
    expect(container(copy, "proxy")).toEqual({ name: "proxy", image: "envoy:1" });
  });

  it("replaces the target container's image", () => {
    const copy = copyOf(source(), { image: "shop:1-debug" });
    expect(container(copy, "app")?.image).toBe("shop:1-debug");
    expect(container(copy, "app")?.command).toEqual(["/shop"]);
    expect(container(copy, "proxy")?.image).toBe("envoy:1");
  });

  it("targets spec.targetContainer, else the first container", () => {
    const s = session({ spec: { targetContainer: "proxy" } });
    const copy = copyOf(source(), { image: "envoy:debug", command: ["sh"] }, s);
    expect(container(copy, "proxy")).toMatchObject({ image: "envoy:debug", command: ["sh"] });
    expect(container(copy, "app")).toMatchObject({ image: "shop:1", command: ["/shop"], args: ["--port=8080"] });
  });

  it("refuses to replace the command or image of a container the pod does not have, and only then", () => {
    const s = session({ spec: { targetContainer: "nope" } });
    const refused = buildPodCopy(source(), s, { command: ["sh"] });
    expect(refused).toEqual({
      refused:
        "pod web-6d4f8-x2x9z has no container nope whose command spec.copy could replace " +
        "(containers: app, proxy); fix spec.targetContainer",
    });
    expect(buildPodCopy(source(), s, { image: "x" })).toHaveProperty("refused");
    expect(buildPodCopy(source(), s, {})).toHaveProperty("pod");
  });

  it("takes no port on the node: the node's traffic for the source must not reach the copy", () => {
    expect(container(copyOf(), "app")?.ports).toEqual([{ containerPort: 8080, name: "http" }]);
  });

  it("mounts every PersistentVolumeClaim read-only and keeps the other volumes as they are", () => {
    const volumes = copyOf().spec?.volumes;
    expect(volumes?.[0]).toEqual({ name: "data", persistentVolumeClaim: { claimName: "web-data", readOnly: true } });
    expect(volumes?.slice(1)).toEqual(source().spec?.volumes?.slice(1));
  });

  it("leaves the source as it was", () => {
    const pod = source();
    copyOf(pod, { command: ["sh"], image: "x", sameNode: true });
    expect(pod).toEqual(source());
  });

  it("is recognised as the session's copy by the session's UID, and by nothing else", () => {
    const copy = copyOf();
    expect(isCopyFor(copy, session())).toBe(true);
    expect(isCopyFor(copy, session({ uid: "another-uid" }))).toBe(false);
    expect(isCopyFor(source(), session())).toBe(false);
  });

  it("never carries a source label or annotation it was not told to keep, nor the source's controller", () => {
    const key = fc.stringMatching(/^[a-z]{1,8}$/);
    fc.assert(
      fc.property(
        fc.dictionary(key, key, { maxKeys: 5 }),
        fc.dictionary(key, key, { maxKeys: 5 }),
        fc.subarray(["sameNode", "keepProbes", "command", "image"] as const),
        (labels, annotations, flags) => {
          const pod = source();
          pod.metadata = { ...pod.metadata, labels, annotations };
          const opts: CopyOptions = {
            sameNode: flags.includes("sameNode"),
            keepProbes: flags.includes("keepProbes"),
            ...(flags.includes("command") ? { command: ["sleep", "infinity"] } : {}),
            ...(flags.includes("image") ? { image: "shop:debug" } : {}),
          };
          const copy = copyOf(pod, opts);
          for (const k of Object.keys(labels)) expect(copy.metadata?.labels).not.toHaveProperty(k);
          for (const k of Object.keys(annotations)) expect(copy.metadata?.annotations).not.toHaveProperty(k);
          expect(copy.metadata?.ownerReferences).toBeUndefined();
          expect(copy.spec?.ephemeralContainers).toBeUndefined();
          expect(copy.spec?.shareProcessNamespace).toBe(true);
          expect(copy.spec?.containers.map((c) => c.name)).toEqual(["app", "proxy"]);
        },
      ),
    );
  });
});

describe("copyDebugger", () => {
  it("is the session's debugger, same name, without targetContainerName (the copy shares its processes)", () => {
    const s = session({ spec: { targetContainer: "app", stdin: true, tty: true } });
    const { targetContainerName, ...rest } = ephemeralContainer(s);
    expect(targetContainerName).toBe("app");
    expect(copyDebugger(s)).toEqual(rest);
    expect(copyDebugger(s)).not.toHaveProperty("targetContainerName");
  });
});
