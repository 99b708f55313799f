// What a policy check reads and what it answers.
import type { V1Pod } from "@kubernetes/client-node";
import type { DebugPolicy, DebugSession } from "../api/types.ts";

/** Everything a check may look at, gathered once before evaluation. */
export interface PolicyInput {
  session: DebugSession;
  policy: DebugPolicy;
  /** The target pod; checks that need it are skipped when it is not known (yet). */
  pod?: V1Pod;
  /**
   * Debuggers other than this session's in the target pod (live ephemeral containers, whoever added
   * them) or reserved for it by another active session (under any policy), each counted once.
   */
  otherSessionsOnPod: number;
}

export interface Violation {
  /** Name of the check that failed, e.g. imageIsAllowed. */
  rule: string;
  /** A CamelCase word for programs and condition reasons, e.g. ImageNotAllowed. */
  reason: string;
  /** For people: what was refused, by which policy field, and how to fix it. */
  message: string;
}

/** One named rule: undefined when the session complies. */
export type PolicyCheck = (input: PolicyInput) => Violation | undefined;
