// The gatherer (cert-manager's DataForCertificate): every read a reconcile needs, done once, up front,
// into the one input decide() judges. Reads go to the caches where they can be trusted, and to the
// apiserver where a cache that is behind could cause a wrong write.
//
//   session (cache) ──┬─ pod: cache when it shows the injected pod with our container, else a GET;
//                     │  for a targetRef/targetSelector not yet injected, its candidates listed and one chosen
//                     ├─ policy: cache (spec.policy, in the session's namespace)
//                     ├─ RBAC: a SubjectAccessReview, only while the session awaits injection
//                     └─ other debuggers on the pod: what the pod holds, and the sessions the index
//                        says reserved it (the injection is a write conditional on the pod we judged)
import type { V1NetworkPolicy, V1Pod, V1Service } from "@kubernetes/client-node";
import { DEFAULT_POLICY, type DebugPolicy, type DebugSession } from "../api/types.ts";
import type { AccessReviewer } from "./access-review.ts";
import type { Candidates } from "./candidates.ts";
import type { AccessInput, DecideInput, DecideOptions } from "./input.ts";
import {
  awaitsReplacement,
  controllerRef,
  needsReaders,
  selectingNetworkPolicy,
  selectingService,
  type ControllerView,
  type GatheredReaders,
} from "./label-readers.ts";
import { COPY_OF_ANNOTATION, isCopyFor } from "./pod-copy.ts";
import { choosePod, describeTarget, isCopyMode, sourcePodName, targetPodName, type TargetChoice } from "./target.ts";
import { ephemeralContainerName } from "./container.ts";
import { awaitsInjection, cachedPodIsTrusted, holdsPod, requester } from "./predicates.ts";
import type { SessionsByPod } from "./session-index.ts";

