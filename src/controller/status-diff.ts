// The JSON merge patch (RFC 7386) that turns one status into another, or undefined when they are
// equal, so status is written only when it changed.
import { isDeepStrictEqual } from "node:util";
import type { DebugSessionStatus } from "../api/types.ts";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Merge patches merge nested objects, so keys that disappear must be sent as null, at any depth. */
export function mergePatchDiff(cur: Json, next: Json): Json | undefined {
  const patch: Json = {};
  for (const key of new Set([...Object.keys(cur), ...Object.keys(next)])) {
    const a = cur[key];
    const b = next[key];
    if (isDeepStrictEqual(a, b)) continue;
    if (b === undefined) patch[key] = null;
    else if (isObject(a) && isObject(b)) patch[key] = mergePatchDiff(a, b) ?? {};
    else patch[key] = b;
  }
  return Object.keys(patch).length ? patch : undefined;
}

export function statusPatch(current: DebugSessionStatus | undefined, wanted: DebugSessionStatus): Json | undefined {
  return mergePatchDiff((current ?? {}) as Json, wanted as Json);
}
