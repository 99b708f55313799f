// The DebugSession `kubectl dbg POD ...` creates: only what the user chose, so the CRD's and the
// policy's defaults apply to everything else, as they would to a session written by hand.
import { API_VERSION, SESSION_KIND, type DebugSession, type DebugSessionSpec } from "../api/types.ts";
import type { CreateOptions, Target } from "./args.ts";

export function sessionManifest(o: CreateOptions, name: string, namespace: string | undefined): DebugSession {
  const spec: DebugSessionSpec = { ...targetFields(o.target), image: o.image };
  if (o.targetContainer !== undefined) spec.targetContainer = o.targetContainer;
  if (o.imagePullPolicy !== undefined) spec.imagePullPolicy = o.imagePullPolicy;
  spec.command = o.command;
  if (o.env.length > 0) spec.env = o.env;
  if (o.stdin) spec.stdin = true;
  if (o.tty) spec.tty = true;
  if (o.profile !== undefined) spec.profile = o.profile;
  if (o.ttl !== undefined) spec.ttl = o.ttl;
  if (o.expiryAction !== undefined) spec.expiryAction = o.expiryAction;
  if (o.copy !== undefined) {
    spec.mode = "Copy";
    if (Object.keys(o.copy).length > 0) spec.copy = o.copy;
  }
  if (o.isolate) spec.isolate = true;
  if (o.reason !== undefined) spec.reason = o.reason;
  if (o.policy !== undefined) spec.policy = o.policy;
  return {
    apiVersion: API_VERSION,
    kind: SESSION_KIND,
    metadata: namespace === undefined ? { name } : { name, namespace },
    spec,
  };
}

function targetFields(target: Target): Pick<DebugSessionSpec, "targetPod" | "targetRef"> {
  return "pod" in target ? { targetPod: target.pod } : { targetRef: { ...target.ref } };
}

/** The name the target goes by: the pod's, or the workload's. */
export const targetName = (target: Target): string => ("pod" in target ? target.pod : target.ref.name);

/** What the apiserver's generateName uses: no vowels (no words), no 0/1/3 (no l33t). */
const ALPHABET = "bcdfghjklmnpqrstvwxz2456789";
const SUFFIX = 5;
/** Leaves room for "dbg-", "-" and the suffix within 63 characters, the most a label value holds. */
const MAX_BASE = 63 - "dbg-".length - 1 - SUFFIX;

/** dbg-<target>-<5 random characters>; `random` returns a number in [0, 1), as Math.random. */
export function generatedName(target: Target, random: () => number = Math.random): string {
  const base = targetName(target)
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, MAX_BASE)
    .replace(/-+$/, "");
  let suffix = "";
  for (let i = 0; i < SUFFIX; i++) suffix += ALPHABET[Math.floor(random() * ALPHABET.length)] ?? "x";
  return `dbg-${base}-${suffix}`;
}
