// The pod a Copy-mode session debugs: a copy of its target, as `kubectl debug --copy-to` makes one, out
// of every Service and controller, and the debugger that goes into it. Pure.
//
// The debugger is an ephemeral container added to the copy after it is created, not an ordinary
// container in the manifest (one write fewer). A pod cannot be created with ephemeral containers (the
// apiserver refuses them at create), so this costs a second write, and buys the same debugger in both
// modes:
// - everything after the injection already works on ephemeral containers: the status mirror reads
//   status.ephemeralContainerStatuses, adoption and cachedPodIsTrusted look in spec.ephemeralContainers,
//   the orphan sweeper only removes pods with a dbg-* ephemeral container, maxSessionsPerPod counts them.
//   Copy mode becomes "create the copy, then inject into it as Ephemeral mode does";
// - the ServiceAccount admission plugin mounts the pod's API token into every ordinary container, never
//   into ephemeral ones: an ordinary debugger would get the token the policy calls sensitive
//   (allowSensitiveVolumes) without asking for it;
// - an ordinary container follows the pod's restartPolicy (a debugger restarted when its shell exits,
//   so the session never reads Completed) and counts for ResourceQuota and LimitRange, and the schema has
//   no resources to give it. An ephemeral container is never restarted and needs none.
// The price: a window in which the copy exists without its debugger (level-triggered reconciles close
// it: the copy carries our labels from birth), and the copy must stay alive until the debugger is in,
// which is what the restartPolicy rule below is for. In the copy the debugger has no
// targetContainerName: shareProcessNamespace already shows it every process, and the kubelet refuses to
// start an ephemeral container whose target has not been created yet (an image still pulling).
import { createHash } from "node:crypto";
import type {
  V1Container,
  V1EphemeralContainer,
  V1ObjectMeta,
  V1Pod,
  V1PodSpec,
  V1Volume,
} from "@kubernetes/client-node";
import {
  GROUP,
  RECORD_SESSION_UID_LABEL,
  SESSION_ANNOTATION,
  SESSION_LABEL,
  type CopySpec,
  type DebugSession,
} from "../api/types.ts";
import { ephemeralContainer, sessionLabelValue } from "./container.ts";

/** On a copy: the name and UID of the pod it was copied from. */
export const COPY_OF_ANNOTATION = "debugging.dev/copy-of";
export const COPY_OF_UID_ANNOTATION = "debugging.dev/copy-of-uid";

export interface CopyOptions extends CopySpec {
  /**
   * Source labels the copy keeps beside the operator's own; none by default, as kubectl. The intended
   * use: the labels planRelabel (relabel.ts) leaves the source with, so the copy stays under every
   * NetworkPolicy that restricts the source while no Service or controller selects it.
   */
  keepLabels?: Record<string, string>;
}

export type PodCopy = { pod: V1Pod } | { refused: string };

const MAX_NAME = 63;
/** The same 48 bits of the UID's hash as the debugger's name: the copy and its debugger read as a pair. */
const SUFFIX_HEX = 12;
const INFIX = "-copy-";

/**
 * The copy's name: `<session name>-copy-<12 hex>`, the hex being the first 48 bits of sha256(session
 * UID); the name is lowercased, characters other than [a-z0-9-] become '-', and it is cut (and
 * trailing '-' dropped) so the whole is at most 63 characters: a DNS-1123 label, so the pod's hostname
 * is its whole name. Two sessions never share a UID, so never a copy; the same session always gets the
 * same name, so a retried create finds its own copy (AlreadyExists) rather than making a second.
 */
export function copyPodName(session: DebugSession): string {
  const suffix = createHash("sha256")
    .update(session.metadata.uid ?? "")
    .digest("hex")
    .slice(0, SUFFIX_HEX);
  const base = (session.metadata.name ?? "").toLowerCase().replace(/[^a-z0-9-]/g, "-");
  const cut = base.slice(0, MAX_NAME - INFIX.length - SUFFIX_HEX).replace(/^-+|-+$/g, "");
  return cut ? `${cut}${INFIX}${suffix}` : `copy-${suffix}`;
}

