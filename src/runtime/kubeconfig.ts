// A KubeConfig whose API calls share connections. @kubernetes/client-node 2.0.1 builds a new undici
// Agent for every API call (KubeConfig.applySecurityAuthentication -> createDispatcher), so every
// call opens a new TCP+TLS connection: measured here, 1,000 GETs at 64 in flight took 8.9 s and
// 8 s of client CPU, against 1.6 s and 3 s with one shared Agent. Watches are not affected (they
// go through the library's own agent cache).
import { statSync } from "node:fs";
import { KubeConfig, type RequestContext } from "@kubernetes/client-node";

type Dispatcher = NonNullable<ReturnType<RequestContext["getDispatcher"]>>;

/** How long one API request may take when the caller sets no limit (the operator's --request-timeout). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export class PooledKubeConfig extends KubeConfig {
  /** The Agent in use and the TLS settings it was made for. */
  private pooled: { key: string; dispatcher: Dispatcher } | undefined;
  /**
   * Every API call is abandoned after this long. Without it a call on a connection that went silent
   * (a partition that drops packets, a proxy that stalls) waits for undici's 300 s header timeout,
   * holding a worker and the key it reconciles: an expiry due then would wait as long.
   */
  readonly requestTimeoutMs: number;

  constructor(requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS) {
    super();
    this.requestTimeoutMs = requestTimeoutMs;
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    // Generated API calls send the context's signal with the request (watches and log streams
    // bring their own and ignore this one); a caller's own signal is kept.
    if (context.getSignal() === undefined) context.setSignal(AbortSignal.timeout(this.requestTimeoutMs));
    // The library still computes headers (a rotated token is read as before) and a fresh Agent;
    // the fresh Agent has opened nothing yet, and is dropped unless the TLS settings changed.
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (fresh === undefined) return;
    const key = this.tlsKey();
    if (this.pooled?.key !== key) {
      const old = this.pooled?.dispatcher;
      this.pooled = { key, dispatcher: fresh };
      // In-flight requests on the old Agent finish; it then closes its connections.
      void old?.close().catch(() => undefined);
    }
    context.setDispatcher(this.pooled.dispatcher);
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

function statMtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}
