// The requester's right to attach to their debugger (DebugPolicy grantAttach): granted while the
// debugger is in the pod and the session runs, revoked as soon as it is not. Applied to every plan
// decide() makes, from the status that plan will write, so no situation can forget it.
import { createHash } from "node:crypto";
import type { DebugSession } from "../api/types.ts";
import type { AccessWrite, Plan, Subject } from "./plan.ts";
import type { Situation } from "./situation.ts";

const GRANTED_PHASES = new Set(["Injecting", "Running"]);
const SERVICE_ACCOUNT = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** The Role's name: short, derived from the session's UID, never another session's. */
export function attachRoleName(session: DebugSession): string {
  const hash = createHash("sha256")
    .update(session.metadata.uid ?? "")
    .digest("hex")
    .slice(0, 12);
  return `debugsession-attach-${hash}`;
}

/** The requester as a RoleBinding subject: a ServiceAccount when the name says so, else a User. */
export function subjectOf(username: string): Subject {
  const sa = SERVICE_ACCOUNT.exec(username);
  return sa ? { kind: "ServiceAccount", namespace: sa[1], name: sa[2] ?? "" } : { kind: "User", name: username };
}

export function withAttachGrant(s: Situation, plan: Plan): Plan {
  const has = s.status.attachRole;
  const pod = plan.status.pod;
  const who = s.requestedBy?.username;
  const wanted =
    s.access.policy?.spec.grantAttach !== false &&
    !s.session.metadata.deletionTimestamp &&
    GRANTED_PHASES.has(plan.status.phase ?? "") &&
    plan.status.targetPodUID !== undefined &&
    pod !== undefined &&
    who !== undefined;
  const writes: AccessWrite[] = [];
  const status = { ...plan.status };
  if (wanted && has === undefined) {
    const role = attachRoleName(s.session);
    writes.push({ kind: "grantAttach", role, pod, subject: subjectOf(who) });
    status.attachRole = role;
  } else if (!wanted && has !== undefined) {
    writes.push({ kind: "revokeAttach", role: has });
    delete status.attachRole;
  } else if (has !== undefined) {
    status.attachRole = has;
  }
  if (writes.length === 0 && status.attachRole === plan.status.attachRole) return plan;
  return { ...plan, accessWrites: [...plan.accessWrites, ...writes], status };
}
