// A few constructors for OpenAPI v3 (structural) schemas, so the CRD source reads like the API.
// Every property carries a description: `kubectl explain` shows it.

export interface Validation {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
}

export interface Schema {
  type?: "object" | "array" | "string" | "integer" | "boolean";
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: readonly string[];
  default?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  maxProperties?: number;
  additionalProperties?: Schema;
  nullable?: boolean;
  "x-kubernetes-validations"?: Validation[];
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-map-type"?: "atomic" | "granular";
}

type Extra = Omit<Schema, "type" | "description">;

export const str = (description: string, extra: Extra = {}): Schema => ({
  type: "string",
  description,
  maxLength: 1024,
  ...extra,
});

export const int = (description: string, extra: Extra = {}): Schema => ({
  type: "integer",
  description,
  ...extra,
});

export const bool = (description: string, extra: Extra = {}): Schema => ({
  type: "boolean",
  description,
  ...extra,
});

export const obj = (description: string, properties: Record<string, Schema>, extra: Extra = {}): Schema => ({
  type: "object",
  description,
  properties,
  ...extra,
});

export const arr = (description: string, items: Schema, extra: Extra = {}): Schema => ({
  type: "array",
  description,
  items,
  maxItems: 64,
  "x-kubernetes-list-type": "atomic",
  ...extra,
});

export const stringMap = (description: string, maxProperties = 64): Schema => ({
  type: "object",
  description,
  additionalProperties: { type: "string", maxLength: 1024 },
  maxProperties,
});

export interface PrinterColumn {
  name: string;
  type: "string" | "date" | "boolean" | "integer";
  jsonPath: string;
}

export interface CRDSource {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  printerColumns: PrinterColumn[];
  spec: Schema;
  status?: Schema;
}

/** A namespaced, single-version CustomResourceDefinition with a structural schema. */
export function namespacedCRD(c: CRDSource): Record<string, unknown> {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${c.plural}.${c.group}` },
    spec: {
      group: c.group,
      names: {
        kind: c.kind,
        listKind: `${c.kind}List`,
        plural: c.plural,
        singular: c.singular,
        shortNames: c.shortNames,
        categories: ["debugging"],
      },
      scope: "Namespaced",
      versions: [
        {
          name: c.version,
          served: true,
          storage: true,
          ...(c.status ? { subresources: { status: {} } } : {}),
          additionalPrinterColumns: c.printerColumns,
          schema: {
            openAPIV3Schema: obj(
              c.description,
              {
                apiVersion: str("APIVersion of this object.", { maxLength: 64 }),
                kind: str("Kind of this object.", { maxLength: 64 }),
                metadata: { type: "object" },
                spec: c.spec,
                ...(c.status ? { status: c.status } : {}),
              },
              { required: ["spec"] },
            ),
          },
        },
      ],
    },
  };
}
