// The status a trigger should show, derived from its validation, its generated Secret and its runs.
// The trigger controller is the only writer of a trigger's status.
import { pipelineNamesOf } from '../../api/targets.ts';
import type { WebhookTrigger, WebhookTriggerStatus } from '../../api/types.ts';
import { CONDITION_TYPES, TRIGGER_REASONS, WEBHOOK_SECRET_KEYS as KEYS } from '../../api/constants.ts';
import { setKstatusConditions, type Progress } from '../../controller-runtime/conditions.ts';
import { nextRotationTime } from './rotation.ts';
import type { TriggerValidation } from './validate-trigger.ts';
import type { LastDelivery } from './last-delivery.ts';
import { DEFAULT_SECRET_KEY } from '../../api/constants.ts';
import { webhookPathDigest, webhookSecretName, type WebhookSecretState } from '../../api/webhook-secret.ts';

/** Every status field: the trigger controller owns them all. */
export const TRIGGER_STATUS_FIELDS = ['observedGeneration', 'conditions', 'urlSecretRef', 'signingSecretRef', 'rotation', 'lastDelivery', 'pathDigest'] as const satisfies readonly (keyof WebhookTriggerStatus)[];

export function desiredTriggerStatus(
  trigger: WebhookTrigger,
  validation: TriggerValidation,
  secret: WebhookSecretState,
  now: Date,
  lastDelivery?: LastDelivery,
): WebhookTriggerStatus {
  const generation = trigger.metadata.generation ?? 0;
  const auth = trigger.spec.auth ?? {};
  const secretName = webhookSecretName(trigger.metadata.name!);
  let ready: { status: 'True' | 'False'; reason: string; message: string };
  if (!validation.valid) ready = { status: 'False', reason: validation.reason, message: validation.message };
  else if (trigger.spec.suspend) ready = { status: 'False', reason: TRIGGER_REASONS.suspended, message: 'spec.suspend is true: deliveries are answered 503' };
  else if (validation.warning) ready = { status: 'True', reason: TRIGGER_REASONS.servingUnauthenticated, message: validation.warning };
  else ready = { status: 'True', reason: TRIGGER_REASONS.serving, message: `accepting deliveries for ${describePipelines(trigger)}` };

  const status: WebhookTriggerStatus = {
    observedGeneration: generation,
    conditions: setKstatusConditions(trigger.status?.conditions, { type: CONDITION_TYPES.ready, ...ready, observedGeneration: generation }, progressOf(ready), now),
    urlSecretRef: { name: secretName, key: KEYS.url },
  };
  if (auth.secretRef) status.signingSecretRef = { name: auth.secretRef.name, key: auth.secretRef.key ?? DEFAULT_SECRET_KEY };
  else if (secret.signingSecret) status.signingSecretRef = { name: secretName, key: KEYS.signingSecret };
  if (secret.currentSince && secret.signingSecret) {
    const next = nextRotationTime(auth.rotation, secret.currentSince);
    status.rotation = {
      lastRotationTime: secret.currentSince.toISOString(),
      ...(next ? { nextRotationTime: next.toISOString() } : {}),
      ...(secret.handledRotateRequest ? { lastHandledRequest: secret.handledRotateRequest } : {}),
    };
  }
  if (lastDelivery) status.lastDelivery = lastDelivery;
  // The path this controller wrote (or kept) in the generated Secret: the receiver serves no other.
  status.pathDigest = webhookPathDigest(secret.path);
  return status;
}

function describePipelines(trigger: WebhookTrigger): string {
  const names = pipelineNamesOf(trigger.spec);
  return names.length === 1 ? `Pipeline ${names[0]}` : `Pipelines ${names.join(', ')}`;
}

/** Reasons that name another object the trigger waits for: it becomes Ready once that appears. */
const WAITING_REASONS: ReadonlySet<string> = new Set([TRIGGER_REASONS.pipelineNotFound, TRIGGER_REASONS.versionNotFound, TRIGGER_REASONS.secretNotFound, TRIGGER_REASONS.secretKeyNotFound]);

/**
 * What kstatus should read besides Ready: Reconciling while the trigger waits for an object that may
 * still appear (a Pipeline applied in the same commit), Stalled when only a spec change can help,
 * neither when it is Ready or suspended (suspension is the user's choice, not a failure).
 */
export function progressOf(ready: { status: 'True' | 'False'; reason: string; message: string }): Progress | undefined {
  if (ready.status === 'True' || ready.reason === TRIGGER_REASONS.suspended) return undefined;
  if (WAITING_REASONS.has(ready.reason)) return { type: 'Reconciling', reason: ready.reason, message: `waiting: ${ready.message}` };
  return { type: 'Stalled', reason: ready.reason, message: `${ready.message}; this needs a change of spec` };
}
