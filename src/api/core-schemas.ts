// Schemas for the core/v1 types a DebugSession passes to its ephemeral container. Only the fields
// an ephemeral container may have; structural, so the apiserver validates and prunes them.
import { arr, bool, int, obj, str, stringMap, type Schema } from "./schema.ts";

const NAME = "^[-._a-zA-Z][-._a-zA-Z0-9]*$";

const keyRef = (what: string): Schema =>
  obj(
    `Selects a key of a ${what} in the session's namespace.`,
    {
      name: str(`Name of the ${what}.`, { maxLength: 253 }),
      key: str(`The key to select.`, { maxLength: 253 }),
      optional: bool(`Whether the ${what} or its key must exist.`),
    },
    { required: ["key"] },
  );

export const envVar: Schema = obj(
  "An environment variable of the debugger.",
  {
    name: str("Name of the variable.", { pattern: NAME, maxLength: 256 }),
    value: str("Value of the variable. $(VAR_NAME) references are expanded as for any container.", {
      maxLength: 1024,
    }),
    valueFrom: obj("Source of the value. Secret references are denied unless the DebugPolicy allows them.", {
      secretKeyRef: keyRef("Secret"),
      configMapKeyRef: keyRef("ConfigMap"),
      fieldRef: obj(
        "Selects a field of the pod.",
        {
          apiVersion: str("Version of the schema the fieldPath is written in.", { maxLength: 64 }),
          fieldPath: str("Path of the field to select.", { maxLength: 256 }),
        },
        { required: ["fieldPath"] },
      ),
      resourceFieldRef: obj(
        "Selects a resource of a container.",
        {
          containerName: str("Container name.", { maxLength: 63 }),
          resource: str("Resource to select.", { maxLength: 64 }),
          divisor: str("Output format of the exposed resources.", { maxLength: 64 }),
        },
        { required: ["resource"] },
      ),
    }),
  },
  { required: ["name"] },
);

export const volumeMount: Schema = obj(
  "Mounts one of the target pod's existing volumes into the debugger.",
  {
    name: str("Name of a volume the pod already has.", { maxLength: 63 }),
    mountPath: str("Path in the debugger where the volume is mounted.", { maxLength: 512 }),
    subPath: str("Path within the volume to mount instead of its root.", { maxLength: 512 }),
    readOnly: bool("Mount read-only."),
  },
  { required: ["name", "mountPath"] },
);

const capability = str("A Linux capability, e.g. NET_ADMIN.", { maxLength: 64 });

export const securityContext: Schema = obj(
  "Security options of the debugger. The profile sets these as kubectl debug --profile does; " +
    "fields set here are applied on top, and the DebugPolicy decides what is allowed.",
  {
    privileged: bool("Run the debugger privileged. Denied unless the DebugPolicy allows it."),
    allowPrivilegeEscalation: bool("Whether a process can gain more privileges than its parent."),
    readOnlyRootFilesystem: bool("Mount the debugger's root filesystem read-only."),
    runAsUser: int("UID to run the debugger's entrypoint as.", { minimum: 0 }),
    runAsGroup: int("GID to run the debugger's entrypoint as.", { minimum: 0 }),
    runAsNonRoot: bool("Require the image to run as a non-root user."),
    procMount: str("Type of proc mount (Default or Unmasked).", { enum: ["Default", "Unmasked"] }),
    capabilities: obj("Capabilities to add or drop.", {
      add: arr("Capabilities to add. Each must be allowed by the DebugPolicy.", capability, { maxItems: 41 }),
      drop: arr("Capabilities to drop.", capability, { maxItems: 41 }),
    }),
    seccompProfile: obj(
      "The seccomp profile of the debugger.",
      {
        type: str("RuntimeDefault, Unconfined or Localhost.", {
          enum: ["RuntimeDefault", "Unconfined", "Localhost"],
        }),
        localhostProfile: str("Profile file on the node, for type Localhost.", { maxLength: 256 }),
      },
      { required: ["type"] },
    ),
    appArmorProfile: obj(
      "The AppArmor profile of the debugger.",
      {
        type: str("RuntimeDefault, Unconfined or Localhost.", {
          enum: ["RuntimeDefault", "Unconfined", "Localhost"],
        }),
        localhostProfile: str("Profile loaded on the node, for type Localhost.", { maxLength: 256 }),
      },
      { required: ["type"] },
    ),
    seLinuxOptions: obj("SELinux context of the debugger.", {
      user: str("SELinux user label.", { maxLength: 256 }),
      role: str("SELinux role label.", { maxLength: 256 }),
      type: str("SELinux type label.", { maxLength: 256 }),
      level: str("SELinux level label.", { maxLength: 256 }),
    }),
  },
);

const LABEL_KEY =
  "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$";

const labelSelectorRequirement = (maxValues: number): Schema =>
  obj(
    "One requirement on a pod label.",
    {
      key: str("The label key the requirement applies to.", { minLength: 1, maxLength: 317, pattern: LABEL_KEY }),
      operator: str(
        "In: the label exists and its value is one of values. NotIn: the label is absent or its value is not one of values. " +
          "Exists: the label exists. DoesNotExist: the label is absent.",
        { enum: ["In", "NotIn", "Exists", "DoesNotExist"] },
      ),
      values: arr(
        "Label values; required and non-empty for In and NotIn, must be empty for Exists and DoesNotExist.",
        str("A label value.", { maxLength: 63 }),
        { maxItems: maxValues },
      ),
    },
    {
      required: ["key", "operator"],
      "x-kubernetes-validations": [
        {
          rule: "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)",
          message: "values must be non-empty for In and NotIn and empty for Exists and DoesNotExist",
          fieldPath: ".values",
          reason: "FieldValueInvalid",
        },
      ],
    },
  );

/** A metav1.LabelSelector over pod labels, at most this large. */
export const labelSelector = (
  description: string,
  max: { labels: number; expressions: number; values: number } = { labels: 64, expressions: 32, values: 64 },
): Schema =>
  obj(
    description,
    {
      matchLabels: stringMap("Labels a pod must have with exactly these values.", max.labels),
      matchExpressions: arr("Further requirements on pod labels.", labelSelectorRequirement(max.values), {
        maxItems: max.expressions,
      }),
    },
    { "x-kubernetes-map-type": "atomic" },
  );
