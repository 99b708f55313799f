// The gatherer (cert-manager's DataForCertificate): every read a reconcile needs, done once, up front,
// into the one input decide() judges. Reads go to the caches where they can be trusted, and to the
// apiserver where a cache that is behind could cause a wrong write.
//
//   session (cache) ──┬─ pod: cache when it shows the injected pod with our container, else a GET
//                     ├─ policy: cache (spec.policy, in the session's namespace)
//                     ├─ RBAC: a SubjectAccessReview, only while the session awaits injection
//                     └─ other sessions on the pod: the index, and their cached phases
import type { V1Pod } from "@kubernetes/client-node";
import { DEFAULT_POLICY, type DebugPolicy, type DebugSession } from "../api/types.ts";
import type { AccessReviewer } from "./access-review.ts";
import type { AccessInput, DecideInput, DecideOptions } from "./input.ts";
import { awaitsInjection, cachedPodIsTrusted, holdsPod, requester } from "./predicates.ts";
import type { SessionsByPod } from "./session-index.ts";

interface Lister<T> {
  get(key: string): T | undefined;
}

export interface GatherSources {
  sessions: Lister<DebugSession>;
  pods: Lister<V1Pod>;
  policies: Lister<DebugPolicy>;
  sessionsByPod: SessionsByPod;
  reviewer: AccessReviewer;
  /** A GET of the pod; undefined when it does not exist. */
  readPod(namespace: string, name: string): Promise<V1Pod | undefined>;
  options: DecideOptions;
}

export class Gatherer {
  private readonly src: GatherSources;

  constructor(sources: GatherSources) {
    this.src = sources;
  }

  /** Everything decide() needs about `session` (whose cache key is `key`) at `now`. */
  async gather(key: string, session: DebugSession, now: Date): Promise<DecideInput> {
    // Independent reads, asked together.
    const [pod, access] = await Promise.all([this.pod(session), this.access(key, session)]);
    return { session, pod, access, now, options: this.src.options };
  }

  private async pod(session: DebugSession): Promise<V1Pod | undefined> {
    const namespace = session.metadata.namespace ?? "";
    const name = session.spec.targetPod;
    const cached = this.src.pods.get(`${namespace}/${name}`);
    return cachedPodIsTrusted(session, cached) ? cached : this.src.readPod(namespace, name);
  }

  private async access(key: string, session: DebugSession): Promise<AccessInput> {
    const ns = session.metadata.namespace ?? "";
    const name = session.spec.policy ?? DEFAULT_POLICY;
    const policy = this.src.policies.get(`${ns}/${name}`);
    let otherSessionsOnPod = 0;
    for (const other of this.src.sessionsByPod.keysFor(`${ns}/${session.spec.targetPod}`)) {
      if (other !== key && holdsPod(this.src.sessions.get(other)?.status?.phase)) otherSessionsOnPod++;
    }
    const who = requester(session);
    // The only time the answer changes anything: before the debugger is in the pod.
    const ask = who !== undefined && policy !== undefined && awaitsInjection(session.status);
    const requesterMayUse = ask ? await this.src.reviewer.mayUse(who.username, who.groups ?? [], ns, name) : undefined;
    return { policy, requesterMayUse, otherSessionsOnPod };
  }
}
