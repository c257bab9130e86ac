// Kubernetes Events (events.k8s.io/v1) for what a user wants to see in `kubectl describe`. Writing
// an Event is best effort: a failure is logged, never allowed to fail a reconcile or a delivery.
import { randomBytes } from 'node:crypto';
import type { KubeClient, KubeObject } from './client.ts';
import { RESOURCES } from './resources.ts';
import { FIELD_MANAGER } from '../api/constants.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  /** `note` must never hold a secret, a signature or a request body. */
  record(regarding: KubeObject, type: EventType, reason: string, action: string, note: string): void;
}

export function createEventRecorder(client: KubeClient, opts: { instance: string; onError?: (e: unknown) => void }): EventRecorder {
  return {
    record(regarding, type, reason, action, note) {
      const meta = regarding.metadata ?? {};
      const now = new Date();
      const event = {
        metadata: { name: `${meta.name}.${now.getTime().toString(16)}${randomBytes(2).toString('hex')}`, namespace: meta.namespace },
        eventTime: now.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z'),
        reportingController: `planasonix.io/${FIELD_MANAGER}`,
        reportingInstance: opts.instance,
        action,
        reason,
        type,
        note: note.slice(0, 1024),
        regarding: { apiVersion: regarding.apiVersion, kind: regarding.kind, name: meta.name, namespace: meta.namespace, uid: meta.uid },
      };
      client.create(RESOURCES.events, event).catch((e: unknown) => opts.onError?.(e));
    },
  };
}

/** Collects events in memory, for tests of code that records them. */
export function createMemoryEventRecorder(): EventRecorder & { events: { reason: string; type: EventType; note: string; name: string }[] } {
  const events: { reason: string; type: EventType; note: string; name: string }[] = [];
  return {
    events,
    record(regarding, type, reason, _action, note) {
      events.push({ reason, type, note, name: regarding.metadata?.name ?? '' });
    },
  };
}
