import { describe, expect, it } from "vitest";
import { FLAGS, helpText, readFlags } from "../../src/flags.ts";

describe("readFlags", () => {
  it("falls back to the defaults when neither a flag nor the environment gives a value", () => {
    expect(readFlags([], {})).toEqual({
      kubeconfig: undefined,
      namespace: undefined,
      workers: 64,
      "min-record-retention": 86_400_000,
      "record-sweep-interval": 600_000,
      "eviction-timeout": 60_000,
      "request-timeout": 30_000,
      "shutdown-grace": 8_000,
      "leader-elect": false,
      "leader-election-namespace": "debugsession-system",
      "leader-election-id": "debugsession-operator",
      "metrics-bind-address": { host: "0.0.0.0", port: 8080 },
      "health-probe-bind-address": { host: "0.0.0.0", port: 8081 },
      "log-level": "info",
      help: false,
    });
  });

  it.each([
    { args: [], env: { WORKERS: "8" }, flag: "workers", value: 8 },
    { args: ["--namespace=team-a"], env: { WATCH_NAMESPACE: "team-b" }, flag: "namespace", value: "team-a" },
    { args: ["--workers", "4"], env: { WORKERS: "8" }, flag: "workers", value: 4 },
    { args: [], env: { KUBECONFIG: "/k" }, flag: "kubeconfig", value: "/k" },
    { args: ["--eviction-timeout=2m"], env: { EVICTION_TIMEOUT: "5s" }, flag: "eviction-timeout", value: 120_000 },
    { args: [], env: { SHUTDOWN_GRACE: "1m30s" }, flag: "shutdown-grace", value: 90_000 },
    { args: ["--request-timeout=5s"], env: { REQUEST_TIMEOUT: "1m" }, flag: "request-timeout", value: 5_000 },
    { args: [], env: { LEADER_ELECT: "true" }, flag: "leader-elect", value: true },
    { args: [], env: { LEADER_ELECT: "1" }, flag: "leader-elect", value: false },
    { args: ["--leader-elect"], env: {}, flag: "leader-elect", value: true },
    { args: [], env: { POD_NAMESPACE: "ops" }, flag: "leader-election-namespace", value: "ops" },
    { args: [], env: { LEADER_ELECTION_ID: "me" }, flag: "leader-election-id", value: "me" },
    { args: [], env: { METRICS_BIND_ADDRESS: "0" }, flag: "metrics-bind-address", value: undefined },
    {
      args: ["--health-probe-bind-address", "127.0.0.1:9"],
      env: {},
      flag: "health-probe-bind-address",
      value: { host: "127.0.0.1", port: 9 },
    },
    { args: [], env: { LOG_LEVEL: "debug" }, flag: "log-level", value: "debug" },
    { args: ["--help"], env: {}, flag: "help", value: true },
  ] as const)("$flag from $args and $env is $value", ({ args, env, flag, value }) => {
    expect(readFlags([...args], env)[flag]).toEqual(value);
  });

  it.each([
    { args: ["--workers", "0"], message: "--workers must be a positive integer, not 0" },
    { args: ["--workers", "two"], message: "--workers must be a positive integer, not two" },
    { args: ["--eviction-timeout", "soon"], message: "--eviction-timeout must be a duration such as 60s" },
    { args: ["--shutdown-grace", "8"], message: "--shutdown-grace must be a duration such as 8s" },
    { args: ["--metrics-bind-address", "8080"], message: 'bad listen address "8080": use host:port or :port' },
    { args: ["--no-such-flag"], message: "Unknown option '--no-such-flag'" },
  ])("refuses $args", ({ args, message }) => {
    expect(() => readFlags(args, {})).toThrow(message);
  });
});

describe("helpText", () => {
  it("lists every flag with its environment variable and default", () => {
    const help = helpText().replace(/\n {37}/g, " ");
    for (const [name, flag] of Object.entries(FLAGS)) {
      const line = help.split("\n").find((l) => l.startsWith(`  --${name} `));
      expect(line, name).toBeDefined();
      if ("env" in flag) expect(line).toContain(`[${flag.env}`);
      if ("default" in flag) expect(line).toContain(`(default ${flag.default})`);
    }
  });
});