/**
 * The copy is this session's: it carries the session's UID (a pod someone else created under the
 * name, or a copy of a deleted session of the same name, is not adopted).
 */
export const isCopyFor = (pod: V1Pod, session: DebugSession): boolean =>
  session.metadata.uid !== undefined && pod.metadata?.labels?.[RECORD_SESSION_UID_LABEL] === session.metadata.uid;

type NotCopied =
  | "ephemeralContainers"
  | "nodeName"
  | "schedulingGates"
  | "schedulingGroup"
  | "priority"
  | "preemptionPolicy"
  | "overhead"
  | "readinessGates"
  | "activeDeadlineSeconds";

/**
 * Pod spec fields the copy does not take from its source. Documentation and the test's checklist; the
 * code below drops exactly these.
 */
export const NOT_COPIED: Readonly<Record<NotCopied, string>> = {
  ephemeralContainers: "a pod cannot be created with ephemeral containers (kubectl drops them for the same reason)",
  nodeName: "the scheduler places the copy, unless sameNode asks for the source's node",
  schedulingGates: "whoever gated the source would never lift a gate on a copy it does not know",
  schedulingGroup: "the copy is no member of the source's gang (PodGroup)",
  priority:
    "the Priority admission plugin computes it from priorityClassName and refuses a copied value it disagrees with",
  preemptionPolicy: "the same: computed from the PriorityClass, refused when it differs",
  overhead: "the RuntimeClass admission plugin sets it and refuses a copied value that no longer matches",
  readinessGates: "the controller that sets them (a load balancer's) never would for a pod no Service selects",
  activeDeadlineSeconds: "the copy lives as long as the session's TTL, not the source's deadline",
};

/**
 * The copy of `source` to create for `session`, without its debugger (copyDebugger, injected once the
 * copy runs). Follows `kubectl debug --copy-to` (fresh metadata, no ephemeral containers, no nodeName
 * unless sameNode, probes removed, processes shared) and, where it is silent, keeps the copy away from
 * the source's traffic and data:
 * - labels: the operator's own (SESSION_LABEL, which puts the copy in the operator's pod cache, and
 *   RECORD_SESSION_UID_LABEL, the session's UID, for adoption) plus opts.keepLabels; so no Service,
 *   controller or PodDisruptionBudget selects it (a ReplicaSet would even adopt a matching orphan);
 * - annotations: SESSION_ANNOTATION (the session's name, as markPod writes it) and the source's name and
 *   UID. Not the source's: they drive other controllers (scrape targets, mesh and secret injectors);
 * - no ownerReferences (the source's controller would count the copy as its own) and no finalizers
 *   (the source's would hold the copy forever); uid, resourceVersion, creationTimestamp, managedFields,
 *   generateName and status are the apiserver's;
 * - no hostPort: a port on the node would send the node's traffic for the source to the copy;
 * - every persistentVolumeClaim volume read-only: a copy must not write the data the source serves (two
 *   database processes on one data directory corrupt it), least of all with an image of copy.image.
 *   The projected service-account token volume stays as it is; the kubelet fills it for the copy;
 * - probes removed from every container, init (sidecar) containers included, unless keepProbes: a
 *   liveness probe would restart a process the debugger holds stopped. The target's are removed even
 *   with keepProbes when its command is replaced: a probe of the original program can only fail
 *   against `sleep infinity`, and would restart it;
 * - restartPolicy as the source's, but Always when the command is replaced: the copy must outlive
 *   the replaced command, or the kubelet ends a pod whose containers have all exited (Never,
 *   OnFailure) and its debugger with it, and a finished pod takes no debugger. The crash loop was the
 *   original command's; `sleep infinity` does not exit, and a replacement that cannot start (no
 *   `sleep` in a distroless image) shows why in CrashLoopBackOff rather than ending the copy.
 * Refused only when the command or image is to be replaced in a container the pod does not have.
 */
