// Events are best effort, as with client-go's recorder: a reconcile hands its events over and goes
// on, and one sender writes them in order. A burst of sessions then neither waits for its audit
// trail nor has it compete, many requests at a time, with the writes that do the work. At most
// `maxPending` wait; beyond that the oldest are dropped (and counted), never the reconcile.
import type { CoreV1Event } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { apiMessage } from "./errors.ts";
import { withTimeout } from "./timers.ts";

export type SendEvent = (namespace: string, event: CoreV1Event) => Promise<void>;

export interface EventRecorderOptions {
  send: SendEvent;
  log: Logger;
  maxPending?: number;
  onDropped?: () => void;
}

export class EventRecorder {
  private readonly pending: Array<{ namespace: string; event: CoreV1Event }> = [];
  private readonly opts: Required<Omit<EventRecorderOptions, "onDropped">> & Pick<EventRecorderOptions, "onDropped">;
  private sending: Promise<void> | undefined;
  private dropped = 0;

  constructor(opts: EventRecorderOptions) {
    this.opts = { maxPending: 1000, ...opts };
  }

  get size(): number {
    return this.pending.length;
  }

  record(namespace: string, event: CoreV1Event): void {
    if (this.pending.length >= this.opts.maxPending) {
      const dropped = this.pending.shift();
      this.opts.onDropped?.();
      // One line per hundred drops: a burst that outruns the sender would otherwise log thousands.
      if (this.dropped++ % 100 === 0) {
        this.opts.log.warn(
          { reason: dropped?.event.reason, namespace: dropped?.namespace, droppedSoFar: this.dropped },
          "too many events waiting; dropping the oldest (debugsession_events_dropped_total)",
        );
      }
    }
    this.pending.push({ namespace, event });
    this.kick();
  }

  /** Resolves once every recorded event was sent (or failed), or after `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    if (this.sending) await withTimeout(this.sending, timeoutMs);
  }

  private kick(): void {
    if (this.sending) return;
    this.sending = this.drain().finally(() => {
      this.sending = undefined;
      // Recorded between the last send and this callback.
      if (this.pending.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    for (let next = this.pending.shift(); next; next = this.pending.shift()) {
      try {
        await this.opts.send(next.namespace, next.event);
      } catch (err) {
        // A namespace being deleted refuses new content; that is expected, not worth a warning.
        const message = apiMessage(err);
        const level = message.includes("being terminated") ? "debug" : "warn";
        this.opts.log[level](
          { reason: next.event.reason, namespace: next.namespace, err: message },
          "could not record event",
        );
      }
    }
  }
}
