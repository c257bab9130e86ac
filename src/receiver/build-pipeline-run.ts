// The PipelineRun that records one accepted delivery: its params, where it came from, and how to
// trace it. Never the raw body: the seed asks for pointers, not blobs.
import type { V1Secret } from '@kubernetes/client-node';
import type { PipelineRun } from '../api/types.ts';
import { ANNOTATIONS, API_VERSION, GROUP, KINDS, LABELS, MANAGED_BY, paramsSecretName } from '../api/constants.ts';
import type { Route } from './compile-route.ts';
import type { CompiledTarget } from '../triggers/compiled-trigger.ts';
import { buildOwnedSecret } from '../api/owner-reference.ts';
import { labelValueOf } from '../api/label-value.ts';

/**
 * Label holding the start of a signed request's replay key (160 bits of its SHA-256), so that a
 * replay whose unsigned delivery-ID header was changed is still found as the same delivery.
 */
export const REPLAY_KEY_LABEL = `${GROUP}/replay-key`;

export function replayKeyLabelValue(replayKey: string): string {
  return replayKey.slice(0, 40);
}

export interface DeliveryRecord {
  runName: string;
  deliveryKey: string;
  /** Fingerprint of the signed content, when a signature binds the body. */
  replayKey?: string;
  /** Until when history must keep the run, so that its delivery key keeps deduplicating. */
  keepUntil?: Date;
  correlationId: string;
  /** The W3C trace context the run carries to its Job. */
  traceparent: string;
  tracestate?: string;
  receivedAt: Date;
  params: Record<string, string>;
  sensitive: Record<string, string>;
  payloadErrors: { param: string; message: string }[];
}

export function buildPipelineRun(route: Route, target: Pick<CompiledTarget, 'name' | 'shorthand' | 'pipelineName' | 'pipelineVersion'>, d: DeliveryRecord): PipelineRun {
  const sensitiveNames = Object.keys(d.sensitive);
  return {
    apiVersion: API_VERSION,
    kind: KINDS.pipelineRun.kind,
    metadata: {
      name: d.runName,
      namespace: route.namespace,
      labels: {
        [LABELS.trigger]: labelValueOf(route.name),
        [LABELS.pipeline]: labelValueOf(target.pipelineName),
        [LABELS.correlationId]: d.correlationId,
        [LABELS.managedBy]: MANAGED_BY,
        ...(d.replayKey ? { [REPLAY_KEY_LABEL]: replayKeyLabelValue(d.replayKey) } : {}),
      },
      annotations: {
        [ANNOTATIONS.traceparent]: d.traceparent,
        ...(d.tracestate ? { [ANNOTATIONS.tracestate]: d.tracestate } : {}),
        ...(d.keepUntil ? { [ANNOTATIONS.keepUntil]: d.keepUntil.toISOString() } : {}),
      },
    },
    spec: {
      pipelineRef: { name: target.pipelineName, ...(target.pipelineVersion ? { version: target.pipelineVersion } : {}) },
      params: d.params,
      ...(sensitiveNames.length > 0 ? { sensitiveParams: sensitiveNames } : {}),
      ...(d.payloadErrors.length > 0 ? { payloadErrors: d.payloadErrors } : {}),
      trigger: { name: route.name, deliveryId: d.deliveryKey, receivedTime: d.receivedAt.toISOString(), ...(target.shorthand ? {} : { target: target.name }) },
      correlationId: d.correlationId,
    },
  };
}

/** Sensitive params live in a Secret owned by the run, so they leave with it. */
export function buildSensitiveParamsSecret(run: PipelineRun, values: Record<string, string>): V1Secret {
  return buildOwnedSecret(
    {
      name: paramsSecretName(run.metadata.name!),
      owner: { kind: KINDS.pipelineRun, name: run.metadata.name!, namespace: run.metadata.namespace!, uid: run.metadata.uid! },
      labels: { [LABELS.pipelineRun]: run.metadata.name! },
    },
    values,
  );
}
