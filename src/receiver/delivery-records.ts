// Replay protection that lasts as long as the signature does, whatever run history keeps: before a
// signed delivery whose delivery ID is not covered by the signature starts a run, the receiver
// claims its replay key (the signed content's fingerprint) with a DeliveryRecord. The API server's
// create is the claim, so two replicas, or a replay racing its original, cannot both win; the record
// says which run the first delivery started, and it counts until it expires, long after that run
// may have been pruned. The receiver reads no cache for this: a claim is one create, and only a
// replay costs a get.
import { API_VERSION, KINDS } from '../api/constants.ts';
import type { DeliveryRecord, PipelineRun } from '../api/types.ts';
import type { KubeClient } from '../kube/client.ts';
import { isKubeError } from '../kube/errors.ts';
import { RESOURCES } from '../kube/resources.ts';
import { pipelineRunNameFor } from './delivery-key.ts';
import type { Route, ServingRoute } from './compile-route.ts';

export type ReplayClaim =
  /**
   * This delivery may go on: the key was free or expired (`release` gives it back if the run cannot
   * be stored), or it is already held by this delivery's own run (a retry).
   */
  | { outcome: 'claimed'; release: () => Promise<void> }
  /** The key started another run: answer with it (`run` is undefined once that run was deleted). */
  | { outcome: 'replay'; record: DeliveryRecord; run: PipelineRun | undefined };

export interface ClaimRequest {
  replayKey: string;
  /** The run this delivery would create (its name follows from its delivery key). */
  runName: string;
  correlationId: string;
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

export function deliveryRecordNameFor(route: Pick<Route, 'name' | 'uid'>, replayKey: string): string {
  return pipelineRunNameFor(route.name, route.uid, `replay:${replayKey}`);
}

export async function claimReplayKey(client: KubeClient, route: ServingRoute, req: ClaimRequest): Promise<ReplayClaim> {
  const record = buildDeliveryRecord(route, req);
  const name = record.metadata.name!;
  let existing: DeliveryRecord;
  try {
    return claimed(client, await client.create(RESOURCES.deliveryRecords, record, { timeoutMs: req.timeoutMs }));
  } catch (e) {
    if (!(isKubeError(e) && e.alreadyExists)) throw new ClaimUnsettled(e);
    existing = await client.get<DeliveryRecord>(RESOURCES.deliveryRecords, route.namespace, name).catch((err: unknown) => {
      throw new ClaimUnsettled(err);
    });
  }
  // A retry of the same delivery holds its own key; its run's name decides whether it is a duplicate.
  if (existing.spec.pipelineRun === req.runName) return { outcome: 'claimed', release: async () => {} };
  if (Date.parse(existing.spec.expiresAt) > req.nowMs && existing.spec.key === record.spec.key) {
    const run = await client.get<PipelineRun>(RESOURCES.pipelineRuns, route.namespace, existing.spec.pipelineRun).catch((e: unknown) => {
      if (isKubeError(e) && e.notFound) return undefined;
      throw new ClaimUnsettled(e);
    });
    // No run yet, from a record this young: the first delivery may still be storing it. Say retry
    // rather than answer for a run that may never exist.
    if (!run && req.nowMs - Date.parse(existing.metadata.creationTimestamp ?? '') < req.timeoutMs + 1_000) {
      throw new ClaimUnsettled(new Error('the replayed delivery\'s run is not stored yet'));
    }
    // A missing run was deleted (history keeps it through the window, so by hand): it did exist.
    // A delivery that failed to store its run gave its record back (release) when it could.
    return { outcome: 'replay', record: existing, run };
  }
  // Expired (the operator has not deleted it yet): take it over, on the condition that nobody else
  // did meanwhile.
  try {
    return claimed(client, await client.replace(RESOURCES.deliveryRecords, { ...record, metadata: { ...record.metadata, resourceVersion: existing.metadata.resourceVersion! } }));
  } catch (e) {
    throw new ClaimUnsettled(e);
  }
}

function claimed(client: KubeClient, stored: DeliveryRecord): ReplayClaim {
  return {
    outcome: 'claimed',
    // Best effort, and only this very record: a later claim of the key is never removed.
    release: () =>
      client
        .delete(RESOURCES.deliveryRecords, stored.metadata.namespace, stored.metadata.name!, { uid: stored.metadata.uid!, resourceVersion: stored.metadata.resourceVersion! })
        .catch(() => undefined),
  };
}

function buildDeliveryRecord(route: ServingRoute, req: ClaimRequest): DeliveryRecord {
  return {
    apiVersion: API_VERSION,
    kind: KINDS.deliveryRecord.kind,
    metadata: {
      name: deliveryRecordNameFor(route, req.replayKey),
      namespace: route.namespace,
      labels: { 'planasonix.io/trigger': route.name.slice(0, 63).replace(/[-_.]+$/, '') },
      // Owned by the trigger, so deleting it removes its records; no blockOwnerDeletion, which would
      // need update on the trigger's finalizers where OwnerReferencesPermissionEnforcement is on.
      ownerReferences: [{ apiVersion: API_VERSION, kind: KINDS.webhookTrigger.kind, name: route.name, uid: route.uid }],
    },
    spec: {
      key: `replay:${req.replayKey}`,
      pipelineRun: req.runName,
      correlationId: req.correlationId,
      expiresAt: new Date(req.nowMs + route.replayWindowMs).toISOString(),
    },
  };
}
