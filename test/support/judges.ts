// The health judges of the tools GitOps users read, run for real on DebugSession objects, no cluster
// needed: kstatus and Flux's healthCheckExprs evaluator (Go, test/judges, built once by
// hack/build-judges.sh) and Argo CD's health script (config/gitops/argocd-health.lua, run by
// test/judges/argocd-run.lua under lua5.1 as Argo CD runs it).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const repoDir = fileURLToPath(new URL("../..", import.meta.url));
export const argoHealthScriptPath = `${repoDir}config/gitops/argocd-health.lua`;
export const argoConfigMapPath = `${repoDir}config/gitops/argocd-cm.yaml`;
export const fluxKustomizationPath = `${repoDir}config/gitops/flux-healthcheckexprs.yaml`;
const argoRunnerPath = `${repoDir}test/judges/argocd-run.lua`;

export type KstatusStatus = "InProgress" | "Failed" | "Current" | "Terminating" | "NotFound" | "Unknown";
export type ArgoHealth = "Healthy" | "Progressing" | "Degraded" | "Suspended" | "Missing" | "Unknown";

/** One judge's answer on one object. `error` is set when the tool could not decide (status is then Unknown). */
export interface Verdict<S extends string> {
  status: S;
  message: string;
  error?: string;
}

export interface Judgement {
  kstatus: Verdict<KstatusStatus>;
  flux: Verdict<KstatusStatus>;
  argo: Verdict<ArgoHealth>;
}

/** The DebugSession entry of the shipped Kustomization's spec.healthCheckExprs, as Flux reads it. */
export interface HealthCheckExprs {
  apiVersion: string;
  kind: string;
  current: string;
  inProgress?: string;
  failed?: string;
}

export function fluxHealthCheckExprs(): HealthCheckExprs {
  const kustomization = parse(readFileSync(fluxKustomizationPath, "utf8")) as {
    spec?: { healthCheckExprs?: HealthCheckExprs[] };
  };
  const entry = kustomization.spec?.healthCheckExprs?.find(
    (e) => e.apiVersion === "debugging.dev/v1alpha1" && e.kind === "DebugSession",
  );
  if (!entry) throw new Error(`${fluxKustomizationPath} has no healthCheckExprs entry for DebugSession`);
  return entry;
}

/** The Argo CD health script as the shipped argocd-cm snippet holds it. */
export function argoConfigMapScript(): string | undefined {
  const cm = parse(readFileSync(argoConfigMapPath, "utf8")) as { data?: Record<string, string> };
  return cm.data?.["resource.customizations.health.debugging.dev_DebugSession"];
}

function run(command: string, args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: "pipe" });
    const [stdout, stderr]: [Buffer[], Buffer[]] = [[], []];
    child.stdout.on("data", (d: Buffer) => stdout.push(d));
    child.stderr.on("data", (d: Buffer) => stderr.push(d));
    child.on("error", reject);
    child.stdin.on("error", () => undefined); // a judge that exits early: its exit code tells why
    child.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(stdout).toString());
      else reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${Buffer.concat(stderr).toString()}`));
    });
    child.stdin.end(input);
  });
}

// One build per test process; build-judges.sh itself serialises parallel processes on one machine.
let binDir: Promise<string> | undefined;
function judgesBinary(): Promise<string> {
  binDir ??= run(`${repoDir}hack/build-judges.sh`, [], "").then((out) => out.trim().split("\n").at(-1) ?? "");
  return binDir.then((dir) => `${dir}/judges`);
}

function verdicts<S extends string>(judge: string, out: string, count: number): Verdict<S>[] {
  const parsed: unknown = JSON.parse(out);
  const valid =
    Array.isArray(parsed) &&
    parsed.length === count &&
    parsed.every((v: unknown) => typeof v === "object" && v !== null && typeof (v as Verdict<S>).status === "string");
  if (!valid) throw new Error(`${judge} answered ${out.trim()} for ${count} objects`);
  return (parsed as Verdict<S>[]).map((v) => ({ ...v, message: v.message ?? "" }));
}

/** Runs an Argo CD health script (the shipped one unless told) on each object, as Argo CD would. */
export async function judgeArgo(objects: object[], script = argoHealthScriptPath): Promise<Verdict<ArgoHealth>[]> {
  const out = await run(process.env.LUA ?? "lua5.1", [argoRunnerPath, script], JSON.stringify(objects));
  return verdicts<ArgoHealth>("argo", out, objects.length);
}

/**
 * Asks kstatus, Flux (with the shipped healthCheckExprs) and Argo CD (with the shipped Lua) about
 * each object: one process per judge, all objects in one go.
 */
export async function judge(objects: object[]): Promise<Judgement[]> {
  const bin = await judgesBinary();
  const all = JSON.stringify(objects);
  const [kstatus, flux, argo] = await Promise.all([
    run(bin, ["kstatus"], all).then((out) => verdicts<KstatusStatus>("kstatus", out, objects.length)),
    run(bin, ["fluxcel"], JSON.stringify({ exprs: fluxHealthCheckExprs(), objects })).then((out) =>
      verdicts<KstatusStatus>("flux", out, objects.length),
    ),
    judgeArgo(objects),
  ]);
  return objects.map((_, i) => ({ kstatus: kstatus[i]!, flux: flux[i]!, argo: argo[i]! }));
}
