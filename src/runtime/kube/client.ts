// The operator's HTTP client for the Kubernetes API: JSON requests, watches and log streams over
// node:https, with the credentials config.ts loads. It replaces @kubernetes/client-node at run time,
// whose import alone cost ~88 MB of RSS and ~0.6 s (docs/adr/0003-own-kubernetes-client.md).
//
// HTTP/1.1 with keep-alive: every request or watch has a connection of its own while it runs, so a
// connection that goes silent (a partition, a proxy that lost its state) holds up only the request on
// it, and its timeout destroys just that socket. Every request has a deadline (--request-timeout); a
// watch has one for its response headers and then ends after WATCH_IDLE_MS without a byte (the
// apiserver's bookmarks and events keep a healthy one busy), and the informer resumes it.
import type { Agent as HttpAgent, ClientRequest, IncomingMessage } from "node:http";
import type { Writable } from "node:stream";
import { http, https } from "../node-http.ts";
import type { ClusterAccess, Credentials } from "./config.ts";

/** How long one API request may take when the caller sets no limit (the operator's --request-timeout). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** A watch that sends nothing for this long is ended (and resumed by its informer). */
export const WATCH_IDLE_MS = 30_000;
/** A watch's response headers come at once; well under WATCH_IDLE_MS. */
const WATCH_HEADERS_TIMEOUT_MS = 20_000;

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: Query;
  body?: unknown;
  /** Of the body: JSON unless a patch type says otherwise. */
  contentType?: string;
  accept?: string;
}

/** What the apiserver said no with: its HTTP code and its Status (or the body as text). */
export class KubeApiError extends Error {
  readonly code: number;
  readonly body: unknown;

  constructor(code: number, body: unknown, method: string, path: string) {
    super(`${method} ${path}: HTTP ${code} ${statusMessage(body) ?? http.STATUS_CODES[code] ?? ""}`.trim());
    this.name = "KubeApiError";
    this.code = code;
    this.body = body;
  }
}

