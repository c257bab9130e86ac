// Exports the controller machinery's own counters (queues, informers, leadership) as metrics. The
// machinery keeps plain counters so it has no dependency on prom-client; this copies their growth
// into the registry once a second.
import type { Manager } from '../controller-runtime/manager.ts';
import type { Controller, ReconcileEvent } from '../controller-runtime/controller.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { SharedInformer } from '../controller-runtime/shared-informer.ts';
import type { PipelineRun, WebhookTrigger } from '../api/types.ts';
import { CONDITION_TYPES } from '../api/constants.ts';
import { isConditionTrue } from '../controller-runtime/conditions.ts';
import { countActiveRuns } from '../controllers/pipeline-run/pipeline-run-controller.ts';

/** Records one finished reconcile; a reconcile cut short by a stop (lost leadership) is not counted. */
export function recordReconcile(metrics: Metrics): (event: ReconcileEvent) => void {
  return (event) => {
    if (event.outcome === 'cancelled') return;
    const controller = { controller: event.controller };
    metrics.reconcileTotal.inc({ ...controller, result: event.outcome });
    metrics.reconcileDuration.observe(controller, event.durationMs / 1000);
    if (event.outcome === 'error' || event.outcome === 'terminal') metrics.reconcileErrors.inc(controller);
  };
}

export interface ObservedCaches {
  runs?: SharedInformer<PipelineRun>;
  triggers?: SharedInformer<WebhookTrigger>;
}

export function observeControllers(manager: Manager, controllers: Controller[], metrics: Metrics, caches: ObservedCaches = {}): () => void {
  const { runs, triggers } = caches;
  const seen = new Map<string, number>();
  const grow = (id: string, value: number, inc: (delta: number) => void) => {
    const before = seen.get(id) ?? 0;
    if (value > before) inc(value - before);
    seen.set(id, value);
  };
  const sync = () => {
    for (const c of controllers) {
      const labels = { controller: c.name };
      metrics.workQueueDepth.set(labels, c.queue.length);
      grow(`adds/${c.name}`, c.queueStats.adds, (d) => metrics.workQueueAdds.inc(labels, d));
      grow(`retries/${c.name}`, c.queueStats.retries, (d) => metrics.workQueueRetries.inc(labels, d));
    }
    for (const i of manager.informers) {
      const labels = { resource: i.name };
      grow(`restarts/${i.name}`, i.stats.restarts, (d) => metrics.informerRestarts.inc(labels, d));
      grow(`connects/${i.name}`, i.stats.connects, (d) => metrics.informerConnects.inc(labels, d));
      metrics.informerSynced.set(labels, i.hasSynced() ? 1 : 0);
    }
    if (manager.elector) metrics.leader.set(manager.isLeader());
    if (runs?.hasSynced()) {
      metrics.pipelineRunsActive.reset();
      for (const c of countActiveRuns(runs.list()).values()) metrics.pipelineRunsActive.set({ namespace: c.namespace, pipeline: c.pipeline, phase: c.phase }, c.count);
    }
    if (triggers?.hasSynced()) {
      const ready = new Map<string, number>();
      for (const t of triggers.list()) {
        const ns = t.metadata.namespace ?? '';
        ready.set(ns, (ready.get(ns) ?? 0) + (isConditionTrue(t.status?.conditions, CONDITION_TYPES.ready) ? 1 : 0));
      }
      metrics.triggersReady.reset();
      for (const [namespace, count] of ready) metrics.triggersReady.set({ namespace }, count);
    }
  };
  const timer = setInterval(sync, 1000);
  timer.unref();
  return () => clearInterval(timer);
}
