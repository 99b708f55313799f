import { describe, expect, it } from "vitest";
import { parseArgs, type CreateOptions } from "../../src/plugin/args.ts";
import { generatedName, sessionManifest } from "../../src/plugin/manifest.ts";

const options = (...argv: string[]): CreateOptions => {
  const cmd = parseArgs(argv);
  if (cmd.kind !== "create") throw new Error(cmd.kind);
  return cmd.options;
};

describe("sessionManifest", () => {
  it("holds only what was chosen, so the CRD's and the policy's defaults apply to the rest", () => {
    expect(sessionManifest(options("web-1"), "dbg-web-1-bcdfg", undefined)).toEqual({
      apiVersion: "debugging.dev/v1alpha1",
      kind: "DebugSession",
      metadata: { name: "dbg-web-1-bcdfg" },
      spec: { targetPod: "web-1", image: "busybox:1.36", command: ["sh"], stdin: true, tty: true },
    });
  });

  it("maps --copy to spec.mode Copy and its options to spec.copy, --isolate to spec.isolate", () => {
    expect(sessionManifest(options("web-1", "--copy"), "s", undefined).spec).toMatchObject({ mode: "Copy" });
    expect(sessionManifest(options("web-1", "--copy"), "s", undefined).spec.copy).toBeUndefined();
    const copied = sessionManifest(options("web-1", "--copy", "--copy-command", "sleep infinity"), "s", undefined);
    expect(copied.spec).toMatchObject({ mode: "Copy", copy: { command: ["sleep", "infinity"] } });
    expect(sessionManifest(options("web-1", "--isolate"), "s", undefined).spec.isolate).toBe(true);
  });

  it("maps every flag to its spec field", () => {
    const o = options(
      "deploy/web",
      "-c",
      "app",
      "--image",
      "busybox:1.37",
      "--image-pull-policy",
      "Always",
      "--profile",
      "restricted",
      "--ttl",
      "1h",
      "--reason",
      "INC-1",
      "--policy",
      "strict",
      "--expiry-action",
      "Delete",
      "--env",
      "A=1",
      "-i=false",
      "--",
      "ps",
      "auxww",
    );
    expect(sessionManifest(o, "s", "shop")).toEqual({
      apiVersion: "debugging.dev/v1alpha1",
      kind: "DebugSession",
      metadata: { name: "s", namespace: "shop" },
      spec: {
        targetRef: { kind: "Deployment", name: "web" },
        targetContainer: "app",
        image: "busybox:1.37",
        imagePullPolicy: "Always",
        command: ["ps", "auxww"],
        env: [{ name: "A", value: "1" }],
        profile: "restricted",
        ttl: "1h",
        expiryAction: "Delete",
        reason: "INC-1",
        policy: "strict",
      },
    });
  });

  it("leaves stdin and tty out when they are off (false is the schema's default)", () => {
    expect(sessionManifest(options("web", "-i=false"), "s", undefined).spec).not.toHaveProperty("stdin");
    expect(sessionManifest(options("web", "--tty=false"), "s", undefined).spec).toMatchObject({ stdin: true });
    expect(sessionManifest(options("web", "--tty=false"), "s", undefined).spec).not.toHaveProperty("tty");
  });
});

describe("generatedName", () => {
  const fixed = (): number => 0;

  it("is dbg-<target>-<5 random characters> from an alphabet without vowels", () => {
    let i = 0;
    const cycle = (): number => (i++ % 27) / 27;
    expect(generatedName({ pod: "web-7d9f-abcde" }, cycle)).toBe("dbg-web-7d9f-abcde-bcdfg");
    expect(generatedName({ ref: { kind: "Deployment", name: "web" } }, fixed)).toBe("dbg-web-bbbbb");
    expect(generatedName({ pod: "web" })).toMatch(/^dbg-web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it("fits a label value (63 characters) whatever the target's name, and stays a valid name", () => {
    const name = generatedName({ pod: `${"a".repeat(50)}-${"b".repeat(100)}.x` }, fixed);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(generatedName({ pod: "api.v2.example" }, fixed)).toBe("dbg-api-v2-example-bbbbb");
  });
});
