// Reads a Plan as the sequence of writes apply carries out (finalizer add, pod writes, events, the
// session's deletion, finalizer removal), so decide's tests can assert on kinds and order.
import type { AccessWrite, DecideInput, Plan, PlannedEvent, PodWrite, Refusal } from "../../src/controller/decide.ts";
import { decide } from "../../src/controller/decide.ts";
import { removedBy } from "../../src/controller/pass.ts";

export type Action =
  | PodWrite
  | AccessWrite
  | { kind: "addFinalizer" }
  | { kind: "removeFinalizer" }
  | { kind: "deleteSession" }
  | ({ kind: "event" } & PlannedEvent);

export function actionsOf(plan: Plan): Action[] {
  const actions: Action[] = [];
  if (plan.finalizer === "add") actions.push({ kind: "addFinalizer" });
  actions.push(...plan.podWrites);
  actions.push(...plan.accessWrites);
  actions.push(...plan.events.map((e) => ({ kind: "event" as const, ...e })));
  if (plan.deleteSession) actions.push({ kind: "deleteSession" });
  if (plan.finalizer === "remove") actions.push({ kind: "removeFinalizer" });
  return actions;
}

/** The plan decide makes when the apiserver refused a write of the plan it made for `input`. */
export function whenRefused(input: DecideInput, of: Refusal["of"], message: string): Plan {
  return decide({ ...input, refusal: { of, message } });
}

/**
 * An expiry as the reconciler carries it out: the pass that removes the pod, then the pass told of
 * that removal (input.removed, as the reconciler remembers it) that reports it; both passes' writes
 * as one plan, the second's status. A pass that removes nothing is returned as it is.
 */
export function expire(input: DecideInput): Plan {
  const removal = decide(input);
  const removed = removedBy(removal);
  if (removed === undefined) return removal;
  const report = decide({ ...input, removed });
  return {
    ...report,
    ...((removal.finalizer ?? report.finalizer) ? { finalizer: removal.finalizer ?? report.finalizer } : {}),
    ...(removal.record ? { record: removal.record } : {}),
    podWrites: [...removal.podWrites, ...report.podWrites],
    accessWrites: [...removal.accessWrites, ...report.accessWrites],
    events: [...removal.events, ...report.events],
  };
}
