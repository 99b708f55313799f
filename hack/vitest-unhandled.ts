// A vitest reporter for hack/run-tests.sh: writes the run's unhandled errors (an uncaught exception or
// rejection in a test worker, even after its test passed) next to the JSON report, as
// NAME.unhandled.json for --outputFile.json=NAME.json. Vitest's JSON report leaves them out, yet they
// fail the run (exit code 1); hack/test-summary.ts counts and shows them so a CI log's tail says why.
import { writeFileSync } from "node:fs";
import { relative } from "node:path";
import type { Reporter, SerializedError, Vitest } from "vitest/node";

export interface Unhandled {
  /** The test file that was running when it happened, if vitest knew. */
  file?: string;
  /** The test that was running, if any. */
  test?: string;
  type?: string;
  message: string;
  stack: string[];
}

export default class UnhandledReporter implements Reporter {
  private target: string | undefined;
  private root = process.cwd();

  onInit(vitest: Vitest): void {
    const out = vitest.config.outputFile;
    const json = typeof out === "string" ? out : out?.json;
    this.root = vitest.config.root;
    this.target = json?.replace(/\.json$/, "") + ".unhandled.json";
  }

  onTestRunEnd(_modules: unknown, errors: ReadonlyArray<SerializedError>): void {
    if (!this.target) return;
    const list: Unhandled[] = errors.map((e) => {
      const path = typeof e.VITEST_TEST_PATH === "string" ? e.VITEST_TEST_PATH : undefined;
      const cause = e.cause?.message ? [`cause: ${e.cause.message}`] : [];
      return {
        ...(path ? { file: relative(this.root, path) } : {}),
        ...(typeof e.VITEST_TEST_NAME === "string" ? { test: e.VITEST_TEST_NAME } : {}),
        ...(typeof e.type === "string" ? { type: e.type } : {}),
        message: `${e.name ?? "Error"}: ${e.message}`,
        stack: [...(e.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l)), ...cause].slice(0, 8),
      };
    });
    writeFileSync(this.target, JSON.stringify(list, null, 2));
  }
}
