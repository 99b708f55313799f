// A KubeConfig whose API calls share connections. @kubernetes/client-node 2.0.1 builds a new undici
// Agent for every API call (KubeConfig.applySecurityAuthentication -> createDispatcher), so every
// call opens a new TCP+TLS connection: measured here, 1,000 GETs at 64 in flight took 8.9 s and
// 8 s of client CPU, against 1.6 s and 3 s with one shared Agent. Watches share it too.
//
// The shared Agent speaks HTTP/2 to the apiserver (undici 8 offers it): one connection carries every
// request and watch. When that connection goes silent (a partition that drops packets, a proxy or
// load balancer that lost its state), aborting a request resets only its stream and every new request
// joins the same dead connection; undici's own PING finds it only after one to two minutes. So every
// request carries a headers timeout (and all but watches a body timeout), and a request that runs into
// one drops the whole pool at once: the next request opens a new connection (the role client-go's
// HTTP/2 health check plays). Measured with a proxy that froze the connection: every request failed for
// 91 s without this, the first one after 30 s and none after it with it (docs/reliability.md).
import { statSync } from "node:fs";
import { KubeConfig, type RequestContext } from "@kubernetes/client-node";

type Dispatcher = NonNullable<ReturnType<RequestContext["getDispatcher"]>>;

/** How long one API request may take when the caller sets no limit (the operator's --request-timeout). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Below client-node's Watch timeout (30 s without a byte, connecting included). */
const WATCH_HEADERS_TIMEOUT_MS = 20_000;

export class PooledKubeConfig extends KubeConfig {
  /** The Agent in use and the TLS settings it was made for. */
  private pooled: { key: string; dispatcher: Dispatcher } | undefined;
  /**
   * A request whose response headers (or, but for a watch, the next piece of its body) take longer
   * is abandoned. undici's default is 300 s, for which a worker and the key it reconciles would wait.
   */
  readonly requestTimeoutMs: number;

  constructor(requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS) {
    super();
    this.requestTimeoutMs = requestTimeoutMs;
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    // The library still computes headers (a rotated token is read as before) and a fresh Agent;
    // the fresh Agent has opened nothing yet, and is dropped unless the TLS settings changed.
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (fresh === undefined) return;
    const key = this.tlsKey();
    if (this.pooled?.key !== key) {
      const old = this.pooled?.dispatcher;
      this.pooled = { key, dispatcher: this.withTimeouts(fresh) };
      // In-flight requests on the old Agent finish; it then closes its connections.
      void old?.close().catch(() => undefined);
    }
    context.setDispatcher(this.pooled.dispatcher);
  }

  /**
   * The pooled Agent with a headers timeout on every request (and a body timeout on all but watches,
   * which may be quiet for minutes: client-node's Watch ends a silent one itself). A request that runs
   * into one drops the whole pool: its connection may be dead, and on HTTP/2 every other request waits
   * on that same connection. Requests still in flight on it fail and are retried by their callers; the
   * next request opens a new connection.
   */
  private withTimeouts(dispatcher: Dispatcher): Dispatcher {
    const timeout = this.requestTimeoutMs;
    const drop = (): void => {
      if (this.pooled?.dispatcher !== pooled) return;
      this.pooled = undefined;
      void dispatcher.destroy().catch(() => undefined);
    };
    const pooled = dispatcher.compose((dispatch) => (opts, handler) => {
      // A watch's headers come at once; its limit must run out before client-node's Watch aborts the
      // request after 30 s (an abort resets the stream only, and the dead connection would stay).
      const watch = /[?&]watch=true(&|$)/.test(opts.path);
      const watchHeaders = Math.min(timeout / 2, WATCH_HEADERS_TIMEOUT_MS);
      const limits = watch ? { headersTimeout: watchHeaders } : { headersTimeout: timeout, bodyTimeout: timeout };
      return dispatch({ ...opts, ...limits }, onTimeout(handler, drop));
    });
    return pooled;
  }

  /** Everything the connection depends on; a certificate file rewritten in place changes its mtime. */
  private tlsKey(): string {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    const file = (path: string | undefined): string => (path ? `${path}@${statMtime(path)}` : "");
    return JSON.stringify([
      cluster?.server,
      cluster?.skipTLSVerify,
      cluster?.tlsServerName,
      cluster?.proxyUrl,
      cluster?.caData,
      file(cluster?.caFile),
      user?.certData,
      file(user?.certFile),
      user?.keyData,
      file(user?.keyFile),
    ]);
  }
}

type Handler = Parameters<Parameters<Parameters<Dispatcher["compose"]>[0]>[0]>[1];
const TIMEOUTS = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

/** `handler` as it is, but a headers or body timeout reported to it (either handler API) calls `then` first. */
function onTimeout(handler: Handler, then: () => void): Handler {
  return new Proxy(handler, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      const method = value as (...args: unknown[]) => unknown;
      if (property !== "onError" && property !== "onResponseError") return method.bind(target);
      return (...args: unknown[]): unknown => {
        const err = args.at(-1);
        if (err instanceof Error && TIMEOUTS.has((err as { code?: string }).code ?? "")) then();
        return method.apply(target, args);
      };
    },
  });
}

function statMtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}