/** The request ran out of time: the name the informer and the callers' retries know. */
export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: no answer within ${ms} ms`);
    this.name = "TimeoutError";
  }
}

export interface Watching {
  abort(): void;
}

export class KubeClient {
  private pool: { key: string; agent: HttpAgent } | undefined;
  readonly access: ClusterAccess;
  /** The deadline of one request (--request-timeout). */
  readonly requestTimeoutMs: number;

  constructor(access: ClusterAccess, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS) {
    this.access = access;
    this.requestTimeoutMs = requestTimeoutMs;
  }

  /** One request; resolves with the parsed JSON body, rejects with KubeApiError for a status >= 400. */
  async request<T>(o: RequestOptions): Promise<T> {
    const text = await this.text(o);
    return (text === "" ? {} : JSON.parse(text)) as T;
  }

  /** One request whose body is not JSON (a short log read). */
  async text(o: RequestOptions): Promise<string> {
    const res = await this.open(o, this.requestTimeoutMs);
    const left = this.requestTimeoutMs - (Date.now() - res.startedAt);
    return readBody(res.message, res.request, o, left, this.requestTimeoutMs);
  }

  /**
   * A watch (client-node's Watch.watch): resolves once the stream is open, with what ends it. Each
   * line's event goes to `onEvent`; `onDone` is called once when the stream ends, with the error if
   * it broke (a TimeoutError when it went quiet). A refused watch rejects instead.
   */
  async watch<T>(
    path: string,
    query: Query,
    onEvent: (type: string, object: T) => void,
    onDone: (err: unknown) => void,
  ): Promise<Watching> {
    const headersMs = Math.min(this.requestTimeoutMs / 2, WATCH_HEADERS_TIMEOUT_MS);
    const { message, request } = await this.open({ method: "GET", path, query: { ...query, watch: true } }, headersMs);
    let done = false;
    const finish = (err: unknown): void => {
      if (done) return;
      done = true;
      clearTimeout(idle);
      request.destroy();
      onDone(err);
    };
    const idle = setTimeout(() => finish(new TimeoutError(`watch ${path}`, WATCH_IDLE_MS)), WATCH_IDLE_MS);
    message.on("data", () => {
      idle.refresh();
    });
    message.on("error", finish);
    message.on("close", () => finish(message.complete ? null : new Error(`watch ${path}: the connection closed`)));
    // One event a line; a line may come in pieces.
    let partial = "";
    message.setEncoding("utf8");
    message.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (done) return;
        if (line === "") continue;
        let event: { type?: string; object?: T };
        try {
          event = JSON.parse(line) as typeof event;
        } catch {
          return finish(new Error(`watch ${path}: a line that is not JSON`));
        }
        if (event.type && event.object) onEvent(event.type, event.object);
      }
    });
    return { abort: () => finish(null) };
  }

  /**
   * A streamed GET (pods/log): resolves once the response began, its body piped into `sink`; rejects
   * with KubeApiError (the apiserver's own message) when refused.
   */
  async stream(path: string, query: Query, sink: Writable): Promise<Watching> {
    const { message, request } = await this.open({ method: "GET", path, query, accept: "*/*" }, this.requestTimeoutMs);
    // A stream that breaks off (or is aborted) fails the sink, which keeps what arrived.
    const broke = (err?: Error): void => {
      if (!message.complete) sink.destroy(err ?? new Error(`GET ${path}: the stream broke off`));
    };
    message.on("error", broke);
    message.on("close", () => broke());
    message.pipe(sink);
    return { abort: () => request.destroy() };
  }

  /** Sends the request and waits for its response headers; a 401 fetches fresh credentials once. */
  private async open(
    o: RequestOptions,
    headersTimeoutMs: number,
  ): Promise<{ message: IncomingMessage; request: ClientRequest; startedAt: number }> {
    const startedAt = Date.now();
    for (let attempt = 0; ; attempt++) {
      const credentials = await this.access.credentials();
      const left = headersTimeoutMs - (Date.now() - startedAt);
      const { message, request } = await this.send(o, credentials, left, headersTimeoutMs);
      const code = message.statusCode ?? 0;
      if (code < 400) return { message, request, startedAt };
      const text = await readBody(message, request, o, this.requestTimeoutMs, this.requestTimeoutMs);
      if (code === 401 && attempt === 0) {
        // An expired exec credential or a rotated token: ask for fresh ones, once.
        this.access.invalidate(credentials);
        continue;
      }
      throw new KubeApiError(code, parseJson(text), o.method, o.path);
    }
  }

  /** `leftMs` of the request's `limitMs` are left when it is sent (a 401 retry spent some). */
  private send(
    o: RequestOptions,
    credentials: Credentials,
    leftMs: number,
    limitMs: number,
  ): Promise<{ message: IncomingMessage; request: ClientRequest }> {
    const url = new URL(this.access.server + o.path);
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const body = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
    const headers: Record<string, string> = {
      ...credentials.headers,
      accept: o.accept ?? "application/json",
      "user-agent": "debugsession-operator",
    };
    if (body) {
      headers["content-type"] = o.contentType ?? "application/json";
      headers["content-length"] = String(body.length);
    }
    const secure = url.protocol === "https:";
    const agent = this.agent(credentials, secure);
    return new Promise((resolve, reject) => {
      const request = (secure ? https.request : http.request)(url, { method: o.method, headers, agent });
      const timer = setTimeout(
        () => request.destroy(new TimeoutError(`${o.method} ${o.path}`, limitMs)),
        Math.max(leftMs, 1),
      );
      request.on("response", (message) => {
        clearTimeout(timer);
        resolve({ message, request });
      });
      request.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      request.end(body);
    });
  }

  /** The keep-alive pool for the TLS material in use; a new one when it changed (a rotated cert). */
  private agent(credentials: Credentials, secure: boolean): HttpAgent {
    const pooled = this.pool;
    if (pooled !== undefined && pooled.key === credentials.tlsKey) return pooled.agent;
    const old = pooled?.agent;
    const { ca, cert, key, rejectUnauthorized, servername } = credentials.tls;
    const agent = secure
      ? new https.Agent({ keepAlive: true, ca, cert, key, rejectUnauthorized, servername })
      : new http.Agent({ keepAlive: true });
    this.pool = { key: credentials.tlsKey, agent };
    // Requests in flight on the old pool finish; its idle connections close now.
    if (old) setTimeout(() => old.destroy(), this.requestTimeoutMs).unref();
    return agent;
  }

  /** Closes every connection (at shutdown). */
  close(): void {
    this.pool?.agent.destroy();
    this.pool = undefined;
  }
}

/** The whole body as text, within what is left of the deadline. */
function readBody(
  message: IncomingMessage,
  request: ClientRequest,
  o: RequestOptions,
  leftMs: number,
  limitMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(
      () => request.destroy(new TimeoutError(`${o.method} ${o.path}`, limitMs)),
      Math.max(leftMs, 1),
    );
    message.on("data", (c: Buffer) => chunks.push(c));
    message.on("end", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
    const fail = (err: Error): void => {
      clearTimeout(timer);
      reject(err);
    };
    message.on("error", fail);
    request.on("error", fail);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function statusMessage(body: unknown): string | undefined {
  if (typeof body === "object" && body !== null && "message" in body && typeof body.message === "string") {
    return body.message;
  }
  return typeof body === "string" && body !== "" ? body.slice(0, 300) : undefined;
}
