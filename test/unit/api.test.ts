import type { V1SecurityContext } from "@kubernetes/client-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../src/api/duration.ts";
import type { DebugSession, DebugSessionSpec, Profile } from "../../src/api/types.ts";
import {
  attachCommand,
  ephemeralContainer,
  ephemeralContainerName,
  sessionLabelValue,
} from "../../src/controller/container.ts";
import { effectiveSecurityContext, profileSecurityContext } from "../../src/api/profiles.ts";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function session(
  o: { name?: string; uid?: string; namespace?: string; spec?: Partial<DebugSessionSpec> } = {},
): DebugSession {
  return {
    apiVersion: "debugging.dev/v1alpha1",
    kind: "DebugSession",
    metadata: {
      name: o.name ?? "debug-web",
      namespace: o.namespace ?? "shop",
      uid: o.uid ?? "0b6f7c2e-1111-4a5b-8c9d-0123456789ab",
    },
    spec: { targetPod: "web-0", image: "busybox:1.36", ...o.spec },
  };
}

describe("parseDuration", () => {
  it.each<[string, number | undefined]>([
    ["30m", 1_800_000],
    ["1h30m", 5_400_000],
    ["90s", 90_000],
    ["1.5h", 5_400_000],
    ["500ms", 500],
    ["2h45m30s", 9_930_000],
    ["1m0.5s", 60_500],
    ["24h", 86_400_000],
    ["abc", undefined],
    ["", undefined],
    ["1x", undefined],
    ["30", undefined],
    ["1h 30m", undefined],
    ["-1m", undefined],
    ["1m1", undefined],
    ["h", undefined],
    [" 30m", undefined],
  ])("parseDuration(%j) is %j", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it("gives the same answer when called again (no state left in the shared regex)", () => {
    expect(parseDuration("1x")).toBeUndefined();
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
  });
});

describe("formatDuration", () => {
  it.each<[number, string]>([
    [1_800_000, "30m"],
    [5_400_000, "1h30m"],
    [90_000, "1m30s"],
    [86_400_000, "24h"],
    [500, "0.5s"],
    [1_500, "1.5s"],
    [0, "0s"],
    [-5, "0s"],
  ])("formatDuration(%i) is %j", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("round-trips through parseDuration for any whole number of milliseconds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 * 86_400_000 }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });
});

describe("ephemeralContainerName", () => {
  it("is a DNS label of at most 63 characters", () => {
    const name = ephemeralContainerName(session());
    expect(name).toMatch(DNS_LABEL);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name.startsWith("dbg-debug-web-")).toBe(true);
  });

  it("is stable for the same session", () => {
    expect(ephemeralContainerName(session())).toBe(ephemeralContainerName(session()));
  });

  it("differs for a new session that reuses the name (different uid)", () => {
    const a = ephemeralContainerName(session({ uid: "11111111-1111-1111-1111-111111111111" }));
    const b = ephemeralContainerName(session({ uid: "22222222-2222-2222-2222-222222222222" }));
    expect(a).not.toBe(b);
  });

  it.each([
    { name: "a".repeat(253) },
    { name: `${"a".repeat(62)}.${"b".repeat(62)}.${"c".repeat(62)}.${"d".repeat(63)}` },
    { name: "web.debug.session" },
  ])("handles the session name $name", ({ name }) => {
    expect(name.length).toBeLessThanOrEqual(253);
    const c = ephemeralContainerName(session({ name }));
    expect(c).toMatch(DNS_LABEL);
    expect(c.length).toBeLessThanOrEqual(63);
  });

  it("cuts a long name without leaving a dash before the uid suffix", () => {
    const c = ephemeralContainerName(session({ name: `${"x".repeat(45)}.yyyy` }));
    expect(c).toMatch(/^dbg-x{45}-[0-9a-f]{12}$/);
  });

  it("two long names that differ only after the cut still differ by uid", () => {
    const a = ephemeralContainerName(session({ name: `${"a".repeat(200)}-one`, uid: "u-1" }));
    const b = ephemeralContainerName(session({ name: `${"a".repeat(200)}-two`, uid: "u-2" }));
    expect(a).not.toBe(b);
  });

  it("is a DNS label of at most 63 characters for any valid session name and uid", () => {
    const subdomain = fc.stringMatching(DNS_SUBDOMAIN).filter((s) => s.length <= 253);
    fc.assert(
      fc.property(subdomain, fc.uuid(), (name, uid) => {
        const c = ephemeralContainerName(session({ name, uid }));
        expect(c).toMatch(DNS_LABEL);
        expect(c.length).toBeLessThanOrEqual(63);
      }),
    );
  });
});

describe("profiles", () => {
  it.each<[Profile, V1SecurityContext | undefined]>([
    ["general", { capabilities: { add: ["SYS_PTRACE"] } }],
    [
      "restricted",
      {
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      },
    ],
    ["netadmin", { capabilities: { add: ["NET_ADMIN", "NET_RAW"] } }],
    ["sysadmin", { privileged: true }],
    ["baseline", undefined],
  ])("the %s profile sets %j", (profile, sc) => {
    expect(profileSecurityContext(profile)).toEqual(sc);
    expect(effectiveSecurityContext(profile, undefined)).toEqual(sc);
  });

  it.each<{ name: string; profile: Profile; own: V1SecurityContext; want: V1SecurityContext }>([
    {
      name: "the session's scalar fields override restricted's",
      profile: "restricted",
      own: { runAsNonRoot: false, runAsUser: 0 },
      want: {
        runAsNonRoot: false,
        runAsUser: 0,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      },
    },
    {
      name: "added capabilities join the profile's, without duplicates",
      profile: "general",
      own: { capabilities: { add: ["NET_ADMIN", "SYS_PTRACE"] } },
      want: { capabilities: { add: ["SYS_PTRACE", "NET_ADMIN"] } },
    },
    {
      name: "added capabilities keep restricted's drop ALL",
      profile: "restricted",
      own: { capabilities: { add: ["NET_BIND_SERVICE"] } },
      want: {
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        capabilities: { add: ["NET_BIND_SERVICE"], drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      },
    },
    {
      name: "sysadmin's privileged can be turned off",
      profile: "sysadmin",
      own: { privileged: false, readOnlyRootFilesystem: true },
      want: { privileged: false, readOnlyRootFilesystem: true },
    },
    {
      name: "baseline takes the session's context as it is",
      profile: "baseline",
      own: { runAsUser: 1000, capabilities: { drop: ["NET_RAW"] } },
      want: { runAsUser: 1000, capabilities: { drop: ["NET_RAW"] } },
    },
  ])("$name", ({ profile, own, want }) => {
    const ownBefore = structuredClone(own);
    expect(effectiveSecurityContext(profile, own)).toEqual(want);
    expect(own).toEqual(ownBefore);
    // The profile's table must not be changed by a merge either.
    expect(profileSecurityContext("general")).toEqual({ capabilities: { add: ["SYS_PTRACE"] } });
  });
});

describe("ephemeralContainer", () => {
  const FORBIDDEN = ["ports", "resources", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle"];

  it("carries the session's name, image and the general profile by default", () => {
    const s = session();
    expect(ephemeralContainer(s)).toEqual({
      name: ephemeralContainerName(s),
      image: "busybox:1.36",
      securityContext: { capabilities: { add: ["SYS_PTRACE"] } },
      terminationMessagePolicy: "FallbackToLogsOnError",
    });
  });

  it("has targetContainerName when targetContainer is set, and not otherwise", () => {
    expect(ephemeralContainer(session({ spec: { targetContainer: "app" } })).targetContainerName).toBe("app");
    expect(ephemeralContainer(session())).not.toHaveProperty("targetContainerName");
  });

  it("passes every container field of the spec through", () => {
    const spec: Partial<DebugSessionSpec> = {
      imagePullPolicy: "IfNotPresent",
      command: ["sh", "-c"],
      args: ["sleep 3600"],
      env: [{ name: "A", value: "1" }],
      workingDir: "/tmp",
      stdin: true,
      tty: true,
      volumeMounts: [{ name: "data", mountPath: "/data", readOnly: true }],
      profile: "baseline",
      securityContext: { runAsUser: 1000 },
    };
    expect(ephemeralContainer(session({ spec }))).toMatchObject({
      imagePullPolicy: "IfNotPresent",
      command: ["sh", "-c"],
      args: ["sleep 3600"],
      env: [{ name: "A", value: "1" }],
      workingDir: "/tmp",
      stdin: true,
      tty: true,
      volumeMounts: [{ name: "data", mountPath: "/data", readOnly: true }],
      securityContext: { runAsUser: 1000 },
    });
  });

  it("omits empty lists, false flags and an empty securityContext", () => {
    const c = ephemeralContainer(
      session({
        spec: { command: [], args: [], env: [], volumeMounts: [], stdin: false, tty: false, profile: "baseline" },
      }),
    );
    for (const key of ["command", "args", "env", "volumeMounts", "stdin", "tty", "securityContext"])
      expect(c).not.toHaveProperty(key);
  });

  it("never has ports, resources, probes or lifecycle, even when the spec object carries them", () => {
    const smuggled = {
      ports: [{ containerPort: 80 }],
      resources: { limits: { cpu: "1" } },
      livenessProbe: { exec: { command: ["true"] } },
      readinessProbe: { exec: { command: ["true"] } },
      startupProbe: { exec: { command: ["true"] } },
      lifecycle: { preStop: { exec: { command: ["true"] } } },
    } as unknown as Partial<DebugSessionSpec>;
    const profiles: Profile[] = ["general", "baseline", "restricted", "netadmin", "sysadmin"];
    for (const profile of profiles) {
      const c = ephemeralContainer(
        session({ spec: { ...smuggled, profile, targetContainer: "app", stdin: true, tty: true } }),
      );
      for (const key of FORBIDDEN) expect(c, `${profile}: ${key}`).not.toHaveProperty(key);
    }
  });
});

describe("attachCommand", () => {
  it.each([
    { stdin: true, tty: true, flags: "-it " },
    { stdin: true, tty: false, flags: "-i " },
    { stdin: false, tty: false, flags: "" },
    { stdin: undefined, tty: true, flags: "" },
  ])("stdin=$stdin tty=$tty attaches with '$flags'", ({ stdin, tty, flags }) => {
    const s = session({ spec: { stdin, tty } });
    expect(attachCommand(s, "web-0")).toBe(`kubectl attach ${flags}web-0 -c ${ephemeralContainerName(s)} -n shop`);
  });

  it("names the session's namespace", () => {
    const s = session({ namespace: "payments" });
    expect(attachCommand(s, "api-7")).toMatch(/ -n payments$/);
  });
});

describe("sessionLabelValue", () => {
  const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

  it("is the session's name when that fits a label value", () => {
    expect(sessionLabelValue("debug-web")).toBe("debug-web");
    expect(sessionLabelValue("a".repeat(63))).toBe("a".repeat(63));
  });

  it("fits a label value for every DebugSession name up to 253 characters, and tells long names apart", () => {
    const subdomain = fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/);
    fc.assert(
      fc.property(subdomain, (name) => {
        const value = sessionLabelValue(name);
        expect(value.length).toBeLessThanOrEqual(63);
        expect(value).toMatch(LABEL_VALUE);
      }),
    );
    const long = "x".repeat(100);
    expect(sessionLabelValue(`${long}-a`)).not.toBe(sessionLabelValue(`${long}-b`));
  });
});
