// Taking a tainted pod out of its controller and its Services by its labels, without taking it out of
// a NetworkPolicy that restricts it: the label change behind expiryAction Replace and spec.isolate. Pure.
//
// Afterwards no Service and not the controller select the pod (a Service stops sending it traffic, a
// ReplicaSet releases it and creates a replacement), and the pod is at least as restricted as before:
// - the NetworkPolicies of its namespace select it exactly as before. Every one that selected it still
//   does; and none that did not starts to, because policies are allow-lists that add up: for a pod
//   already isolated, one more selecting policy widens what it may send or receive;
// - no NetworkPolicy newly names it as a peer (ingress `from`, egress `to`), which would only allow
//   traffic. Losing a peer match only ever restricts (a peer rule allows, never denies), so that is fine
//   and said in `why`: the pod may lose access a peer rule gave it (its database, say).
// Only labels a Service or the controller reads are changed, each in one of two ways: its value
// becomes ISOLATED_VALUE, or it is removed. Both end an equality (matchLabels, a Service selector) or
// an `In`; both may start a `NotIn`; only removal ends an `Exists` or starts a `DoesNotExist`. So a new
// value is tried first, a removal where the new value would itself be selected. The plan changes as
// few labels as it can (then removes as few), found by trying every combination of the labels those
// selectors read (few: a Service reads one to three, a ReplicaSet one more); each candidate is checked
// with the apiserver's own selector semantics (policy/selector.ts).
//
// The common case, where the Service, the ReplicaSet and a NetworkPolicy all select app=x, has no such
// plan: taking the pod out of the Service takes it out of the policy. The planner refuses, naming the
// Service, the label and the policy, with the fix (select the Service by a label no NetworkPolicy reads).
// Not chosen: going ahead anyway (a production pod holding a debugger, outside the policy that fenced
// it, is the worst outcome of a debugging tool); having the operator write NetworkPolicies that copy the
// lost ones onto the pod (that needs the power to write any firewall rule in every namespace, and there
// is no way to know when the CNI enforces a new policy, so the pod would be open in between).
//
// Limits. Only networking.k8s.io NetworkPolicies are kept: AdminNetworkPolicy, Cilium or Calico policies
// and mesh AuthorizationPolicies select by labels too and are not seen. The caller resolves peers'
// namespaceSelectors (only the peers that can name a pod of this namespace are passed). Only the given
// controller is checked: another whose selector matched the new labels would adopt the pod (a new value
// no selector names makes that unlikely). A StatefulSet cannot replace a pod it released while that pod
// keeps its name, so Replace only suits ReplicaSets. Labels no Service or controller reads are never
// changed, even where changing one would keep a policy from newly selecting the pod. With more than
// MAX_EXHAUSTIVE candidate labels, only plans of up to MAX_CHANGES_BEYOND changes are tried. Policies
// created after the plan are not seen; the patch (relabelOps) applies only to the labels it was planned
// from.
import type { V1Pod } from "@kubernetes/client-node";
import { GROUP, type LabelSelector } from "../api/types.ts";
import { formatSelector, matchesSelector } from "../policy/selector.ts";

/** The value a relabelled label gets: names no workload, so no selector is expected to name it. */
export const ISOLATED_VALUE = "debugsession-isolated";
/** On a relabelled pod: JSON of the changed labels' original values (the first relabelling's win). */
export const ISOLATED_LABELS_ANNOTATION = `${GROUP}/isolated-labels`;

const MAX_EXHAUSTIVE = 10;
const MAX_CHANGES_BEYOND = 3;

/** The pod's controller, by the selector it selects its pods with (a ReplicaSet's spec.selector). */
export interface SelectingController {
  /** For messages: `ReplicaSet web-6d4f8`. */
  name: string;
  selector: LabelSelector;
}

/** A Service of the pod's namespace; an empty selector selects no pod (endpoints managed by hand). */
export interface SelectingService {
  name: string;
  selector: Record<string, string>;
}

export interface SelectingNetworkPolicy {
  name: string;
  namespace: string;
  /** spec.podSelector: the pods it restricts, in its own namespace. */
  podSelector: LabelSelector;
  /**
   * The podSelector of each ingress `from` and egress `to` peer that can name a pod of the pod's
   * namespace: peers without namespaceSelector in a policy of that namespace, and peers whose
   * namespaceSelector matches it. Peers with only a namespaceSelector or an ipBlock do not read pod labels.
   */
  peerSelectors?: LabelSelector[];
  /** The directions it restricts the pods it selects in, and whether it allows anything in each. */
  policyTypes?: ("Ingress" | "Egress")[];
  hasIngressRules?: boolean;
  hasEgressRules?: boolean;
}

