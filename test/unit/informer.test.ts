import type { KubernetesObject } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  Informer,
  stripForCache,
  type EventType,
  type ListResult,
  type WatchObject,
} from "../../src/runtime/informer.ts";

type Obj = KubernetesObject;
const obj = (name: string, resourceVersion: string): Obj => ({ metadata: { namespace: "ns", name, resourceVersion } });

/** One watch request the informer made; the test plays the server's side of it. */
class FakeWatchRequest {
  aborted = false;
  private ended = false;
  readonly query: Record<string, unknown>;
  private readonly onEvent: (phase: string, obj: WatchObject<Obj>) => void;
  private readonly onDone: (err: unknown) => void;
  constructor(
    query: Record<string, unknown>,
    onEvent: (phase: string, obj: WatchObject<Obj>) => void,
    onDone: (err: unknown) => void,
  ) {
    this.query = query;
    this.onEvent = onEvent;
    this.onDone = onDone;
  }
  send(phase: string, o: WatchObject<Obj>): void {
    this.onEvent(phase, o);
  }
  /** The stream ends: `null` is a clean close, an Error a broken connection. */
  end(err: unknown = null): void {
    if (this.ended) return;
    this.ended = true;
    this.onDone(err);
  }
  /** An abort that ends the stream a moment later, with an AbortError (client-node's Watch did so). */
  readonly controller = {
    abort: (): void => {
      this.aborted = true;
      queueMicrotask(() => this.end(new DOMException("This operation was aborted", "AbortError")));
    },
  };
}

function fakeInformer(lists: ListResult<Obj>[]) {
  const events: string[] = [];
  const restarts: string[] = [];
  const watches: FakeWatchRequest[] = [];
  const list = vi.fn(() => Promise.resolve(lists.length > 1 ? lists.shift()! : lists[0]!));
  const informer = new Informer<Obj>({
    name: "things",
    log: pino({ level: "silent" }),
    list,
    watchPath: "/api/v1/things",
    backoff: { initialMs: 100, maxMs: 1_000 },
    onEvent: (type: EventType, o: Obj) => events.push(`${type} ${o.metadata?.name}@${o.metadata?.resourceVersion}`),
    onRestart: (reason) => restarts.push(reason),
    watch: (_path, query, onEvent, onDone) => {
      const request = new FakeWatchRequest(query, onEvent, onDone);
      watches.push(request);
      return Promise.resolve(request.controller);
    },
  });
  return { informer, events, restarts, watches, list };
}

const flush = async (): Promise<void> => {
  await vi.advanceTimersByTimeAsync(0);
};

