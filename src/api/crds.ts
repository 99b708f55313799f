import { stringify } from "yaml";
import { debugPolicyCRD } from "./debugpolicy-crd.ts";
import { debugSessionCRD } from "./debugsession-crd.ts";
import { debugSessionRecordCRD } from "./debugsessionrecord-crd.ts";

const HEADER = "# Generated from src/api by `make generate`. Do not edit.\n";

const render = (crd: Record<string, unknown>): string => HEADER + stringify(crd, { lineWidth: 0 });

/** Every generated CRD file: path relative to the repository, and its text. */
export function crdFiles(): Array<[string, string]> {
  return [
    ["crds/debugging.dev_debugsessions.yaml", render(debugSessionCRD())],
    ["crds/debugging.dev_debugpolicies.yaml", render(debugPolicyCRD())],
    ["crds/debugging.dev_debugsessionrecords.yaml", render(debugSessionRecordCRD())],
  ];
}
