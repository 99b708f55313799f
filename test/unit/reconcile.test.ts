import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { runWorkers, type ReconcileOutcome, type Result } from "../../src/runtime/reconcile.ts";
import { WorkQueue } from "../../src/runtime/workqueue.ts";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("runWorkers", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("runWorkers resolves after shutDown", async () => {
    const q = new WorkQueue();
    let exited = false;
    const run = runWorkers(q, 3, () => Promise.resolve({})).then(() => (exited = true));
    await vi.advanceTimersByTimeAsync(10);
    expect(exited).toBe(false);
    q.shutDown();
    await run;
    expect(exited).toBe(true);
  });

  it("never runs a key on two workers at once and reruns a key re-added mid-run exactly once", async () => {
    const q = new WorkQueue();
    const runs = new Map<string, number>();
    const active = new Set<string>();
    let overlap = false;
    let maxParallel = 0;
    const handler = async (key: string): Promise<Result> => {
      if (active.has(key)) overlap = true;
      active.add(key);
      maxParallel = Math.max(maxParallel, active.size);
      const n = (runs.get(key) ?? 0) + 1;
      runs.set(key, n);
      if (key === "a" && n === 1) for (let i = 0; i < 3; i++) q.add("a");
      // The first run of "a" is slow so the other workers sit idle in get() while it is re-added.
      await sleep(key === "a" && n === 1 ? 30 : 1);
      active.delete(key);
      return {};
    };
    const run = runWorkers(q, 3, handler);
    q.add("a");
    q.add("b");
    q.add("c");
    await vi.advanceTimersByTimeAsync(5);
    expect([...active]).toEqual(["a"]);
    q.add("a"); // again while running, with idle workers: still only one extra run
    await vi.advanceTimersByTimeAsync(100);
    q.shutDown();
    await run;
    expect(overlap).toBe(false);
    expect(maxParallel).toBe(3);
    expect(active.size).toBe(0);
    expect(Object.fromEntries(runs)).toEqual({ a: 2, b: 1, c: 1 });
  });

  it("retries a throwing handler with backoff until it succeeds", async () => {
    const q = new WorkQueue();
    const calls: number[] = [];
    const onError = vi.fn();
    const start = Date.now();
    const run = runWorkers(
      q,
      2,
      (key) => {
        calls.push(Date.now() - start);
        if (calls.length <= 4) return Promise.reject(new Error(`boom ${key}`));
        return Promise.resolve({});
      },
      onError,
    );
    q.add("a");
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toEqual([0, 5, 15, 35, 75]);
    expect(onError).toHaveBeenCalledTimes(4);
    expect(onError).toHaveBeenCalledWith("a", expect.objectContaining({ message: "boom a" }));
    expect(q.numRequeues("a")).toBe(0);
    q.shutDown();
    await run;
  });

  it("keeps working when the handler throws synchronously or onError itself throws", async () => {
    const q = new WorkQueue();
    let calls = 0;
    const run = runWorkers(
      q,
      1,
      () => {
        calls++;
        if (calls === 1) throw new Error("sync");
        return Promise.resolve({});
      },
      () => {
        throw new Error("logger broke");
      },
    );
    q.add("a");
    await vi.advanceTimersByTimeAsync(10);
    expect(calls).toBe(2);
    q.shutDown();
    await expect(run).resolves.toBeUndefined();
  });

  it("requeueAfterMs schedules the key again and resets backoff", async () => {
    const q = new WorkQueue();
    q.addRateLimited("a");
    q.addRateLimited("a");
    const calls: number[] = [];
    const start = Date.now();
    const run = runWorkers(q, 1, () => {
      calls.push(Date.now() - start);
      return Promise.resolve(calls.length < 3 ? { requeueAfterMs: 1000 } : {});
    });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toEqual([5, 1005, 2005]);
    expect(q.numRequeues("a")).toBe(0);
    expect(q.len()).toBe(0);
    q.shutDown();
    await run;
  });
});

describe("runWorkers hooks", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date", "hrtime"] }));
  afterEach(() => vi.useRealTimers());

  it("reports each outcome once with the time the reconcile took", async () => {
    const q = new WorkQueue();
    const results: [ReconcileOutcome, number][] = [];
    const errors: string[] = [];
    const answers: (Result | Error)[] = [{ requeueAfterMs: 1000 }, new Error("boom"), {}];
    const run = runWorkers(
      q,
      1,
      async () => {
        await sleep(30);
        const answer = answers.shift() ?? {};
        if (answer instanceof Error) throw answer;
        return answer;
      },
      { onResult: (outcome, seconds) => results.push([outcome, seconds]), onError: (key) => errors.push(key) },
    );
    q.add("a");
    await vi.advanceTimersByTimeAsync(2_000);
    expect(results.map(([outcome]) => outcome)).toEqual(["requeue", "error", "success"]);
    for (const [, seconds] of results) expect(seconds).toBeCloseTo(0.03, 3);
    expect(errors).toEqual(["a"]);
    expect(q.numRequeues("a")).toBe(0);
    q.shutDown();
    await run;
  });

  it("a throwing onResult neither stops the worker nor turns a success into a retry", async () => {
    const q = new WorkQueue();
    let calls = 0;
    const onError = vi.fn();
    const run = runWorkers(
      q,
      1,
      () => {
        calls++;
        return Promise.resolve({});
      },
      {
        onResult: () => {
          throw new Error("metrics broke");
        },
        onError,
      },
    );
    q.add("a");
    await vi.advanceTimersByTimeAsync(100);
    q.add("b");
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toBe(2);
    expect(onError).not.toHaveBeenCalled();
    expect(q.numRequeues("a")).toBe(0);
    q.shutDown();
    await expect(run).resolves.toBeUndefined();
  });
});
