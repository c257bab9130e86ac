// Reconciles each WebhookTrigger into its generated Secret (capability URL, signing secret,
// rotation) and a status that says Ready or exactly what is wrong. Level-based: every step reads
// the caches and converges; a reconcile with nothing to change writes nothing.
import { pipelineNamesOf } from '../../api/targets.ts';
import type { V1Secret } from '@kubernetes/client-node';
import type { Pipeline, PipelineRun, WebhookTrigger, WebhookTriggerStatus } from '../../api/types.ts';
import { ANNOTATIONS, CONDITION_TYPES, EVENT_REASONS, LABELS, TRIGGER_REASONS } from '../../api/constants.ts';
import { readReferencedSecret, type ReferencedSecret } from '../../triggers/referenced-secret.ts';
import type { KubeClient } from '../../kube/client.ts';
import { RESOURCES } from '../../kube/resources.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { Controller, type ReconcileEvent } from '../../controller-runtime/controller.ts';
import type { SharedInformer } from '../../controller-runtime/shared-informer.ts';
import type { ReconcileResult } from '../../controller-runtime/reconciler.ts';
import { findCondition, setKstatusConditions } from '../../controller-runtime/conditions.ts';
import { StatusWriter } from '../../controller-runtime/status-writer.ts';
import { CreateExpectations } from '../../controller-runtime/create-expectations.ts';
import { annotationsChanged, anyOf, deletionChanged, generationChanged, statusChanged } from '../../controller-runtime/predicates.ts';
import { keyOf } from '../../controller-runtime/keys.ts';
import type { Logger } from '../../observability/logger.ts';
import { validateTrigger } from './validate-trigger.ts';
import type { TriggerLimits } from '../../triggers/compile.ts';
import { buildWebhookSecret, claimantOf, comparePathClaims, isWebhookSecretOf, readWebhookSecret, sameSecretState, triggerNameOfWebhookSecret, webhookPathOf, webhookSecretName } from '../../api/webhook-secret.ts';
import { desiredSecretState, type DesiredSecretState } from './desired-secret-state.ts';
import { desiredTriggerStatus, progressOf, TRIGGER_STATUS_FIELDS } from './trigger-status.ts';
import { lastDeliveryOf } from './last-delivery.ts';
import { rotationRequeueAfterMs } from './rotation.ts';

export const TRIGGER_INDEXES = {
  /** `namespace/pipeline` → triggers that target it. */
  pipeline: 'pipeline',
  /** `namespace/secret` → triggers whose spec.auth.secretRef names it. */
  secretRef: 'secretRef',
} as const;

/** `namespace/trigger` → the PipelineRuns its deliveries created. */
export const RUNS_BY_TRIGGER = 'trigger';

const STATUS_FIELDS_BUT_LAST_DELIVERY = TRIGGER_STATUS_FIELDS.filter((f) => f !== 'lastDelivery');

/** How often, at most, a busy trigger's status.lastDelivery is written (unless set). */
export const DEFAULT_LAST_DELIVERY_INTERVAL_MS = 5_000;

/** On the Secret informer: capability path → generated Secrets that hold it (normally one). */
export const SECRET_INDEXES = { webhookPath: 'webhookPath' } as const;