/** What reads the pod's labels. `controller` is left out when the pod is to stay with it. */
export interface LabelReaders {
  /** The controller the pod is to leave (a ReplicaSet, which then creates a replacement). */
  controller?: SelectingController;
  /** A controller the pod is to stay with, selected exactly as before (a StatefulSet cannot replace it). */
  stayWith?: SelectingController;
  services: readonly SelectingService[];
  /**
   * The Services keep selecting the pod (expiryAction Replace: it serves until its replacement is
   * Ready and it is evicted); otherwise they must all stop.
   */
  keepServices?: boolean;
  networkPolicies: readonly SelectingNetworkPolicy[];
}

/** One label changed: `to` its new value, or removed when `to` is absent. */
export interface LabelChange {
  key: string;
  from: string;
  to?: string;
}

export interface Relabel {
  /** Empty when nothing selects the pod any more (planning again after the patch changes nothing). */
  changes: LabelChange[];
  /** The pod's labels afterwards. */
  labels: Record<string, string>;
  /** For people: what changes, what stops selecting the pod, what still restricts it, what it loses. */
  why: string[];
}

export type RelabelPlan = Relabel | { refused: string };

type Labels = Readonly<Record<string, string>>;

/** One reader of the labels and what the plan must do about it. */
interface Reader {
  who: string;
  selector: LabelSelector | undefined;
  /** leave: must not select the pod afterwards; keep: selects it afterwards exactly if it did before; noGain: must not start to. */
  rule: "leave" | "keep" | "stay" | "noGain";
}

function readersOf(namespace: string | undefined, readers: LabelReaders): Reader[] {
  const out: Reader[] = [];
  const { controller } = readers;
  if (controller) {
    const who = `${controller.name} (selector ${formatSelector(controller.selector)})`;
    out.push({ who, selector: controller.selector, rule: "leave" });
  }
  if (readers.stayWith) {
    const who = `${readers.stayWith.name} (selector ${formatSelector(readers.stayWith.selector)})`;
    out.push({ who, selector: readers.stayWith.selector, rule: "stay" });
  }
  for (const s of readers.services) {
    if (Object.keys(s.selector).length === 0) continue;
    const selector = { matchLabels: s.selector };
    const who = `Service ${s.name} (selector ${formatSelector(selector)})`;
    out.push({ who, selector, rule: readers.keepServices ? "stay" : "leave" });
  }
  for (const p of readers.networkPolicies) {
    const ref = `NetworkPolicy ${p.namespace}/${p.name}`;
    if (p.namespace === namespace) {
      const who = `${ref} (podSelector ${formatSelector(p.podSelector)})`;
      out.push({ who, selector: p.podSelector, rule: "keep" });
    }
    for (const peer of p.peerSelectors ?? []) {
      out.push({ who: `${ref} (peer podSelector ${formatSelector(peer)})`, selector: peer, rule: "noGain" });
    }
  }
  return out;
}

/** What goes wrong with `r` when the labels change from `before` to `after`, if anything. */
function harm(r: Reader, before: Labels, after: Labels): string | undefined {
  const was = matchesSelector(r.selector, before);
  const is = matchesSelector(r.selector, after);
  switch (r.rule) {
    case "leave":
      return !was && is ? `${r.who} would start to select it` : undefined;
    case "keep":
      if (was === is) return undefined;
      return was
        ? `it would leave ${r.who}, which restricts it`
        : `it would come under ${r.who}, whose rules would change what traffic it is allowed`;
    case "stay":
      if (was === is) return undefined;
      return was ? `it would leave ${r.who}, which must keep it` : `${r.who} would start to select it`;
    case "noGain":
      return !was && is ? `it would become a peer ${r.who} allows traffic to or from` : undefined;
  }
}

const stillSelects = (r: Reader, after: Labels): boolean => r.rule === "leave" && matchesSelector(r.selector, after);
const isValid = (readers: readonly Reader[], before: Labels, after: Labels): boolean =>
  readers.every((r) => !stillSelects(r, after) && harm(r, before, after) === undefined);

