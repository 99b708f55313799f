// Sessions by the pod they target, so a pod event reaches every session that cares (client-go's
// Indexers, kept by the session handler).
import type { DebugSession } from "../api/types.ts";

const podKeyOf = (session: DebugSession): string => `${session.metadata.namespace}/${session.spec?.targetPod}`;

export class SessionsByPod {
  private readonly byPod = new Map<string, Set<string>>();

  /** Re-indexes `key` after an add, update or delete of its session (`old`: the previous version). */
  update(key: string, session: DebugSession | undefined, old: DebugSession | undefined): void {
    if (old) this.remove(key, podKeyOf(old));
    if (!session) return;
    const podKey = podKeyOf(session);
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
