// The PipelineRun that records one accepted delivery: its params, where it came from, and how to
// trace it. Never the raw body: the seed asks for pointers, not blobs.
import type { V1Secret } from '@kubernetes/client-node';
import type { PipelineRun } from '../api/types.ts';
import { API_VERSION, KINDS, LABELS, MANAGED_BY } from '../api/constants.ts';
import type { Route } from './compile-route.ts';

export interface DeliveryRecord {
  runName: string;
  deliveryKey: string;
  correlationId: string;
  receivedAt: Date;
  params: Record<string, string>;
  sensitive: Record<string, string>;
  payloadErrors: { param: string; message: string }[];
}

export function buildPipelineRun(route: Route, d: DeliveryRecord): PipelineRun {
  const sensitiveNames = Object.keys(d.sensitive);
  return {
    apiVersion: API_VERSION,
    kind: KINDS.pipelineRun.kind,
    metadata: {
      name: d.runName,
      namespace: route.namespace,
      labels: {
        [LABELS.trigger]: route.name.slice(0, 63).replace(/[-_.]+$/, ''),
        [LABELS.pipeline]: route.pipelineName.slice(0, 63).replace(/[-_.]+$/, ''),
        [LABELS.correlationId]: d.correlationId,
        [LABELS.managedBy]: MANAGED_BY,
      },
    },
    spec: {
      pipelineRef: { name: route.pipelineName, ...(route.pipelineVersion ? { version: route.pipelineVersion } : {}) },
      params: d.params,
      ...(sensitiveNames.length > 0 ? { sensitiveParams: sensitiveNames } : {}),
      ...(d.payloadErrors.length > 0 ? { payloadErrors: d.payloadErrors } : {}),
      trigger: { name: route.name, deliveryId: d.deliveryKey, receivedAt: d.receivedAt.toISOString() },
      correlationId: d.correlationId,
    },
  };
}

export function sensitiveParamsSecretName(runName: string): string {
  return `${runName}-params`;
}

/** Sensitive params live in a Secret owned by the run, so they leave with it. */
export function buildSensitiveParamsSecret(run: PipelineRun, values: Record<string, string>): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: sensitiveParamsSecretName(run.metadata.name!),
      namespace: run.metadata.namespace!,
      labels: { [LABELS.pipelineRun]: run.metadata.name!, [LABELS.managedBy]: MANAGED_BY },
      ownerReferences: [
        { apiVersion: API_VERSION, kind: KINDS.pipelineRun.kind, name: run.metadata.name!, uid: run.metadata.uid!, controller: true, blockOwnerDeletion: true },
      ],
    },
    stringData: values,
  };
}
