// The DebugSession reconciler: caches, key mapping, and the reconcile loop (read state, decide, apply).
import { randomUUID } from "node:crypto";
import type { AuthorizationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { DEFAULT_POLICY, GROUP, POLICY_PLURAL, SESSION_LABEL, SESSION_PLURAL, VERSION, type DebugPolicy, type DebugSession } from "../api/types.ts";
import { isNotFound } from "../runtime/errors.ts";
import { Informer, objectKey, type ListResult } from "../runtime/informer.ts";
import { WorkQueue, runWorkers, type Result } from "../runtime/workqueue.ts";
import { Applier, type ApplyHooks } from "./apply.ts";
import { decide, requester, timeLeft, DEFAULT_DECIDE_OPTIONS, type AccessInput, type DecideOptions } from "./decide.ts";

/** How long an "allowed" answer of RBAC (SubjectAccessReview) is reused. */
const ALLOWED_CACHE_MS = 5_000;
/** How long a reconcile waits for the cache to show our own last write of a session. */
const OWN_WRITE_WAIT_MS = 2_000;

export interface ReconcilerOptions {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  authz: AuthorizationV1Api;
  log: Logger;
  workers: number;
  decide?: DecideOptions;
  now?: () => Date;
  hooks?: ApplyHooks & {
    onReconcile?(result: "success" | "requeue" | "error", seconds: number): void;
    onInformerRestart?(informer: string): void;
  };
  queue?: WorkQueue;
}

export class Reconciler {
  readonly sessions: Informer<DebugSession>;
  /** Only pods the operator injected into (selected by label), so memory follows sessions, not the cluster. */
  readonly pods: Informer<V1Pod>;
  readonly policies: Informer<DebugPolicy>;
  readonly queue: WorkQueue;
  /** namespace/pod -> keys of sessions targeting it, for mapping pod events to sessions. */
  private readonly byPod = new Map<string, Set<string>>();
  private readonly applier: Applier;
  private readonly opts: ReconcilerOptions;
  private readonly now: () => Date;
  private workers: Promise<void> | undefined;
  /** SubjectAccessReview answers "allowed", by user, groups, namespace and policy: until when they hold. */
  private readonly allowedUntil = new Map<string, number>();
  /** key -> the resourceVersion our last write of that session produced, until the cache shows it. */
  private readonly ownWrites = new Map<string, { resourceVersion: string; at: number }>();

  constructor(opts: ReconcilerOptions) {
    this.opts = opts;
    this.now = opts.now ?? (() => new Date());
    this.queue = opts.queue ?? new WorkQueue();
    this.applier = new Applier({ core: opts.core, custom: opts.custom }, opts.log, opts.hooks, this.now);
    const restart = (name: string) => () => opts.hooks?.onInformerRestart?.(name);
    this.sessions = new Informer<DebugSession>({
      name: "debugsessions",
      kubeConfig: opts.kubeConfig,
      log: opts.log,
      watchPath: `/apis/${GROUP}/${VERSION}/${SESSION_PLURAL}`,
      list: () => listCustom<DebugSession>(opts.custom, SESSION_PLURAL),
      onEvent: (type, session, old) => this.onSession(type, session, old),
      onRestart: restart("debugsessions"),
    });
    this.pods = new Informer<V1Pod>({
      name: "pods",
      kubeConfig: opts.kubeConfig,
      log: opts.log,
      watchPath: "/api/v1/pods",
      watchQuery: { labelSelector: SESSION_LABEL },
      list: async () => {
        const list = await opts.core.listPodForAllNamespaces({ labelSelector: SESSION_LABEL });
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? "" };
      },
      onEvent: (_type, pod) => this.onPod(pod),
      onRestart: restart("pods"),
    });
    this.policies = new Informer<DebugPolicy>({
      name: "debugpolicies",
      kubeConfig: opts.kubeConfig,
      log: opts.log,
      watchPath: `/apis/${GROUP}/${VERSION}/${POLICY_PLURAL}`,
      list: () => listCustom<DebugPolicy>(opts.custom, POLICY_PLURAL),
      // A changed policy may allow (or deny) sessions waiting in its namespace.
      onEvent: (_type, policy) => this.onPolicy(policy),
      onRestart: restart("debugpolicies"),
    });
  }

  // ---- event handlers: map an event to session keys and enqueue them; nothing else.
  private onSession(type: "add" | "update" | "delete", session: DebugSession, old: DebugSession | undefined): void {
    const key = objectKey(session);
    if (old) this.unindex(old, key);
    if (type === "delete") {
      this.unindex(session, key);
      this.ownWrites.delete(key);
      return;
    }
    const podKey = `${session.metadata.namespace}/${session.spec.targetPod}`;
    let set = this.byPod.get(podKey);
    if (!set) this.byPod.set(podKey, (set = new Set()));
    set.add(key);
    this.queue.add(key);
  }

  private unindex(session: DebugSession, key: string): void {
    const podKey = `${session.metadata.namespace}/${session.spec?.targetPod}`;
    const set = this.byPod.get(podKey);
    set?.delete(key);
    if (set?.size === 0) this.byPod.delete(podKey);
  }

  private onPod(pod: V1Pod): void {
    for (const key of this.byPod.get(objectKey(pod)) ?? []) this.queue.add(key);
  }

  private onPolicy(policy: DebugPolicy): void {
    for (const session of this.sessions.list()) {
      if (session.metadata.namespace === policy.metadata.namespace && (session.spec.policy ?? DEFAULT_POLICY) === policy.metadata.name && !session.status?.targetPodUID) {
        this.queue.add(objectKey(session));
      }
    }
  }

  /** Starts the caches; resolves when both have listed. Reconciles start with startWorkers(). */
  async startCaches(): Promise<void> {
    this.sessions.start();
    this.pods.start();
    this.policies.start();
    await Promise.all([this.sessions.waitForSync(), this.pods.waitForSync(), this.policies.waitForSync()]);
  }

  startWorkers(): void {
    this.workers = runWorkers(this.queue, this.opts.workers, (key) => this.reconcile(key), (key, err) => {
      this.opts.log.warn({ session: key, err: err instanceof Error ? err.message : String(err) }, "reconcile failed; retrying with backoff");
    });
  }

  /** Stops taking keys; waits for in-flight reconciles, then for the events they recorded, up to `graceMs` in all. */
  async stop(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    this.queue.shutDown();
    this.sessions.stop();
    this.pods.stop();
    this.policies.stop();
    if (this.workers) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.workers, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    await this.applier.events.flush(Math.max(0, deadline - Date.now()));
  }

  async reconcile(key: string): Promise<Result> {
    const started = process.hrtime.bigint();
    const log = this.opts.log.child({ session: key, reconcileID: randomUUID() });
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const session = this.sessions.get(key);
      if (!session) return {};
      // Our last write of this session is not in the cache yet: a decision now would start from the
      // status before it, and its write would be refused (409). The watch event of our write queues
      // the key again; the requeue is only a net for a watch that skipped that version.
      const own = this.ownWrites.get(key);
      if (own && own.resourceVersion !== session.metadata.resourceVersion && Date.now() - own.at < OWN_WRITE_WAIT_MS) {
        return { requeueAfterMs: OWN_WRITE_WAIT_MS };
      }
      this.ownWrites.delete(key);
      const now = this.now();
      const options = this.opts.decide ?? DEFAULT_DECIDE_OPTIONS;
      // Independent reads, asked together.
      const [observed, access] = await Promise.all([this.observePod(session, now, false), this.access(session)]);
      let pod = observed;
      let plan = decide({ session, pod, access, now, options });
      if (plan.actions.some((a) => a.kind === "inject") && pod !== undefined && pod === this.pods.get(objectKey(pod))) {
        // Never inject on the word of a cache that may not show our container yet: look again.
        pod = await this.observePod(session, now, true);
        plan = decide({ session, pod, access, now, options });
      }
      const written = await this.applier.apply(plan, session, log);
      if (written !== undefined) this.ownWrites.set(key, { resourceVersion: written, at: Date.now() });
      const result: Result = plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {};
      this.opts.hooks?.onReconcile?.(result.requeueAfterMs !== undefined ? "requeue" : "success", seconds());
      return result;
    } catch (err) {
      this.opts.hooks?.onReconcile?.("error", seconds());
      throw err;
    }
  }

  /**
   * What decide needs to judge access. RBAC is asked (SubjectAccessReview for the recorded requester)
   * only while the debugger is not injected yet: that is the only time the answer changes anything.
   */
  private async access(session: DebugSession): Promise<AccessInput> {
    const ns = session.metadata.namespace!;
    const name = session.spec.policy ?? DEFAULT_POLICY;
    const policy = this.policies.get(`${ns}/${name}`);
    const key = objectKey(session);
    let otherSessionsOnPod = 0;
    for (const other of this.byPod.get(`${ns}/${session.spec.targetPod}`) ?? []) {
      if (other === key) continue;
      const phase = this.sessions.get(other)?.status?.phase;
      if (phase === "Injecting" || phase === "Running" || phase === "Completed") otherSessionsOnPod++;
    }
    const who = requester(session);
    let requesterMayUse: boolean | undefined;
    // Asked until the debugger is injected (Injecting with a targetPodUID comes after the injection);
    // a retried injection (Failed, then a longer ttl) is judged again.
    const phase = session.status?.phase;
    const beforeInjection = phase === undefined || phase === "Pending" || phase === "Failed" || (phase === "Injecting" && !session.status?.targetPodUID);
    if (who && policy && beforeInjection) {
      requesterMayUse = await this.mayUse(who.username, who.groups ?? [], ns, name);
    }
    return { policy, requesterMayUse, otherSessionsOnPod };
  }

  /**
   * Whether RBAC lets this user use the policy (verb "use" on debugpolicies/<name>). A "yes" is kept
   * for ALLOWED_CACHE_MS, so a burst of sessions from one user (a GitOps sync) costs one review, as
   * the apiserver's own webhook authorizer caches its answers (5 min by default); a "no" is never
   * kept. A revoked permission therefore stops new injections within ALLOWED_CACHE_MS; creation is
   * refused at once by admission (debugsession-requester-guard asks the authorizer itself).
   */
  private async mayUse(username: string, groups: string[], ns: string, name: string): Promise<boolean> {
    const key = JSON.stringify([username, [...groups].sort(), ns, name]);
    const now = Date.now();
    if ((this.allowedUntil.get(key) ?? 0) > now) return true;
    const review = await this.opts.authz.createSubjectAccessReview({
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: username,
          groups,
          resourceAttributes: { group: GROUP, resource: POLICY_PLURAL, verb: "use", name, namespace: ns },
        },
      },
    });
    const allowed = review.status?.allowed === true;
    if (allowed) {
      if (this.allowedUntil.size > 1_000) for (const [k, until] of this.allowedUntil) if (until <= now) this.allowedUntil.delete(k);
      this.allowedUntil.set(key, now + ALLOWED_CACHE_MS);
    } else {
      this.allowedUntil.delete(key);
    }
    return allowed;
  }

  /**
   * The cache holds the pod once it carries our label; before that, and whenever the cache could be
   * behind (a different UID, a session being deleted), the pod is read fresh.
   */
  private async observePod(session: DebugSession, now: Date, fresh: boolean): Promise<V1Pod | undefined> {
    const ns = session.metadata.namespace!;
    const name = session.spec.targetPod;
    const cached = this.pods.get(`${ns}/${name}`);
    const left = timeLeft(session, now);
    // At expiry too: the removal carries a UID precondition, and a pod already gone answers 404.
    const trustCache =
      !fresh && cached !== undefined && session.status?.targetPodUID === cached.metadata?.uid && left !== undefined && !session.metadata.deletionTimestamp;
    if (trustCache) return cached;
    try {
      return await this.opts.core.readNamespacedPod({ name, namespace: ns });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

/** A LIST of one of our kinds across namespaces (client-node returns custom objects untyped). */
async function listCustom<T>(custom: CustomObjectsApi, plural: string): Promise<ListResult<T>> {
  const list = (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as { items: T[]; metadata?: { resourceVersion?: string } };
  return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? "" };
}
