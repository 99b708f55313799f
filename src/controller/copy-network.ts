// A copy must be at least as restricted on the network as the pod it copies. It carries none of the
// source's labels (so no Service, controller or budget selects it), so the NetworkPolicies that
// select the source by its labels do not select the copy. NetworkPolicies are allow-lists that add up
// per direction: a pod no policy of a direction selects may send (or receive) anything in that
// direction; once one selects it, only what the selecting policies allow. So the copy may have what
// the source has, or less, exactly when, for each direction the source is restricted in:
// - some policy of that direction selects the copy too (else the copy is unrestricted), and
// - every such policy that selects the copy and not the source allows nothing in that direction;
// and no policy's peer selector names the copy where it does not name the source (a peer rule lets
// the named pods reach, or be reached by, the policy's pods). Pure.
//
// What passes: a namespace-wide policy (podSelector {}), a default deny, or a policy for copies
// (podSelector on debugging.dev/session-uid, which only copies carry) with no rules. What is refused:
// a source restricted only by policies that select it by its own labels. Limits: policies of other
// namespaces whose peers select pods of this one are not read (a copy can only lose such a peer match:
// its labels are the operator's), and only networking.k8s.io policies are (as in relabel.ts).
import { RECORD_SESSION_UID_LABEL } from "../api/types.ts";
import { formatSelector, matchesSelector } from "../policy/selector.ts";
import type { SelectingNetworkPolicy } from "./relabel.ts";

type Direction = "Ingress" | "Egress";
type Labels = Readonly<Record<string, string>>;

const restricts = (p: SelectingNetworkPolicy, d: Direction, labels: Labels): boolean =>
  (p.policyTypes ?? ["Ingress"]).includes(d) && matchesSelector(p.podSelector, labels);
const allows = (p: SelectingNetworkPolicy, d: Direction): boolean =>
  d === "Ingress" ? p.hasIngressRules === true : p.hasEgressRules === true;
const named = (ps: readonly SelectingNetworkPolicy[]): string =>
  ps.map((p) => `NetworkPolicy ${p.name} (podSelector ${formatSelector(p.podSelector) || "{}"})`).join(", ");

const FIX =
  "ask a namespace admin for a NetworkPolicy that selects copies, with the rules they may have (none: they then " +
  `reach nothing), e.g. podSelector: {matchExpressions: [{key: ${RECORD_SESSION_UID_LABEL}, operator: Exists}]}, ` +
  "policyTypes: [Ingress, Egress]; or a namespace-wide default deny (podSelector: {}); or debug the pod itself " +
  "(spec.mode: Ephemeral)";

/** Why a pod with `copyLabels` would be less restricted than `source`; undefined when it would not. */
export function copyNetworkRefusal(
  sourceName: string,
  sourceLabels: Labels,
  copyLabels: Labels,
  policies: readonly SelectingNetworkPolicy[],
): string | undefined {
  for (const d of ["Ingress", "Egress"] as const) {
    const onSource = policies.filter((p) => restricts(p, d, sourceLabels));
    if (onSource.length === 0) continue;
    const onCopy = policies.filter((p) => restricts(p, d, copyLabels));
    const traffic = d === "Ingress" ? "be reached from anywhere" : "reach anywhere";
    if (onCopy.length === 0) {
      return (
        `pod ${sourceName} is restricted for ${d} by ${named(onSource)}, which would not select its copy (a copy ` +
        `carries none of the source's labels), so the copy could ${traffic}; ${FIX}`
      );
    }
    const widening = onCopy.filter((p) => !onSource.includes(p) && allows(p, d));
    if (widening.length) {
      return (
        `the copy of pod ${sourceName} would come under ${named(widening)}, which does not select the source and ` +
        `allows ${d} traffic the source may not have; ${FIX}`
      );
    }
  }
  for (const p of policies) {
    const peer = (p.peerSelectors ?? []).find(
      (s) => matchesSelector(s, copyLabels) && !matchesSelector(s, sourceLabels),
    );
    if (peer) {
      return (
        `the copy of pod ${sourceName} would be a peer of NetworkPolicy ${p.name} (peer podSelector ` +
        `${formatSelector(peer) || "{}"}) that the source is not, and reach or be reached by its pods; ${FIX}`
      );
    }
  }
  return undefined;
}
