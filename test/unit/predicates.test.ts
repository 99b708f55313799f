import { describe, expect, it } from "vitest";
import { parseDuration } from "../../src/api/duration.ts";
import { DEFAULT_TTL, PHASES, type Phase } from "../../src/api/types.ts";
import {
  awaitsInjection,
  cachedPodIsTrusted,
  decodeGroups,
  encodeGroups,
  holdsPod,
  isInjected,
} from "../../src/controller/predicates.ts";
import fc from "fast-check";
import { CNAME, MIN, NOW, POD_UID, ago, iso, pod, session } from "./fixtures.ts";

const injected = { phase: "Running" as Phase, targetPodUID: POD_UID, injectedAt: iso(ago(MIN)) };

describe("predicates", () => {
  it("DEFAULT_TTL is a duration (policy/ttl.ts relies on it)", () => {
    expect(parseDuration(DEFAULT_TTL)).toBe(30 * MIN);
  });

  it.each([
    { status: undefined, awaits: true },
    { status: { phase: "Pending" as Phase }, awaits: true },
    { status: { phase: "Failed" as Phase, targetPodUID: POD_UID }, awaits: true },
    { status: { phase: "Injecting" as Phase }, awaits: true },
    { status: { phase: "Injecting" as Phase, targetPodUID: POD_UID }, awaits: false },
    { status: injected, awaits: false },
    { status: { ...injected, phase: "Expired" as Phase }, awaits: false },
  ])("awaitsInjection($status) is $awaits", ({ status, awaits }) => {
    expect(awaitsInjection(status)).toBe(awaits);
  });

  it("holdsPod: the phases with a debugger in the pod, and no other", () => {
    expect(PHASES.filter(holdsPod)).toEqual(["Injecting", "Running", "Completed"]);
    expect(holdsPod(undefined)).toBe(false);
  });

  it("isInjected: once injectedAt is recorded", () => {
    expect(isInjected(injected)).toBe(true);
    expect(isInjected({ phase: "Pending" })).toBe(false);
  });

  it.each([
    {
      name: "the injected pod with our container",
      s: session({ status: injected }),
      p: pod({ ephemeralContainers: [CNAME] }),
      trusted: true,
    },
    { name: "nothing cached", s: session({ status: injected }), p: undefined, trusted: false },
    { name: "our container not visible yet", s: session({ status: injected }), p: pod(), trusted: false },
    {
      name: "another pod under the name",
      s: session({ status: injected }),
      p: pod({ uid: "other", ephemeralContainers: [CNAME] }),
      trusted: false,
    },
    { name: "a session before injection", s: session(), p: pod({ ephemeralContainers: [CNAME] }), trusted: false },
    {
      name: "a session being deleted",
      s: session({ status: injected, deletionTimestamp: NOW }),
      p: pod({ ephemeralContainers: [CNAME] }),
      trusted: false,
    },
  ])("cachedPodIsTrusted: $name -> $trusted", ({ s, p, trusted }) => {
    expect(cachedPodIsTrusted(s, p)).toBe(trusted);
  });
});

describe("the requester's groups in the admission stamp", () => {
  it.each([
    ["a comma inside a group", ["devs,system:masters", "system:authenticated"]],
    ["a percent sign and an encoded-looking name", ["100%", "%2C", "%25x"]],
    ["spaces are kept", [" system:masters", "team a"]],
    ["an LDAP DN", ["cn=admins,ou=groups,dc=example,dc=com"]],
  ])("read back exactly: %s", (_name, groups) => {
    expect(decodeGroups(encodeGroups(groups))).toEqual(groups);
  });

  it("round-trips any list of non-empty names", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1 })), (groups) => {
        expect(decodeGroups(encodeGroups(groups))).toEqual(groups);
      }),
    );
  });

  it("reads a stamp written before the encoding the same way (no % or , inside names)", () => {
    expect(decodeGroups("team-a,system:authenticated")).toEqual(["team-a", "system:authenticated"]);
  });
});
