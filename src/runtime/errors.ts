// What the apiserver said: KubeApiError's code and Status (client-node's ApiException, which tests'
// clients throw, has the same two fields; its body may be a string or an object).

/** An error that carries the apiserver's answer: an HTTP code and the body. */
function apiError(err: unknown): { code: number; body: unknown } | undefined {
  if (typeof err !== "object" || err === null || !("code" in err) || !("body" in err)) return undefined;
  return typeof err.code === "number" ? { code: err.code, body: err.body } : undefined;
}

export function statusCode(err: unknown): number | undefined {
  const answered = apiError(err);
  if (answered) return answered.code;
  if (typeof err === "object" && err !== null && "statusCode" in err && typeof err.statusCode === "number") {
    return err.statusCode;
  }
  return undefined;
}

/** A thrown value as one line of text: anything can be thrown, not only an Error. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The apiserver's Status message when there is one, else the error's own message. */
export function apiMessage(err: unknown): string {
  const answered = apiError(err);
  if (answered) {
    const body = answered.body;
    let parsed: unknown = body;
    if (typeof body === "string") {
      try {
        parsed = JSON.parse(body);
      } catch {
        return body || errorMessage(err);
      }
    }
    if (typeof parsed === "object" && parsed !== null && "message" in parsed && typeof parsed.message === "string") {
      return parsed.message;
    }
  }
  return errorMessage(err);
}

export const isBadRequest = (err: unknown): boolean => statusCode(err) === 400;
export const isForbidden = (err: unknown): boolean => statusCode(err) === 403;
export const isNotFound = (err: unknown): boolean => statusCode(err) === 404;
export const isConflict = (err: unknown): boolean => statusCode(err) === 409;
export const isInvalid = (err: unknown): boolean => statusCode(err) === 422;
export const isTooManyRequests = (err: unknown): boolean => statusCode(err) === 429;
/** Admission (Pod Security, a policy engine) or validation said no: the request as sent will never pass. */
export const isAdmissionRefusal = (err: unknown): boolean => isBadRequest(err) || isForbidden(err) || isInvalid(err);

/** A catch handler that swallows the errors matching one of the predicates and rethrows the rest. */
export function unless(...expected: ((err: unknown) => boolean)[]) {
  return (err: unknown): void => {
    if (!expected.some((is) => is(err))) throw err;
  };
}