interface Target {
  pod: V1Pod | undefined;
  choice?: TargetChoice;
  source?: V1Pod | undefined;
  copyNameTaken?: boolean;
}

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
  /** The pods a targetRef or targetSelector stands for (candidates.ts). */
  listCandidates(session: DebugSession): Promise<Candidates>;
  listServices(namespace: string): Promise<V1Service[]>;
  listNetworkPolicies(namespace: string): Promise<V1NetworkPolicy[]>;
  /** The named controller, with its selector and, with `countReady`, a ReplicaSet's Ready pods; undefined when gone. */
  readController(
    namespace: string,
    ref: { kind: string; name: string },
    countReady: boolean,
  ): Promise<ControllerView | undefined>;
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
    const target = isCopyMode(session) ? this.copyTarget(session) : this.target(session);
    const [{ pod, choice, source, copyNameTaken }, access] = await Promise.all([target, this.access(key, session)]);
    const reserved = this.reservedBy(key, session, pod?.metadata?.name);
    const otherSessionsOnPod = otherDebuggers(pod, ephemeralContainerName(session), reserved).length;
    const readers = needsReaders(session, pod, access.policy, now)
      ? await this.readers(session, pod, awaitsReplacement(session, access.policy, now))
      : undefined;
    const input: DecideInput = {
      session,
      pod,
      access: { ...access, otherSessionsOnPod },
      now,
      options: this.src.options,
      ...(choice ? { choice } : {}),
      ...(source ? { source } : {}),
      ...(copyNameTaken ? { copyNameTaken } : {}),
      ...(readers ? { readers } : {}),
    };
    return input;
  }

  /**
   * The NetworkPolicies of the namespace and, for a pod whose labels are to change, its Services and
   * controller (with its Ready pods counted only while a Replace waits for them): read together. A copy
   * is judged on NetworkPolicies alone (copy-network.ts).
   */
  private async readers(session: DebugSession, pod: V1Pod | undefined, countReady: boolean): Promise<GatheredReaders> {
    const namespace = session.metadata.namespace ?? "";
    const relabels = !isCopyMode(session);
    const ref = relabels && pod ? controllerRef(pod) : undefined;
    const [services, networkPolicies, controller] = await Promise.all([
      relabels ? this.src.listServices(namespace) : Promise.resolve([]),
      this.src.listNetworkPolicies(namespace),
      ref ? this.src.readController(namespace, ref, countReady) : Promise.resolve(undefined),
    ]);
    return {
      services: services.map(selectingService),
      networkPolicies: networkPolicies.map(selectingNetworkPolicy),
      ...(controller ? { controller } : {}),
    };
  }

  /**
   * Copy mode: the copy (cache when trusted, else a GET; someone else's pod under its name is not it),
   * and, while the debugger is not in it yet, the pod to copy: the one recorded or named, the one the
   * copy says it was made from, else one chosen as for Ephemeral mode. The source is always read fresh
   * (the pod cache holds only labelled pods) and is never written.
   */
  private async copyTarget(session: DebugSession): Promise<Target> {
    const namespace = session.metadata.namespace ?? "";
    const name = targetPodName(session) ?? "";
    const cached = this.src.pods.get(`${namespace}/${name}`);
    const found = cachedPodIsTrusted(session, cached) ? cached : await this.src.readPod(namespace, name);
    const copy = found && isCopyFor(found, session) ? found : undefined;
    const copyNameTaken = found !== undefined && copy === undefined;
    if (!awaitsInjection(session.status)) return { pod: copy, copyNameTaken };
    const sourceName = sourcePodName(session) ?? copy?.metadata?.annotations?.[COPY_OF_ANNOTATION];
    if (sourceName !== undefined) {
      return { pod: copy, copyNameTaken, source: await this.src.readPod(namespace, sourceName) };
    }
    const { pod: source, choice } = await this.chosen(session);
    return { pod: copy, copyNameTaken, source, choice };
  }

  private async target(session: DebugSession): Promise<Target> {
    const namespace = session.metadata.namespace ?? "";
    const name = targetPodName(session);
    if (name !== undefined) {
      const cached = this.src.pods.get(`${namespace}/${name}`);
      return { pod: cachedPodIsTrusted(session, cached) ? cached : await this.src.readPod(namespace, name) };
    }
    return this.chosen(session);
  }

  /** A pod of the session's targetRef or targetSelector, chosen by choosePod. */
  private async chosen(session: DebugSession): Promise<Target> {
    const namespace = session.metadata.namespace ?? "";
    const from = describeTarget(session);
    const candidates = await this.src.listCandidates(session);
    if ("missing" in candidates)
      return { pod: undefined, choice: { from, passedOver: [], missing: candidates.missing } };
    const policy = this.src.policies.get(`${namespace}/${session.spec.policy ?? DEFAULT_POLICY}`);
    const choice = choosePod(from, candidates.pods, ephemeralContainerName(session), policy?.spec.targetSelector);
    return { pod: choice.chosen, choice };
  }

  /** Container names of the other sessions whose cached phase says they hold the pod. */
  private reservedBy(key: string, session: DebugSession, pod: string | undefined): string[] {
    const names: string[] = [];
    if (pod === undefined) return names;
    for (const other of this.src.sessionsByPod.keysFor(`${session.metadata.namespace}/${pod}`)) {
      const s = other !== key ? this.src.sessions.get(other) : undefined;
      if (s && holdsPod(s.status?.phase)) names.push(ephemeralContainerName(s));
    }
    return names;
  }

  private async access(key: string, session: DebugSession): Promise<Omit<AccessInput, "otherSessionsOnPod">> {
    const ns = session.metadata.namespace ?? "";
    const name = session.spec.policy ?? DEFAULT_POLICY;
    const policy = this.src.policies.get(`${ns}/${name}`);
    const who = requester(session);
    // The only time the answer changes anything: before the debugger is in the pod.
    const ask = who !== undefined && policy !== undefined && awaitsInjection(session.status);
    const requesterMayUse = ask ? await this.src.reviewer.mayUse(who.username, who.groups ?? [], ns, name) : undefined;
    return { policy, requesterMayUse };
  }
}

/**
 * The debuggers besides `own` that the pod holds (an ephemeral container the kubelet has not reported
 * terminated, whoever added it) or that another session reserved (`reserved`, its cached phase
 * holds the pod, its container maybe not in the pod yet): counted once each, by name.
 */
export function otherDebuggers(pod: V1Pod | undefined, own: string, reserved: readonly string[]): string[] {
  const terminated = new Set(
    (pod?.status?.ephemeralContainerStatuses ?? []).filter((c) => c.state?.terminated).map((c) => c.name),
  );
  const live = (pod?.spec?.ephemeralContainers ?? []).map((c) => c.name).filter((n) => !terminated.has(n));
  return [...new Set([...live, ...reserved])].filter((n) => n !== own);
}
