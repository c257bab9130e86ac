// Small builders for the WebhookTrigger controller's unit tests.
import type { V1Secret } from '@kubernetes/client-node';
import type { Pipeline, PipelineSpec, WebhookTrigger, WebhookTriggerSpec } from '../../../../src/api/types.ts';

export function makeTrigger(spec: Partial<WebhookTriggerSpec> = {}, meta: Partial<WebhookTrigger['metadata']> = {}): WebhookTrigger {
  return {
    apiVersion: 'planasonix.io/v1alpha1',
    kind: 'WebhookTrigger',
    metadata: { name: 'export-completed', namespace: 'data', uid: 'trigger-uid', generation: 3, resourceVersion: '100', ...meta },
    spec: { pipelineRef: { name: 'export-loader' }, ...spec },
  };
}

export function makePipeline(spec: Partial<PipelineSpec> = {}): Pipeline {
  return {
    apiVersion: 'planasonix.io/v1alpha1',
    kind: 'Pipeline',
    metadata: { name: 'export-loader', namespace: 'data' },
    spec: {
      params: [
        { name: 'export_id', required: true },
        { name: 'record_count', default: '0' },
      ],
      jobTemplate: { spec: {} },
      ...spec,
    },
  };
}

export function makeSecret(name: string, data: Record<string, string>): V1Secret {
  return {
    metadata: { name, namespace: 'data' },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}