const keysRead = (selector: LabelSelector | undefined): string[] => [
  ...Object.keys(selector?.matchLabels ?? {}),
  ...(selector?.matchExpressions ?? []).map((e) => e.key),
];

export function applyChanges(labels: Labels, changes: readonly LabelChange[]): Record<string, string> {
  const out = { ...labels };
  for (const c of changes) {
    if (c.to === undefined) delete out[c.key];
    else out[c.key] = c.to;
  }
  return out;
}

function* combinations<T>(items: readonly T[], k: number): Generator<T[]> {
  if (k === 0) {
    yield [];
    return;
  }
  for (const [i, first] of items.entries()) {
    if (items.length - i < k) return;
    for (const rest of combinations(items.slice(i + 1), k - 1)) yield [first, ...rest];
  }
}

/** Candidate plans over `keys`: fewest changes first, then fewest removals, then by key. */
function* candidatePlans(keys: readonly string[], labels: Labels): Generator<LabelChange[]> {
  const most = keys.length <= MAX_EXHAUSTIVE ? keys.length : MAX_CHANGES_BEYOND;
  for (let k = 0; k <= most; k++) {
    for (let r = 0; r <= k; r++) {
      for (const changed of combinations(keys, k)) {
        for (const removed of combinations(changed, r)) {
          const changes = changed.map((key): LabelChange => {
            const from = labels[key] ?? "";
            return removed.includes(key) ? { key, from } : { key, from, to: ISOLATED_VALUE };
          });
          // A label holding ISOLATED_VALUE already is not changed by getting it.
          if (!changes.some((c) => c.to === c.from)) yield changes;
        }
      }
    }
  }
}

/**
 * The label changes that take `pod` out of its controller's and Services' selectors while every
 * NetworkPolicy restricts it as before; or why there are none (see the top of this file).
 */
export function planRelabel(pod: V1Pod, readers: LabelReaders): RelabelPlan {
  const before: Labels = pod.metadata?.labels ?? {};
  const all = readersOf(pod.metadata?.namespace, readers);
  const leaving = all.filter((r) => r.rule === "leave" && matchesSelector(r.selector, before));
  const read = new Set(leaving.flatMap((r) => keysRead(r.selector)));
  const keys = Object.keys(before)
    .filter((k) => read.has(k) && !k.startsWith(`${GROUP}/`))
    .sort();
  for (const changes of candidatePlans(keys, before)) {
    const after = applyChanges(before, changes);
    if (isValid(all, before, after))
      return { changes, labels: after, why: explain(all, leaving, changes, before, after) };
  }
  return { refused: refusal(pod.metadata?.name ?? "", all, leaving, keys, before, readers.keepServices === true) };
}

function explain(
  all: readonly Reader[],
  leaving: readonly Reader[],
  changes: readonly LabelChange[],
  before: Labels,
  after: Labels,
): string[] {
  if (changes.length === 0) return ["no Service and not the controller select the pod: nothing to change"];
  const why = changes.map((c) =>
    c.to === undefined ? `label ${c.key} removed (was ${c.from})` : `label ${c.key}: ${c.from} -> ${c.to}`,
  );
  why.push(`so that ${leaving.map((r) => r.who).join(", ")} no longer select the pod`);
  const restricting = all.filter((r) => r.rule === "keep" && matchesSelector(r.selector, after));
  if (restricting.length) why.push(`${restricting.map((r) => r.who).join(", ")} still select it, as before`);
  for (const r of all) {
    if (r.rule !== "noGain" || !matchesSelector(r.selector, before) || matchesSelector(r.selector, after)) continue;
    why.push(
      `it is no longer a peer of ${r.who}: the traffic that rule allowed to or from it stops ` +
        "(a peer rule only allows traffic, so losing one only restricts the pod)",
    );
  }
  return why;
}

/**
 * Names each Service or controller no single label change takes the pod away from without harm, and
 * the harm of each change it could be; a general message when only combinations fail.
 */
