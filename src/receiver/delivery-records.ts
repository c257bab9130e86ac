// Replay protection that lasts as long as the signature does, whatever run history keeps: before a
// signed delivery whose key the signature does not fix (an unsigned delivery-ID header, an
// idempotency header) starts its runs, the receiver claims its replay key (the signed content's
// fingerprint) with a DeliveryRecord that names the delivery key it came with. The API server's
// create is the claim, so two replicas, or a replay racing its original, cannot both win; a replay
// under a fresh key is then handled as the delivery it replays (its runs' names follow from that
// key: found as duplicates, or completed where a failed attempt left one missing). The record counts
// until it expires, long after the original runs may have been pruned. No cache is read: a claim is
// one create, and only a replay (or a retry) costs a get.
import { API_VERSION, KINDS, LABELS } from '../api/constants.ts';
import type { DeliveryRecord } from '../api/types.ts';
import type { KubeClient } from '../kube/client.ts';
import { isKubeError } from '../kube/errors.ts';
import { RESOURCES } from '../kube/resources.ts';
import { pipelineRunNameFor } from './delivery-key.ts';
import type { ServingRoute } from './compile-route.ts';
import { labelValueOf } from '../api/label-value.ts';

export type ReplayClaim =
  /** This delivery may go on: the key was free or expired, or is already held by this very delivery (a retry). */
  | { outcome: 'claimed' }
  /** The signed content came before under another delivery key: this is that delivery. */
  | { outcome: 'replay'; deliveryKey: string };

export interface ClaimRequest {
  replayKey: string;
  /** The key this delivery came with. */
  deliveryKey: string;
  nowMs: number;
  timeoutMs: number;
}

/** Thrown when the API server could not settle the claim; the caller answers 503. */
export class ClaimUnsettled extends Error {
  constructor(cause: unknown) {
    super('the delivery record could not be written', { cause });
    this.name = 'ClaimUnsettled';
  }
}

export function deliveryRecordNameFor(route: Pick<ServingRoute, 'name' | 'uid'>, replayKey: string): string {
  return pipelineRunNameFor(route.name, route.uid, `replay:${replayKey}`);
}

export async function claimReplayKey(client: KubeClient, route: ServingRoute, req: ClaimRequest): Promise<ReplayClaim> {
  const record = buildDeliveryRecord(route, req);
  let existing: DeliveryRecord;
  try {
    await client.create(RESOURCES.deliveryRecords, record, { timeoutMs: req.timeoutMs });
    return { outcome: 'claimed' };
  } catch (e) {
    if (!(isKubeError(e) && e.alreadyExists)) throw new ClaimUnsettled(e);
    existing = await client.get<DeliveryRecord>(RESOURCES.deliveryRecords, route.namespace, record.metadata.name!).catch((err: unknown) => {
      throw new ClaimUnsettled(err);
    });
  }
  if (existing.spec.deliveryKey === req.deliveryKey) return { outcome: 'claimed' };
  // The record's name is a 64-bit hash: a different key under it is a collision, not a replay.
  if (Date.parse(existing.spec.expiresAt) > req.nowMs && existing.spec.key === record.spec.key) {
    return { outcome: 'replay', deliveryKey: existing.spec.deliveryKey };
  }
  // Expired (the operator has not deleted it yet), or a collision: take it over, on the condition
  // that nobody else did meanwhile.
  try {
    await client.replace(RESOURCES.deliveryRecords, { ...record, metadata: { ...record.metadata, resourceVersion: existing.metadata.resourceVersion! } });
  } catch (e) {
    throw new ClaimUnsettled(e);
  }
  return { outcome: 'claimed' };
}

function buildDeliveryRecord(route: ServingRoute, req: ClaimRequest): DeliveryRecord {
  return {
    apiVersion: API_VERSION,
    kind: KINDS.deliveryRecord.kind,
    metadata: {
      name: deliveryRecordNameFor(route, req.replayKey),
      namespace: route.namespace,
      labels: { [LABELS.trigger]: labelValueOf(route.name) },
      // Owned by the trigger, so deleting it removes its records; no blockOwnerDeletion, which would
      // need update on the trigger's finalizers where OwnerReferencesPermissionEnforcement is on.
      ownerReferences: [{ apiVersion: API_VERSION, kind: KINDS.webhookTrigger.kind, name: route.name, uid: route.uid }],
    },
    spec: {
      key: `replay:${req.replayKey}`,
      deliveryKey: req.deliveryKey,
      expiresAt: new Date(req.nowMs + route.replayWindowMs).toISOString(),
    },
  };
}
