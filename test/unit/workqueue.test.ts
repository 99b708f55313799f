import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_TIMEOUT_MS } from "../../src/runtime/timers.ts";
import { WorkQueue, type Clock } from "../../src/runtime/workqueue.ts";

/** Manual clock that also tracks how many timers are armed at once. */
class ManualClock implements Clock {
  t = 0;
  maxArmed = 0;
  /** Every delay a timer was armed with, to check none overflows setTimeout. */
  readonly armedMs: number[] = [];
  private timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): number {
    const id = this.nextId++;
    this.armedMs.push(ms);
    this.timers.set(id, { at: this.t + ms, fn });
    this.maxArmed = Math.max(this.maxArmed, this.timers.size);
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  armed(): number {
    return this.timers.size;
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers].filter(([, v]) => v.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Takes every waiting key (marking each done) in hand-out order. */
async function drain(q: WorkQueue): Promise<string[]> {
  const out: string[] = [];
  while (q.len() > 0) {
    const k = await q.get();
    if (k === undefined) break;
    out.push(k);
    q.done(k);
  }
  return out;
}

describe("WorkQueue basics", () => {
  it("dedupes a key that is already waiting", async () => {
    const onAdd = vi.fn();
    const q = new WorkQueue({ hooks: { onAdd } });
    q.add("ns/a");
    q.add("ns/a");
    q.add("ns/b");
    q.add("ns/a");
    expect(q.len()).toBe(2);
    expect(onAdd).toHaveBeenCalledTimes(2);
    expect(await drain(q)).toEqual(["ns/a", "ns/b"]);
  });

  it("hands keys out in FIFO order", async () => {
    const q = new WorkQueue();
    for (const k of ["c", "a", "d", "b"]) q.add(k);
    expect(await drain(q)).toEqual(["c", "a", "d", "b"]);
  });

  it("holds a key re-added while processing until done, then hands it out exactly once more", async () => {
    const q = new WorkQueue();
    q.add("a");
    expect(await q.get()).toBe("a");
    q.add("a");
    q.add("a");
    expect(q.len()).toBe(0);
    let second: string | undefined;
    const pending = q.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done("a");
    await pending;
    expect(second).toBe("a");
    q.done("a");
    expect(q.len()).toBe(0);
  });

  it("does not re-queue a processed key that was not re-added", () => {
    const q = new WorkQueue();
    q.add("a");
    void q.get();
    q.done("a");
    expect(q.len()).toBe(0);
  });

  it("reports queue wait time to onGet", async () => {
    const clock = new ManualClock();
    const onGet = vi.fn();
    const q = new WorkQueue({ clock, hooks: { onGet } });
    q.add("a");
    clock.advance(42);
    await q.get();
    expect(onGet).toHaveBeenCalledWith("a", 42);
  });
});

describe("WorkQueue delayed adds (injected clock)", () => {
  it.each([
    { name: "a later deadline does not postpone an earlier one", delays: [100, 500], readyAt: 100 },
    { name: "an earlier deadline brings a pending one forward", delays: [500, 100], readyAt: 100 },
    { name: "the earliest of three wins", delays: [300, 50, 200], readyAt: 50 },
  ])("$name", async ({ delays, readyAt }) => {
    const clock = new ManualClock();
    const onAdd = vi.fn();
    const q = new WorkQueue({ clock, hooks: { onAdd } });
    for (const d of delays) q.addAfter("a", d);
    clock.advance(readyAt - 1);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
    expect(await drain(q)).toEqual(["a"]);
    clock.advance(1000);
    // Superseded deadlines must not fire a second add.
    expect(onAdd).toHaveBeenCalledTimes(1);
    expect(q.len()).toBe(0);
  });

  it.each([0, -5])("addAfter(%i) adds immediately", (d) => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock });
    q.addAfter("a", d);
    expect(q.len()).toBe(1);
    expect(clock.armed()).toBe(0);
  });

  it("fires keys in deadline order using a single timer", async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock });
    q.addAfter("x", 30);
    q.addAfter("y", 10);
    q.addAfter("z", 20);
    q.addAfter("w", 20);
    expect(clock.armed()).toBe(1);
    clock.advance(30);
    expect(await drain(q)).toEqual(["y", "z", "w", "x"]);
    expect(clock.maxArmed).toBe(1);
    expect(clock.armed()).toBe(0);
  });

  it("fires an addAfter of 30 days at 30 days, arming no timer longer than setTimeout can hold", () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock });
    const thirtyDays = 30 * 24 * 3600 * 1000;
    q.addAfter("a", thirtyDays);
    clock.advance(thirtyDays - 1);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
    expect(clock.armedMs.length).toBeGreaterThan(1);
    expect(Math.max(...clock.armedMs)).toBeLessThanOrEqual(MAX_TIMEOUT_MS);
  });

  it("does not fire a 30-day addAfter early on real timers, nor warn of a timeout overflow", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): number => warnings.push(w);
    process.on("warning", onWarning);
    try {
      const q = new WorkQueue();
      q.addAfter("a", 30 * 24 * 3600 * 1000);
      // An overflowing setTimeout fires after 1 ms, again and again, warning each time.
      await sleep(20);
      expect(q.len()).toBe(0);
      q.shutDown();
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.filter((w) => w.name === "TimeoutOverflowWarning")).toEqual([]);
  });

  it("unrefs real timers so pending retries do not keep the process alive", () => {
    let handle: NodeJS.Timeout | undefined;
    const clock: Clock = {
      now: () => Date.now(),
      setTimeout: (fn, ms) => (handle = setTimeout(fn, ms)),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    };
    const q = new WorkQueue({ clock });
    q.addAfter("a", 60_000);
    expect(handle?.hasRef()).toBe(false);
    q.shutDown();
  });
});