export interface TriggerControllerOptions {
  client: KubeClient;
  triggers: SharedInformer<WebhookTrigger>;
  pipelines: SharedInformer<Pipeline>;
  secrets: SharedInformer<V1Secret>;
  /** The runs deliveries created: status.lastDelivery is read from them. */
  runs: SharedInformer<PipelineRun>;
  /** How often, at most, a trigger's lastDelivery is written: a busy webhook must not become a busy etcd. */
  lastDeliveryIntervalMs?: number;
  /** The operator's limits on what a trigger may ask for (--max-body-bytes), as the receiver compiles with them. */
  limits?: TriggerLimits;
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
export function addTriggerIndexes(triggers: SharedInformer<WebhookTrigger>): void {
  if (!triggers.hasIndex(TRIGGER_INDEXES.pipeline)) {
    triggers.addIndex(TRIGGER_INDEXES.pipeline, (t) => pipelineNamesOf(t.spec).map((name) => keyOf(t.metadata.namespace, name)));
  }
  if (!triggers.hasIndex(TRIGGER_INDEXES.secretRef)) {
    triggers.addIndex(TRIGGER_INDEXES.secretRef, (t) => (t.spec.auth?.secretRef ? [keyOf(t.metadata.namespace, t.spec.auth.secretRef.name)] : []));
  }
}

export function createTriggerController(opts: TriggerControllerOptions): Controller {
  const now = opts.now ?? (() => new Date());
  addTriggerIndexes(opts.triggers);
  if (!opts.runs.hasIndex(RUNS_BY_TRIGGER)) {
    opts.runs.addIndex(RUNS_BY_TRIGGER, (r) => (r.spec.trigger ? [keyOf(r.metadata.namespace, r.spec.trigger.name)] : []));
  }
  if (!opts.secrets.hasIndex(SECRET_INDEXES.webhookPath)) {
    opts.secrets.addIndex(SECRET_INDEXES.webhookPath, (s) => {
      const path = webhookPathOf(s);
      return path === undefined ? [] : [path];
    });
  }
  const status = new StatusWriter<WebhookTriggerStatus>({ client: opts.client, resource: RESOURCES.webhookTriggers, fields: TRIGGER_STATUS_FIELDS });
  const createdSecrets = new CreateExpectations();
  const controller = new Controller({
    name: 'webhooktrigger',
    workers: opts.workers ?? 4,
    logger: opts.logger,
    reconcile: (key) => reconcileTrigger(key, opts, now(), status, createdSecrets),
    ...(opts.onReconciled ? { onReconciled: opts.onReconciled } : {}),
  });
  const enqueue = (t: WebhookTrigger) => controller.enqueue(keyOf(t.metadata.namespace, t.metadata.name!));
  opts.triggers.onAdd(enqueue);
  opts.triggers.onDelete((t) => status.forget(t));
  // The spec, a request (annotation), deletion, or a status write that may not be its own. Not
  // lastDelivery alone: its own write would wake the trigger at once and, while deliveries keep
  // coming, write again past the interval below.
  const specOrRequestChanged = anyOf<WebhookTrigger>(generationChanged, annotationsChanged, deletionChanged, statusChanged<WebhookTriggerStatus>(STATUS_FIELDS_BUT_LAST_DELIVERY));
  opts.triggers.onUpdate((before, after) => {
    if (specOrRequestChanged(before, after)) enqueue(after);
  });
  // A delivery's run wakes its trigger once the interval has passed; the queue keeps one wake-up
  // per trigger, so a thousand deliveries make one status write.
  const lastDeliveryIntervalMs = opts.lastDeliveryIntervalMs ?? DEFAULT_LAST_DELIVERY_INTERVAL_MS;
  opts.runs.onAdd((r) => {
    if (r.spec.trigger) controller.enqueueAfter(keyOf(r.metadata.namespace, r.spec.trigger.name), lastDeliveryIntervalMs);
  });
  const enqueueUsersOfPipeline = (p: Pipeline) => {
    for (const t of opts.triggers.byIndex(TRIGGER_INDEXES.pipeline, keyOf(p.metadata.namespace, p.metadata.name!))) enqueue(t);
  };
  opts.pipelines.onAdd(enqueueUsersOfPipeline);
  // A trigger reads its Pipelines' specs, never their status: the Pipeline controller's writes of
  // the trigger count would otherwise wake every trigger of the Pipeline, 10,000 at a time.
  opts.pipelines.onUpdate((before, p) => {
    if (generationChanged(before, p)) enqueueUsersOfPipeline(p);
  });
  opts.pipelines.onDelete(enqueueUsersOfPipeline);
  const enqueueUsersOfSecret = (s: V1Secret) => {
    const namespace = s.metadata?.namespace;
    const owner = s.metadata?.labels?.[LABELS.trigger];
    if (owner && s.metadata?.name === webhookSecretName(owner)) controller.enqueue(keyOf(namespace, owner));
    // A Secret in the way of a trigger's generated one (SecretConflict) may carry no label at all.
    const named = triggerNameOfWebhookSecret(s.metadata?.name ?? '');
    if (named && named !== owner) {
      const trigger = opts.triggers.get(keyOf(namespace, named));
      if (trigger) enqueue(trigger);
    }
    for (const t of opts.triggers.byIndex(TRIGGER_INDEXES.secretRef, keyOf(namespace, s.metadata?.name ?? ''))) enqueue(t);
    // Every other trigger claiming the same path: a refused one is served once the claim goes away.
    const path = webhookPathOf(s);
    for (const other of path === undefined ? [] : opts.secrets.byIndex(SECRET_INDEXES.webhookPath, path)) {
      const claimant = other.metadata?.labels?.[LABELS.trigger];
      if (claimant && other !== s) controller.enqueue(keyOf(other.metadata?.namespace, claimant));
    }
  };
  opts.secrets.onAdd(enqueueUsersOfSecret);
  opts.secrets.onUpdate((before, s) => {
    enqueueUsersOfSecret(s);
    if (webhookPathOf(before) !== webhookPathOf(s)) enqueueUsersOfSecret(before);
  });
  opts.secrets.onDelete(enqueueUsersOfSecret);
  return controller;
}

export async function reconcileTrigger(
  key: string,
  opts: TriggerControllerOptions,
  now: Date,
  status: StatusWriter<WebhookTriggerStatus>,
  createdSecrets: CreateExpectations,
): Promise<ReconcileResult | void> {
  const trigger = opts.triggers.get(key);
  if (!trigger || trigger.metadata.deletionTimestamp) return; // the garbage collector removes its Secret
  const namespace = trigger.metadata.namespace!;
  const name = trigger.metadata.name!;
  const secretRef = trigger.spec.auth?.secretRef;

  const secretKey = keyOf(namespace, webhookSecretName(name));
  const existing = opts.secrets.get(secretKey);
  createdSecrets.expectSeen(secretKey, existing !== undefined);
  const userSecret = secretRef ? opts.secrets.get(keyOf(namespace, secretRef.name)) : undefined;
  const validation = validateTrigger(trigger, {
    pipelines: (pipeline) => opts.pipelines.get(keyOf(namespace, pipeline)),
    userSecret,
    generated: existing && ownedBy(existing, trigger) ? readWebhookSecret(existing) : undefined,
    ...(opts.limits ? { limits: opts.limits } : {}),
  });
  if (existing && !ownedBy(existing, trigger)) {
    const generation = trigger.metadata.generation ?? 0;
    const leftover = existing.metadata?.labels?.[LABELS.trigger] === name && (existing.metadata?.ownerReferences ?? []).some((o) => o.kind === trigger.kind);
    const message = leftover
      ? `Secret "${webhookSecretName(name)}" belongs to an earlier trigger of this name; it is used as soon as the garbage collector has removed it`
      : `Secret "${webhookSecretName(name)}" exists and is not owned by this trigger; delete or rename it`;
    const ready = { type: CONDITION_TYPES.ready, status: 'False', reason: TRIGGER_REASONS.secretConflict, message, observedGeneration: generation } as const;
    // A leftover goes with the garbage collector: wait for it. A stranger's Secret stays: stalled.
    const progress = leftover ? ({ type: 'Reconciling', reason: ready.reason, message: `waiting: ${message}` } as const) : progressOf(ready);
    await writeStatus(opts, status, trigger, { ...(trigger.status ?? {}), conditions: setKstatusConditions(trigger.status?.conditions, ready, progress, now) });
    return;
  }
  const current = existing ? readWebhookSecret(existing) : undefined;
  // A path other than the one this controller gave the trigger (status.pathDigest) means the Secret
  // was edited; paths are 256 random bits, so a second claim on one means the same. The receiver
  // serves neither such path for this trigger; it serves nothing until it has a path of its own.
  const edited = current !== undefined && claimantOf(trigger, current.path) === undefined;
  const holder = current ? earlierClaimOf(current.path, trigger, opts) : undefined;
  if (edited || holder) {
    const generation = trigger.metadata.generation ?? 0;
    const secretName = webhookSecretName(name);
    const message = edited
      ? `the path in Secret "${secretName}" is not the one this trigger was given (the Secret was edited)${holder ? `; it is served by ${holder}` : ''}; delete the Secret to get a new path`
      : `the path in Secret "${secretName}" is already served by an earlier trigger (${holder}); delete the Secret to get a new path`;
    const ready = { type: CONDITION_TYPES.ready, status: 'False', reason: TRIGGER_REASONS.pathConflict, message, observedGeneration: generation } as const;
    await writeStatus(opts, status, trigger, { ...(trigger.status ?? {}), conditions: setKstatusConditions(trigger.status?.conditions, ready, progressOf(ready), now) });
    return;
  }
  const desired = desiredSecretState(trigger, current, opts.externalUrl, now, usableSecret(readReferencedSecret(trigger.spec.auth ?? {}, userSecret)));
  if (!sameSecretState(current, desired.state)) {
    const secret = buildWebhookSecret(trigger, desired.state, existing?.metadata?.resourceVersion);
    // A create waits for the cache to show it (createdSecrets); a replace from a cache behind our
    // own earlier one earns a Conflict, and the next attempt decides again from the newer Secret.
    if (existing) await opts.client.replace(RESOURCES.secrets, secret);
    else {
      await opts.client.create(RESOURCES.secrets, secret);
      createdSecrets.created(secretKey);
    }
    // A new trigger's Secret gets no Event: the trigger's status names it and says Ready, and an
    // Event for each of 10,000 triggers applied at once was a fifth of the API server's work for
    // them. A trigger whose Secret went missing gets one: its URL has changed under its callers.
    if (!existing && trigger.status?.urlSecretRef) {
      const what = secretRef ? 'webhook URL is' : 'webhook URL and signing secret are';
      opts.events.record(trigger, 'Normal', EVENT_REASONS.secretCreated, 'CreateSecret', `recreated Secret ${secret.metadata!.name}, which was missing: the ${what} new`);
    }
    if (desired.rotated && desired.rotated !== 'initial') {
      opts.events.record(trigger, 'Normal', EVENT_REASONS.secretRotated, 'RotateSecret', rotationNote(desired));
      opts.onRotated?.(trigger);
    }
  }

  const lastDelivery = lastDeliveryOf(trigger, opts.runs.byIndex(RUNS_BY_TRIGGER, key));
  await writeStatus(opts, status, trigger, desiredTriggerStatus(trigger, validation, desired.state, now, lastDelivery));
  const requeueAfterMs = desired.state.currentSince
    ? rotationRequeueAfterMs(trigger.spec.auth?.rotation, { currentSince: desired.state.currentSince, previousExpiresAt: desired.state.previousExpiresAt }, now)
    : undefined;
  return requeueAfterMs !== undefined ? { requeueAfterMs } : undefined;
}

/** Says why and until when; never the secret itself. */
function rotationNote(desired: DesiredSecretState): string {
  const why = desired.rotated === 'requested' ? `as requested by the ${ANNOTATIONS.rotateRequestedAt} annotation` : desired.rotated === 'scheduled' ? 'on schedule' : 'because the auth scheme changed';
  const previous = desired.state.previousExpiresAt
    ? `the previous one is accepted until ${desired.state.previousExpiresAt.toISOString()}`
    : 'the previous one is no longer accepted';
  return `rotated the signing secret ${why}; ${previous}`;
}

/**
 * Writes the owned status fields that differ (nothing when none do) and records an Event when the
 * Ready condition changed its status or reason. A new trigger's first Ready needs no Event: its
 * status says it, and every Event is one more write to the API server.
 */
async function writeStatus(opts: TriggerControllerOptions, writer: StatusWriter<WebhookTriggerStatus>, trigger: WebhookTrigger, status: WebhookTriggerStatus): Promise<void> {
  if (!(await writer.write(trigger, status))) return;
  const before = findCondition(trigger.status?.conditions, CONDITION_TYPES.ready);
  const after = findCondition(status.conditions, CONDITION_TYPES.ready);
  if (!after || (before?.status === after.status && before.reason === after.reason)) return;
  // The Event's reason is the condition's own (PipelineNotFound, ParamsMismatch, …): one CamelCase
  // word per case, so `kubectl get events --field-selector reason=…` finds exactly one kind of
  // problem. Suspension is the user's choice: a Normal Event, not a Warning.
  if (after.status === 'True') {
    if (before) opts.events.record(trigger, 'Normal', EVENT_REASONS.ready, 'Reconcile', after.message);
  } else if (after.reason === TRIGGER_REASONS.suspended) opts.events.record(trigger, 'Normal', EVENT_REASONS.suspended, 'Reconcile', after.message);
  else opts.events.record(trigger, 'Warning', after.reason, 'Reconcile', after.message);
}

/**
 * `namespace/name` of another trigger whose own generated Secret holds this path with a better
 * claim (its digest recorded, or an earlier trigger), if any: the same rule the receiver's routing
 * table applies (comparePathClaims), so both agree on who serves it.
 */
function earlierClaimOf(path: string, trigger: WebhookTrigger, opts: TriggerControllerOptions): string | undefined {
  const mine = claimantOf(trigger, path);
  for (const secret of opts.secrets.byIndex(SECRET_INDEXES.webhookPath, path)) {
    const name = secret.metadata?.labels?.[LABELS.trigger];
    const other = name === undefined ? undefined : opts.triggers.get(keyOf(secret.metadata?.namespace, name));
    if (!other || other.metadata.uid === trigger.metadata.uid || other.metadata.deletionTimestamp || !isWebhookSecretOf(secret, other)) continue;
    const theirs = claimantOf(other, path);
    if (theirs && (!mine || comparePathClaims(theirs, mine) < 0)) return keyOf(other.metadata.namespace, other.metadata.name!);
  }
  return undefined;
}

function usableSecret(referenced: ReferencedSecret): string | undefined {
  return referenced && 'secret' in referenced ? referenced.secret : undefined;
}

function ownedBy(secret: V1Secret, trigger: WebhookTrigger): boolean {
  return (secret.metadata?.ownerReferences ?? []).some((o) => o.uid === trigger.metadata.uid && o.controller);
}
