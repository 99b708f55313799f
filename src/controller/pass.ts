// One pass over a gathered input: decide, apply, and when the apiserver refused a pod write, decide
// once more with that refusal and write what it says. Shared by the reconciler and its tests.
import type { Logger } from "pino";
import type { Applier } from "./apply.ts";
import { decide } from "./decide.ts";
import type { DecideInput, RemovedAtExpiry } from "./input.ts";
import type { Plan } from "./plan.ts";

export interface PassResult {
  /** The plan whose writes stand: the refusal's, when there was one. */
  plan: Plan;
  /** The session's resourceVersion after our last write of it; undefined when it was not written. */
  resourceVersion?: string;
}

export async function decideAndApply(input: DecideInput, applier: Applier, log: Logger): Promise<PassResult> {
  const plan = decide(input);
  const first = await applier.apply(plan, input.session, input.pod, log);
  if (!first.refusal) return { plan, resourceVersion: first.resourceVersion };
  const { session } = input;
  const current = {
    ...session,
    metadata: { ...session.metadata, resourceVersion: first.resourceVersion ?? session.metadata.resourceVersion },
  };
  const reported = decide({ ...input, session: current, refusal: first.refusal });
  const second = await applier.apply(reported, current, input.pod, log);
  return { plan: reported, resourceVersion: second.resourceVersion ?? first.resourceVersion };
}

/**
 * What the next pass of a session is told of a removal (input.removed): the one this pass made, kept
 * until a pass wrote the Expired status that reports it.
 */
export function removalAfter(pass: PassResult, before: RemovedAtExpiry | undefined): RemovedAtExpiry | undefined {
  const reported = pass.resourceVersion !== undefined && pass.plan.status.phase === "Expired";
  return removedBy(pass.plan) ?? (reported ? undefined : before);
}

/**
 * True when a pass over `input` would remove the pod, or change its labels (which takes it out of its
 * ReplicaSet or Services for good). decide is pure: asking costs nothing.
 */
export function removesPod(input: DecideInput): boolean {
  const plan = decide(input);
  return removedBy(plan) !== undefined || plan.podWrites.some((w) => w.kind === "relabel");
}

/**
 * The removal a plan makes at expiry. Once the plan was applied, it was made (or the pod was gone):
 * a refused removal comes back as the refusal's plan, which removes nothing.
 */
export function removedBy(plan: Plan): RemovedAtExpiry | undefined {
  const write = plan.podWrites.find((w) => w.kind === "removePod");
  return write?.kind === "removePod" ? { podUID: write.podUID, how: write.how } : undefined;
}