describe("WorkQueue rate limiting", () => {
  /** Measures how long after addRateLimited the key becomes available. */
  function nextDelay(q: WorkQueue, clock: ManualClock, key: string): number {
    const start = clock.t;
    q.addRateLimited(key);
    while (q.len() === 0) clock.advance(1);
    void q.get();
    q.done(key);
    return clock.t - start;
  }

  it("backs off 5,10,20,40,... capped at maxDelayMs, and forget resets", () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock, maxDelayMs: 200 });
    const seen = Array.from({ length: 8 }, () => nextDelay(q, clock, "a"));
    expect(seen).toEqual([5, 10, 20, 40, 80, 160, 200, 200]);
    expect(q.numRequeues("a")).toBe(8);
    expect(q.numRequeues("b")).toBe(0);
    q.forget("a");
    expect(q.numRequeues("a")).toBe(0);
    expect(nextDelay(q, clock, "a")).toBe(5);
  });

  it("tracks failures per key", () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock });
    nextDelay(q, clock, "a");
    nextDelay(q, clock, "a");
    expect(nextDelay(q, clock, "b")).toBe(5);
    expect(nextDelay(q, clock, "a")).toBe(20);
  });

  it("caps at 1000 s by default", async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock });
    // 29 failures; only the earliest (5 ms) deadline stays pending.
    for (let i = 0; i < 29; i++) q.addRateLimited("a");
    clock.advance(5);
    expect(await drain(q)).toEqual(["a"]);
    const start = clock.t;
    q.addRateLimited("a"); // uncapped this would be 5 * 2^29 ms
    clock.advance(999_999);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
    expect(clock.t - start).toBe(1_000_000);
  });
});

describe("shutdown", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("resolves waiting get() with undefined, drops later adds and clears timers", async () => {
    const q = new WorkQueue();
    const waiting = [q.get(), q.get()];
    q.addAfter("later", 1000);
    expect(vi.getTimerCount()).toBe(1);
    q.shutDown();
    expect(await Promise.all(waiting)).toEqual([undefined, undefined]);
    expect(vi.getTimerCount()).toBe(0);
    q.add("a");
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
    expect(q.isShuttingDown()).toBe(true);
  });

  it("shutDownWithDrain waits for in-flight keys to be done", async () => {
    const q = new WorkQueue();
    q.add("a");
    await q.get();
    let drained = false;
    const p = q.shutDownWithDrain().then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    q.done("a");
    await p;
    expect(drained).toBe(true);
  });
});
