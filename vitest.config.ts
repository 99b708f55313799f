import { defineConfig } from "vitest/config";

// Three tiers (DESIGN.md "Test tiers"). The integration and e2e suites share one cluster started
// by test/setup/cluster.ts (or the cluster KUBECONFIG points at), so they run one file at a time.
// Suites whose operators act in their own namespace only (--namespace) share the cluster with others:
// e2e and faults run side by side (hack/run-tests.sh); suites with an operator for every namespace,
// or that stop the cluster's own components, run in "serial", alone.
const SERIAL = [
  "test/e2e/access.test.ts", // two namespaces, one operator
  "test/e2e/session-deletion.test.ts", // a namespace per case, one operator
  "test/e2e/deploy.test.ts", // the operator deployed in the cluster, for every namespace
  "test/faults/outages.test.ts", // kills the apiserver and etcd
];
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/setup/cluster-control-plane.ts"],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          exclude: SERIAL,
          globalSetup: ["test/setup/cluster-node.ts"],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          // Beside e2e (hack/run-tests.sh): partitions, stalls and kills its own operators only.
          name: "faults",
          include: ["test/faults/**/*.test.ts"],
          exclude: SERIAL,
          globalSetup: ["test/setup/cluster-node.ts"],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          // After e2e and faults, alone.
          name: "serial",
          include: SERIAL,
          globalSetup: ["test/setup/cluster-node.ts"],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          // Runs last, alone: takes the local cluster down and checks that nothing is left behind.
          name: "lifecycle",
          include: ["test/lifecycle/**/*.test.ts"],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
