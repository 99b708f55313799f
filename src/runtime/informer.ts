// A list+watch cache on KubeClient's watch. Unlike client-node's own informer it never stops: it
// resumes from the last resourceVersion, relists on 410 Gone, and restarts with backoff on any other
// error. "Synced" means the first list really arrived. Handlers only see add/update/delete.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { errorMessage } from "./errors.ts";
import { sleep } from "./timers.ts";

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

export type EventType = "add" | "update" | "delete";

/** What a watch event carries; an ERROR event carries a Status (code, message) instead of an object. */
export type WatchObject<T> = T & { code?: number; message?: string };

/** KubeClient's `watch`: resolves once the stream is open, with what aborts it. */
export type WatchFunction<T> = (
  path: string,
  query: Record<string, string | number | boolean | undefined>,
  onEvent: (phase: string, obj: WatchObject<T>) => void,
  onDone: (err: unknown) => void,
) => Promise<{ abort(): void }>;

/** The read side of the cache (client-node's ObjectCache); keys are `namespace/name`. */
export interface Lister<T> {
  get(key: string): T | undefined;
  list(): T[];
}

export interface InformerOptions<T extends KubernetesObject> {
  name: string;
  /** A LIST of the same collection the watch path serves. */
  list: () => Promise<ListResult<T>>;
  /** e.g. /apis/debugging.dev/v1alpha1/debugsessions or /api/v1/pods */
  watchPath: string;
  watchQuery?: Record<string, string>;
  onEvent: (type: EventType, obj: T, old: T | undefined) => void;
  onRestart?: (reason: string) => void;
  log: Logger;
  backoff?: { initialMs: number; maxMs: number };
  /** KubeClient's watch; tests bring a fake. */
  watch: WatchFunction<T>;
  /** Applied to every object before it is stored (client-go's TransformFunc): drop what no reader needs. */
  transform?: (obj: T) => T;
}

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * A transform for caches whose readers never look at managedFields or kubectl's last-applied copy:
 * both repeat the object (the copy holds the whole spec again), so a large object is cached at about
 * half its size. Mutates and returns the object it was given, which the watch has just parsed.
 */
export function stripForCache<T extends KubernetesObject>(obj: T): T {
  const meta = obj.metadata;
  if (meta) {
    delete meta.managedFields;
    if (meta.annotations && LAST_APPLIED in meta.annotations) delete meta.annotations[LAST_APPLIED];
  }
  return obj;
}

export const objectKey = (o: KubernetesObject): string =>
  o.metadata?.namespace ? `${o.metadata.namespace}/${o.metadata.name ?? ""}` : (o.metadata?.name ?? "");

class GoneError extends Error {}

/** What one watch request has learned so far. */
interface WatchState {
  /** The last resourceVersion seen; the next watch resumes from it. */
  resourceVersion: string;
  /** The server said 410 Gone: the resourceVersion is too old and only a relist helps. */
  gone: boolean;
  /** Any other ERROR event. */
  failure: Error | undefined;
}

export class Informer<T extends KubernetesObject> implements Lister<T> {
  private readonly store = new Map<string, T>();
  /** Aborted by stop(); wakes a backoff sleep at once. */
  private readonly stopping = new AbortController();
  private abort: { abort(): void } | undefined;
  private syncedResolve!: () => void;
  private readonly syncedPromise = new Promise<void>((r) => (this.syncedResolve = r));
  private hasSynced = false;
  private lastActivityAt = Date.now();
  private isWatching = false;
  private readonly opts: InformerOptions<T>;
  private readonly watch: WatchFunction<T>;

  constructor(opts: InformerOptions<T>) {
    this.opts = opts;
    this.watch = opts.watch;
  }

  /** True once the first LIST has filled the cache. */
  get synced(): boolean {
    return this.hasSynced;
  }

  /** When the last list or watch event arrived (ms since epoch); /healthz uses it to find a stale cache. */
  get lastActivity(): number {
    return this.lastActivityAt;
  }

