// Sums vitest's JSON reports into the one line CI reads: "N passed, N failed[, N skipped]". Above it,
// each failure by file and name with the first lines of its message, so a CI log's tail says what failed.
import { readFileSync } from "node:fs";
import { relative } from "node:path";

interface Report {
  numPassedTests?: number;
  numFailedTests?: number;
  numPendingTests?: number;
  numTodoTests?: number;
  testResults?: Array<{
    name?: string;
    status?: string;
    message?: string;
    assertionResults?: Array<{ status?: string; fullName?: string; failureMessages?: string[] }>;
  }>;
}

let passed = 0;
let failed = 0;
let skipped = 0;
const failures: string[] = [];
const excerpt = (message: string | undefined): string =>
  (message ?? "")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .slice(0, 4)
    .map((l) => `    ${l.slice(0, 300)}`)
    .join("\n");

for (const file of process.argv.slice(2)) {
  let report: Report;
  try {
    report = JSON.parse(readFileSync(file, "utf8")) as Report;
  } catch {
    console.error(`test-summary: could not read ${file}; counting it as one failure`);
    failures.push(`${file}: no report (the suite did not finish)`);
    failed += 1;
    continue;
  }
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  for (const suite of report.testResults ?? []) {
    const where = suite.name ? relative(process.cwd(), suite.name) : file;
    const failedTests = (suite.assertionResults ?? []).filter((a) => a.status === "failed");
    for (const a of failedTests) failures.push(`${where} > ${a.fullName ?? "?"}\n${excerpt(a.failureMessages?.[0])}`);
    // A file that failed to load (or a failing hook) has no failed test, but is a failure all the same.
    if (suite.status === "failed" && failedTests.length === 0) {
      failed += 1;
      failures.push(`${where} (the file itself)\n${excerpt(suite.message)}`);
    }
  }
}
if (failures.length > 0) console.log(`failed:\n${failures.map((f) => `  ${f}`).join("\n")}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 ? 1 : 0);
