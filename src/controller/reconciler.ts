// The DebugSession reconciler: caches, event -> key mapping, and the loop: gather, decide, apply.
import { randomUUID } from "node:crypto";
import type { V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import {
  DEFAULT_POLICY,
  GROUP,
  SESSION_PLURAL,
  VERSION,
  type DebugPolicy,
  type DebugSession,
  type ExpiryAction,
} from "../api/types.ts";
import { errorMessage, isNotFound } from "../runtime/errors.ts";
import { objectKey, type Informer } from "../runtime/informer.ts";
import type { KubeApis } from "../runtime/kube/api.ts";
import { withTimeout } from "../runtime/timers.ts";
import { WorkQueue, runWorkers, type Result } from "../runtime/workqueue.ts";
import { AccessReviewer } from "./access-review.ts";
import { Applier, type ApplyHooks } from "./apply.ts";
import { Caches } from "./caches.ts";
import { CandidateLister } from "./candidates.ts";
import { Gatherer } from "./gather.ts";
import { readController } from "./label-readers.ts";
import { DEFAULT_DECIDE_OPTIONS, type DecideInput, type DecideOptions, type RemovedAtExpiry } from "./input.ts";
import { awaitsInjection } from "./predicates.ts";
import { ORPHAN_KEY_PREFIX, OrphanCollector, holds, orphanKey } from "./orphans.ts";
import { decideAndApply, removalAfter, removesPod } from "./pass.ts";
import { RecordSweeper, retentionMs } from "./record-sweeper.ts";
import { ApiSessionRecorder, type RecordHooks, type SessionRecorder } from "./records.ts";
import { SessionsByPod } from "./session-index.ts";
import { targetPodName } from "./target.ts";
import { ApiClusterWriter, type ClusterWriter } from "./writer.ts";

const DEFAULT_RECORD_OPTIONS = { minRetentionMs: 24 * 3_600_000, sweepIntervalMs: 600_000 };

/** How long a reconcile waits for the cache to show our own last write of a session. */
const OWN_WRITE_WAIT_MS = 2_000;

/**
 * The API: `workloads` reads what a session names in spec.targetRef, `rbac` writes the requester's
 * attach grant (Role and RoleBinding per session); `leases` belong to leader election, not here.
 */
export interface ReconcilerOptions extends Omit<KubeApis, "leases"> {
  log: Logger;
  workers: number;
  decide?: DecideOptions;
  now?: () => Date;
  hooks?: ApplyHooks &
    RecordHooks & {
      onReconcile?(result: "success" | "requeue" | "error", seconds: number): void;
      onInformerRestart?(informer: string): void;
      onRecordDeleted?(): void;
      onOrphanRemoved?(how: ExpiryAction, lagMs: number | undefined): void;
    };
  queue?: WorkQueue;
  /** Where the writes go; the API implementation unless a test brings its own. */
  writer?: ClusterWriter;
  /** Saves DebugSessionRecords; the API implementation unless a test brings its own. */
  recorder?: SessionRecorder;
  /** DebugSessionRecord retention: the floor under every policy's, and how often to look (flags). */
  records?: { minRetentionMs: number; sweepIntervalMs: number };
  /** Only this namespace (--namespace); undefined: every namespace. */
  namespace?: string;
}

export class Reconciler {
  readonly sessions: Informer<DebugSession>;
  /** Only pods the operator injected into (selected by label), so memory follows sessions, not the cluster. */
  readonly pods: Informer<V1Pod>;
  readonly policies: Informer<DebugPolicy>;
  readonly queue: WorkQueue;
  private readonly caches: Caches;
  private readonly sessionsByPod = new SessionsByPod();
  private readonly gatherer: Gatherer;
  private readonly applier: Applier;
  private readonly sweeper: RecordSweeper;
  /** Tainted pods no session holds (their keys share the queue, prefixed ORPHAN_KEY_PREFIX). */
  private readonly orphans: OrphanCollector;
  private readonly opts: ReconcilerOptions;
  private readonly now: () => Date;
  private workers: Promise<void> | undefined;
  /** key -> the resourceVersion our last write of that session produced, until the cache shows it. */
  private readonly ownWrites = new Map<string, { resourceVersion: string; at: number }>();
  /** Sessions whose pod this operator removed at expiry, until a pass reports it (input.removed). */
  private readonly removals = new Map<string, RemovedAtExpiry>();

  constructor(opts: ReconcilerOptions) {
    this.opts = opts;
    this.now = opts.now ?? (() => new Date());
    this.queue = opts.queue ?? new WorkQueue();
    const writer = opts.writer ?? new ApiClusterWriter(opts);
    const { minRetentionMs, sweepIntervalMs } = opts.records ?? DEFAULT_RECORD_OPTIONS;
    this.sweeper = new RecordSweeper({
      custom: opts.custom,
      namespace: opts.namespace,
      policy: (namespace, name) => this.policies.get(`${namespace}/${name}`),
      log: opts.log,
      minRetentionMs,
      intervalMs: sweepIntervalMs,
      now: this.now,
      onDeleted: () => opts.hooks?.onRecordDeleted?.(),
    });
    const onRecord: RecordHooks["onRecord"] = (result, bytes, retention) => {
      opts.hooks?.onRecord?.(result, bytes, retention);
      if (result === "written") this.sweeper.dueBy(this.now().getTime() + retentionMs(retention, minRetentionMs));
    };
    const recorder = opts.recorder ?? new ApiSessionRecorder({ ...opts, hooks: { onRecord } });
    this.applier = new Applier(writer, opts.log, opts.hooks, this.now, recorder);
    this.caches = new Caches(
      { ...opts, onInformerRestart: (name) => opts.hooks?.onInformerRestart?.(name) },
      {
        onSession: (type, session, old) => this.onSession(type, session, old),
        onPod: (pod) => this.onPod(pod),
        // A changed policy may allow (or deny) sessions waiting in its namespace.
        onPolicy: (policy) => this.onPolicy(policy),
      },
    );
    ({ sessions: this.sessions, pods: this.pods, policies: this.policies } = this.caches);
    this.orphans = new OrphanCollector({
      cachedPod: (key) => this.pods.get(key),
      cachedSessions: (pod) => this.indexedSessions(objectKey(pod)),
      readPod: (namespace, name) => opts.core.readNamespacedPod({ name, namespace }).catch(absentIf404),
      listSessions: async (namespace) => {
        const list = (await opts.custom.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: SESSION_PLURAL,
        })) as { items: DebugSession[] };
        return list.items;
      },
      writer,
      events: this.applier.events,
      log: opts.log,
      now: this.now,
      onRemoved: (how, lagMs) => opts.hooks?.onOrphanRemoved?.(how, lagMs),
    });
    const candidates = new CandidateLister(opts);
    this.gatherer = new Gatherer({
      sessions: this.sessions,
      pods: this.pods,
      policies: this.policies,
      sessionsByPod: this.sessionsByPod,
      reviewer: new AccessReviewer(opts.authz, () => this.now().getTime()),
      readPod: (namespace, name) => opts.core.readNamespacedPod({ name, namespace }).catch(absentIf404),
      listCandidates: (session) => candidates.list(session),
      listServices: async (namespace) => (await opts.core.listNamespacedService({ namespace })).items,
      listNetworkPolicies: async (namespace) =>
        (await opts.networking.listNamespacedNetworkPolicy({ namespace })).items,
      readController: (namespace, ref, countReady) =>
        readController(
          {
            ...opts.workloads,
            listNamespacedPod: (p) => opts.core.listNamespacedPod(p),
          },
          namespace,
          ref,
          countReady,
        ),
      options: opts.decide ?? DEFAULT_DECIDE_OPTIONS,
    });
  }

  // ---- event handlers: map an event to session keys and enqueue them; nothing else.
  private onSession(type: "add" | "update" | "delete", session: DebugSession, old: DebugSession | undefined): void {
    const key = objectKey(session);
    this.sessionsByPod.update(key, type === "delete" ? undefined : session, type === "delete" ? session : old);
    if (type === "delete") {
      this.ownWrites.delete(key);
      this.removals.delete(key);
      if (session.metadata.uid) this.applier.forget(session.metadata.uid);
      // Deleted without its finalizer's cleanup (removed by hand), it may leave its pod an orphan.
      const pod = targetPodName(session);
      const namespace = session.metadata.namespace ?? "";
      if (pod !== undefined && this.pods.get(`${namespace}/${pod}`)) this.queue.add(orphanKey(namespace, pod));
    } else this.queue.add(key);
  }

  /** Every session under the pod is told; a pod none of them holds is looked at as a possible orphan. */
  private onPod(pod: V1Pod): void {
    const podKey = objectKey(pod);
    let held = false;
    for (const key of this.sessionsByPod.keysFor(podKey)) {
      this.queue.add(key);
      const session = this.sessions.get(key);
      held ||= session !== undefined && holds(session, pod);
    }
    if (!held) this.queue.add(`${ORPHAN_KEY_PREFIX}${podKey}`);
  }

  private *indexedSessions(podKey: string): Iterable<DebugSession> {
    for (const key of this.sessionsByPod.keysFor(podKey)) {
      const session = this.sessions.get(key);
      if (session) yield session;
    }
  }

  private onPolicy(policy: DebugPolicy): void {
    for (const session of this.sessions.list()) {
      const governed =
        session.metadata.namespace === policy.metadata.namespace &&
        (session.spec.policy ?? DEFAULT_POLICY) === policy.metadata.name;
      if (governed && awaitsInjection(session.status)) this.queue.add(objectKey(session));
    }
  }

  /** Starts the caches; resolves when all have listed. Reconciles start with startWorkers(). */
  async startCaches(): Promise<void> {
    await this.caches.sync();
  }

  /** On the leader only: reconciles, and the retention of DebugSessionRecords. */
  startWorkers(): void {
    this.sweeper.start();
    this.workers = runWorkers(this.queue, this.opts.workers, (key) => this.reconcile(key), {
      onResult: (outcome, seconds) => this.opts.hooks?.onReconcile?.(outcome, seconds),
      onError: (key, err) =>
        this.opts.log.warn(
          {
            ...(key.startsWith(ORPHAN_KEY_PREFIX) ? { pod: key.slice(ORPHAN_KEY_PREFIX.length) } : { session: key }),
            err: errorMessage(err),
          },
          "reconcile failed; retrying with backoff",
        ),
    });
  }

  /** Stops taking keys; waits for in-flight reconciles, then for the events they recorded, up to `graceMs` in all. */
  async stop(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    this.queue.shutDown();
    this.caches.stop();
    await withTimeout(this.sweeper.stop(), graceMs);
    if (this.workers) await withTimeout(this.workers, graceMs);
    await this.applier.events.flush(Math.max(0, deadline - Date.now()));
  }

  /** One pass over a key: gather, decide, apply. Outcome, timing and retries belong to runWorkers. */
  async reconcile(key: string): Promise<Result> {
    if (key.startsWith(ORPHAN_KEY_PREFIX)) return this.orphans.reconcile(key);
    const session = this.sessions.get(key);
    if (!session) return {};
    const now = this.now();
    // Our last write of this session is not in the cache yet: a decision now would start from the
    // status before it, and its write would be refused (409). The watch event of our write queues
    // the key again; the requeue is only a net for a watch that skipped that version.
    const own = this.ownWrites.get(key);
    if (own && own.resourceVersion !== session.metadata.resourceVersion && now.getTime() - own.at < OWN_WRITE_WAIT_MS) {
      return { requeueAfterMs: OWN_WRITE_WAIT_MS };
    }
    this.ownWrites.delete(key);
    const log = this.opts.log.child({ session: key, reconcileID: randomUUID() });
    const removed = this.removals.get(key);
    const gather = async (s: DebugSession): Promise<DecideInput> => {
      const gathered = await this.gatherer.gather(key, s, now);
      return removed ? { ...gathered, removed } : gathered;
    };
    let input = await gather(session);
    // Removing the pod cannot be undone: judge it on the session as the apiserver has it now, not as
    // the cache last saw it (a watch that fell behind, in a partition say, may still show a ttl that
    // was raised since). The TTL-after-finished controller reads its Job again the same way.
    if (removesPod(input)) {
      const fresh = await this.readSession(session);
      if (fresh === undefined) return {};
      if (fresh.metadata.resourceVersion !== session.metadata.resourceVersion) input = await gather(fresh);
    }
    const pass = await decideAndApply(input, this.applier, log);
    const { plan, resourceVersion } = pass;
    if (resourceVersion !== undefined) this.ownWrites.set(key, { resourceVersion, at: now.getTime() });
    const stillRemoved = removalAfter(pass, removed);
    if (stillRemoved) this.removals.set(key, stillRemoved);
    else this.removals.delete(key);
    if (plan.retryWithBackoff !== undefined) throw new Error(plan.retryWithBackoff);
    return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {};
  }

  /** A GET of the session; undefined when it is gone (its delete event brings the rest). */
  private async readSession(session: DebugSession): Promise<DebugSession | undefined> {
    const { name = "", namespace = "" } = session.metadata;
    const request = { group: GROUP, version: VERSION, plural: SESSION_PLURAL, namespace, name };
    // The custom objects API is untyped; this path serves DebugSessions.
    return (await this.opts.custom.getNamespacedCustomObject(request).catch(absentIf404)) as DebugSession | undefined;
  }
}

function absentIf404(err: unknown): undefined {
  if (isNotFound(err)) return undefined;
  throw err;
}
