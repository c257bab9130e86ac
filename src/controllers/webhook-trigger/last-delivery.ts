// status.lastDelivery: the newest delivery that started a run, read from the leader's cache of
// PipelineRuns rather than counted by each receiver replica, so the trigger controller stays the
// one writer of a trigger's status. Counts of every answer live in the metrics
// (planasonix_webhook_requests_total), not in the object.
import type { PipelineRun, WebhookTrigger, WebhookTriggerStatus } from '../../api/types.ts';

export type LastDelivery = NonNullable<WebhookTriggerStatus['lastDelivery']>;

/** The newest of the recorded lastDelivery and the trigger's runs: history pruning never moves it back. */
export function lastDeliveryOf(trigger: WebhookTrigger, runs: readonly PipelineRun[]): LastDelivery | undefined {
  let newest = trigger.status?.lastDelivery;
  for (const run of runs) {
    const delivery = run.spec.trigger;
    if (!delivery || delivery.name !== trigger.metadata.name) continue;
    if (newest && Date.parse(newest.time) >= Date.parse(delivery.receivedTime)) continue;
    newest = { time: delivery.receivedTime, correlationId: run.spec.correlationId, pipelineRun: run.metadata.name! };
  }
  return newest;
}