describe("Informer", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    // No jitter: backoff delays are exactly 100, 200, ... ms.
    vi.spyOn(Math, "random").mockReturnValue(0.5);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("lists, is synced, then watches from the list's resourceVersion and keeps the cache current", async () => {
    const { informer, events, watches } = fakeInformer([{ items: [obj("a", "1")], resourceVersion: "10" }]);
    expect(informer.synced).toBe(false);
    informer.start();
    await informer.waitForSync();
    await flush();
    expect(informer.synced).toBe(true);
    expect(informer.watching).toBe(true);
    expect(watches[0]?.query).toMatchObject({ resourceVersion: "10", allowWatchBookmarks: true });

    watches[0]!.send("ADDED", obj("b", "11"));
    watches[0]!.send("MODIFIED", obj("a", "12"));
    watches[0]!.send("DELETED", obj("b", "13"));
    watches[0]!.send("BOOKMARK", obj("", "14"));
    expect(events).toEqual(["add a@1", "add b@11", "update a@12", "delete b@13"]);
    expect(informer.list()).toEqual([obj("a", "12")]);
    expect(informer.get("ns/a")).toEqual(obj("a", "12"));

    // A clean close resumes at once from the last resourceVersion seen, without a relist.
    watches[0]!.end();
    await flush();
    expect(watches[1]?.query).toMatchObject({ resourceVersion: "14" });
    informer.stop();
  });

  it("relists after 410 Gone, emitting a delete for each object that vanished", async () => {
    const { informer, events, restarts, watches, list } = fakeInformer([
      { items: [obj("a", "1"), obj("b", "1")], resourceVersion: "10" },
      { items: [obj("a", "2")], resourceVersion: "20" },
    ]);
    informer.start();
    await flush();
    watches[0]!.send("ERROR", { code: 410, message: "too old resource version" });
    await flush();
    expect(watches[0]!.aborted).toBe(true);
    expect(restarts).toEqual(["gone"]);
    expect(list).toHaveBeenCalledTimes(2);
    expect(events).toEqual(["add a@1", "add b@1", "update a@2", "delete b@1"]);
    expect(informer.list()).toEqual([obj("a", "2")]);
    expect(watches[1]?.query).toMatchObject({ resourceVersion: "20" });
    informer.stop();
  });

  it("restarts a failed watch with doubling backoff, from the same resourceVersion", async () => {
    const { informer, restarts, watches, list } = fakeInformer([{ items: [], resourceVersion: "10" }]);
    informer.start();
    await flush();
    watches[0]!.end(new Error("connection reset"));
    await flush();
    expect(restarts).toEqual(["error"]);
    expect(informer.watching).toBe(false);
    await vi.advanceTimersByTimeAsync(99);
    expect(watches).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(watches).toHaveLength(2);
    expect(watches[1]?.query).toMatchObject({ resourceVersion: "10" });

    watches[1]!.send("ERROR", { code: 500, message: "internal error" });
    await flush();
    expect(restarts).toEqual(["error", "error"]);
    await vi.advanceTimersByTimeAsync(199);
    expect(watches).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(watches).toHaveLength(3);
    expect(list).toHaveBeenCalledTimes(1);
    informer.stop();
  });

  it("restarts with backoff when the list itself fails", async () => {
    const { informer, restarts, watches, list } = fakeInformer([{ items: [], resourceVersion: "10" }]);
    list.mockRejectedValueOnce(new Error("apiserver unavailable"));
    informer.start();
    await flush();
    expect(restarts).toEqual(["error"]);
    expect(informer.synced).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(informer.synced).toBe(true);
    expect(watches).toHaveLength(1);
    informer.stop();
  });

  it("stop() aborts the open watch and never restarts it", async () => {
    const { informer, restarts, watches, list } = fakeInformer([{ items: [], resourceVersion: "10" }]);
    informer.start();
    await flush();
    informer.stop();
    await flush();
    expect(watches[0]!.aborted).toBe(true);
    expect(informer.watching).toBe(false);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(watches).toHaveLength(1);
    expect(list).toHaveBeenCalledTimes(1);
    expect(restarts).toEqual([]);
  });

  it("stop() during a backoff wakes it and does not restart", async () => {
    const { informer, restarts, watches } = fakeInformer([{ items: [], resourceVersion: "10" }]);
    informer.start();
    await flush();
    watches[0]!.end(new Error("connection reset"));
    await flush();
    expect(vi.getTimerCount()).toBe(1);
    informer.stop();
    await flush();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(watches).toHaveLength(1);
    expect(restarts).toEqual(["error"]);
  });
});

describe("stripForCache", () => {
  it("drops managedFields and kubectl's last-applied copy, and keeps every other annotation", () => {
    const pod = {
      metadata: {
        name: "p",
        managedFields: [{ manager: "kubectl" }],
        annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}", keep: "me" },
      },
    };
    expect(stripForCache(pod)).toEqual({ metadata: { name: "p", annotations: { keep: "me" } } });
  });

  it("leaves an emptied annotation map in place, so a JSON patch still adds to it rather than replacing it", () => {
    const pod = { metadata: { annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" } } };
    expect(stripForCache(pod).metadata.annotations).toEqual({});
  });
});
