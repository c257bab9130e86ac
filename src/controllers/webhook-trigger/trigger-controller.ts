// Reconciles each WebhookTrigger into its generated Secret (capability URL, signing secret,
// rotation) and a status that says Ready or exactly what is wrong. Level-based: every step reads
// the caches and converges; a reconcile with nothing to change writes nothing.
import type { V1Secret } from '@kubernetes/client-node';
import type { Pipeline, WebhookTrigger } from '../../api/types.ts';
import { CONDITION_TYPES, EVENT_REASONS, LABELS, TRIGGER_REASONS } from '../../api/constants.ts';
import type { KubeClient } from '../../kube/client.ts';
import { RESOURCES } from '../../kube/resources.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { Controller, type ReconcileEvent } from '../../controller-runtime/controller.ts';
import type { Informer } from '../../controller-runtime/informer.ts';
import type { ReconcileResult } from '../../controller-runtime/reconciler.ts';
import { findCondition, setCondition } from '../../controller-runtime/conditions.ts';
import { keyOf } from '../../controller-runtime/keys.ts';
import type { Logger } from '../../controller-runtime/logger.ts';
import { validateTrigger } from './validate-trigger.ts';
import { buildWebhookSecret, readWebhookSecret, sameSecretState, webhookSecretName } from './webhook-secret.ts';
import { desiredSecretState } from './desired-secret-state.ts';
import { desiredTriggerStatus, statusPatch } from './trigger-status.ts';
import { rotationRequeueAfterMs } from './rotation.ts';

export const TRIGGER_INDEXES = {
  /** `namespace/pipeline` → triggers that target it. */
  pipeline: 'pipeline',
  /** `namespace/secret` → triggers whose spec.auth.secretRef names it. */
  secretRef: 'secretRef',
} as const;

export interface TriggerControllerOptions {
  client: KubeClient;
  triggers: Informer<WebhookTrigger>;
  pipelines: Informer<Pipeline>;
  secrets: Informer<V1Secret>;
  /** Base URL callers reach the receiver at; the capability path is appended. */
  externalUrl: string;
  events: EventRecorder;
  logger: Logger;
  workers?: number;
  now?: () => Date;
  onRotated?: (trigger: WebhookTrigger) => void;
  onReconciled?: (event: ReconcileEvent) => void;
}

/** Registers the indexes the controller and the receiver share on the trigger informer. */
export function addTriggerIndexes(triggers: Informer<WebhookTrigger>): void {
  if (!triggers.hasIndex(TRIGGER_INDEXES.pipeline)) {
    triggers.addIndex(TRIGGER_INDEXES.pipeline, (t) => [keyOf(t.metadata.namespace, t.spec.pipelineRef.name)]);
  }
  if (!triggers.hasIndex(TRIGGER_INDEXES.secretRef)) {
    triggers.addIndex(TRIGGER_INDEXES.secretRef, (t) => (t.spec.auth?.secretRef ? [keyOf(t.metadata.namespace, t.spec.auth.secretRef.name)] : []));
  }
}

export function createTriggerController(opts: TriggerControllerOptions): Controller {
  const now = opts.now ?? (() => new Date());
  addTriggerIndexes(opts.triggers);
  const controller = new Controller({
    name: 'webhooktrigger',
    workers: opts.workers ?? 4,
    logger: opts.logger,
    reconcile: (key) => reconcileTrigger(key, opts, now()),
    ...(opts.onReconciled ? { onReconciled: opts.onReconciled } : {}),
  });
  const enqueue = (t: WebhookTrigger) => controller.enqueue(keyOf(t.metadata.namespace, t.metadata.name!));
  opts.triggers.onAdd(enqueue);
  // Status-only updates (our own writes, the receiver's delivery counts) must not wake the controller.
  opts.triggers.onUpdate((before, after) => {
    if (
      before.metadata.generation !== after.metadata.generation ||
      JSON.stringify(before.metadata.annotations ?? {}) !== JSON.stringify(after.metadata.annotations ?? {}) ||
      before.metadata.deletionTimestamp !== after.metadata.deletionTimestamp
    ) {
      enqueue(after);
    }
  });
  const enqueueUsersOfPipeline = (p: Pipeline) => {
    for (const t of opts.triggers.byIndex(TRIGGER_INDEXES.pipeline, keyOf(p.metadata.namespace, p.metadata.name!))) enqueue(t);
  };
  opts.pipelines.onAdd(enqueueUsersOfPipeline);
  opts.pipelines.onUpdate((_, p) => enqueueUsersOfPipeline(p));
  opts.pipelines.onDelete(enqueueUsersOfPipeline);
  const enqueueUsersOfSecret = (s: V1Secret) => {
    const namespace = s.metadata?.namespace;
    const owner = s.metadata?.labels?.[LABELS.trigger];
    if (owner && s.metadata?.name === webhookSecretName(owner)) controller.enqueue(keyOf(namespace, owner));
    for (const t of opts.triggers.byIndex(TRIGGER_INDEXES.secretRef, keyOf(namespace, s.metadata?.name ?? ''))) enqueue(t);
  };
  opts.secrets.onAdd(enqueueUsersOfSecret);
  opts.secrets.onUpdate((_, s) => enqueueUsersOfSecret(s));
  opts.secrets.onDelete(enqueueUsersOfSecret);
  return controller;
}

