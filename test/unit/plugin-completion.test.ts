import { describe, expect, it } from "vitest";
import type { DebugPolicy } from "../../src/api/types.ts";
import type { KubectlFlags } from "../../src/plugin/args.ts";
import {
  NO_FILE_COMP,
  NO_SPACE,
  complete,
  completionOutput,
  type Lookup,
  type Lookups,
} from "../../src/plugin/completion.ts";
import { helpText } from "../../src/plugin/help.ts";
import { policiesReport, policyLines, selectorText } from "../../src/plugin/policies.ts";

const CLUSTER: Record<string, string[]> = {
  pods: ["web-1", "web-2", "db-0"],
  sessions: ["dbg-web-1-bcdfg", "dbg-db-0-hjklm"],
  policies: ["default", "netadmin"],
  namespaces: ["default", "shop"],
  contexts: ["kind", "prod"],
  "workloads:Deployment": ["web", "db"],
  "workloads:StatefulSet": ["db"],
};

/** A cluster of fixed names; records each lookup with the kubectl flags it was made with. */
function cluster(): { lookups: [Lookup, KubectlFlags][]; lookup: Lookups } {
  const lookups: [Lookup, KubectlFlags][] = [];
  return {
    lookups,
    lookup: (l, flags) => {
      lookups.push([l, flags]);
      return Promise.resolve(CLUSTER[l.what === "workloads" ? `workloads:${l.kind}` : l.what] ?? []);
    },
  };
}
const values = async (...words: string[]): Promise<string[]> =>
  (await complete(words, cluster().lookup)).values.map((v) => v.split("\t")[0] ?? "");

describe("complete (kubectl_complete-dbg WORDS... CURRENT)", () => {
  it("offers subcommands, KIND/ prefixes and pods for the first word", async () => {
    expect(await values("")).toEqual([
      "list",
      "attach",
      "logs",
      "extend",
      "end",
      "policies",
      "help",
      "pod/",
      "deployment/",
      "statefulset/",
      "replicaset/",
      "daemonset/",
      "job/",
      "web-1",
      "web-2",
      "db-0",
    ]);
    expect(await values("we")).toEqual(["web-1", "web-2"]);
    expect(await values("d")).toEqual(["deployment/", "daemonset/", "db-0"]);
    expect(await values("e")).toEqual(["extend", "end"]);
  });

  it("describes subcommands and flags after a tab, as cobra shows them", async () => {
    const c = await complete(["li"], cluster().lookup);
    expect(c.values).toEqual(["list\tlist sessions"]);
    expect((await complete(["--ima"], cluster().lookup)).values[0]).toMatch(/^--image\tdebugger image$/);
  });

  it("completes workload names after KIND/, keeping the kind as typed, with no space after a lone KIND/", async () => {
    expect(await values("deploy/")).toEqual(["deploy/web", "deploy/db"]);
    expect(await values("deployment/w")).toEqual(["deployment/web"]);
    expect(await values("sts/")).toEqual(["sts/db"]);
    expect(await values("pod/w")).toEqual(["pod/web-1", "pod/web-2"]);
    expect(await values("svc/")).toEqual([]);
    const lone = await complete(["dep"], cluster().lookup);
    expect(lone).toEqual({ values: ["deployment/"], directive: NO_FILE_COMP | NO_SPACE });
  });

  it.each(["attach", "logs", "extend", "end"])(
    "offers session names after %s, and nothing after the name",
    async (sub) => {
      expect(await values(sub, "dbg-w")).toEqual(["dbg-web-1-bcdfg"]);
      expect(await values(sub, "dbg-web-1-bcdfg", "")).toEqual([]);
    },
  );

  it("completes the flags of the subcommand at hand, leaving out those already given", async () => {
    expect(await values("list", "-")).toEqual([
      "--output",
      "-o",
      "--all-namespaces",
      "-A",
      "--namespace",
      "-n",
      "--context",
      "--kubeconfig",
      "--as",
      "--as-group",
      "--request-timeout",
      "--help",
      "-h",
    ]);
    expect(await values("web", "--ttl", "1h", "--t")).toEqual(["--tty", "--timeout"]);
    expect(await values("web", "--env", "A=1", "--en")).toEqual(["--env"]);
  });

  it.each([
    { words: ["web", "--profile", ""], want: ["general", "baseline", "restricted", "netadmin", "sysadmin"] },
    { words: ["web", "--profile=n"], want: ["netadmin"] },
    { words: ["web", "--image-pull-policy", "I"], want: ["IfNotPresent"] },
    { words: ["web", "--expiry-action", ""], want: ["Evict", "Delete", "Replace"] },
    { words: ["web", "--dry-run", "c"], want: ["client"] },
    { words: ["web", "--dry-run=client", "-o", ""], want: ["yaml", "json"] },
    { words: ["list", "-o", ""], want: ["wide", "yaml", "json", "name"] },
    { words: ["web", "--policy", ""], want: ["default", "netadmin"] },
    { words: ["-n", "s"], want: ["shop"] },
    { words: ["--namespace=s"], want: ["shop"] },
    { words: ["--context", ""], want: ["kind", "prod"] },
    { words: ["web", "--reason", ""], want: [] },
    { words: ["web", "--", ""], want: [] },
    { words: ["web", "--", "ps", "-"], want: [] },
  ])("completes $words", async ({ words, want }) => {
    expect(await values(...words)).toEqual(want);
  });

  it("lets the shell complete a file for --kubeconfig (directive 0)", async () => {
    expect(await complete(["--kubeconfig", ""], cluster().lookup)).toEqual({ values: [], directive: 0 });
  });

  it("looks names up with the kubectl flags typed so far", async () => {
    const c = cluster();
    await complete(["-n", "shop", "--context", "prod", "--as", "alice", "attach", ""], c.lookup);
    expect(c.lookups).toEqual([
      [{ what: "sessions" }, { namespace: "shop", context: "prod", as: "alice", asGroups: [] }],
    ]);
  });

  it("prints one value per line and the directive last, as kubectl reads it", () => {
    expect(completionOutput({ values: ["a\tthe a", "b"], directive: 4 })).toBe("a\tthe a\nb\n:4\n");
    expect(completionOutput({ values: [], directive: 0 })).toBe(":0\n");
  });
});

