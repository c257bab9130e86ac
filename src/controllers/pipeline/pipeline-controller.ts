// Reconciles each Pipeline into its status: Ready (or Stalled, with the reason) and the number of
// triggers that point at it, so that `kubectl wait --for=condition=Ready pipeline/NAME`, Flux and
// Argo CD can tell a usable Pipeline from a broken one before any delivery arrives. It never writes
// a Pipeline's spec; its status writes do not wake it (generation changes and triggers do).
import { pipelineNamesOf } from '../../api/targets.ts';
import type { Pipeline, PipelineStatus, WebhookTrigger } from '../../api/types.ts';
import type { KubeClient } from '../../kube/client.ts';
import { RESOURCES } from '../../kube/resources.ts';
import { Controller, type ReconcileEvent } from '../../controller-runtime/controller.ts';
import type { SharedInformer } from '../../controller-runtime/shared-informer.ts';
import { StatusWriter } from '../../controller-runtime/status-writer.ts';
import { generationChanged } from '../../controller-runtime/predicates.ts';
import { keyOf } from '../../controller-runtime/keys.ts';
import type { Logger } from '../../observability/logger.ts';
import { addTriggerIndexes, TRIGGER_INDEXES } from '../webhook-trigger/trigger-controller.ts';
import { validatePipeline } from './validate-pipeline.ts';
import { desiredPipelineStatus, PIPELINE_STATUS_FIELDS } from './pipeline-status.ts';

/** How long trigger changes gather before a Pipeline's trigger count is written. */
export const TRIGGER_COUNT_DELAY_MS = 1_000;

export interface PipelineControllerOptions {
  client: KubeClient;
  pipelines: SharedInformer<Pipeline>;
  triggers: SharedInformer<WebhookTrigger>;
  logger: Logger;
  workers?: number;
  now?: () => Date;
  onReconciled?: (event: ReconcileEvent) => void;
}

export function createPipelineController(opts: PipelineControllerOptions): Controller {
  const now = opts.now ?? (() => new Date());
  addTriggerIndexes(opts.triggers);
  const status = new StatusWriter<PipelineStatus>({ client: opts.client, resource: RESOURCES.pipelines, fields: PIPELINE_STATUS_FIELDS });
  const controller = new Controller({
    name: 'pipeline',
    workers: opts.workers ?? 2,
    logger: opts.logger,
    reconcile: async (key) => {
      const pipeline = opts.pipelines.get(key);
      if (!pipeline || pipeline.metadata.deletionTimestamp) return;
      const triggers = opts.triggers.byIndex(TRIGGER_INDEXES.pipeline, key).length;
      await status.write(pipeline, desiredPipelineStatus(pipeline, validatePipeline(pipeline), triggers, now()));
    },
    ...(opts.onReconciled ? { onReconciled: opts.onReconciled } : {}),
  });
  const enqueue = (namespace: string | undefined, name: string) => controller.enqueue(keyOf(namespace, name));
  opts.pipelines.onAdd((p) => enqueue(p.metadata.namespace, p.metadata.name!));
  opts.pipelines.onUpdate((before, after) => {
    if (generationChanged(before, after)) enqueue(after.metadata.namespace, after.metadata.name!);
  });
  status.wakeWhenCaughtUp(opts.pipelines, (p) => enqueue(p.metadata.namespace, p.metadata.name!));
  opts.pipelines.onDelete((p) => status.forget(p));
  // The trigger count: a trigger added, removed or pointed elsewhere changes its Pipelines' counts.
  // Counted once the changes have gathered for a moment: 10,000 triggers applied at once then make
  // one status write a second, instead of one per reconcile the single key can fit in.
  const enqueueTargets = (t: WebhookTrigger) => {
    for (const name of pipelineNamesOf(t.spec)) controller.enqueueAfter(keyOf(t.metadata.namespace, name), TRIGGER_COUNT_DELAY_MS);
  };
  opts.triggers.onAdd(enqueueTargets);
  opts.triggers.onDelete(enqueueTargets);
  opts.triggers.onUpdate((before, after) => {
    if (pipelineNamesOf(before.spec).join('\0') === pipelineNamesOf(after.spec).join('\0')) return;
    enqueueTargets(before);
    enqueueTargets(after);
  });
  return controller;
}
