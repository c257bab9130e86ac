// Kubernetes Events (events.k8s.io/v1) for what a user wants to see in `kubectl describe`. Writing
// an Event is best effort: a failure is logged, never allowed to fail a reconcile or a delivery, and
// Events never compete with the writes that do the work.
import { randomBytes } from 'node:crypto';
import type { KubeClient, KubeObject } from './client.ts';
import { RESOURCES } from './resources.ts';
import { FIELD_MANAGER } from '../api/constants.ts';
import { Fifo } from '../util/fifo.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  /** `note` must never hold a secret, a signature or a request body. */
  record(regarding: KubeObject, type: EventType, reason: string, action: string, note: string): void;
}

export interface EventRecorderOptions {
  instance: string;
  onError?: (e: unknown) => void;
  /** Events being written at once; more wait in the queue. */
  maxInFlight?: number;
  /** Events waiting to be written; beyond it they are dropped, as client-go's broadcaster does. */
  maxQueued?: number;
  onDropped?: () => void;
}

/**
 * Events go out a few at a time, behind the writes that matter: when 10,000 triggers are applied at
 * once, 10,000 SecretCreated Events written alongside would take a quarter of the API server's
 * capacity from the Secrets and statuses that make the triggers Ready. Like client-go's broadcaster
 * the queue is bounded, and an Event that does not fit is dropped (and counted), never waited for.
 */
export function createEventRecorder(client: KubeClient, opts: EventRecorderOptions): EventRecorder {
  const maxInFlight = opts.maxInFlight ?? 2;
  const maxQueued = opts.maxQueued ?? 1_000;
  const queue = new Fifo<object>();
  let inFlight = 0;
  const send = (event: object): void => {
    inFlight++;
    client
      .create(RESOURCES.events, event)
      .catch((e: unknown) => opts.onError?.(e))
      .finally(() => {
        inFlight--;
        const next = queue.shift();
        if (next) send(next);
      });
  };
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
      if (inFlight < maxInFlight) send(event);
      else if (queue.length < maxQueued) queue.push(event);
      else opts.onDropped?.();
    },
  };
}
