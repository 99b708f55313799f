// Retention of DebugSessionRecords: on the leader, list them (metadata only: a transcript is never
// downloaded to decide its age), delete those past their retention, and sleep until the next is due
// (or the sweep interval, whichever is first).
import type { V1ObjectMeta } from "@kubernetes/client-node";
import type { CustomObjectsApi, ListOptions } from "../runtime/kube/api.ts";
import type { Logger } from "pino";
import { parseDuration } from "../api/duration.ts";
import {
  DEFAULT_RECORD_RETENTION,
  GROUP,
  RECORD_PLURAL,
  RECORD_POLICY_ANNOTATION,
  RECORD_RETENTION_ANNOTATION,
  VERSION,
  type DebugPolicy,
} from "../api/types.ts";
import { apiMessage, isConflict, isNotFound, unless } from "../runtime/errors.ts";
import { sleep } from "../runtime/timers.ts";

const METADATA_ONLY: ListOptions = { accept: "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1" };
const PAGE = 500;

export interface RecordSweeperOptions {
  custom: CustomObjectsApi;
  /** Only the records of this namespace (the operator's --namespace); undefined: every namespace. */
  namespace?: string;
  /** The policy cache: a record follows its policy's recordRetention as it is now. */
  policy: (namespace: string, name: string) => DebugPolicy | undefined;
  log: Logger;
  minRetentionMs: number;
  intervalMs: number;
  now?: () => Date;
  onDeleted?(): void;
}

/**
 * When a record is due: its creation plus its policy's recordRetention as the policy says now (the
 * retention written into the record when the policy is gone), never less than the operator's floor.
 */
export function recordDueAt(
  meta: V1ObjectMeta,
  policy: DebugPolicy | undefined,
  minRetentionMs: number,
): number | undefined {
  const created = meta.creationTimestamp ? new Date(meta.creationTimestamp).getTime() : NaN;
  if (Number.isNaN(created)) return undefined;
  const text =
    policy?.spec.recordRetention ?? meta.annotations?.[RECORD_RETENTION_ANNOTATION] ?? DEFAULT_RECORD_RETENTION;
  return created + retentionMs(text, minRetentionMs);
}

/** A recordRetention in ms (the default when it does not parse), never under the operator's floor. */
export function retentionMs(text: string, minRetentionMs: number): number {
  const retention = parseDuration(text) ?? parseDuration(DEFAULT_RECORD_RETENTION) ?? 0;
  return Math.max(retention, minRetentionMs);
}

export class RecordSweeper {
  private readonly opts: RecordSweeperOptions;
  private readonly now: () => Date;
  private stopping = new AbortController();
  private wake = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(opts: RecordSweeperOptions) {
    this.opts = opts;
    this.now = opts.now ?? (() => new Date());
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake.abort();
    await this.loop;
  }

  /** A record was written that is due at `at`: sweep then, if that is before the next planned sweep. */
  dueBy(at: number): void {
    if (at >= this.nextSweep) return;
    this.nextSweep = at;
    this.wake.abort();
  }

  /** When the next sweep runs (ms since the epoch); 0: at once. */
  private nextSweep = 0;

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      const now = this.now().getTime();
      if (now >= this.nextSweep) {
        let due = Infinity;
        try {
          due = await this.sweep();
        } catch (err) {
          this.opts.log.warn({ err: apiMessage(err) }, "could not sweep DebugSessionRecords; trying again later");
        }
        this.nextSweep = Math.min(now + this.opts.intervalMs, due);
      }
      this.wake = new AbortController();
      const wait = Math.max(0, this.nextSweep - this.now().getTime());
      await sleep(wait, AbortSignal.any([this.wake.signal, this.stopping.signal]), { unref: true });
    }
  }

  /** Deletes every record past its retention; returns when the next one is due (Infinity: none). */
  async sweep(): Promise<number> {
    const now = this.now().getTime();
    let next = Infinity;
    let _continue: string | undefined;
    do {
      const request = { group: GROUP, version: VERSION, plural: RECORD_PLURAL, limit: PAGE, _continue };
      const { namespace } = this.opts;
      const page = (await (namespace === undefined
        ? this.opts.custom.listClusterCustomObject(request, METADATA_ONLY)
        : this.opts.custom.listNamespacedCustomObject({ ...request, namespace }, METADATA_ONLY))) as {
        items?: { metadata: V1ObjectMeta }[];
        metadata?: { continue?: string };
      };
      for (const { metadata } of page.items ?? []) {
        const policyName = metadata.annotations?.[RECORD_POLICY_ANNOTATION];
        const policy = policyName ? this.opts.policy(metadata.namespace ?? "", policyName) : undefined;
        const due = recordDueAt(metadata, policy, this.opts.minRetentionMs);
        if (due === undefined) continue;
        if (due > now) {
          next = Math.min(next, due);
          continue;
        }
        await this.delete(metadata);
      }
      _continue = page.metadata?.continue || undefined;
    } while (_continue);
    return next;
  }

  private async delete(meta: V1ObjectMeta): Promise<void> {
    const { name = "", namespace = "", uid } = meta;
    await this.opts.custom
      .deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: RECORD_PLURAL,
        namespace,
        name,
        body: { preconditions: { uid } },
      })
      .catch(unless(isNotFound, isConflict));
    this.opts.onDeleted?.();
    this.opts.log.info({ record: `${namespace}/${name}` }, "deleted DebugSessionRecord past its retention");
  }
}
