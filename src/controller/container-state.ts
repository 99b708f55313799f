// What the kubelet reports of the debugger, reduced to what the session shows.
import type { V1Pod } from "@kubernetes/client-node";
import type { ContainerStateMirror } from "../api/types.ts";
import { STARTING_REASONS } from "./reasons.ts";

const iso = (t: Date | string | undefined): string | undefined =>
  t === undefined ? undefined : typeof t === "string" ? t : t.toISOString();

export function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function stateOf(pod: V1Pod, name: string) {
  return pod.status?.ephemeralContainerStatuses?.find((s) => s.name === name)?.state;
}

/** The debugger's entry in pod.status.ephemeralContainerStatuses, reduced to what the session shows. */
export function mirrorContainerState(pod: V1Pod, name: string): ContainerStateMirror | undefined {
  const st = stateOf(pod, name);
  if (st?.terminated) {
    const t = st.terminated;
    // Not the termination message: the debugger writes it (with FallbackToLogsOnError, the tail of its
    // output), and anyone who may read the session would read it. kubectl logs shows it to those allowed.
    return withoutUndefined<ContainerStateMirror>({
      state: "terminated",
      reason: t.reason,
      exitCode: t.exitCode,
      startedAt: iso(t.startedAt),
      finishedAt: iso(t.finishedAt),
    });
  }
  if (st?.running)
    return withoutUndefined<ContainerStateMirror>({ state: "running", startedAt: iso(st.running.startedAt) });
  if (st?.waiting) {
    return withoutUndefined<ContainerStateMirror>({
      state: "waiting",
      reason: st.waiting.reason,
      message: st.waiting.message,
    });
  }
  return undefined;
}

/**
 * While the debugger is only being created, the session shows the status the injection wrote
 * rather than the kubelet's first reports, so the pass after the injection has nothing to write.
 */
export function isStarting(state: ContainerStateMirror | undefined): boolean {
  return (
    state === undefined ||
    (state.state === "waiting" && (state.reason === undefined || STARTING_REASONS.has(state.reason)))
  );
}

/** When the debugger started, if the kubelet reported it: the deadline of an adopted debugger counts from there. */
export function containerStartedAt(pod: V1Pod, name: string): string | undefined {
  const st = stateOf(pod, name);
  return iso(st?.running?.startedAt ?? st?.terminated?.startedAt);
}
