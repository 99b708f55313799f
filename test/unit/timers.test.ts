import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { sleep, withTimeout } from "../../src/runtime/timers.ts";

const DAY = 24 * 3600 * 1000;

/** Whether the promise has settled, without waiting for it. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await vi.advanceTimersByTimeAsync(0);
  return done;
}

describe("sleep", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("resolves after the delay", async () => {
    const p = sleep(100);
    await vi.advanceTimersByTimeAsync(99);
    expect(await settled(p)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(p)).toBe(true);
  });

  it("resolves as soon as the signal aborts, and leaves no timer behind", async () => {
    const stop = new AbortController();
    const p = sleep(60_000, stop.signal);
    expect(vi.getTimerCount()).toBe(1);
    stop.abort();
    expect(await settled(p)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("resolves at once when the signal has already aborted", async () => {
    const stop = new AbortController();
    stop.abort();
    expect(await settled(sleep(60_000, stop.signal))).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("sleeps the whole of a delay longer than setTimeout can hold", async () => {
    const p = sleep(30 * DAY);
    await vi.advanceTimersByTimeAsync(30 * DAY - 1);
    expect(await settled(p)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(p)).toBe(true);
  });
});

describe("sleep on real timers", () => {
  it("unrefs its timer when asked, so a backoff does not keep the process alive", () => {
    const spy = vi.spyOn(globalThis, "setTimeout");
    const stop = new AbortController();
    void sleep(60_000, stop.signal, { unref: true });
    const timer = spy.mock.results[0]?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    stop.abort();
    spy.mockRestore();
  });
});

describe("withTimeout", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("resolves with the value of a promise that settles in time, and clears its timer", async () => {
    expect(await withTimeout(Promise.resolve(7), 1_000)).toBe(7);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("resolves undefined once the time has passed", async () => {
    const p = withTimeout(new Promise<number>(() => undefined), 1_000);
    await vi.advanceTimersByTimeAsync(999);
    expect(await settled(p)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await p).toBeUndefined();
  });

  it("rejects as the promise does, and clears its timer", async () => {
    await expect(withTimeout(Promise.reject(new Error("boom")), 1_000)).rejects.toThrow("boom");
    expect(vi.getTimerCount()).toBe(0);
  });
});
