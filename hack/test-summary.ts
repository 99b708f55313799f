// Sums vitest's JSON reports into the one line CI reads: "N passed, N failed[, N skipped]". Above it,
// each failure by file and name with the first lines of its message, so a CI log's tail says what failed.
// Arguments: REPORT.json[:EXIT], EXIT being the lane's vitest exit code. An unhandled error
// (REPORT.unhandled.json, from hack/vitest-unhandled.ts) counts as a failure; so does a lane that
// exited non-zero with nothing else to show for it, with the last lines of its log (REPORT.log).
import { existsSync, readFileSync } from "node:fs";
import { relative } from "node:path";
import { stripVTControlCharacters } from "node:util";
import type { Unhandled } from "./vitest-unhandled.ts";

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
/** The non-blank lines of `text` that `pick` keeps, indented under a failure's heading. */
const indented = (text: string, pick: (lines: string[]) => string[]): string =>
  pick(
    stripVTControlCharacters(text)
      .split("\n")
      .filter((l) => l.trim() !== ""),
  )
    .map((l) => `    ${l.slice(0, 300)}`)
    .join("\n");
const excerpt = (message: string | undefined): string => indented(message ?? "", (l) => l.slice(0, 4));
const tail = (log: string): string =>
  existsSync(log) ? indented(readFileSync(log, "utf8"), (l) => l.slice(-8)) : `    (no ${log})`;

for (const arg of process.argv.slice(2)) {
  const [, file = arg, exit] = /^(.*?)(?::(\d+))?$/.exec(arg) ?? [];
  const base = file.replace(/\.json$/, "");
  const failedBefore = failed;
  const unhandledFile = `${base}.unhandled.json`;
  if (existsSync(unhandledFile)) {
    for (const u of JSON.parse(readFileSync(unhandledFile, "utf8")) as Unhandled[]) {
      failed += 1;
      const where = u.file ? `${u.file}${u.test ? ` > ${u.test}` : ""}` : file;
      failures.push(
        `${where} (${u.type ?? "unhandled error"}, outside any assertion)\n${excerpt([u.message, ...u.stack].join("\n"))}`,
      );
    }
  }
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
  if (exit !== undefined && exit !== "0" && failed === failedBefore) {
    failed += 1;
    failures.push(
      `${file}: vitest exited ${exit} with no failed test; the end of ${base}.log:\n${tail(`${base}.log`)}`,
    );
  }
}
if (failures.length > 0) console.log(`failed:\n${failures.map((f) => `  ${f}`).join("\n")}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 ? 1 : 0);
