// One-fact predicates over a session (pepr's adjudicators): the reconciler, the gatherer and decide
// ask these instead of spelling out phases.
import type { V1Pod } from "@kubernetes/client-node";
import {
  EXPIRES_ANNOTATION,
  EXPIRY_ACTION_ANNOTATION,
  REQUESTER_ANNOTATION,
  REQUESTER_GROUPS_ANNOTATION,
  type DebugSession,
  type DebugSessionStatus,
  type ExpiryAction,
  type Phase,
  type RequestedBy,
} from "../api/types.ts";
import { ephemeralContainerName } from "./container.ts";

/** Who asked, from the admission stamp. */
export function requester(session: DebugSession): RequestedBy | undefined {
  const a = session.metadata.annotations;
  const username = a?.[REQUESTER_ANNOTATION];
  if (!username) return undefined;
  const groups = decodeGroups(a[REQUESTER_GROUPS_ANNOTATION] ?? "");
  return groups.length ? { username, groups } : { username };
}

const GROUP_ESCAPES: Readonly<Record<string, string>> = { "%25": "%", "%2C": "," };

/**
 * The groups of the stamp (config/admission/requester-stamp.yaml): each with "%" and "," percent-
 * encoded, joined with ",". Read back exactly, so a group named "devs,system:masters" stays one group.
 */
export function decodeGroups(stamp: string): string[] {
  // Not trimmed: " system:masters" is another group than "system:masters". Empty names are no group.
  const groups = stamp.split(",").filter((g) => g !== "");
  return groups.map((g) => g.replace(/%(25|2C)/g, (code) => GROUP_ESCAPES[code] ?? code));
}

/** The inverse of decodeGroups, as the admission stamp writes it. */
export function encodeGroups(groups: readonly string[]): string {
  return groups.map((g) => g.replace(/%/g, "%25").replace(/,/g, "%2C")).join(",");
}

/**
 * No debugger of this session is in a pod yet: it has reserved no pod, or it Failed (a Failed
 * session never got one; a retried injection is judged again). Access is asked only then.
 */
export function awaitsInjection(status: DebugSessionStatus | undefined): boolean {
  return status?.targetPodUID === undefined || status.phase === "Failed";
}

const HOLDING: ReadonlySet<Phase> = new Set(["Injecting", "Running", "Completed"]);

/** A session in this phase has (or is putting) a debugger in its pod: it counts for maxSessionsPerPod. */
export const holdsPod = (phase: Phase | undefined): boolean => phase !== undefined && HOLDING.has(phase);

/** The session recorded when its debugger went in, so its deadline is known. */
export const isInjected = (status: DebugSessionStatus | undefined): boolean => status?.injectedAt !== undefined;

/**
 * The pod cache may stand in for a GET: it shows the very pod the session injected into, with our
 * container in it. Anything else (another UID, our container not visible yet, a session being
 * deleted) is read fresh, so a cache that is behind never causes a second injection.
 */
export function cachedPodIsTrusted(session: DebugSession, cached: V1Pod | undefined): cached is V1Pod {
  if (cached === undefined || session.metadata.deletionTimestamp) return false;
  if (!isInjected(session.status) || session.status?.targetPodUID !== cached.metadata?.uid) return false;
  const name = ephemeralContainerName(session);
  return cached.spec?.ephemeralContainers?.some((c) => c.name === name) ?? false;
}

/**
 * When and how a tainted pod is to be removed, as its annotations record it (markPod writes them):
 * no `expiresAt` when the pod records none, or none that parses; Delete only when it says Delete.
 */
export function recordedRemoval(pod: V1Pod): { expiresAt?: string; expiresAtMs?: number; how: ExpiryAction } {
  const annotations = pod.metadata?.annotations ?? {};
  const how = annotations[EXPIRY_ACTION_ANNOTATION] === "Delete" ? "Delete" : "Evict";
  const expiresAt = annotations[EXPIRES_ANNOTATION];
  const expiresAtMs = expiresAt !== undefined ? Date.parse(expiresAt) : NaN;
  return Number.isNaN(expiresAtMs) ? { how } : { expiresAt, expiresAtMs, how };
}
