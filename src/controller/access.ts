// May this requester have this debugger now? A chain of named checks over the situation, the first
// refusal wins (cert-manager's policy chains). Asked before every injection, retried ones included.
import { DEFAULT_POLICY, REQUESTER_ANNOTATION } from "../api/types.ts";
import { targetIsNotPrivileged } from "../policy/checks.ts";
import { evaluatePolicy } from "../policy/evaluate.ts";
import { copyNetworkDenial, isolationDenial } from "./plans-relabel.ts";
import { Reason } from "./reasons.ts";
import type { Situation } from "./situation.ts";

export interface Denial {
  reason: string;
  message: string;
}

type AccessCheck = (s: Situation) => Denial | undefined;

const namespaceOf = (s: Situation): string => s.session.metadata.namespace ?? "";
const policyName = (s: Situation): string => s.session.spec.policy ?? DEFAULT_POLICY;

const requesterIsKnown: AccessCheck = (s) => {
  if (s.requestedBy) return undefined;
  return {
    reason: Reason.RequesterUnknown,
    message:
      `the session carries no requester stamp (annotation ${REQUESTER_ANNOTATION}): the admission policies in ` +
      "config/admission are not installed, so nobody can tell who asked; " +
      "install them (make install) and create the session again",
  };
};

const policyExists: AccessCheck = (s) => {
  if (s.access.policy) return undefined;
  const [ns, name] = [namespaceOf(s), policyName(s)];
  return {
    reason: Reason.PolicyNotFound,
    message:
      `DebugPolicy ${ns}/${name} (spec.policy) does not exist: nothing may be debugged in namespace ${ns} ` +
      "until a policy admin creates it (see config/samples/debugpolicy.yaml), or name an existing policy in spec.policy",
  };
};

const requesterMayUsePolicy: AccessCheck = (s) => {
  if (s.access.requesterMayUse === true) return undefined;
  const [ns, name] = [namespaceOf(s), policyName(s)];
  return {
    reason: Reason.PolicyUseForbidden,
    message:
      `user ${s.requestedBy?.username ?? ""} may not use DebugPolicy ${ns}/${name}: RBAC must grant verb "use" on ` +
      `debugpolicies (resourceNames: [${name}]) in namespace ${ns}; ask a namespace admin for a RoleBinding to ` +
      "ClusterRole debugpolicy-user or a narrower Role",
  };
};

/**
 * Every rule of the policy. In Copy mode the rules about the target judge the pod copied (the copy
 * carries none of its labels), and whether the pod shares the node is judged on the copy as it will
 * be created as well.
 */
const policyAllowsSession: AccessCheck = (s) => {
  const { session, access } = s;
  const policy = access.policy;
  if (!policy) return undefined;
  const pod = s.copyMode ? s.source : s.pod;
  const violations = evaluatePolicy({ session, policy, pod, otherSessionsOnPod: access.otherSessionsOnPod });
  // The copy as it will be made, and (once made) as it is: a pod under the copy's name and labels that
  // someone else made is judged on what it is.
  const copies = s.copyMode ? [s.plannedCopy, s.pod] : [];
  for (const copy of copies) {
    const shares = copy ? targetIsNotPrivileged({ session, policy, pod: copy, otherSessionsOnPod: 0 }) : undefined;
    if (shares && !violations.some((v) => v.rule === shares.rule)) violations.push(shares);
  }
  if (!violations.length) return undefined;
  return { reason: Reason.PolicyViolation, message: violations.map((v) => `${v.reason}: ${v.message}`).join("; ") };
};

export const ACCESS_CHECKS: readonly AccessCheck[] = [
  requesterIsKnown,
  policyExists,
  requesterMayUsePolicy,
  policyAllowsSession,
  isolationDenial,
  copyNetworkDenial,
];

/** The first reason this requester may not have this debugger now, or undefined. */
export function accessDenial(s: Situation): Denial | undefined {
  for (const check of ACCESS_CHECKS) {
    const denial = check(s);
    if (denial) return denial;
  }
  return undefined;
}
