// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics (client-node has no
// helper). Expiry is judged by when *we* last saw the record change, plus the holder's own
// leaseDurationSeconds, never by the times written in it: clocks of two pods need not agree.
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { isConflict, isNotFound } from "./errors.ts";

export interface LeaderElectionOptions {
  api: CoordinationV1Api;
  namespace: string;
  name: string;
  identity: string;
  log: Logger;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  /** Leadership lost (not released): the process must stop reconciling at once. */
  onStoppedLeading: () => void;
}

export class LeaderElector {
  private readonly o: Required<Omit<LeaderElectionOptions, "log" | "api">> & Pick<LeaderElectionOptions, "log" | "api">;
  private observed: { holder: string; renewTime: string; durationMs: number; resourceVersion: string } | undefined;
  private observedAt = 0;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(opts: LeaderElectionOptions) {
    this.o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...opts };
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Runs until stop(): acquire, then renew every retry period; a renewal missing the deadline loses. */
  async run(): Promise<void> {
    while (!this.stopped && !this.leading) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        this.o.log.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity }, "became leader");
        this.o.onStartedLeading();
        break;
      }
      await this.sleep(this.o.retryPeriodMs);
    }
    let lastRenew = Date.now();
    while (!this.stopped && this.leading) {
      await this.sleep(this.o.retryPeriodMs);
      if (this.stopped) break;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = Date.now();
      } else if (Date.now() - lastRenew > this.o.renewDeadlineMs) {
        this.leading = false;
        this.o.log.error({ lease: `${this.o.namespace}/${this.o.name}` }, "lost leadership: could not renew within the deadline");
        this.o.onStoppedLeading();
      }
    }
  }

  /** Stops campaigning; a leader gives the Lease up so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.o.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      // Times read back are plain Dates; MicroTime wants six fractional digits on the way out.
      const acquireTime = lease.spec.acquireTime ? new V1MicroTime(lease.spec.acquireTime) : undefined;
      lease.spec = { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: new V1MicroTime(), acquireTime };
      await this.o.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body: lease });
      this.o.log.info({ lease: `${this.o.namespace}/${this.o.name}` }, "released leadership");
    } catch (err) {
      this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, "could not release the lease; it expires by itself");
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity } = this.o;
    const now = new V1MicroTime();
    const durationSeconds = Math.ceil(this.o.leaseDurationMs / 1000);
    try {
      let lease: V1Lease;
      try {
        lease = await api.readNamespacedLease({ name, namespace });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        await api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
          },
        });
        return true;
      }
      const spec = lease.spec ?? {};
      const record = {
        holder: spec.holderIdentity ?? "",
        renewTime: spec.renewTime ? new Date(spec.renewTime).toISOString() : "",
        durationMs: (spec.leaseDurationSeconds ?? durationSeconds) * 1000,
        resourceVersion: lease.metadata?.resourceVersion ?? "",
      };
      if (!this.observed || this.observed.holder !== record.holder || this.observed.renewTime !== record.renewTime) {
        this.observedAt = Date.now();
      }
      this.observed = record;
      const heldByOther = record.holder !== "" && record.holder !== identity;
      if (heldByOther && this.observedAt + record.durationMs > Date.now()) return false;

      const changingHands = record.holder !== identity;
      lease.spec = {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        renewTime: now,
        acquireTime: changingHands || !spec.acquireTime ? now : new V1MicroTime(spec.acquireTime),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (changingHands && record.holder !== "" ? 1 : 0),
      };
      // resourceVersion makes this a compare-and-swap: two candidates cannot both win.
      await api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch (err) {
      if (!isConflict(err)) this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, "lease update failed");
      return false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }
}