describe("help", () => {
  it("lists, for each subcommand, its own flags and kubectl's", () => {
    const create = helpText("create");
    expect(create).toContain("kubectl dbg POD|KIND/NAME");
    expect(create).toContain("--dry-run=client -o yaml");
    expect(create).toContain("--image IMAGE");
    expect(create).toContain("(default busybox:1.36)");
    expect(create).toContain("--as-group GROUP");
    expect(create).toContain("Ctrl-P Ctrl-Q");
    const list = helpText("list");
    expect(list).toContain("--all-namespaces");
    expect(list).not.toContain("--image");
  });

  it("keeps within 120 columns", () => {
    for (const sub of ["create", "list", "attach", "logs", "extend", "end", "policies"] as const) {
      for (const line of helpText(sub).split("\n")) expect(line.length, line).toBeLessThanOrEqual(120);
    }
  });
});

describe("policies", () => {
  const policy = (name: string, spec: Partial<DebugPolicy["spec"]>): DebugPolicy => ({
    apiVersion: "debugging.dev/v1alpha1",
    kind: "DebugPolicy",
    metadata: { name, namespace: "shop" },
    spec: { allowedImages: [], ...spec },
  });

  it("writes selectors as kubectl does", () => {
    expect(
      selectorText({
        matchLabels: { app: "web" },
        matchExpressions: [
          { key: "tier", operator: "In", values: ["a", "b"] },
          { key: "zone", operator: "NotIn", values: ["x"] },
          { key: "debuggable", operator: "Exists" },
          { key: "canary", operator: "DoesNotExist" },
        ],
      }),
    ).toBe("app=web,tier in (a,b),zone notin (x),debuggable,!canary");
  });

  it("says what a policy allows, with the CRD's defaults for what it leaves out", () => {
    expect(
      policyLines(policy("default", { targetSelector: { matchLabels: { app: "web" } }, allowedImages: ["busybox:*"] })),
    ).toEqual([
      "default  (sessions without --policy run under it)",
      "  targets           pods with app=web",
      "  images            busybox:*",
      "  profiles          general, baseline, restricted",
      "  ttl               30m by default, at most 2h",
      "  privileged        no",
      "  capabilities      none beyond the profile's",
      "  securityContext   may only tighten the profile",
      "  volumes           no",
      "  env from Secrets  no",
      "  removal           Evict, Delete, Replace",
      "  isolate           no",
      "  modes             Ephemeral",
      "  sessions per pod  1",
    ]);
    const loose = policyLines(
      policy("ops", {
        targetSelector: {},
        allowedImages: ["**"],
        requireDigest: true,
        allowedProfiles: ["sysadmin"],
        allowPrivileged: true,
        allowedCapabilities: ["SYS_ADMIN"],
        allowVolumeMounts: true,
        allowSensitiveVolumes: true,
        allowSecretEnv: true,
        allowSecurityContextOverrides: true,
        allowPrivilegedTargets: true,
        allowedExpiryActions: ["Delete", "Replace"],
        defaultExpiryAction: "Replace",
        allowIsolate: true,
        allowedModes: ["Ephemeral", "Copy"],
        copy: { allowCommand: true },
        defaultTTL: "1h",
        maxTTL: "8h",
        maxSessionsPerPod: 3,
      }),
    );
    expect(loose).toEqual([
      "ops  (--policy ops)",
      "  targets           every pod of the namespace, privileged pods too",
      "  images            ** (pinned by @sha256: digest)",
      "  profiles          sysadmin",
      "  ttl               1h by default, at most 8h",
      "  privileged        yes",
      "  capabilities      SYS_ADMIN",
      "  securityContext   may loosen the profile",
      "  volumes           the pod's, Secrets and tokens included",
      "  env from Secrets  yes",
      "  removal           Delete, Replace (Replace by default)",
      "  isolate           yes",
      "  modes             Ephemeral, Copy (a copy may change: command)",
      "  sessions per pod  3",
    ]);
    expect(policyLines(policy("none", {}))[1]).toBe("  targets           no pod (targetSelector is not set)");
  });

  it("names the policies the caller may not use, and what to ask for when none is usable", () => {
    const p = policy("default", {});
    expect(policiesReport([p], ["netadmin"], "shop").at(-1)).toBe("Not yours to use: netadmin");
    expect(policiesReport([], ["default", "netadmin"], "shop")).toEqual([
      "You may use none of the DebugPolicies in namespace shop; ask for verb use on debugpolicies.debugging.dev (resourceNames: default, netadmin).",
    ]);
    expect(policiesReport([], [], undefined)).toEqual([
      "No DebugPolicy in this namespace: no session can run here until one exists (ask its admins).",
    ]);
  });
});
