// Not part of the unit suite (it is a .spec.ts file): test/unit/test-summary.test.ts runs it with its own
// vitest to check that an error thrown after a passing test reaches the summary as a failure.
import { expect, test } from "vitest";

let rejected = false;

test("passes, then leaves a rejection behind", () => {
  setTimeout(() => {
    rejected = true;
    void Promise.reject(new Error("late boom"));
  }, 10);
  expect(1).toBe(1);
});

test("is still running when it happens", async () => {
  while (!rejected) await new Promise((resolve) => setTimeout(resolve, 10));
  await new Promise((resolve) => setTimeout(resolve, 50)); // the process reports it meanwhile
});
