// The HTTP endpoint kubelet probes and Prometheus scrape: GET /metrics, /healthz, /readyz.
// Probe bodies follow kube-apiserver's shape ("[-]name failed: reason") so a person reading
// `kubectl describe pod` sees which check failed. A request can never crash the process.
import type { IncomingMessage, ServerResponse } from "node:http";
import { http } from "../runtime/node-http.ts";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { HealthReport, HealthState } from "./health.ts";
import type { Metrics } from "./metrics.ts";

export interface ServerOptions {
  /** 0 picks a free port; the real one is in the result. */
  port: number;
  /** Default: every interface. */
  host?: string;
  metrics: Metrics;
  health: HealthState;
  log: Logger;
}

export interface ObservabilityServer {
  /** The port actually bound (differs from the requested one when that was 0). */
  port: number;
  /** Stops accepting, drops idle keep-alive connections, resolves once closed. */
  close(): Promise<void>;
}

const TEXT = "text/plain; charset=utf-8";

/** Resolves once listening; rejects if the port cannot be bound. */
export function startServer(opts: ServerOptions): Promise<ObservabilityServer> {
  const { metrics, health, log } = opts;
  const server = http.createServer((req, res) => {
    handle(req, res, metrics, health).catch((err: unknown) => {
      log.error({ err, method: req.method, url: req.url }, "observability request failed");
      if (res.headersSent) {
        res.destroy();
        return;
      }
      send(res, 500, TEXT, "internal error\n");
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      server.on("error", (err) => log.error({ err }, "observability server error"));
      const { port } = server.address() as AddressInfo;
      log.info({ port, host: opts.host }, "serving /metrics, /healthz, /readyz");
      resolve({
        port,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((err) => (err ? fail(err) : done()));
            server.closeIdleConnections();
          }),
      });
    });
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, metrics: Metrics, health: HealthState): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const known = url.pathname === "/metrics" || url.pathname === "/healthz" || url.pathname === "/readyz";
  if (!known) return send(res, 404, TEXT, "not found\n");
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    return send(res, 405, TEXT, "method not allowed\n");
  }
  const verbose = url.searchParams.has("verbose");
  switch (url.pathname) {
    case "/metrics":
      return send(res, 200, metrics.contentType, await metrics.metrics());
    case "/healthz":
      return sendReport(res, "healthz", health.liveness(), verbose);
    case "/readyz":
      return sendReport(res, "readyz", health.readiness(), verbose);
  }
}

function sendReport(res: ServerResponse, probe: string, report: HealthReport, verbose: boolean): void {
  if (report.ok && !verbose) return send(res, 200, TEXT, "ok\n");
  const lines = report.checks
    .filter((c) => verbose || !c.ok)
    .map((c) => (c.ok ? `[+]${c.name} ok` : `[-]${c.name} failed: ${c.reason}`));
  lines.push(report.ok ? `${probe} check passed` : `${probe} check failed`);
  send(res, report.ok ? 200 : 503, TEXT, `${lines.join("\n")}\n`);
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "Content-Type": contentType, "Cache-Control": "no-store" });
  res.end(body);
}
