// What a policy check reads and what it answers.
import type { V1Pod } from "@kubernetes/client-node";
import type { DebugPolicy, DebugSession } from "../api/types.ts";

/** Everything a check may look at, gathered once before evaluation. */
export interface PolicyInput {
  session: DebugSession;
  policy: DebugPolicy;
  /** The target pod; checks that need it are skipped when it is not known (yet). */
  pod?: V1Pod;
  /** Active (not ended) DebugSessions other than this one that target the same pod, under any policy. */
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
