import { defineConfig } from "vitest/config";

// Three tiers (DESIGN.md "Test tiers"). The integration and e2e suites share one cluster started
// by test/setup/cluster.ts (or the cluster KUBECONFIG points at), so they run one file at a time.
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
          globalSetup: ["test/setup/cluster-node.ts"],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          // After e2e, alone (hack/run-tests.sh): kills and restarts the local cluster's components.
          name: "faults",
          include: ["test/faults/**/*.test.ts"],
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
