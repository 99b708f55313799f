import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { crdFiles } from "../../src/api/crds.ts";
import { debugSessionCRD } from "../../src/api/debugsession-crd.ts";
import type { Schema } from "../../src/api/schema.ts";
import type { DebugSessionSpec, DebugSessionStatus } from "../../src/api/types.ts";

const REPO_ROOT = new URL("../../", import.meta.url);

interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
}
/** The part of the CRD object these tests read; debugSessionCRD() returns it untyped. */
interface CRDShape {
  spec: {
    names: { kind: string; shortNames?: string[] };
    versions: Array<{ name: string; additionalPrinterColumns?: PrinterColumn[]; schema: { openAPIV3Schema: Schema } }>;
  };
}

const crd = debugSessionCRD() as unknown as CRDShape;
const version = crd.spec.versions[0]!;
const root = version.schema.openAPIV3Schema;
const specSchema = root.properties?.spec as Schema;
const statusSchema = root.properties?.status as Schema;

/** Every property below a schema, as [path, schema], through objects, array items and maps. */
function properties(schema: Schema, path: string): Array<[string, Schema]> {
  const out: Array<[string, Schema]> = [];
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    out.push([`${path}.${key}`, child], ...properties(child, `${path}.${key}`));
  }
  if (schema.items) out.push(...properties(schema.items, `${path}[]`));
  if (schema.additionalProperties) out.push(...properties(schema.additionalProperties, `${path}{}`));
  return out;
}

describe("generated CRD files", () => {
  it.each(crdFiles())("%s is up to date", (path, text) => {
    const file = new URL(path, REPO_ROOT);
    expect(existsSync(file), `${path} is missing: run \`make generate\``).toBe(true);
    expect(readFileSync(file, "utf8"), `${path} differs from src/api: run \`make generate\``).toBe(text);
  });

  it("generates at least the DebugSession CRD", () => {
    expect(crdFiles().map(([p]) => p)).toContain("crds/debugging.dev_debugsessions.yaml");
  });
});

describe("DebugSession schema", () => {
  it("has no field an ephemeral container may not have anywhere under spec", () => {
    const forbidden = new Set(["ports", "resources", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle"]);
    const found = properties(specSchema, "spec")
      .map(([p]) => p)
      .filter((p) =>
        forbidden.has(
          p
            .split(/[.[\]{}]+/)
            .filter(Boolean)
            .at(-1) ?? "",
        ),
      );
    expect(found).toEqual([]);
  });

  it("describes every property in spec and status (kubectl explain shows them)", () => {
    const all = [...properties(specSchema, "spec"), ...properties(statusSchema, "status")];
    // Guard against a walker that sees nothing: nested paths must be among those visited.
    expect(all.map(([p]) => p)).toEqual(
      expect.arrayContaining([
        "spec.securityContext.capabilities.add",
        "spec.env[].valueFrom.secretKeyRef.key",
        "status.conditions[].lastTransitionTime",
        "status.containerState.exitCode",
      ]),
    );
    const undocumented = all
      .filter(([, s]) => typeof s.description !== "string" || s.description.trim() === "")
      .map(([p]) => p);
    expect(undocumented).toEqual([]);
    expect(specSchema.description).toBeTruthy();
    expect(statusSchema.description).toBeTruthy();
  });

  it("requires an image (the target is one of three fields, a CEL rule says which)", () => {
    expect(specSchema.required).toEqual(["image"]);
    expect(root.required).toContain("spec");
  });

  it("has exactly the spec and status fields the TypeScript types have", () => {
    const specFields = {
      targetPod: true,
      targetRef: true,
      targetSelector: true,
      notAfter: true,
      targetContainer: true,
      image: true,
      imagePullPolicy: true,
      command: true,
      args: true,
      env: true,
      workingDir: true,
      stdin: true,
      tty: true,
      volumeMounts: true,
      securityContext: true,
      profile: true,
      ttl: true,
      expiryAction: true,
      reason: true,
      policy: true,
      ttlSecondsAfterFinished: true,
      mode: true,
      copy: true,
      isolate: true,
    } satisfies Record<keyof DebugSessionSpec, true>;
    const statusFields = {
      phase: true,
      pod: true,
      attachRole: true,
      conditions: true,
      observedGeneration: true,
      targetPodUID: true,
      containerName: true,
      injectedAt: true,
      expiresAt: true,
      attachCommand: true,
      containerState: true,
      requestedBy: true,
      message: true,
      endedAt: true,
      sourcePod: true,
    } satisfies Record<keyof DebugSessionStatus, true>;
    expect(Object.keys(specSchema.properties ?? {}).sort()).toEqual(Object.keys(specFields).sort());
    expect(Object.keys(statusSchema.properties ?? {}).sort()).toEqual(Object.keys(statusFields).sort());
  });

  it("shows Pod, Container, Phase, Expires and Age in kubectl get", () => {
    expect(version.additionalPrinterColumns?.map((c) => c.name)).toEqual([
      "Pod",
      "Container",
      "Phase",
      "Requester",
      "Expires",
      "Age",
    ]);
  });

  it("has the short name dbg", () => {
    expect(crd.spec.names.shortNames).toContain("dbg");
    expect(crd.spec.names.kind).toBe("DebugSession");
  });
});

/**
 * The most characters a value of the schema can take as JSON: strings at maxLength, arrays at
 * maxItems, objects with every property, maps at maxProperties with 253-character keys. Unbounded:
 * Infinity. (Each string counts its own characters plus quotes; separators are ignored.)
 */
function worstCaseChars(s: Schema): number {
  switch (s.type) {
    case "string":
      return s.enum ? Math.max(...s.enum.map((e) => e.length)) + 2 : (s.maxLength ?? Infinity) + 2;
    case "integer":
      return 20;
    case "boolean":
      return 5;
    case "array":
      return (s.maxItems ?? Infinity) * worstCaseChars(s.items ?? {});
    case "object": {
      const props = Object.entries(s.properties ?? {}).reduce((n, [k, v]) => n + k.length + 2 + worstCaseChars(v), 0);
      const map = s.additionalProperties
        ? (s.maxProperties ?? Infinity) * (255 + worstCaseChars(s.additionalProperties))
        : 0;
      return props + map;
    }
    default:
      return Infinity;
  }
}

describe("the size of one DebugSession", () => {
  // Every session lives in the operator's cache, and a namespace may hold many (docs/security.md).
  it("bounds the spec a requester writes to 200 KiB, whatever the fields hold (it was ~850 KiB)", () => {
    const chars = worstCaseChars(specSchema);
    expect(chars).toBeLessThan(200 * 1024);
    expect(chars).toBeGreaterThan(100 * 1024); // the walk reached the large fields
  });
});
