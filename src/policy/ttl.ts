import { DEFAULT_TTL, type DebugPolicy, type DebugSession } from "../api/types.ts";

/** The session's own ttl, or the policy's defaultTTL when it sets none. */
export function effectiveTTL(session: DebugSession, policy: DebugPolicy): string {
  return session.spec.ttl ?? policy.spec.defaultTTL ?? DEFAULT_TTL;
}
