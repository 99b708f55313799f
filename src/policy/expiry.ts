// What a session asks to happen at expiry, once the policy's default fills in what it leaves unset.
import { DEFAULT_EXPIRY_ACTION, type DebugPolicy, type DebugSession, type ExpiryChoice } from "../api/types.ts";

export const expiryChoiceOf = (session: DebugSession, policy: DebugPolicy | undefined): ExpiryChoice =>
  session.spec.expiryAction ?? policy?.spec.defaultExpiryAction ?? DEFAULT_EXPIRY_ACTION;
