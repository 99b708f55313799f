// The ephemeral container a session asks for, and its deterministic name.
import { createHash } from "node:crypto";
import type { V1EphemeralContainer } from "@kubernetes/client-node";
import { DEFAULT_PROFILE, type DebugSession } from "../api/types.ts";
import { effectiveSecurityContext } from "../api/profiles.ts";

const MAX_NAME = 63;
/** 48 bits of the UID's hash: no requester can make the operator create, or find, a name another owns. */
const SUFFIX_HEX = 12;

/**
 * One name per session, stable across retries and restarts, so an existing container is adopted
 * rather than a second one added. The name the status recorded wins (a session injected by an older
 * operator keeps its name); otherwise it is derived from the session's UID, so a new session that
 * reuses an old name never finds the old session's container, and no choice of name collides.
 */
export function ephemeralContainerName(session: DebugSession): string {
  return session.status?.containerName ?? derivedContainerName(session);
}

export function derivedContainerName(session: DebugSession): string {
  const uid = session.metadata.uid ?? "";
  const suffix = createHash("sha256").update(uid).digest("hex").slice(0, SUFFIX_HEX);
  const base = `dbg-${session.metadata.name ?? ""}`.toLowerCase().replace(/[^a-z0-9-]/g, "-");
  const room = MAX_NAME - suffix.length - 1;
  return `${base.slice(0, room).replace(/-+$/, "")}-${suffix}`;
}

/** A label value holds at most 63 characters; a DebugSession name up to 253. */
const MAX_LABEL_VALUE = 63;

/**
 * The value of the pod's session label: the session's name when it fits a label value, else its first
 * characters and a hash of the whole name, so a label patch never fails after the debugger went in.
 * The label only selects the pod for the operator's cache; the annotation keeps the full names.
 */
export function sessionLabelValue(sessionName: string): string {
  if (sessionName.length <= MAX_LABEL_VALUE) return sessionName;
  const hash = createHash("sha256").update(sessionName).digest("hex").slice(0, 10);
  return `${sessionName.slice(0, MAX_LABEL_VALUE - hash.length - 1).replace(/[^a-z0-9]+$/, "")}-${hash}`;
}

export function ephemeralContainer(session: DebugSession): V1EphemeralContainer {
  const s = session.spec;
  const c: V1EphemeralContainer = { name: ephemeralContainerName(session), image: s.image };
  if (s.imagePullPolicy) c.imagePullPolicy = s.imagePullPolicy;
  if (s.command?.length) c.command = s.command;
  if (s.args?.length) c.args = s.args;
  if (s.env?.length) c.env = s.env;
  if (s.workingDir) c.workingDir = s.workingDir;
  if (s.stdin) c.stdin = true;
  if (s.tty) c.tty = true;
  if (s.volumeMounts?.length) c.volumeMounts = s.volumeMounts;
  if (s.targetContainer) c.targetContainerName = s.targetContainer;
  const sc = effectiveSecurityContext(s.profile ?? DEFAULT_PROFILE, s.securityContext);
  if (sc) c.securityContext = sc;
  c.terminationMessagePolicy = "FallbackToLogsOnError";
  return c;
}

export function attachCommand(session: DebugSession, podName: string): string {
  const s = session.spec;
  const flags = s.stdin && s.tty ? " -it" : s.stdin ? " -i" : "";
  const ns = session.metadata.namespace ?? "default";
  return `kubectl attach${flags} ${podName} -c ${ephemeralContainerName(session)} -n ${ns}`;
}
