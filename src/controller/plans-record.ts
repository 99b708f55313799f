// The DebugSessionRecord a plan saves when a session with a debugger ends (apply.ts writes it first).
import { DEFAULT_POLICY, DEFAULT_RECORD_RETENTION, TERMINAL_PHASES, type RecordEnding } from "../api/types.ts";
import { findCondition } from "./conditions.ts";
import type { Plan } from "./plan.ts";
import type { Situation } from "./situation.ts";

/** A debugger went into a pod for this session (recorded, or found there now). */
export const wasInjected = (s: Situation): boolean =>
  s.tainted || findCondition(s.status.conditions, "Injected")?.status === "True";

/** The session ended before this pass and so was recorded then (a record is written once, at the end). */
export const endedBefore = (s: Situation): boolean =>
  s.status.phase !== undefined && TERMINAL_PHASES.has(s.status.phase) && !(s.tainted && !s.podDeleting);

/**
 * The plan, saving the session's record first. `logsUnavailable`: the pod is gone, so the record says
 * that no transcript could be saved, and why.
 */
export function withRecord(
  s: Situation,
  plan: Plan,
  how: RecordEnding,
  message: string,
  logsUnavailable?: string,
): Plan {
  if (!wasInjected(s)) return plan;
  const policy = s.access.policy;
  return {
    ...plan,
    record: {
      how,
      message,
      endedAt: plan.status.endedAt ?? s.status.endedAt ?? endingInstant(s, how),
      containerName: s.containerName,
      ...(s.expiresAtMs !== undefined ? { expiresAt: new Date(s.expiresAtMs).toISOString() } : {}),
      ...(logsUnavailable !== undefined ? { logsUnavailable } : {}),
      policy: {
        name: s.session.spec.policy ?? DEFAULT_POLICY,
        ...(policy?.metadata.generation !== undefined ? { generation: policy.metadata.generation } : {}),
        retention: policy?.spec.recordRetention ?? DEFAULT_RECORD_RETENTION,
      },
    },
  };
}

/**
 * When a session whose status does not say so yet ended: the same instant on every pass until the
 * status is written (the record's retries are given up RECORD_GIVE_UP_MS after it, not after each
 * pass's clock). Expiry: the deadline; deletion: the session's deletionTimestamp; else the pod's.
 */
function endingInstant(s: Situation, how: RecordEnding): string {
  const stamp = (t: Date | string | undefined | null): string | undefined =>
    t === undefined || t === null ? undefined : new Date(t).toISOString();
  const at =
    how === "Expired" && s.expiresAtMs !== undefined
      ? new Date(Math.min(s.expiresAtMs, s.now.getTime())).toISOString()
      : how === "Deleted"
        ? stamp(s.session.metadata.deletionTimestamp)
        : stamp(s.pod?.metadata?.deletionTimestamp);
  return at ?? s.now.toISOString();
}
