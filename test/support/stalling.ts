// StallingProxy: test/support/stalling-proxy.ts in a process of its own, between a client and the
// apiserver. The test's own event loop stops during every synchronous kubectl call, which would stall an
// in-process proxy too.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Forwards to `upstream`; stall() freezes every connection open at that moment (see stalling-proxy.ts). */
export class StallingProxy {
  private readonly child: ChildProcess;
  readonly port: Promise<number>;
  private readonly lines: string[] = [];

  constructor(upstream: { host: string; port: number }) {
    const script = fileURLToPath(new URL("./stalling-proxy.ts", import.meta.url));
    this.child = spawn(process.execPath, [script, upstream.host, String(upstream.port)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    this.port = new Promise((resolve, reject) => {
      createInterface({ input: this.child.stdout! }).on("line", (line) => {
        this.lines.push(line);
        const m = /^listening (\d+)$/.exec(line);
        if (m) resolve(Number(m[1]));
      });
      this.child.on("exit", (code) => reject(new Error(`stalling proxy exited (${code})`)));
      this.child.on("error", reject);
    });
  }

  /** Freezes every connection open now; resolves with how many. */
  async stall(): Promise<number> {
    const before = this.lines.length;
    this.child.kill("SIGUSR1");
    for (;;) {
      const m = this.lines
        .slice(before)
        .map((l) => /^stalled (\d+)$/.exec(l))
        .find(Boolean);
      if (m) return Number(m[1]);
      await sleep(50);
    }
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.on("exit", r));
      this.child.kill("SIGKILL");
      await exited;
    }
  }
}
