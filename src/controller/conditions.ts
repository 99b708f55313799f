// metav1.Condition bookkeeping: lastTransitionTime changes only when the status flips.
import type { Condition, ConditionType } from "../api/types.ts";

export type { ConditionType };

export interface ConditionInput {
  type: ConditionType;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
}

export function setConditions(
  previous: Condition[] | undefined,
  wanted: ConditionInput[],
  generation: number,
  now: Date,
): Condition[] {
  return wanted.map((w) => {
    const old = previous?.find((c) => c.type === w.type);
    const since = old && old.status === w.status ? old.lastTransitionTime : now.toISOString();
    return {
      type: w.type,
      status: w.status,
      reason: w.reason,
      message: w.message,
      observedGeneration: generation,
      lastTransitionTime: since,
    };
  });
}

export function findCondition(conditions: Condition[] | undefined, type: ConditionType): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
