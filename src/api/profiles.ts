// Security profiles with the meaning `kubectl debug --profile` gives them for ephemeral containers.
import type { V1SecurityContext } from "@kubernetes/client-node";
import type { Profile } from "./types.ts";

/** The securityContext a profile gives the debugger before the session's own fields are applied. */
export function profileSecurityContext(profile: Profile): V1SecurityContext | undefined {
  switch (profile) {
    case "general":
      // Tracing the target's processes is what a debugger is for.
      return { capabilities: { add: ["SYS_PTRACE"] } };
    case "baseline":
      return undefined;
    case "restricted":
      return {
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      };
    case "netadmin":
      return { capabilities: { add: ["NET_ADMIN", "NET_RAW"] } };
    case "sysadmin":
      return { privileged: true };
  }
}

/** The profile's context with the session's fields laid over it (as kubectl debug --custom does). */
export function effectiveSecurityContext(
  profile: Profile,
  own: V1SecurityContext | undefined,
): V1SecurityContext | undefined {
  const base = profileSecurityContext(profile);
  if (!own) return base;
  if (!base) return own;
  const merged: V1SecurityContext = { ...base, ...own };
  if (base.capabilities || own.capabilities) {
    const add = [...new Set([...(base.capabilities?.add ?? []), ...(own.capabilities?.add ?? [])])];
    const drop = [...new Set([...(base.capabilities?.drop ?? []), ...(own.capabilities?.drop ?? [])])];
    merged.capabilities = { ...(add.length ? { add } : {}), ...(drop.length ? { drop } : {}) };
  }
  return merged;
}
