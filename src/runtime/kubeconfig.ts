// A KubeConfig whose API calls share connections. @kubernetes/client-node 2.0.1 builds a new undici
// Agent for every API call (KubeConfig.applySecurityAuthentication -> createDispatcher), so every
// call opens a new TCP+TLS connection: measured here, 1,000 GETs at 64 in flight took 8.9 s and
// 8 s of client CPU, against 1.6 s and 3 s with one shared Agent. Watches are not affected (they
// go through the library's own agent cache).
import { statSync } from "node:fs";
import { KubeConfig, type RequestContext } from "@kubernetes/client-node";

type Dispatcher = NonNullable<ReturnType<RequestContext["getDispatcher"]>>;

export class PooledKubeConfig extends KubeConfig {
  /** The Agent in use and the TLS settings it was made for. */
  private pooled: { key: string; dispatcher: Dispatcher } | undefined;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
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
