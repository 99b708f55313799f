// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics. Expiry is judged by when *we* last saw the record change, plus the holder's own
// leaseDurationSeconds, never by the times written in it: clocks of two pods need not agree.
import type { V1Lease, V1LeaseSpec } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { errorMessage, isConflict, isNotFound } from "./errors.ts";
import { microTime, type LeaseApi } from "./kube/api.ts";
import { sleep, withTimeout } from "./timers.ts";

export interface LeaderElectionOptions {
  api: Pick<LeaseApi, "readNamespacedLease" | "createNamespacedLease" | "replaceNamespacedLease">;
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
  /** Aborted by stop(); wakes a retry-period sleep at once. */
  private readonly stopping = new AbortController();
  /** The acquire or renewal in flight: stop() waits for it, or its write could land after the release. */
  private inflight: Promise<unknown> = Promise.resolve();

  constructor(opts: LeaderElectionOptions) {
    this.o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...opts };
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Runs until stop(): acquire, then renew every retry period; a renewal missing the deadline loses. */
  async run(): Promise<void> {
    while (!this.stopped && !this.leading) {
      if (await this.attempt()) {
        // Held even when stop() came meanwhile: it waits for this attempt, then releases the Lease.
        this.leading = true;
        if (this.stopped) break;
        this.o.log.info({ lease: this.leaseName(), identity: this.o.identity }, "became leader");
        this.o.onStartedLeading();
        break;
      }
      await sleep(this.o.retryPeriodMs, this.stopping.signal);
    }
    let lastRenew = Date.now();
    while (!this.stopped && this.leading) {
      await sleep(this.o.retryPeriodMs, this.stopping.signal);
      if (this.stopped) break;
      // A renewal that hangs (a partition drops the packets) must not keep us leading past the
      // deadline: another replica may take the Lease once it has seen it unrenewed that long.
      const left = lastRenew + this.o.renewDeadlineMs - Date.now();
      if (left > 0 && (await withTimeout(this.attempt(), left))) {
        lastRenew = Date.now();
      } else if (Date.now() - lastRenew >= this.o.renewDeadlineMs) {
        this.leading = false;
        this.o.log.error({ lease: this.leaseName() }, "lost leadership: could not renew within the deadline");
        this.o.onStoppedLeading();
      }
    }
  }

  /** Stops campaigning; a leader gives the Lease up so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopping.abort();
    // A renewal that read the Lease before our release would otherwise fail the release with a
    // conflict (or write us back as holder), and the next leader would wait out leaseDuration. The
    // wait is bounded: a hung request gives up at the renew deadline as the run loop does.
    await withTimeout(this.inflight, this.o.renewDeadlineMs);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.o.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      // Times read back are strings; MicroTime wants six fractional digits on the way out.
      const acquireTime = lease.spec.acquireTime ? microTime(new Date(lease.spec.acquireTime)) : undefined;
      const renewTime = microTime();
      lease.spec = { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime, acquireTime };
      await this.o.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body: lease });
      this.o.log.info({ lease: this.leaseName() }, "released leadership");
    } catch (err) {
      this.o.log.warn({ err: errorMessage(err) }, "could not release the lease; it expires by itself");
    }
  }

  private attempt(): Promise<boolean> {
    const p = this.tryAcquireOrRenew();
    this.inflight = p;
    return p;
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name } = this.o;
    const now = microTime();
    try {
      let lease: V1Lease;
      try {
        lease = await api.readNamespacedLease({ name, namespace });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        const body = { metadata: { name, namespace }, spec: this.ourSpec({}, now) };
        await api.createNamespacedLease({ namespace, body });
        return true;
      }
      if (this.heldByOther(lease)) return false;
      lease.spec = this.ourSpec(lease.spec ?? {}, now);
      // resourceVersion makes this a compare-and-swap: two candidates cannot both win.
      await api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch (err) {
      if (!isConflict(err)) this.o.log.warn({ err: errorMessage(err) }, "lease update failed");
      return false;
    }
  }

  /** Notes when the record last changed; true while another holder's lease runs by that reckoning. */
  private heldByOther(lease: V1Lease): boolean {
    const spec = lease.spec ?? {};
    const record = {
      holder: spec.holderIdentity ?? "",
      renewTime: spec.renewTime ? new Date(spec.renewTime).toISOString() : "",
      durationMs: (spec.leaseDurationSeconds ?? this.durationSeconds()) * 1000,
      resourceVersion: lease.metadata?.resourceVersion ?? "",
    };
    if (!this.observed || this.observed.holder !== record.holder || this.observed.renewTime !== record.renewTime) {
      this.observedAt = Date.now();
    }
    this.observed = record;
    const heldByOther = record.holder !== "" && record.holder !== this.o.identity;
    return heldByOther && this.observedAt + record.durationMs > Date.now();
  }

  /** The spec with us as holder, renewed `now`; a change of hands is an acquisition and a transition. */
  private ourSpec(spec: V1LeaseSpec, now: Date): V1LeaseSpec {
    const holder = spec.holderIdentity ?? "";
    const changingHands = holder !== this.o.identity;
    return {
      ...spec,
      holderIdentity: this.o.identity,
      leaseDurationSeconds: this.durationSeconds(),
      renewTime: now,
      acquireTime: changingHands || !spec.acquireTime ? now : microTime(new Date(spec.acquireTime)),
      leaseTransitions: (spec.leaseTransitions ?? 0) + (changingHands && holder !== "" ? 1 : 0),
    };
  }

  private durationSeconds(): number {
    return Math.ceil(this.o.leaseDurationMs / 1000);
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private leaseName(): string {
    return `${this.o.namespace}/${this.o.name}`;
  }
}
