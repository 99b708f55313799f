// What a session's status says while `kubectl dbg` waits for its debugger: one line for a person,
// and whether to keep waiting, attach, or stop. Read from status.phase, status.message and
// status.containerState only, the fields the operator documents.
import type { DebugSession } from "../api/types.ts";

/** wait: nothing to attach to yet; running: attach now; ended: nothing will run (any more). */
export type Step = "wait" | "running" | "ended";

export interface Progress {
  step: Step;
  line: string;
  /**
   * The debugger is in the pod (condition Injected) and being started: it may already run before the
   * kubelet reports it (its pod status follows the start by up to a second), so an attach may succeed.
   */
  starting?: boolean;
}

/** Waiting reasons of the kubelet that mean the image cannot be had (pkg/kubelet/images). */
const PULL_FAILURES = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"]);
/** Waiting reasons of a container that is simply being created. */
const STARTING = new Set(["ContainerCreating", "PodInitializing"]);

export function progressOf(session: DebugSession): Progress {
  const status = session.status ?? {};
  const phase = status.phase;
  const message = status.message ?? "";
  const state = status.containerState;
  const where = `debugger ${status.containerName ?? "?"} in pod ${status.pod ?? session.spec.targetPod ?? "?"}`;
  if (phase === "Failed") return { step: "ended", line: labelled(`Failed${stalledReason(session)}`, message) };
  if (phase === "Expired" || phase === "Terminated") return { step: "ended", line: labelled(phase, message) };
  if (state?.state === "terminated" || phase === "Completed") {
    return { step: "ended", line: `Completed: the debugger exited with code ${state?.exitCode ?? "?"}` };
  }
  switch (phase) {
    case undefined:
      return { step: "wait", line: `waiting for the operator to pick up session ${session.metadata.name ?? ""}` };
    case "Pending":
      return { step: "wait", line: labelled("Pending", message || "waiting for the target pod") };
    case "Injecting": {
      if (state?.state === "running") return { step: "running", line: `Running: ${where}` };
      const injected = status.conditions?.some((c) => c.type === "Injected" && c.status === "True") === true;
      const starting = injected ? { starting: true } : {};
      if (state?.state !== "waiting")
        return { step: "wait", line: labelled("Injecting", message || `adding ${where}`), ...starting };
      const reason = state.reason ?? "";
      const detail = [reason, state.message].filter(Boolean).join(": ");
      if (PULL_FAILURES.has(reason)) {
        return { step: "wait", line: `Injecting: cannot pull image ${session.spec.image} (${detail})` };
      }
      if (reason === "" || STARTING.has(reason)) {
        const why = reason ? `${reason}; ` : "";
        const line = `Injecting: starting ${where} (${why}image ${session.spec.image} is pulled first unless the node has it)`;
        return { step: "wait", line, ...starting };
      }
      return { step: "wait", line: `Injecting: ${where} is waiting: ${detail}` };
    }
    case "Running":
      return {
        step: "running",
        line: `Running: ${where}${status.expiresAt ? ` (the pod is removed at ${status.expiresAt})` : ""}`,
      };
    default:
      // A phase a newer operator may add: show it, and keep waiting for one this plugin knows.
      return { step: "wait", line: labelled(String(phase), message) };
  }
}

const labelled = (label: string, message: string): string => (message ? `${label}: ${message}` : label);

/** The kstatus Stalled condition's reason, which names the rule that failed (PolicyViolation, ...). */
function stalledReason(session: DebugSession): string {
  const c = session.status?.conditions?.find((x) => x.type === "Stalled" && x.status === "True");
  return c?.reason ? ` (${c.reason})` : "";
}
