// The ephemeral container a session asks for, and its deterministic name.
import { createHash } from "node:crypto";
import type { V1EphemeralContainer } from "@kubernetes/client-node";
import { DEFAULT_PROFILE, type DebugSession } from "../api/types.ts";
import { effectiveSecurityContext } from "../api/profiles.ts";

const MAX_NAME = 63;

/**
 * One name per session, stable across retries and restarts, so an existing container is adopted
 * rather than a second one added. The session's UID is part of it: a new session that reuses an
 * old name never adopts the old session's container.
 */
export function ephemeralContainerName(session: DebugSession): string {
  const uid = session.metadata.uid ?? "";
  const suffix = createHash("sha256").update(uid).digest("hex").slice(0, 5);
  const base = `dbg-${session.metadata.name ?? ""}`.toLowerCase().replace(/[^a-z0-9-]/g, "-");
  const room = MAX_NAME - suffix.length - 1;
  return `${base.slice(0, room).replace(/-+$/, "")}-${suffix}`;
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
