// The status a trigger should show, derived from its validation and its generated Secret. Delivery
// counts belong to the receiver and are left alone here.
import type { WebhookTrigger, WebhookTriggerStatus } from '../../api/types.ts';
import { CONDITION_TYPES, TRIGGER_REASONS, WEBHOOK_SECRET_KEYS as KEYS } from '../../api/constants.ts';
import { setCondition } from '../../controller-runtime/conditions.ts';
import { nextRotationTime } from './rotation.ts';
import type { TriggerValidation } from './validate-trigger.ts';
import { DEFAULT_SECRET_KEY } from '../../api/constants.ts';
import { webhookSecretName, type WebhookSecretState } from '../../api/webhook-secret.ts';

/** The status fields this controller owns. */
export type OwnedTriggerStatus = Pick<WebhookTriggerStatus, 'observedGeneration' | 'conditions' | 'urlSecretRef' | 'signingSecretRef' | 'rotation'>;

export function desiredTriggerStatus(trigger: WebhookTrigger, validation: TriggerValidation, secret: WebhookSecretState, now: Date): OwnedTriggerStatus {
  const generation = trigger.metadata.generation ?? 0;
  const auth = trigger.spec.auth ?? {};
  const secretName = webhookSecretName(trigger.metadata.name!);
  let ready: { status: 'True' | 'False'; reason: string; message: string };
  if (!validation.valid) ready = { status: 'False', reason: validation.reason, message: validation.message };
  else if (trigger.spec.suspend) ready = { status: 'False', reason: TRIGGER_REASONS.suspended, message: 'spec.suspend is true: deliveries are answered 503' };
  else if (validation.warning) ready = { status: 'True', reason: TRIGGER_REASONS.servingUnauthenticated, message: validation.warning };
  else ready = { status: 'True', reason: TRIGGER_REASONS.serving, message: `accepting deliveries for Pipeline ${trigger.spec.pipelineRef.name}` };

  const status: OwnedTriggerStatus = {
    observedGeneration: generation,
    conditions: setCondition(trigger.status?.conditions, { type: CONDITION_TYPES.ready, ...ready, observedGeneration: generation }, now),
    urlSecretRef: { name: secretName, key: KEYS.url },
  };
  if (auth.secretRef) status.signingSecretRef = { name: auth.secretRef.name, key: auth.secretRef.key ?? DEFAULT_SECRET_KEY };
  else if (secret.signingSecret) status.signingSecretRef = { name: secretName, key: KEYS.signingSecret };
  if (secret.currentSince && secret.signingSecret) {
    const next = nextRotationTime(auth.rotation, secret.currentSince);
    status.rotation = {
      lastRotated: secret.currentSince.toISOString(),
      ...(next ? { nextRotation: next.toISOString() } : {}),
      ...(secret.handledRotateRequest ? { lastHandledRequest: secret.handledRotateRequest } : {}),
    };
  }
  return status;
}

/** A merge patch that turns the current owned fields into the desired ones (null removes a field). */
export function statusPatch(current: WebhookTriggerStatus | undefined, desired: OwnedTriggerStatus): Record<string, unknown> | undefined {
  const keys: (keyof OwnedTriggerStatus)[] = ['observedGeneration', 'conditions', 'urlSecretRef', 'signingSecretRef', 'rotation'];
  const patch: Record<string, unknown> = {};
  for (const key of keys) {
    const want = desired[key];
    const have = current?.[key];
    if (!sameJson(want ?? null, have ?? null)) patch[key] = want ?? null;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/**
 * Deep equality of JSON values that ignores the order of object keys: the API server returns a
 * custom resource's fields sorted by name, so comparing JSON.stringify output would see a change
 * on every reconcile and write the status again each time.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  // Absent and undefined are the same in JSON.
  const left = Object.entries(a).filter(([, v]) => v !== undefined);
  const right = new Map(Object.entries(b).filter(([, v]) => v !== undefined));
  return left.length === right.size && left.every(([k, v]) => right.has(k) && sameJson(v, right.get(k)));
}
