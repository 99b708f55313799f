import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  apiMessage,
  errorMessage,
  isBadRequest,
  isConflict,
  isForbidden,
  isInvalid,
  isNotFound,
  isTooManyRequests,
  statusCode,
} from "../../src/runtime/errors.ts";

const apiError = (code: number, body: unknown = ""): ApiException<unknown> =>
  new ApiException(code, "failed", body, {});
/** What client-node's Watch throws for a non-200 answer. */
const watchError = (code: number): Error => Object.assign(new Error("status"), { statusCode: code });

const predicates = { isBadRequest, isForbidden, isNotFound, isConflict, isInvalid, isTooManyRequests };

describe("status predicates", () => {
  it.each([
    { code: 400, is: "isBadRequest" },
    { code: 403, is: "isForbidden" },
    { code: 404, is: "isNotFound" },
    { code: 409, is: "isConflict" },
    { code: 422, is: "isInvalid" },
    { code: 429, is: "isTooManyRequests" },
  ] as const)("$code is $is and nothing else, from an ApiException or a statusCode", ({ code, is }) => {
    for (const err of [apiError(code), watchError(code)]) {
      expect(statusCode(err)).toBe(code);
      for (const [name, predicate] of Object.entries(predicates)) expect(predicate(err)).toBe(name === is);
    }
  });

  it.each([new Error("connection reset"), "a string", undefined, null, { statusCode: "404" }])(
    "%s has no status and matches no predicate",
    (err) => {
      expect(statusCode(err)).toBeUndefined();
      for (const predicate of Object.values(predicates)) expect(predicate(err)).toBe(false);
    },
  );
});

describe("errorMessage", () => {
  it.each([
    { err: new Error("boom"), message: "boom" },
    { err: "plain string", message: "plain string" },
    { err: 42, message: "42" },
    { err: undefined, message: "undefined" },
  ])("turns $err into '$message'", ({ err, message }) => {
    expect(errorMessage(err)).toBe(message);
  });
});

describe("apiMessage", () => {
  it("prefers the apiserver's Status message, in a string or an object body", () => {
    expect(apiMessage(apiError(422, JSON.stringify({ message: "spec.ttl: Invalid value" })))).toBe(
      "spec.ttl: Invalid value",
    );
    expect(apiMessage(apiError(403, { message: "forbidden: nope" }))).toBe("forbidden: nope");
  });

  it("falls back to a non-JSON body, then to the error's message", () => {
    expect(apiMessage(apiError(500, "upstream broke"))).toBe("upstream broke");
    expect(apiMessage(new Error("socket hang up"))).toBe("socket hang up");
  });
});
