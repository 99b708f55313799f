// The one TTL rule: what a session asks for, what its policy allows, and the deadline that follows.
import { parseDuration } from "../api/duration.ts";
import { DEFAULT_MAX_TTL, DEFAULT_TTL, type DebugPolicy, type DebugSession } from "../api/types.ts";

/** The session's own ttl, or the policy's defaultTTL when it sets none. */
export function effectiveTTL(session: DebugSession, policy: DebugPolicy | undefined): string {
  return session.spec.ttl ?? defaultTTLOf(policy);
}

const defaultTTLOf = (policy: DebugPolicy | undefined): string => policy?.spec.defaultTTL ?? DEFAULT_TTL;
/** DEFAULT_TTL is a valid duration (a unit test says so). */
const DEFAULT_TTL_MS = parseDuration(DEFAULT_TTL)!;

/** The policy's spec.maxTTL as written (the CRD defaults it, so only objects built by hand lack it). */
export function maxTTLOf(policy: DebugPolicy): string {
  return policy.spec.maxTTL ?? DEFAULT_MAX_TTL;
}

/**
 * Millisecond TTL of a session: its own ttl, else the one its expiresAt already fixed, else the
 * policy's defaultTTL; never more than the policy's maxTTL (a ttl raised without the admission
 * check in place is still bounded). Without its policy a session keeps the deadline it had: nothing
 * is left to allow a longer one.
 */
export function ttlMs(session: DebugSession, policy?: DebugPolicy): number {
  const { injectedAt, expiresAt } = session.status ?? {};
  const fixed = injectedAt && expiresAt ? Date.parse(expiresAt) - Date.parse(injectedAt) : undefined;
  const own = session.spec.ttl !== undefined ? parseDuration(session.spec.ttl) : undefined;
  const ttl = own ?? fixed ?? parseDuration(defaultTTLOf(policy)) ?? DEFAULT_TTL_MS;
  const max = policy !== undefined ? parseDuration(maxTTLOf(policy)) : fixed;
  return max !== undefined ? Math.min(ttl, max) : ttl;
}
