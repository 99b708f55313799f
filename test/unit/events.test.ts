// The event recorder's queue: in order, one at a time, bounded, flushed on shutdown. Sending to a
// real apiserver is covered by the e2e suites (kubectl get events after a session runs).
import type { CoreV1Event } from "@kubernetes/client-node";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { EventRecorder } from "../../src/runtime/events.ts";

const log = pino({ level: "silent" });
const event = (reason: string): CoreV1Event => ({ metadata: {}, involvedObject: {}, reason });

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

describe("EventRecorder", () => {
  it("sends every event, in order, one at a time", async () => {
    const sent: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const recorder = new EventRecorder({
      log,
      send: async (_ns, e) => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await new Promise((r) => setTimeout(r, 1));
        sent.push(e.reason!);
        inFlight--;
      },
    });
    for (let i = 0; i < 20; i++) recorder.record("ns", event(`r${i}`));
    await recorder.flush(5_000);
    expect(sent).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`));
    expect(maxInFlight).toBe(1);
    expect(recorder.size).toBe(0);
  });

  it("returns from record at once, before the event is sent", () => {
    const g = gate();
    const recorder = new EventRecorder({ log, send: () => g.wait });
    recorder.record("ns", event("a"));
    recorder.record("ns", event("b"));
    expect(recorder.size).toBe(1); // "a" is being sent, "b" waits
    g.open();
  });

  it("drops the oldest waiting events beyond maxPending, and counts them", async () => {
    const g = gate();
    const sent: string[] = [];
    let dropped = 0;
    const recorder = new EventRecorder({
      log,
      maxPending: 3,
      onDropped: () => dropped++,
      send: async (_ns, e) => {
        await g.wait;
        sent.push(e.reason!);
      },
    });
    for (const r of ["a", "b", "c", "d", "e", "f"]) recorder.record("ns", event(r));
    g.open();
    await recorder.flush(5_000);
    // "a" was already being sent; of b..f only the newest three waited.
    expect(sent).toEqual(["a", "d", "e", "f"]);
    expect(dropped).toBe(2);
  });

  it("goes on after a failed send", async () => {
    const sent: string[] = [];
    const recorder = new EventRecorder({
      log,
      send: (_ns, e) => {
        if (e.reason === "bad") return Promise.reject(new Error("namespace is being terminated"));
        sent.push(e.reason!);
        return Promise.resolve();
      },
    });
    recorder.record("ns", event("bad"));
    recorder.record("ns", event("good"));
    await recorder.flush(5_000);
    expect(sent).toEqual(["good"]);
  });

  it("flush gives up at its deadline when a send hangs", async () => {
    const recorder = new EventRecorder({ log, send: () => new Promise(() => undefined) });
    recorder.record("ns", event("stuck"));
    const t0 = Date.now();
    await recorder.flush(50);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it("picks up an event recorded after the queue ran empty", async () => {
    const sent: string[] = [];
    const recorder = new EventRecorder({ log, send: (_ns, e) => Promise.resolve(void sent.push(e.reason!)) });
    recorder.record("ns", event("first"));
    await recorder.flush(1_000);
    recorder.record("ns", event("second"));
    await recorder.flush(1_000);
    expect(sent).toEqual(["first", "second"]);
  });
});
