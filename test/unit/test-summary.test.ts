// hack/test-summary.ts is the line CI reads, so it must not say "0 failed" while a lane failed: an
// unhandled error (caught by hack/vitest-unhandled.ts, run here by a real vitest) and a lane that exited
// non-zero with nothing else to show both count.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "test-summary-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function summary(...args: string[]): { out: string; status: number | null } {
  const r = spawnSync(process.execPath, ["hack/test-summary.ts", ...args], { encoding: "utf8" });
  return { out: r.stdout + r.stderr, status: r.status };
}
const passing = JSON.stringify({ numPassedTests: 3, numFailedTests: 0, testResults: [] });

describe("hack/test-summary.ts", () => {
  test("counts a lane that exited non-zero with no failed test, and shows the end of its log", () => {
    writeFileSync(join(dir, "a.json"), passing);
    writeFileSync(join(dir, "a.log"), "\u001b[31mclose timed out after 10000ms\u001b[39m\n");
    const r = summary(`${dir}/a.json:1`);
    expect(r.status).toBe(1);
    expect(r.out).toContain(`vitest exited 1 with no failed test`);
    expect(r.out).toContain("    close timed out after 10000ms");
    expect(r.out.trim().split("\n").at(-1)).toBe("3 passed, 1 failed");
  });

  test("a clean lane is 0 failed and exits 0", () => {
    writeFileSync(join(dir, "b.json"), passing);
    const r = summary(`${dir}/b.json:0`, `${dir}/b.json`);
    expect(r).toEqual({ out: "6 passed, 0 failed\n", status: 0 });
  });

  test("an error after a passing test, from a real vitest run, is a failure naming the file", () => {
    const out = join(dir, "late.json");
    const run = spawnSync(
      process.execPath,
      [
        "node_modules/vitest/vitest.mjs",
        "run",
        "--root=test/unit/late-error",
        "--no-cache", // nothing written under that root
        "--no-fsModuleCache",
        "--reporter=json",
        `--reporter=${process.cwd()}/hack/vitest-unhandled.ts`,
        `--outputFile.json=${out}`,
      ],
      { encoding: "utf8" },
    );
    expect(run.status).toBe(1); // vitest itself fails the run
    const unhandled = JSON.parse(readFileSync(join(dir, "late.unhandled.json"), "utf8")) as unknown[];
    expect(unhandled).toHaveLength(1);
    const r = summary(`${out}:${run.status}`);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/late\.spec\.ts( > .*)? \(Unhandled Rejection, outside any assertion\)/);
    expect(r.out).toContain("Error: late boom");
    expect(r.out.trim().split("\n").at(-1)).toBe("2 passed, 1 failed");
  });
});