function refusal(
  podName: string,
  all: readonly Reader[],
  leaving: readonly Reader[],
  keys: readonly string[],
  before: Labels,
  keepServices: boolean,
): string {
  const details: string[] = [];
  for (const x of leaving) {
    const harms = new Map<string, Set<string>>();
    let freeable = false;
    for (const key of keysRead(x.selector).filter((k) => keys.includes(k))) {
      const moves: LabelChange[] = [{ key, from: before[key] ?? "" }];
      if (before[key] !== ISOLATED_VALUE) moves.push({ key, from: before[key] ?? "", to: ISOLATED_VALUE });
      for (const move of moves) {
        const after = applyChanges(before, [move]);
        if (matchesSelector(x.selector, after)) continue;
        const found = all.map((r) => harm(r, before, after)).filter((h): h is string => h !== undefined);
        if (found.length === 0) freeable = true;
        const seen = harms.get(key) ?? new Set<string>();
        for (const h of found) seen.add(h);
        harms.set(key, seen);
      }
    }
    if (freeable) continue;
    details.push(
      harms.size === 0
        ? `no change to the pod's labels takes it out of ${x.who}: it selects by labels the pod lacks, or every pod`
        : `${x.who} selects it; changing or removing ${[...harms]
            .map(([key, h]) => `${key}: ${[...h].join("; ")}`)
            .join("; and ")}`,
    );
  }
  if (details.length === 0) {
    const bounded = keys.length > MAX_EXHAUSTIVE ? ` (tried changes of up to ${MAX_CHANGES_BEYOND} of them)` : "";
    details.push(
      `no combination of changes to labels ${keys.join(", ")}${bounded} takes it out of ${leaving
        .map((r) => r.who)
        .join(", ")} while every NetworkPolicy restricts it as before and none newly allows it traffic`,
    );
  }
  if (keepServices) {
    return (
      `cannot take pod ${podName} out of its controller while its Services keep it and every NetworkPolicy ` +
      `restricts it as before: ${details.join(". ")}. A Deployment's ReplicaSet also selects by ` +
      "pod-template-hash, which nothing else reads; a ReplicaSet of your own needs such a label too"
    );
  }
  return (
    `cannot take pod ${podName} out of its Services and controller without leaving it less restricted: ` +
    `${details.join(". ")}. Fix: have the Service and the controller select the pod by a label no ` +
    `NetworkPolicy reads (e.g. add serving: "true" to the pod template and to the Service's selector), or ` +
    "have the NetworkPolicy select it by a label the Service does not read; or debug without taking the pod " +
    "out (no spec.isolate, and expiryAction Evict or Delete)"
  );
}

const escapePointer = (s: string): string => s.replace(/~/g, "~0").replace(/\//g, "~1");

/**
 * The annotations a relabelling writes: the changed labels' original values, keeping those an earlier
 * relabelling recorded (the first one's win), and `extra`.
 */
export function relabelAnnotations(
  pod: V1Pod,
  changes: readonly LabelChange[],
  extra: Record<string, string> = {},
): Record<string, string> {
  const originals = {
    ...Object.fromEntries(changes.map((c) => [c.key, c.from])),
    ...recordedOriginals(pod.metadata?.annotations?.[ISOLATED_LABELS_ANNOTATION]),
  };
  return { [ISOLATED_LABELS_ANNOTATION]: JSON.stringify(originals), ...extra };
}

/**
 * The JSON patch that makes `changes` to `pod` as it is now and writes `annotations`: it applies only to
 * that pod (its UID) and to the labels as they were planned from (a `test` of each changed one), so a
 * label changed since fails the write, which is planned again. Nothing to write, no ops.
 */
export function relabelOps(pod: V1Pod, changes: readonly LabelChange[], annotations: Record<string, string>): object[] {
  if (changes.length === 0 && Object.keys(annotations).length === 0) return [];
  const existing = pod.metadata?.annotations;
  return [
    { op: "test", path: "/metadata/uid", value: pod.metadata?.uid },
    ...changes.flatMap((c) => {
      const path = `/metadata/labels/${escapePointer(c.key)}`;
      return [
        { op: "test", path, value: c.from },
        c.to === undefined ? { op: "remove", path } : { op: "replace", path, value: c.to },
      ];
    }),
    ...(existing !== undefined
      ? Object.entries(annotations).map(([k, value]) => ({
          op: "add",
          path: `/metadata/annotations/${escapePointer(k)}`,
          value,
        }))
      : [{ op: "add", path: "/metadata/annotations", value: annotations }]),
  ];
}

function recordedOriginals(json: string | undefined): Record<string, string> {
  if (json === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === "string"));
  } catch {
    // Someone else's annotation under our name: ours replaces it.
    return {};
  }
}
