// Every reason the operator writes into a condition or an Event, spelled once (cert-manager's
// constants.go). Tests, docs and people's alerts match on these words.
export const Reason = {
  // Before injection: the target.
  TargetPodNotFound: "TargetPodNotFound",
  TargetPodNotRunning: "TargetPodNotRunning",
  TargetPodFinished: "TargetPodFinished",
  TargetContainerNotFound: "TargetContainerNotFound",
  NoTargetPod: "NoTargetPod",
  NotAfterPassed: "NotAfterPassed",
  // Before injection, Copy mode: the copy.
  CopyCreated: "CopyCreated",
  CopyNotRunning: "CopyNotRunning",
  CopyFinished: "CopyFinished",
  CopyRefused: "CopyRefused",
  CopyNameTaken: "CopyNameTaken",
  SourcePodGone: "SourcePodGone",
  /** Copy mode: the copy would be less restricted by NetworkPolicies than its source (copy-network.ts). */
  CopyLessRestricted: "CopyLessRestricted",
  // spec.isolate and expiryAction Replace (plans-relabel.ts).
  Isolated: "Isolated",
  IsolationNotPossible: "IsolationNotPossible",
  Replacing: "Replacing",
  ReplaceNotPossible: "ReplaceNotPossible",
  // Before injection: access.
  RequesterUnknown: "RequesterUnknown",
  PolicyNotFound: "PolicyNotFound",
  PolicyUseForbidden: "PolicyUseForbidden",
  PolicyViolation: "PolicyViolation",
  // The injection and the debugger.
  Injected: "Injected",
  InjectionRefused: "InjectionRefused",
  NotInjected: "NotInjected",
  ContainerCreating: "ContainerCreating",
  Running: "Running",
  Waiting: "Waiting",
  DebuggerExited: "DebuggerExited",
  // The end.
  Expiring: "Expiring",
  EvictionBlocked: "EvictionBlocked",
  PodRemoved: "PodRemoved",
  TargetPodGone: "TargetPodGone",
  TargetPodReplaced: "TargetPodReplaced",
  // Events on the pod.
  DebuggerInjected: "DebuggerInjected",
  DebugSessionExpired: "DebugSessionExpired",
  DebugSessionDeleted: "DebugSessionDeleted",
  /** No session holds the tainted pod any more; it was removed at the expiry it records (orphans.ts). */
  OrphanedPodRemoved: "OrphanedPodRemoved",
  // Event on the session when it expires.
  Expired: "Expired",
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** Reasons of a denial by policy or RBAC: re-evaluated on every pass, since policies and roles change. */
export const DENIAL_REASONS: ReadonlySet<string> = new Set<Reason>([
  Reason.RequesterUnknown,
  Reason.PolicyNotFound,
  Reason.PolicyUseForbidden,
  Reason.PolicyViolation,
  // Services, NetworkPolicies and controllers change too.
  Reason.IsolationNotPossible,
  Reason.CopyLessRestricted,
]);

/** While the kubelet reports these, the debugger is only being created: nothing worth reporting yet. */
export const STARTING_REASONS: ReadonlySet<string> = new Set(["ContainerCreating", "PodInitializing"]);
