// Deletes DeliveryRecords once they expire: a record must count for its whole replay window (the
// receiver claims replay keys with them), and no longer, or records would pile up with traffic.
// The receiver never deletes one; an expired record it meets before this controller does is taken
// over in place.
import type { DeliveryRecord } from '../../api/types.ts';
import type { KubeClient } from '../../kube/client.ts';
import { isKubeError } from '../../kube/errors.ts';
import { RESOURCES } from '../../kube/resources.ts';
import { Controller, type ReconcileEvent } from '../../controller-runtime/controller.ts';
import type { SharedInformer } from '../../controller-runtime/shared-informer.ts';
import type { ReconcileResult } from '../../controller-runtime/reconciler.ts';
import { keyOf } from '../../controller-runtime/keys.ts';
import type { Logger } from '../../observability/logger.ts';

export interface RecordExpiryOptions {
  client: KubeClient;
  records: SharedInformer<DeliveryRecord>;
  logger?: Logger;
  now?: () => number;
  onReconciled?: (event: ReconcileEvent) => void;
}

export function createRecordExpiryController(opts: RecordExpiryOptions): Controller {
  const now = opts.now ?? Date.now;
  const controller = new Controller({
    name: 'deliveryrecord',
    workers: 2,
    ...(opts.logger ? { logger: opts.logger } : {}),
    reconcile: (key) => expireRecord(key, opts, now()),
    ...(opts.onReconciled ? { onReconciled: opts.onReconciled } : {}),
  });
  const enqueue = (r: DeliveryRecord) => controller.enqueue(keyOf(r.metadata.namespace, r.metadata.name!));
  opts.records.onAdd(enqueue);
  // A takeover moves the expiry later.
  opts.records.onUpdate((_, r) => enqueue(r));
  return controller;
}

export async function expireRecord(key: string, opts: RecordExpiryOptions, nowMs: number): Promise<ReconcileResult | void> {
  const record = opts.records.get(key);
  if (!record || record.metadata.deletionTimestamp) return;
  const expiresAt = Date.parse(record.spec.expiresAt);
  if (!Number.isNaN(expiresAt) && expiresAt > nowMs) return { requeueAfterMs: expiresAt - nowMs };
  // With its UID and resourceVersion unchanged only: a record taken over meanwhile counts again.
  await opts.client
    .delete(RESOURCES.deliveryRecords, record.metadata.namespace, record.metadata.name!, { uid: record.metadata.uid!, resourceVersion: record.metadata.resourceVersion! })
    .catch((e: unknown) => {
      if (isKubeError(e) && (e.notFound || e.conflict)) return;
      throw e;
    });
}