export function buildPodCopy(source: V1Pod, session: DebugSession, opts: CopyOptions = {}): PodCopy {
  const containers = source.spec?.containers ?? [];
  const target = session.spec.targetContainer ?? containers[0]?.name;
  const what = opts.command?.length ? "command" : opts.image ? "image" : undefined;
  if (what && !containers.some((c) => c.name === target)) {
    return {
      refused:
        `pod ${source.metadata?.name ?? ""} has no container ${target ?? "<none>"} whose ${what} spec.copy could ` +
        `replace (containers: ${containers.map((c) => c.name).join(", ") || "<none>"}); fix spec.targetContainer`,
    };
  }
  return {
    pod: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: copyMetadata(source, session, opts),
      spec: copySpec(source, target, opts),
    },
  };
}

function copyMetadata(source: V1Pod, session: DebugSession, opts: CopyOptions): V1ObjectMeta {
  const sessionName = session.metadata.name ?? "";
  const uid = session.metadata.uid;
  const labels: Record<string, string> = {
    ...withoutOwnLabels(opts.keepLabels ?? {}),
    [SESSION_LABEL]: sessionLabelValue(sessionName),
    ...(uid !== undefined ? { [RECORD_SESSION_UID_LABEL]: uid } : {}),
  };
  const annotations: Record<string, string> = {
    [SESSION_ANNOTATION]: sessionName,
    [COPY_OF_ANNOTATION]: source.metadata?.name ?? "",
    ...(source.metadata?.uid !== undefined ? { [COPY_OF_UID_ANNOTATION]: source.metadata.uid } : {}),
  };
  return { name: copyPodName(session), namespace: source.metadata?.namespace, labels, annotations };
}

function copySpec(source: V1Pod, target: string | undefined, opts: CopyOptions): V1PodSpec {
  const spec = structuredClone(source.spec ?? { containers: [] });
  for (const field of Object.keys(NOT_COPIED) as NotCopied[]) delete spec[field];
  const replacesCommand = (opts.command?.length ?? 0) > 0;
  const keepProbes = opts.keepProbes === true;
  spec.containers = spec.containers.map((c) => {
    const copied = copiedContainer(c, keepProbes && !(replacesCommand && c.name === target));
    if (c.name !== target) return copied;
    if (replacesCommand) {
      copied.command = [...(opts.command ?? [])];
      delete copied.args;
    }
    if (opts.image) copied.image = opts.image;
    return copied;
  });
  if (spec.initContainers) spec.initContainers = spec.initContainers.map((c) => copiedContainer(c, keepProbes));
  if (spec.volumes) spec.volumes = spec.volumes.map(readOnlyClaim);
  spec.shareProcessNamespace = true;
  if (replacesCommand) spec.restartPolicy = "Always";
  const node = source.spec?.nodeName;
  if (opts.sameNode && node) spec.nodeName = node;
  return spec;
}

function copiedContainer(c: V1Container, keepProbes: boolean): V1Container {
  const out: V1Container = { ...c };
  if (!keepProbes) {
    delete out.livenessProbe;
    delete out.readinessProbe;
    delete out.startupProbe;
  }
  if (out.ports) out.ports = out.ports.map(({ hostPort: _port, hostIP: _ip, ...port }) => port);
  return out;
}

/** The operator's labels on a copy are the operator's to set: a kept label never stands in for them. */
const withoutOwnLabels = (labels: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(labels).filter(([k]) => !k.startsWith(`${GROUP}/`)));

const readOnlyClaim = (v: V1Volume): V1Volume =>
  v.persistentVolumeClaim ? { ...v, persistentVolumeClaim: { ...v.persistentVolumeClaim, readOnly: true } } : v;

/**
 * The debugger for the copy: the session's ephemeral container (same deterministic name, so the
 * attach command and adoption are Ephemeral mode's) without targetContainerName.
 */
export function copyDebugger(session: DebugSession): V1EphemeralContainer {
  const { targetContainerName: _target, ...container } = ephemeralContainer(session);
  return container;
}
