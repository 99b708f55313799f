// Workloads and sessions the e2e suites create.
import { kubectlOk, testImage, waitFor } from "./kube.ts";

export interface SessionOptions {
  targetPod: string;
  targetContainer?: string;
  ttl?: string;
  expiryAction?: "Evict" | "Delete" | "Replace";
  command?: string[];
  interactive?: boolean;
  isolate?: boolean;
  policy?: string;
}

export function sessionYaml(name: string, o: SessionOptions): string {
  const lines = [
    "apiVersion: debugging.dev/v1alpha1",
    "kind: DebugSession",
    `metadata: {name: ${name}}`,
    "spec:",
    `  targetPod: ${o.targetPod}`,
    `  image: ${testImage}`,
    "  imagePullPolicy: IfNotPresent",
  ];
  if (o.targetContainer) lines.push(`  targetContainer: ${o.targetContainer}`);
  if (o.ttl) lines.push(`  ttl: ${o.ttl}`);
  if (o.expiryAction) lines.push(`  expiryAction: ${o.expiryAction}`);
  if (o.command) lines.push(`  command: ${JSON.stringify(o.command)}`);
  if (o.interactive ?? true) lines.push("  stdin: true", "  tty: true");
  if (o.isolate !== undefined) lines.push(`  isolate: ${o.isolate}`);
  if (o.policy) lines.push(`  policy: ${o.policy}`);
  return lines.join("\n") + "\n";
}

export function applySession(ns: string, name: string, o: SessionOptions): void {
  kubectlOk(["apply", "-n", ns, "-f", "-"], { input: sessionYaml(name, o) });
}

/** A Deployment of one busybox httpd pod that stops quickly (PID 1 ignores SIGTERM, so a short grace). */
export function createWebDeployment(ns: string, name = "web", replicas = 1): void {
  kubectlOk(["apply", "-n", ns, "-f", "-"], {
    input: `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: ${testImage}
        imagePullPolicy: IfNotPresent
        command: [httpd, -f, -p, "8080"]
`,
  });
  kubectlOk(["-n", ns, "rollout", "status", `deployment/${name}`, "--timeout=120s"]);
}

export interface PodRef {
  name: string;
  uid: string;
}

export function runningPods(ns: string, app: string): PodRef[] {
  const out = kubectlOk([
    "-n",
    ns,
    "get",
    "pods",
    "-l",
    `app=${app}`,
    "-o",
    'jsonpath={range .items[*]}{.metadata.name} {.metadata.uid} {.status.phase} {.metadata.deletionTimestamp}{"\\n"}{end}',
  ]);
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 3 && f[2] === "Running")
    .map(([name, uid]) => ({ name: name!, uid: uid! }));
}

/** A bare busybox httpd pod (no controller), Ready on return; `spec` is merged into its pod spec (hostPID, labels not). */
export function createBarePod(ns: string, name: string, spec: Record<string, unknown> = {}): void {
  kubectlOk([
    "-n",
    ns,
    "run",
    name,
    `--image=${testImage}`,
    "--image-pull-policy=IfNotPresent",
    "--restart=Never",
    "--overrides",
    JSON.stringify({ spec: { terminationGracePeriodSeconds: 1, ...spec } }),
    "--",
    "httpd",
    "-f",
    "-p",
    "8080",
  ]);
  kubectlOk(["-n", ns, "wait", "--for=condition=Ready", `pod/${name}`, "--timeout=120s"]);
}

export interface SessionView {
  phase?: string;
  pod?: string;
  containerName?: string;
  expiresAt?: string;
  injectedAt?: string;
  targetPodUID?: string;
  containerState?: { state?: string; exitCode?: number; reason?: string };
  conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
  attachCommand?: string;
  message?: string;
}

export function sessionStatus(ns: string, name: string): SessionView {
  const out = kubectlOk(["-n", ns, "get", "dbg", name, "-o", "jsonpath={.status}"]);
  return out ? (JSON.parse(out) as SessionView) : {};
}

/** The session's status once its phase is `phase` (kubectl get, polled by waitFor). */
export function sessionInPhase(ns: string, name: string, phase: string, timeoutMs = 30_000): Promise<SessionView> {
  return waitFor(
    () => {
      const s = sessionStatus(ns, name);
      return s.phase === phase ? s : undefined;
    },
    timeoutMs,
    `${name} in phase ${phase}`,
  );
}

export function podJson(
  ns: string,
  name: string,
):
  | {
      metadata: { uid: string; labels?: Record<string, string>; deletionTimestamp?: string };
      spec: { ephemeralContainers?: Array<{ name: string }> };
    }
  | undefined {
  const r = kubectlOk(["-n", ns, "get", "pod", name, "--ignore-not-found", "-o", "json"]);
  return r.trim() ? (JSON.parse(r) as ReturnType<typeof podJson>) : undefined;
}

/** A RoleBinding of `role` (a ClusterRole, or a Role of the namespace) to one user, as a YAML document. */
export function userRoleBinding(
  name: string,
  user: string,
  role: string,
  kind: "ClusterRole" | "Role" = "ClusterRole",
): string {
  return `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ${name}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ${kind}, name: ${role}}
subjects: [{kind: User, name: ${user}, apiGroup: rbac.authorization.k8s.io}]
`;
}
