// `kubectl dbg policies`: what each DebugPolicy the caller may use lets a session do, in the words of
// its spec, with the CRD's defaults filled in for fields a policy leaves out.
import {
  DEFAULT_ALLOWED_EXPIRY_ACTIONS,
  DEFAULT_ALLOWED_MODES,
  DEFAULT_ALLOWED_PROFILES,
  DEFAULT_MAX_SESSIONS_PER_POD,
  DEFAULT_MAX_TTL,
  DEFAULT_POLICY,
  DEFAULT_TTL,
  type DebugPolicy,
  type LabelSelector,
} from "../api/types.ts";

/** A label selector as kubectl writes one (`app=web,tier in (a,b),!canary`). */
export function selectorText(selector: LabelSelector): string {
  const labels = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  const expressions = (selector.matchExpressions ?? []).map((e) => {
    const values = `(${(e.values ?? []).join(",")})`;
    switch (e.operator) {
      case "In":
        return `${e.key} in ${values}`;
      case "NotIn":
        return `${e.key} notin ${values}`;
      case "Exists":
        return e.key;
      case "DoesNotExist":
        return `!${e.key}`;
    }
  });
  return [...labels, ...expressions].join(",");
}

const yesNo = (on: boolean | undefined): string => (on ? "yes" : "no");
const list = (items: readonly string[] | undefined, none: string): string =>
  items && items.length > 0 ? items.join(", ") : none;

export function policyLines(p: DebugPolicy): string[] {
  const s = p.spec;
  const selector = s.targetSelector;
  const targets =
    selector === undefined
      ? "no pod (targetSelector is not set)"
      : selectorText(selector) === ""
        ? "every pod of the namespace"
        : `pods with ${selectorText(selector)}`;
  const rows: [string, string][] = [
    ["targets", targets + (s.allowPrivilegedTargets ? ", privileged pods too" : "")],
    ["images", list(s.allowedImages, "none") + (s.requireDigest ? " (pinned by @sha256: digest)" : "")],
    ["profiles", list(s.allowedProfiles ?? DEFAULT_ALLOWED_PROFILES, "none")],
    ["ttl", `${s.defaultTTL ?? DEFAULT_TTL} by default, at most ${s.maxTTL ?? DEFAULT_MAX_TTL}`],
    ["privileged", yesNo(s.allowPrivileged)],
    ["capabilities", list(s.allowedCapabilities, "none beyond the profile's")],
    ["securityContext", s.allowSecurityContextOverrides ? "may loosen the profile" : "may only tighten the profile"],
    [
      "volumes",
      s.allowVolumeMounts
        ? `the pod's${s.allowSensitiveVolumes ? ", Secrets and tokens included" : ", no Secrets"}`
        : "no",
    ],
    ["env from Secrets", yesNo(s.allowSecretEnv)],
    [
      "removal",
      list(s.allowedExpiryActions ?? DEFAULT_ALLOWED_EXPIRY_ACTIONS, "none") +
        (s.defaultExpiryAction ? ` (${s.defaultExpiryAction} by default)` : ""),
    ],
    ["isolate", yesNo(s.allowIsolate)],
    ["modes", modes(p)],
    ["sessions per pod", String(s.maxSessionsPerPod ?? DEFAULT_MAX_SESSIONS_PER_POD)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const name = p.metadata.name ?? "?";
  const header =
    name === DEFAULT_POLICY ? `${name}  (sessions without --policy run under it)` : `${name}  (--policy ${name})`;
  return [header, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)];
}

/** Ephemeral and Copy as allowed, and what a copy may change. */
function modes(p: DebugPolicy): string {
  const allowed = p.spec.allowedModes ?? DEFAULT_ALLOWED_MODES;
  if (!allowed.includes("Copy")) return allowed.join(", ");
  const c = p.spec.copy ?? {};
  const may = [
    c.allowCommand ? "command" : "",
    c.allowImage ? "image" : "",
    c.allowSameNode ? "sameNode" : "",
    c.allowKeepProbes ? "keepProbes" : "",
  ].filter(Boolean);
  return `${allowed.join(", ")} (a copy may change: ${may.length ? may.join(", ") : "nothing"})`;
}

/** The whole answer: the usable policies in full, the others by name, and what to ask for when none. */
export function policiesReport(usable: DebugPolicy[], others: string[], namespace: string | undefined): string[] {
  const where = namespace === undefined ? "this namespace" : `namespace ${namespace}`;
  const lines: string[] = [];
  if (usable.length === 0) {
    lines.push(
      others.length === 0
        ? `No DebugPolicy in ${where}: no session can run here until one exists (ask its admins).`
        : `You may use none of the DebugPolicies in ${where}; ask for verb use on debugpolicies.debugging.dev (resourceNames: ${others.join(", ")}).`,
    );
  }
  for (const p of usable) lines.push(...policyLines(p), "");
  if (usable.length > 0 && others.length > 0) lines.push(`Not yours to use: ${others.join(", ")}`);
  while (lines.at(-1) === "") lines.pop();
  return lines;
}
