// Sessions by the pod they target, so a pod event reaches every session that cares (client-go's
// Indexers, kept by the session handler).
import type { DebugSession } from "../api/types.ts";
import { targetPodName } from "./target.ts";

/** A session with no pod yet (a targetRef or targetSelector before its injection) is under no pod. */
const podKeyOf = (session: DebugSession): string | undefined => {
  const pod = targetPodName(session);
  return pod === undefined ? undefined : `${session.metadata.namespace}/${pod}`;
};

export class SessionsByPod {
  private readonly byPod = new Map<string, Set<string>>();

  /** Re-indexes `key` after an add, update or delete of its session (`old`: the previous version). */
  update(key: string, session: DebugSession | undefined, old: DebugSession | undefined): void {
    const oldKey = old ? podKeyOf(old) : undefined;
    if (oldKey) this.remove(key, oldKey);
    const podKey = session ? podKeyOf(session) : undefined;
    if (!podKey) return;
    let keys = this.byPod.get(podKey);
    if (!keys) this.byPod.set(podKey, (keys = new Set()));
    keys.add(key);
  }

  /** Keys of the sessions that target pod `namespace/name`. */
  keysFor(podKey: string): Iterable<string> {
    return this.byPod.get(podKey) ?? [];
  }

  private remove(key: string, podKey: string): void {
    const keys = this.byPod.get(podKey);
    keys?.delete(key);
    if (keys?.size === 0) this.byPod.delete(podKey);
  }
}
