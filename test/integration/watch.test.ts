// The pinned client-node keeps a healthy watch open: 2.0.0 aborted every watch after 30 s
// (kubernetes-client/javascript#3020, fixed by #3022). Our informer must see a minute of events on
// one connection, with no restart.
import { Watch } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clients, createNamespace, deleteNamespace, kubectlOk } from "../support/kube.ts";

describe("a watch stays open past 60 seconds", () => {
  let ns: string;
  beforeAll(() => {
    ns = createNamespace("watch");
  });
  afterAll(() => deleteNamespace(ns));

  it("delivers events for 70 s on one connection", async () => {
    const { kc } = clients();
    const seen: string[] = [];
    let ended: unknown = "still open";
    const controller = await new Watch(kc).watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      {},
      (phase, obj: { metadata?: { name?: string } }) => seen.push(`${phase} ${obj.metadata?.name ?? ""}`),
      (err: unknown) => (ended = err ?? "closed"),
    );
    const started = Date.now();
    try {
      // One change every 10 s: a live stream, so only a whole-request timeout could end it.
      for (let i = 0; Date.now() - started < 70_000; i++) {
        kubectlOk(["-n", ns, "create", "configmap", `tick-${i}`, `--from-literal=i=${i}`]);
        await new Promise((r) => setTimeout(r, 10_000));
      }
      expect(ended).toBe("still open");
      expect(seen.filter((s) => s.startsWith("ADDED tick-")).length).toBeGreaterThanOrEqual(7);
    } finally {
      controller.abort();
    }
  }, 120_000);
});
