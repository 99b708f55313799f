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
import { ApiException, type V1Pod } from "@kubernetes/client-node";
import fc from "fast-check";
import { otherDebuggers } from "../../src/controller/gather.ts";
import { lostInjectionRace } from "../../src/controller/writer.ts";
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

describe("otherDebuggers", () => {
  const p = (names: string[], terminatedNames: string[] = []): V1Pod => ({
    spec: { containers: [{ name: "app" }], ephemeralContainers: names.map((name) => ({ name })) },
    status: {
      ephemeralContainerStatuses: terminatedNames.map((name) => ({
        name,
        image: "",
        imageID: "",
        ready: false,
        restartCount: 0,
        state: { terminated: { exitCode: 0 } },
      })),
    },
  });

  it("counts the live debuggers of the pod and the sessions that reserved it, once each, never its own", () => {
    expect(otherDebuggers(p(["own", "a", "b"]), "own", ["b", "c"])).toEqual(["a", "b", "c"]);
  });

  it("does not count a debugger the kubelet reports terminated, unless a live session still holds it", () => {
    expect(otherDebuggers(p(["a", "b"], ["a", "b"]), "own", ["b"])).toEqual(["b"]);
  });

  it("counts an ephemeral container not added by the operator, and works without a pod", () => {
    expect(otherDebuggers(p(["kubectl-debug-x"]), "own", [])).toEqual(["kubectl-debug-x"]);
    expect(otherDebuggers(undefined, "own", ["a"])).toEqual(["a"]);
  });
});

describe("lostInjectionRace", () => {
  const invalid = (message: string) => new ApiException(422, "invalid", JSON.stringify({ message }), {});
  it("is a race when a test of the patch failed or another debugger would be dropped, a refusal otherwise", () => {
    expect(lostInjectionRace(invalid("the server rejected our request due to an error in our request"))).toBe(true);
    expect(
      lostInjectionRace(
        invalid(
          'Pod "web" is invalid: spec.ephemeralContainers: Not found: "existing ephemeral containers \\"dbg-a\\" may not be removed\\n"',
        ),
      ),
    ).toBe(true);
    expect(lostInjectionRace(invalid('Pod "web" is invalid: spec.ephemeralContainers[0].image: Required value'))).toBe(
      false,
    );
  });
});
