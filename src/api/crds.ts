import { stringify } from "yaml";
import { debugSessionCRD } from "./debugsession-crd.ts";

const HEADER = "# Generated from src/api by `make generate`. Do not edit.\n";

/** Every generated CRD file: path relative to the repository, and its text. */
export function crdFiles(): Array<[string, string]> {
  return [["crds/debugging.dev_debugsessions.yaml", HEADER + stringify(debugSessionCRD(), { lineWidth: 0 })]];
}