  /** True while a watch stream is open; /healthz may consider a long gap with none unhealthy. */
  get watching(): boolean {
    return this.isWatching;
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  get size(): number {
    return this.store.size;
  }

  /** Resolves once the first LIST has filled the cache. */
  waitForSync(): Promise<void> {
    return this.syncedPromise;
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopping.abort();
    this.abort?.abort();
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    const { initialMs, maxMs } = this.opts.backoff ?? { initialMs: 500, maxMs: 30_000 };
    let delay = initialMs;
    let resourceVersion: string | undefined;
    while (!this.stopped) {
      try {
        if (resourceVersion === undefined) resourceVersion = await this.relist();
        resourceVersion = await this.watchFrom(resourceVersion);
        this.opts.log.debug({ informer: this.opts.name, resourceVersion }, "watch ended; resuming");
        delay = initialMs;
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof GoneError) {
          this.opts.log.info({ informer: this.opts.name }, "watch resourceVersion too old; relisting");
          this.opts.onRestart?.("gone");
          resourceVersion = undefined;
          continue;
        }
        const fields = { informer: this.opts.name, err: errorMessage(err), retryInMs: delay };
        this.opts.log.warn(fields, "list/watch failed; retrying");
        this.opts.onRestart?.("error");
        await sleep(delay * (0.8 + Math.random() * 0.4), this.stopping.signal, { unref: true });
        delay = Math.min(delay * 2, maxMs);
      }
    }
  }

  private async relist(): Promise<string> {
    const { items, resourceVersion } = await this.opts.list();
    const seen = new Set<string>();
    for (const item of items) {
      const key = objectKey(item);
      seen.add(key);
      this.upsert(key, item);
    }
    for (const [key, old] of this.store) {
      if (!seen.has(key)) {
        this.store.delete(key);
        this.emit("delete", old, undefined);
      }
    }
    this.lastActivityAt = Date.now();
    if (!this.hasSynced) {
      this.hasSynced = true;
      this.syncedResolve();
    }
    return resourceVersion;
  }

  private upsert(key: string, received: T): void {
    const obj = this.opts.transform ? this.opts.transform(received) : received;
    const old = this.store.get(key);
    this.store.set(key, obj);
    if (!old) this.emit("add", obj, undefined);
    else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit("update", obj, old);
  }

  private emit(type: EventType, obj: T, old: T | undefined): void {
    try {
      this.opts.onEvent(type, obj, old);
    } catch (err) {
      // A handler must never break the cache; it only enqueues keys, so this is a bug worth a log line.
      this.opts.log.error({ informer: this.opts.name, err }, "event handler threw");
    }
  }

  /** One watch request; resolves with the last resourceVersion seen when the server ends it. */
  private watchFrom(resourceVersion: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const state: WatchState = { resourceVersion, gone: false, failure: undefined };
      const onDone = (err: unknown): void => {
        this.isWatching = false;
        const end = watchEnd(state, err, this.stopped);
        if (end instanceof Error) reject(end);
        else resolve(end);
      };
      this.isWatching = true;
      const onEvent = (phase: string, obj: WatchObject<T>): void => this.onWatchEvent(state, phase, obj);
      this.watch(this.opts.watchPath, this.watchQuery(resourceVersion), onEvent, onDone)
        .then((controller) => {
          this.abort = controller;
          if (this.stopped) controller.abort();
        })
        .catch((err: unknown) => onDone(err));
    });
  }

  private watchQuery(resourceVersion: string): Record<string, string | number | boolean> {
    return {
      ...this.opts.watchQuery,
      resourceVersion,
      allowWatchBookmarks: true,
      // Servers end a watch after a while anyway; a jittered timeout spreads the reconnects.
      timeoutSeconds: 300 + Math.floor(Math.random() * 120),
    };
  }

  private onWatchEvent(state: WatchState, phase: string, obj: WatchObject<T>): void {
    this.lastActivityAt = Date.now();
    switch (phase) {
      case "ADDED":
      case "MODIFIED":
        this.upsert(objectKey(obj), obj);
        break;
      case "DELETED": {
        const key = objectKey(obj);
        const old = this.store.get(key);
        this.store.delete(key);
        this.emit("delete", obj, old);
        break;
      }
      case "BOOKMARK":
        break;
      case "ERROR":
        if (obj.code === 410) state.gone = true;
        else state.failure = new Error(`watch error ${obj.code ?? "?"}: ${obj.message ?? "unknown"}`);
        this.abort?.abort();
        return;
    }
    state.resourceVersion = obj.metadata?.resourceVersion ?? state.resourceVersion;
  }
}

/** How a watch ended: the resourceVersion to resume from, or the error that restarts the informer. */
function watchEnd(state: WatchState, err: unknown, stopped: boolean): string | Error {
  if (state.gone) return new GoneError();
  if (state.failure) return state.failure;
  // KubeClient ends a watch after 30 s without a byte (a quiet watch ends that way too, as
  // the apiserver's BOOKMARKs come less often): a connection that went silent (a stalled
  // proxy, a partition) is noticed then. That and an ordinary server-side close both end a healthy
  // watch: resume from the last resourceVersion at once, on a new connection.
  const quietEnd = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
  if (!err || stopped || quietEnd) return state.resourceVersion;
  return err instanceof Error ? err : new Error(JSON.stringify(err));
}
