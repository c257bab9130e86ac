// Small builders for the PipelineRun controller's unit tests.
import type { JobTemplate, Pipeline, PipelineRun, PipelineRunStatus, PipelineSpec, PipelineRunSpec } from '../../../../src/api/types.ts';
import type { Job, JobStatus } from '../../../../src/controllers/pipeline-run/job.ts';

export function makeTemplate(): JobTemplate {
  return {
    spec: {
      template: {
        spec: {
          containers: [{ name: 'load', image: 'ghcr.io/example/export-loader:3', args: ['--export', '$(params.export_id)'] }],
        },
      },
    },
  };
}

export function makePipeline(spec: Partial<PipelineSpec> = {}): Pipeline {
  return {
    apiVersion: 'planasonix.io/v1alpha1',
    kind: 'Pipeline',
    metadata: { name: 'export-loader', namespace: 'data', uid: 'pipeline-uid', generation: 1 },
    spec: {
      params: [
        { name: 'export_id', type: 'string', required: true },
        { name: 'record_count', type: 'number', default: '0' },
      ],
      jobTemplate: makeTemplate(),
      ...spec,
    },
  };
}

export interface RunOptions {
  name?: string;
  spec?: Partial<PipelineRunSpec>;
  status?: PipelineRunStatus;
  receivedAt?: string;
  creationTimestamp?: string;
  generation?: number;
}

export function makeRun(opts: RunOptions = {}): PipelineRun {
  const name = opts.name ?? 'export-completed-5f2c9a01b7e4d3c2';
  return {
    apiVersion: 'planasonix.io/v1alpha1',
    kind: 'PipelineRun',
    metadata: {
      name,
      namespace: 'data',
      uid: `uid-${name}`,
      generation: opts.generation ?? 1,
      creationTimestamp: opts.creationTimestamp ?? '2025-03-01T10:00:00Z',
    },
    spec: {
      pipelineRef: { name: 'export-loader' },
      params: { export_id: 'exp_8f3c21' },
      trigger: { name: 'export-completed', deliveryId: 'msg_2f9a', receivedTime: opts.receivedAt ?? '2025-03-01T10:00:00.123Z' },
      correlationId: '0193f6c2-7b1e-7c3a-9f1d-2b8e4a6c0d11',
      ...opts.spec,
    },
    ...(opts.status ? { status: opts.status } : {}),
  };
}

export function makeJob(status?: JobStatus, name = 'export-completed-5f2c9a01b7e4d3c2'): Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'data' },
    spec: { template: {} },
    ...(status ? { status } : {}),
  };
}