export async function reconcileTrigger(key: string, opts: TriggerControllerOptions, now: Date): Promise<ReconcileResult | void> {
  const trigger = opts.triggers.get(key);
  if (!trigger || trigger.metadata.deletionTimestamp) return; // the garbage collector removes its Secret
  const namespace = trigger.metadata.namespace!;
  const name = trigger.metadata.name!;
  const secretRef = trigger.spec.auth?.secretRef;

  const validation = validateTrigger(trigger, {
    pipeline: opts.pipelines.get(keyOf(namespace, trigger.spec.pipelineRef.name)),
    userSecret: secretRef ? opts.secrets.get(keyOf(namespace, secretRef.name)) : undefined,
  });

  const existing = opts.secrets.get(keyOf(namespace, webhookSecretName(name)));
  if (existing && !ownedBy(existing, trigger)) {
    const generation = trigger.metadata.generation ?? 0;
    const message = `Secret "${webhookSecretName(name)}" exists and is not owned by this trigger; delete or rename it`;
    await writeStatus(opts, trigger, {
      ...(trigger.status ?? {}),
      observedGeneration: generation,
      conditions: setCondition(trigger.status?.conditions, { type: CONDITION_TYPES.ready, status: 'False', reason: TRIGGER_REASONS.secretConflict, message, observedGeneration: generation }, now),
    });
    return;
  }
  const current = existing ? readWebhookSecret(existing) : undefined;
  const desired = desiredSecretState(trigger, current, opts.externalUrl, now);
  if (!sameSecretState(current, desired.state)) {
    const secret = buildWebhookSecret(trigger, desired.state, existing?.metadata?.resourceVersion);
    // A stale cache surfaces as Conflict or AlreadyExists: the error requeues and the next attempt sees the write.
    if (existing) await opts.client.replace(RESOURCES.secrets, secret);
    else await opts.client.create(RESOURCES.secrets, secret);
    if (!existing) opts.events.record(trigger, 'Normal', EVENT_REASONS.secretCreated, 'CreateSecret', `created Secret ${secret.metadata!.name} with the webhook URL`);
    if (desired.rotated === 'scheduled' || desired.rotated === 'requested') {
      opts.events.record(trigger, 'Normal', EVENT_REASONS.secretRotated, 'RotateSecret', `rotated the signing secret (${desired.rotated}); the previous one is accepted until ${desired.state.previousExpiresAt?.toISOString()}`);
      opts.onRotated?.(trigger);
    }
  }

  const status = desiredTriggerStatus(trigger, validation, desired.state, now);
  const before = findCondition(trigger.status?.conditions, CONDITION_TYPES.ready);
  const after = findCondition(status.conditions, CONDITION_TYPES.ready)!;
  if (await writeStatus(opts, trigger, status)) {
    if (before?.status !== after.status || before?.reason !== after.reason) {
      if (after.status === 'True') opts.events.record(trigger, 'Normal', EVENT_REASONS.ready, 'Reconcile', after.message);
      else opts.events.record(trigger, 'Warning', EVENT_REASONS.invalid, 'Reconcile', `${after.reason}: ${after.message}`);
    }
  }
  const requeueAfterMs = desired.state.currentSince
    ? rotationRequeueAfterMs(trigger.spec.auth?.rotation, { currentSince: desired.state.currentSince, previousExpiresAt: desired.state.previousExpiresAt }, now)
    : undefined;
  return requeueAfterMs !== undefined ? { requeueAfterMs } : undefined;
}

async function writeStatus(opts: TriggerControllerOptions, trigger: WebhookTrigger, status: Parameters<typeof statusPatch>[1]): Promise<boolean> {
  const patch = statusPatch(trigger.status, status);
  if (!patch) return false;
  await opts.client.patchStatus(RESOURCES.webhookTriggers, trigger.metadata.namespace, trigger.metadata.name!, patch);
  return true;
}

function ownedBy(secret: V1Secret, trigger: WebhookTrigger): boolean {
  return (secret.metadata?.ownerReferences ?? []).some((o) => o.uid === trigger.metadata.uid && o.controller);
}
