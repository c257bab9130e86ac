// Writes each trigger's delivery counts and last delivery into its status in batches (at most once
// per interval per trigger), never once per request: a busy webhook must not become a busy etcd.
import type { DeliveryOutcome, WebhookTrigger } from '../api/types.ts';
import type { KubeClient } from '../kube/client.ts';
import { RESOURCES } from '../kube/resources.ts';
import { isKubeError } from '../kube/errors.ts';

interface PendingDeliveries {
  namespace: string;
  name: string;
  accepted: number;
  rejected: number;
  last?: { time: string; outcome: DeliveryOutcome; correlationId?: string };
}

export interface DeliveryStatusRecorderOptions {
  client: KubeClient;
  /** The informer's copy of a trigger, used to avoid a GET per flush; a conflict falls back to a GET. */
  cachedTrigger: (namespace: string, name: string) => WebhookTrigger | undefined;
  intervalMs: number;
  onError?: (namespace: string, name: string, error: unknown) => void;
}

export class DeliveryStatusRecorder {
  private readonly pending = new Map<string, PendingDeliveries>();
  private readonly opts: DeliveryStatusRecorderOptions;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(opts: DeliveryStatusRecorderOptions) {
    this.opts = opts;
  }

  record(namespace: string, name: string, outcome: DeliveryOutcome, correlationId?: string): void {
    const key = `${namespace}/${name}`;
    let entry = this.pending.get(key);
    if (!entry) {
      entry = { namespace, name, accepted: 0, rejected: 0 };
      this.pending.set(key, entry);
    }
    if (outcome === 'accepted' || outcome === 'duplicate') entry.accepted++;
    else entry.rejected++;
    entry.last = { time: new Date().toISOString(), outcome, ...(correlationId ? { correlationId } : {}) };
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Writes everything recorded so far; what fails to write is kept for the next flush. */
  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = this.flushAll().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async flushAll(): Promise<void> {
    const batch = [...this.pending.values()];
    this.pending.clear();
    await Promise.all(
      batch.map(async (entry) => {
        try {
          await this.write(entry);
        } catch (e) {
          if (isKubeError(e) && e.notFound) return; // the trigger is gone: nothing to record against
          this.merge(entry);
          this.opts.onError?.(entry.namespace, entry.name, e);
        }
      }),
    );
  }

  private async write(entry: PendingDeliveries): Promise<void> {
    let trigger = this.opts.cachedTrigger(entry.namespace, entry.name);
    for (let attempt = 0; attempt < 4; attempt++) {
      if (!trigger) trigger = await this.opts.client.get<WebhookTrigger>(RESOURCES.webhookTriggers, entry.namespace, entry.name);
      const counts = trigger.status?.deliveries ?? { accepted: 0, rejected: 0 };
      const patch = {
        metadata: { resourceVersion: trigger.metadata.resourceVersion },
        status: {
          deliveries: { accepted: counts.accepted + entry.accepted, rejected: counts.rejected + entry.rejected },
          ...(entry.last ? { lastDelivery: entry.last } : {}),
        },
      };
      try {
        // The resourceVersion makes this an increment, not an overwrite, when several replicas flush at once.
        await this.opts.client.mergePatch(RESOURCES.webhookTriggers, entry.namespace, entry.name, patch, 'status');
        return;
      } catch (e) {
        if (!(isKubeError(e) && e.conflict)) throw e;
        trigger = undefined;
      }
    }
    throw new Error('status update kept conflicting');
  }

  private merge(entry: PendingDeliveries): void {
    const key = `${entry.namespace}/${entry.name}`;
    const newer = this.pending.get(key);
    if (!newer) {
      this.pending.set(key, entry);
      return;
    }
    newer.accepted += entry.accepted;
    newer.rejected += entry.rejected;
    newer.last ??= entry.last;
  }
}
