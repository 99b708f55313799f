// metav1.LabelSelector semantics, failing closed where the apiserver would call a selector invalid.
import type { LabelSelector, LabelSelectorRequirement } from "../api/types.ts";

function requirementHolds(r: LabelSelectorRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const values = r.values ?? [];
  switch (r.operator) {
    case "In":
      return values.length > 0 && has && values.includes(labels[r.key] ?? "");
    case "NotIn":
      return values.length > 0 && (!has || !values.includes(labels[r.key] ?? ""));
    case "Exists":
      return values.length === 0 && has;
    case "DoesNotExist":
      return values.length === 0 && !has;
    default:
      // An operator the schema does not know (an object that skipped validation) selects nothing.
      return false;
  }
}

/**
 * Whether labels satisfy the selector. An absent selector selects nothing (a policy without
 * targetSelector allows no pod); an empty one (`{}`) selects everything.
 */
export function matchesSelector(
  selector: LabelSelector | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return false;
  const have = labels ?? {};
  const labelsMatch = Object.entries(selector.matchLabels ?? {}).every(
    ([k, v]) => Object.hasOwn(have, k) && have[k] === v,
  );
  return labelsMatch && (selector.matchExpressions ?? []).every((r) => requirementHolds(r, have));
}

/**
 * The selector in the apiserver's labelSelector syntax (`app=web,tier in (a,b),!canary`): "" selects
 * everything. undefined for an operator the syntax has no word for (the object skipped validation).
 */
export function selectorQuery(selector: LabelSelector): string | undefined {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const r of selector.matchExpressions ?? []) {
    const op: string = r.operator;
    const values = (r.values ?? []).join(",");
    if (op === "In") parts.push(`${r.key} in (${values})`);
    else if (op === "NotIn") parts.push(`${r.key} notin (${values})`);
    else if (op === "Exists") parts.push(r.key);
    else if (op === "DoesNotExist") parts.push(`!${r.key}`);
    else return undefined;
  }
  return parts.join(",");
}

/** The selector as kubectl would print it (`app=web,tier in (a,b)`), for messages. */
export function formatSelector(selector: LabelSelector | undefined): string {
  if (!selector) return "<none: selects no pod>";
  const query = selectorQuery(selector);
  if (query === undefined) return "<an operator Kubernetes does not know>";
  return query || "<everything>";
}
