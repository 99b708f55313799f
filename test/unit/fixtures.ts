// Builders shared by the decide test files: a fixed clock, one session and one pod, with options.
import type { V1ContainerState, V1ContainerStatus, V1Pod, V1Volume } from "@kubernetes/client-node";
import {
  FINALIZER,
  REQUESTER_ANNOTATION,
  REQUESTER_GROUPS_ANNOTATION,
  type DebugSession,
  type DebugSessionSpec,
  type DebugSessionStatus,
} from "../../src/api/types.ts";
import { ephemeralContainerName } from "../../src/controller/container.ts";
import type { AccessInput } from "../../src/controller/decide.ts";

export const NOW = new Date("2026-01-01T00:10:00Z");
export const CREATED = new Date("2026-01-01T00:00:00Z");
export const MIN = 60_000;
export const NS = "shop";
export const SESSION_NAME = "debug-web";
export const SESSION_UID = "3c7f1f0e-5a43-4d6b-9a4e-1f2d3c4b5a69";
export const POD_NAME = "web-0";
export const POD_UID = "pod-uid-original";

export const ago = (ms: number): Date => new Date(NOW.getTime() - ms);
export const after = (ms: number): Date => new Date(NOW.getTime() + ms);
export const iso = (d: Date): string => d.toISOString();

/** The admission stamp: alice, in team-a and system:authenticated. */
export const STAMP: Readonly<Record<string, string>> = {
  [REQUESTER_ANNOTATION]: "alice",
  [REQUESTER_GROUPS_ANNOTATION]: "team-a,system:authenticated",
};

/** A policy that allows everything these sessions ask for, and RBAC that lets the requester use it. */
export const ALLOW_ALL: AccessInput = {
  policy: {
    apiVersion: "debugging.dev/v1alpha1",
    kind: "DebugPolicy",
    metadata: { name: "default", namespace: NS },
    spec: {
      targetSelector: {},
      allowedImages: ["**"],
      allowedProfiles: ["general", "baseline", "restricted", "netadmin", "sysadmin"],
      allowPrivileged: true,
      maxTTL: "8760h",
      maxSessionsPerPod: 100,
      // The attach grant has its own tests (decide.test.ts "attach grant", lifecycle-writes).
      grantAttach: false,
    },
  },
  requesterMayUse: true,
  otherSessionsOnPod: 0,
};

export interface SessionOpts {
  spec?: Partial<DebugSessionSpec>;
  status?: DebugSessionStatus;
  generation?: number;
  finalizers?: string[];
  deletionTimestamp?: Date;
  creationTimestamp?: Date;
  name?: string;
  uid?: string;
  /** Defaults to STAMP. */
  annotations?: Record<string, string>;
}

export function session(o: SessionOpts = {}): DebugSession {
  const s: DebugSession = {
    apiVersion: "debugging.dev/v1alpha1",
    kind: "DebugSession",
    metadata: {
      name: o.name ?? SESSION_NAME,
      namespace: NS,
      uid: o.uid ?? SESSION_UID,
      generation: o.generation ?? 1,
      creationTimestamp: o.creationTimestamp ?? CREATED,
      finalizers: o.finalizers ?? [FINALIZER],
      annotations: o.annotations ?? { ...STAMP },
    },
    spec: { targetPod: POD_NAME, image: "busybox:1.36", ...o.spec },
  };
  if (o.deletionTimestamp) s.metadata.deletionTimestamp = o.deletionTimestamp;
  if (o.status) s.status = o.status;
  return s;
}

/** The debugger's name for the default session. */
export const CNAME = ephemeralContainerName(session());

export interface PodOpts {
  uid?: string;
  phase?: string;
  containers?: string[];
  ephemeralContainers?: string[];
  ephemeralContainerStatuses?: V1ContainerStatus[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: Date;
  volumes?: V1Volume[];
}

export function pod(o: PodOpts = {}): V1Pod {
  const p: V1Pod = {
    metadata: { name: POD_NAME, namespace: NS, uid: o.uid ?? POD_UID },
    spec: {
      containers: (o.containers ?? ["app"]).map((name) => ({ name, image: "shop:1" })),
      ephemeralContainers: (o.ephemeralContainers ?? []).map((name) => ({ name, image: "busybox:1.36" })),
    },
    status: { phase: o.phase ?? "Running", ephemeralContainerStatuses: o.ephemeralContainerStatuses ?? [] },
  };
  if (o.labels) p.metadata!.labels = o.labels;
  if (o.annotations) p.metadata!.annotations = o.annotations;
  if (o.deletionTimestamp) p.metadata!.deletionTimestamp = o.deletionTimestamp;
  if (o.volumes) p.spec!.volumes = o.volumes;
  return p;
}

export function ecStatus(state: V1ContainerState, name = CNAME): V1ContainerStatus {
  return { name, image: "busybox:1.36", imageID: "", ready: false, restartCount: 0, state };
}
export const running = (startedAt: Date = ago(MIN)): V1ContainerState => ({ running: { startedAt } });
export const waiting = (reason: string, message?: string): V1ContainerState => ({ waiting: { reason, message } });
export const terminated = (exitCode: number, reason = "Error"): V1ContainerState => ({
  terminated: { exitCode, reason, startedAt: ago(3 * MIN), finishedAt: ago(MIN) },
});
