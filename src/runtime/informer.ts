// A list+watch cache on client-node's Watch. Unlike client-node's own informer it never stops: it
// resumes from the last resourceVersion, relists on 410 Gone, and restarts with backoff on any other
// error. "Synced" means the first list really arrived. Handlers only see add/update/delete.
import { Watch, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

export type EventType = "add" | "update" | "delete";

export interface InformerOptions<T extends KubernetesObject> {
  name: string;
  kubeConfig: KubeConfig;
  /** A LIST of the same collection the watch path serves. */
  list: () => Promise<ListResult<T>>;
  /** e.g. /apis/debugging.dev/v1alpha1/debugsessions or /api/v1/pods */
  watchPath: string;
  watchQuery?: Record<string, string>;
  onEvent: (type: EventType, obj: T, old: T | undefined) => void;
  onRestart?: (reason: string) => void;
  log: Logger;
  backoff?: { initialMs: number; maxMs: number };
}

export const objectKey = (o: KubernetesObject): string =>
  o.metadata?.namespace ? `${o.metadata.namespace}/${o.metadata.name ?? ""}` : (o.metadata?.name ?? "");

class GoneError extends Error {}

export class Informer<T extends KubernetesObject> {
  private readonly store = new Map<string, T>();
  private stopped = false;
  private abort: AbortController | undefined;
  private syncedResolve!: () => void;
  private readonly syncedPromise = new Promise<void>((r) => (this.syncedResolve = r));
  private sleepTimer: NodeJS.Timeout | undefined;
  private sleepResolve: (() => void) | undefined;
  synced = false;
  /** When the last list or watch event arrived (ms since epoch); /healthz uses it to find a stale cache. */
  lastActivity = Date.now();
  /** True while a watch stream is open; /healthz may consider a long gap with none unhealthy. */
  watching = false;

  private readonly opts: InformerOptions<T>;

  constructor(opts: InformerOptions<T>) {
    this.opts = opts;
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
    this.stopped = true;
    this.abort?.abort();
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.sleepResolve?.();
  }

  private async run(): Promise<void> {
    const { initialMs, maxMs } = this.opts.backoff ?? { initialMs: 500, maxMs: 30_000 };
    let delay = initialMs;
    let resourceVersion: string | undefined;
    while (!this.stopped) {
      try {
        if (resourceVersion === undefined) resourceVersion = await this.relist();
        resourceVersion = await this.watchFrom(resourceVersion);
        delay = initialMs;
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof GoneError) {
          this.opts.log.info({ informer: this.opts.name }, "watch resourceVersion too old; relisting");
          this.opts.onRestart?.("gone");
          resourceVersion = undefined;
          continue;
        }
        const message = err instanceof Error ? err.message : String(err);
        this.opts.log.warn({ informer: this.opts.name, err: message, retryInMs: delay }, "list/watch failed; retrying");
        this.opts.onRestart?.("error");
        await this.sleep(delay * (0.8 + Math.random() * 0.4));
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
    this.lastActivity = Date.now();
    if (!this.synced) {
      this.synced = true;
      this.syncedResolve();
    }
    return resourceVersion;
  }

  private upsert(key: string, obj: T): void {
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
      let rv = resourceVersion;
      let gone = false;
      let failure: Error | undefined;
      const onEvent = (phase: string, obj: T & { code?: number; message?: string }): void => {
        this.lastActivity = Date.now();
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
            if (obj.code === 410) gone = true;
            else failure = new Error(`watch error ${obj.code ?? "?"}: ${obj.message ?? "unknown"}`);
            this.abort?.abort();
            return;
        }
        rv = obj.metadata?.resourceVersion ?? rv;
      };
      const onDone = (err: unknown): void => {
        this.watching = false;
        if (gone) return reject(new GoneError());
        if (failure) return reject(failure);
        // The client's inactivity timeout and an ordinary server-side close both end a healthy watch:
        // resume from the last resourceVersion at once.
        if (!err || this.stopped || (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError"))) {
          return resolve(rv);
        }
        reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
      };
      const query = {
        ...this.opts.watchQuery,
        resourceVersion,
        allowWatchBookmarks: true,
        // Servers end a watch after a while anyway; a jittered timeout spreads the reconnects.
        timeoutSeconds: 300 + Math.floor(Math.random() * 120),
      };
      this.watching = true;
      new Watch(this.opts.kubeConfig)
        .watch(this.opts.watchPath, query, onEvent, onDone)
        .then((controller) => {
          this.abort = controller;
          if (this.stopped) controller.abort();
        })
        .catch((err: unknown) => onDone(err));
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.sleepResolve = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
      this.sleepTimer.unref();
    });
  }
}
