// A delivery's identity. The PipelineRun's name is derived from it, so a retried delivery collides
// with its first attempt in the API server itself: exactly one run, across replicas and restarts.
import { createHash, randomUUID } from 'node:crypto';

/** Names stay within 63 characters so the Job and its Pods can carry them as label values. */
const MAX_TRIGGER_PART = 46;

/**
 * The run name for a delivery of a trigger. The trigger's UID is part of the hash, so deleting and
 * recreating a trigger starts a fresh space of delivery IDs. 64 bits of hash keep collisions
 * negligible; a collision would still be detected (the stored delivery key differs) and refused.
 */
export function pipelineRunNameFor(triggerName: string, triggerUid: string, deliveryKey: string, target?: string): string {
  const hash = createHash('sha256').update(triggerUid).update('\0').update(deliveryKey);
  // A target of spec.targets: one run per target and delivery. The pipelineRef shorthand hashes
  // the delivery alone, so its runs keep the names they had before targets existed.
  if (target !== undefined) hash.update('\0target\0').update(target);
  const digest = hash.digest('hex').slice(0, 16);
  return `${triggerName.slice(0, MAX_TRIGGER_PART).replace(/[-.]+$/, '')}-${digest}`;
}

/** For requests that carry no delivery identity at all: every such request is a new delivery. */
export function newDeliveryKey(): string {
  return `generated:${randomUUID()}`;
}
