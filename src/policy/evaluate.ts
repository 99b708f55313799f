// Policy evaluation, the entry point of this layer: pure, every rule applied, every violation kept.
import {
  capabilitiesAreAllowed,
  expiryActionIsAllowed,
  imageIsAllowed,
  isolateIsAllowed,
  imageIsNamed,
  imageIsPinned,
  mountedVolumesExist,
  podHasRoomForSession,
  podIsSelected,
  policyGovernsSession,
  privilegedIsAllowed,
  profileIsAllowed,
  securityContextOnlyTightens,
  targetIsNotPrivileged,
  secretEnvIsAllowed,
  configMapEnvIsAllowed,
  copyImageIsAllowed,
  copyOptionsAreAllowed,
  modeIsAllowed,
  sensitiveVolumesAreAllowed,
  ttlIsWithinMaximum,
  volumeMountsAreAllowed,
} from "./checks.ts";
import type { PolicyCheck, PolicyInput, Violation } from "./violation.ts";

export { effectiveTTL } from "./ttl.ts";
export { matchImage } from "./image.ts";
export { matchesSelector } from "./selector.ts";
export type { PolicyCheck, PolicyInput, Violation } from "./violation.ts";

/** Every rule, in the order a person fixing a session would want to read the violations. */
export const POLICY_CHECKS: readonly PolicyCheck[] = [
  policyGovernsSession,
  modeIsAllowed,
  copyOptionsAreAllowed,
  copyImageIsAllowed,
  podIsSelected,
  targetIsNotPrivileged,
  imageIsNamed,
  imageIsAllowed,
  imageIsPinned,
  profileIsAllowed,
  privilegedIsAllowed,
  capabilitiesAreAllowed,
  securityContextOnlyTightens,
  volumeMountsAreAllowed,
  mountedVolumesExist,
  sensitiveVolumesAreAllowed,
  secretEnvIsAllowed,
  configMapEnvIsAllowed,
  ttlIsWithinMaximum,
  expiryActionIsAllowed,
  isolateIsAllowed,
  podHasRoomForSession,
];

/** All violations of the policy by the session; empty means allowed. */
export function evaluatePolicy(input: PolicyInput): Violation[] {
  return POLICY_CHECKS.map((check) => check(input)).filter((v): v is Violation => v !== undefined);
}
