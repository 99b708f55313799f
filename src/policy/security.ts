// What a debugger can reach beyond its profile: the fields of a session's securityContext that loosen
// the profile, and what makes a target pod share the node (Pod Security baseline's host-level rules).
import type { V1Container, V1EphemeralContainer, V1Pod, V1SecurityContext } from "@kubernetes/client-node";

/** SELinux types Pod Security baseline allows; any other type (spc_t) lifts confinement. */
const BASELINE_SELINUX_TYPES = new Set(["container_t", "container_init_t", "container_kvm_t", "container_engine_t"]);

/** Capabilities Pod Security baseline lets a container add: none of them reaches the node. */
export const BASELINE_CAPABILITIES = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);

/** Runtimes accept NET_ADMIN, net_admin and CAP_NET_ADMIN alike, so the policy compares them alike. */
export const capability = (name: string): string => name.toUpperCase().replace(/^CAP_/, "");

const confinementIsLifted = (type: string | undefined): boolean => type === "Unconfined" || type === "Localhost";

/**
 * The fields of `own` that give the debugger more than `profile` does, each as `field: value`.
 * `privileged` and `capabilities.add` are not here: each has its own policy rule. Fields the profile
 * leaves open (runAsUser without runAsNonRoot) are the image's choice anyway and do not count.
 */
export function looseningsOf(profile: V1SecurityContext | undefined, own: V1SecurityContext | undefined): string[] {
  if (!own) return [];
  const out: string[] = [];
  if (profile?.runAsNonRoot === true && own.runAsNonRoot === false) out.push("runAsNonRoot: false");
  if (profile?.runAsNonRoot === true && own.runAsUser === 0) out.push("runAsUser: 0");
  if (profile?.allowPrivilegeEscalation === false && own.allowPrivilegeEscalation === true) {
    out.push("allowPrivilegeEscalation: true");
  }
  if (confinementIsLifted(own.seccompProfile?.type)) out.push(`seccompProfile.type: ${own.seccompProfile?.type}`);
  if (confinementIsLifted(own.appArmorProfile?.type)) out.push(`appArmorProfile.type: ${own.appArmorProfile?.type}`);
  const se = own.seLinuxOptions;
  if (se?.user) out.push(`seLinuxOptions.user: ${se.user}`);
  if (se?.role) out.push(`seLinuxOptions.role: ${se.role}`);
  if (se?.type && !BASELINE_SELINUX_TYPES.has(se.type)) out.push(`seLinuxOptions.type: ${se.type}`);
  if (own.procMount !== undefined && own.procMount !== "Default") out.push(`procMount: ${own.procMount}`);
  if (own.windowsOptions?.hostProcess === true) out.push("windowsOptions.hostProcess: true");
  return out;
}

type AnyContainer = V1Container | V1EphemeralContainer;

function containerSharing(kind: string, c: AnyContainer): string[] {
  const sc = c.securityContext;
  const out: string[] = [];
  if (sc?.privileged === true) out.push(`${kind} ${c.name} is privileged`);
  const beyond = (sc?.capabilities?.add ?? []).map(capability).filter((cap) => !BASELINE_CAPABILITIES.has(cap));
  if (beyond.length) out.push(`${kind} ${c.name} adds capabilities ${beyond.join(", ")}`);
  if (sc?.windowsOptions?.hostProcess === true) out.push(`${kind} ${c.name} is a Windows host process`);
  return out;
}

/**
 * Why a debugger in this pod would share the node, one phrase per reason; empty when it would not.
 * Every container counts: by ptrace through the target, or in a shared process namespace, a debugger
 * reaches what the pod's containers reach. Of other debuggers only a privileged one counts: the
 * capabilities the profiles add (SYS_PTRACE, NET_ADMIN) reach no further than the pod.
 */
export function nodeSharingOf(pod: V1Pod): string[] {
  const spec = pod.spec;
  if (!spec) return [];
  const out: string[] = [];
  if (spec.hostPID) out.push("hostPID: true");
  if (spec.hostIPC) out.push("hostIPC: true");
  if (spec.hostNetwork) out.push("hostNetwork: true");
  if (spec.securityContext?.windowsOptions?.hostProcess === true) out.push("the pod is a Windows host process");
  for (const c of spec.initContainers ?? []) out.push(...containerSharing("init container", c));
  for (const c of spec.containers) out.push(...containerSharing("container", c));
  for (const c of spec.ephemeralContainers ?? []) {
    if (c.securityContext?.privileged === true) out.push(`ephemeral container ${c.name} is privileged`);
  }
  for (const v of spec.volumes ?? []) if (v.hostPath) out.push(`hostPath volume ${v.name} (${v.hostPath.path})`);
  return out;
}

const IMAGE_ID = /^(sha256:)?[0-9a-f]{64}$/i;

/**
 * A bare image ID (`sha256:<hex>`) names no repository: the runtime runs whatever image the node has
 * cached under it, so no pattern of allowedImages can say what it is.
 */
export const isBareImageID = (image: string): boolean => IMAGE_ID.test(image) || /^sha256:/i.test(image);
