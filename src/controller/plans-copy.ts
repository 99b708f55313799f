// Copy mode (spec.mode: Copy) before the debugger is in the copy: create a copy of the source pod
// (pod-copy.ts), wait for it to run, then inject into it as Ephemeral mode does (planInjection). After
// the injection the copy is the session's pod and every situation of Ephemeral mode applies to it; the
// source is never written. An ended session keeps no copy (withCopyCleanup).
import { TERMINAL_PHASES } from "../api/types.ts";
import { emptyPlan, sessionEvent, type Plan } from "./plan.ts";
import { withTransitionEvent } from "./plans-ended.ts";
import { Reason } from "./reasons.ts";
import { podName, type Situation } from "./situation.ts";
import { StatusBuilder } from "./status.ts";
import { noPodMessage } from "./target.ts";

type Waiting = (phase: "Pending" | "Injecting" | "Failed", reason: string, message: string) => Plan;

/** Copy mode, nothing injected yet, access granted: the next step towards a debugger in the copy. */
export function planCopy(s: Situation, recheckMs: number, inject: () => Plan): Plan {
  const statuses = new StatusBuilder(s);
  const copy = podName(s);
  const wait: Waiting = (phase, reason, message) => {
    const ready = phase === "Failed" ? "no debugger" : "no debugger yet";
    const plan = emptyPlan(statuses.notInjected(phase, reason, message, message, ready));
    if (phase !== "Failed") plan.requeueAfterMs = recheckMs;
    return withTransitionEvent(s, plan, phase === "Failed" ? "Warning" : "Normal", reason);
  };
  if (s.copyNameTaken) {
    return wait(
      "Failed",
      Reason.CopyNameTaken,
      `pod ${copy} exists and is not this session's copy (it lacks the session's UID label); the operator never ` +
        "touches it: delete it, or create the session under another name",
    );
  }
  const sourceMissing = waitingForSource(s, wait);
  if (!s.pod) return sourceMissing ?? planCreate(s, statuses, recheckMs);
  // The copy exists: the rules about the target were judged on the source, so without it, no debugger.
  if (!s.source) {
    return wait(
      "Failed",
      Reason.SourcePodGone,
      `pod ${statuses.sourcePod ?? "?"}, which ${copy} copies, is gone, so the policy's rules about the target cannot be ` +
        "checked again; the copy is deleted. Create a new session for the pod that replaced it",
    );
  }
  if (s.podDeleting) {
    return wait("Injecting", Reason.CopyNotRunning, `copy ${copy} is being deleted; a new one is made once it is gone`);
  }
  const phase = s.pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") {
    return wait(
      "Failed",
      Reason.CopyFinished,
      `copy ${copy} ended (${phase}) before the debugger could go in: all its containers exited. Replace the ` +
        "target's command so the copy keeps running (spec.copy.command, e.g. [sleep, infinity]); the copy is deleted",
    );
  }
  if (phase !== "Running") {
    return wait(
      "Injecting",
      Reason.CopyNotRunning,
      `copy ${copy} of pod ${statuses.sourcePod ?? "?"} is ${phase ?? "not running"}${whyNotRunning(s)}; ` +
        "the debugger goes in once it runs",
    );
  }
  return inject();
}

/** The source must exist and not be going; unlike Ephemeral mode it need not run (a crash loop is copied). */
function waitingForSource(s: Situation, wait: Waiting): Plan | undefined {
  const { source, session } = s;
  if (!source && s.choice) return wait("Pending", Reason.NoTargetPod, noPodMessage(s.choice));
  const name = source?.metadata?.name ?? session.spec.targetPod ?? s.status.sourcePod ?? "";
  if (!source) {
    return wait(
      "Pending",
      Reason.TargetPodNotFound,
      `pod ${name} not found in namespace ${session.metadata.namespace}; the session waits for it`,
    );
  }
  if (source.metadata?.deletionTimestamp) {
    return wait("Pending", Reason.TargetPodNotRunning, `pod ${name} is being deleted; the session waits for it`);
  }
  const container = session.spec.targetContainer;
  if (container && !source.spec?.containers.some((c) => c.name === container)) {
    const names = source.spec?.containers.map((c) => c.name).join(", ");
    return wait(
      "Failed",
      Reason.TargetContainerNotFound,
      `pod ${name} has no container ${container} (containers: ${names})`,
    );
  }
  return undefined;
}

/** Create the copy. The finalizer goes first: a session deleted from now on still deletes its copy. */
function planCreate(s: Situation, statuses: StatusBuilder, recheckMs: number): Plan {
  const copy = podName(s);
  const manifest = s.plannedCopy;
  const source = statuses.sourcePod ?? "";
  if (!manifest) {
    const message = `pod ${source} has no container ${s.session.spec.targetContainer ?? "<first>"} to copy`;
    return emptyPlan(statuses.notInjected("Failed", Reason.TargetContainerNotFound, message, message));
  }
  const message = `creating ${copy}, a copy of pod ${source}; the debugger goes in once it runs`;
  const plan = emptyPlan(statuses.notInjected("Injecting", Reason.CopyCreated, message, message, "no debugger yet"));
  if (!s.hasFinalizer) plan.finalizer = "add";
  plan.podWrites.push({ kind: "createCopy", pod: copy, manifest });
  plan.requeueAfterMs = recheckMs;
  if (s.status.phase !== "Injecting") plan.events.push(sessionEvent("Normal", Reason.CopyCreated, message));
  return plan;
}

/** What the scheduler or the kubelet says of a copy that does not run yet. */
function whyNotRunning(s: Situation): string {
  const unscheduled = s.pod?.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  if (unscheduled?.message) return ` (${unscheduled.message})`;
  const waiting = s.pod?.status?.containerStatuses?.find((c) => c.state?.waiting?.reason)?.state?.waiting;
  return waiting?.reason ? ` (${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""})` : "";
}

/**
 * An ended Copy-mode session keeps no copy, whichever way it ended (denied, refused, the copy
 * finished, the source gone, expired): a plan whose status is terminal deletes the copy unless it
 * already removes it or the copy is going.
 */
export function withCopyCleanup(s: Situation, plan: Plan): Plan {
  if (!s.copyMode || !s.pod || s.podDeleting || s.copyNameTaken) return plan;
  if (!TERMINAL_PHASES.has(plan.status.phase ?? "Pending") || plan.podWrites.some((w) => w.kind === "removePod")) {
    return plan;
  }
  const { name = "", uid = "" } = s.pod.metadata ?? {};
  return { ...plan, podWrites: [...plan.podWrites, { kind: "removePod", pod: name, podUID: uid, how: "Delete" }] };
}
