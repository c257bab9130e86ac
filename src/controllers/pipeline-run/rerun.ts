// Reruns: a new PipelineRun with the same params and sensitive params as an earlier one, requested
// by setting the annotation planasonix.io/rerun-requested-at on the earlier run to a new value
// (`planasonix rerun` does exactly that, so the CLI, GitOps and `kubectl annotate` share one path).
// Each value is acted on once: the controller records it in planasonix.io/rerun-handled with the
// outcome. The rerun's name is derived from the run and the value, so a crash between creating it
// and recording the outcome finds it again instead of creating a second one.
import { createHash } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { PipelineRun } from '../../api/types.ts';
import { ANNOTATIONS, API_VERSION, EVENT_REASONS, KINDS, LABELS, MANAGED_BY, paramsSecretName } from '../../api/constants.ts';
import { buildOwnedSecret } from '../../api/owner-reference.ts';
import { labelValueOf } from '../../api/label-value.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { RESOURCES } from '../../kube/resources.ts';
import { isKubeError } from '../../kube/errors.ts';
import type { SharedInformer } from '../../controller-runtime/shared-informer.ts';
import type { ReconcileResult } from '../../controller-runtime/reconciler.ts';
import { keyOf } from '../../controller-runtime/keys.ts';
import { isTerminal } from './run-status.ts';

export interface RerunDeps {
  client: KubeClient;
  runs: SharedInformer<PipelineRun>;
  secrets: SharedInformer<V1Secret>;
  events: EventRecorder;
}

/** The rerun request not yet acted on, if any. */
export function pendingRerun(run: PipelineRun): string | undefined {
  const annotations = run.metadata.annotations ?? {};
  const requested = annotations[ANNOTATIONS.rerunRequestedAt];
  return requested && requested !== annotations[ANNOTATIONS.rerunHandled] ? requested : undefined;
}

/** A rerun request appeared or changed: annotation changes do not change the generation. */
export function rerunRequestChanged(before: PipelineRun, after: PipelineRun): boolean {
  return before.metadata.annotations?.[ANNOTATIONS.rerunRequestedAt] !== after.metadata.annotations?.[ANNOTATIONS.rerunRequestedAt];
}

/** `<run>-r<8 hex>`: deterministic for one request of one run, within 63 characters (a label value). */
export function rerunNameFor(run: PipelineRun, request: string): string {
  const digest = createHash('sha256').update(run.metadata.uid ?? '').update('\0').update(request).digest('hex').slice(0, 8);
  return `${run.metadata.name!.slice(0, 53).replace(/[-.]+$/, '')}-r${digest}`;
}

/**
 * The rerun of `run`: its params, sensitive param names, payload errors and trace; the original's
 * correlation ID (spec and label) and a pointer to it (spec.rerunOf, label rerun-of). It is received
 * now, so under concurrencyPolicy Queue it waits behind the runs received before it.
 */
export function buildRerun(run: PipelineRun, name: string, now: Date): PipelineRun {
  // Not the replay-key label: a replayed delivery must find the original run, not its rerun.
  const labels: Record<string, string> = {};
  for (const key of [LABELS.trigger, LABELS.pipeline]) {
    const value = run.metadata.labels?.[key];
    if (value !== undefined) labels[key] = value;
  }
  const annotations: Record<string, string> = {};
  for (const key of [ANNOTATIONS.traceparent, ANNOTATIONS.tracestate]) {
    const value = run.metadata.annotations?.[key];
    if (value !== undefined) annotations[key] = value;
  }
  const spec = run.spec;
  return {
    apiVersion: API_VERSION,
    kind: KINDS.pipelineRun.kind,
    metadata: {
      name,
      namespace: run.metadata.namespace!,
      labels: {
        ...labels,
        [LABELS.correlationId]: labelValueOf(spec.correlationId),
        [LABELS.rerunOf]: labelValueOf(run.metadata.name!),
        [LABELS.managedBy]: MANAGED_BY,
      },
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: {
      pipelineRef: { ...spec.pipelineRef },
      ...(spec.params ? { params: { ...spec.params } } : {}),
      ...(spec.sensitiveParams?.length ? { sensitiveParams: [...spec.sensitiveParams] } : {}),
      ...(spec.payloadErrors?.length ? { payloadErrors: spec.payloadErrors.map((e) => ({ ...e })) } : {}),
      ...(spec.trigger ? { trigger: { ...spec.trigger, receivedTime: now.toISOString() } } : {}),
      correlationId: spec.correlationId,
      rerunOf: run.metadata.name!,
    },
  };
}

/**
 * Acts on a pending rerun request of `run`: refuses it while the run is active (unless forced) or
 * when its sensitive params are gone, else creates the rerun and its copy of the sensitive params.
 * Either way records the outcome on the run, once.
 */
export async function handleRerun(deps: RerunDeps, run: PipelineRun, request: string, now: Date): Promise<ReconcileResult | void> {
  const namespace = run.metadata.namespace!;
  const force = run.metadata.annotations?.[ANNOTATIONS.rerunForce] === 'true';
  if (!isTerminal(run.status?.phase) && !force) {
    return refuse(deps, run, request, `the run is still ${run.status?.phase ?? 'Pending'}: rerun it once it has finished, or force it (planasonix rerun --force, annotation ${ANNOTATIONS.rerunForce}=true)`);
  }
  const sensitive = run.spec.sensitiveParams ?? [];
  const sourceSecret = sensitive.length > 0 ? deps.secrets.get(keyOf(namespace, paramsSecretName(run.metadata.name!))) : undefined;
  if (sensitive.length > 0) {
    const missing = sensitive.filter((p) => sourceSecret?.data?.[p] === undefined);
    if (!sourceSecret || missing.length > 0) {
      return refuse(deps, run, request, `the Secret ${paramsSecretName(run.metadata.name!)} with the run's sensitive params no longer holds ${missing.join(', ') || 'them'}`);
    }
  }

  const name = rerunNameFor(run, request);
  let rerun: PipelineRun;
  try {
    rerun = await deps.client.create(RESOURCES.pipelineRuns, buildRerun(run, name, now));
  } catch (e) {
    if (!(isKubeError(e) && e.alreadyExists)) throw e;
    // Created by an earlier attempt whose outcome was not recorded: find it in the cache.
    const existing = deps.runs.get(keyOf(namespace, name));
    if (!existing) return { requeueAfterMs: 200 };
    if (existing.spec.rerunOf !== run.metadata.name) return refuse(deps, run, request, `another object already holds the rerun's name ${name}`);
    rerun = existing;
  }
  if (sourceSecret) await copySensitiveParams(deps.client, sourceSecret, rerun, sensitive);
  deps.events.record(run, 'Normal', EVENT_REASONS.rerunCreated, 'Rerun', `created rerun ${name}`);
  await record(deps.client, run, request, { [ANNOTATIONS.lastRerun]: name, [ANNOTATIONS.rerunRefused]: null });
}

/**
 * The rerun's own `<rerun>-params` Secret, owned by the rerun so it leaves with it: only the keys of
 * the sensitive params, copied as stored (never decoded here, never logged).
 */
async function copySensitiveParams(client: KubeClient, source: V1Secret, rerun: PipelineRun, sensitive: readonly string[]): Promise<void> {
  const secret = buildOwnedSecret(
    {
      name: paramsSecretName(rerun.metadata.name!),
      owner: { kind: KINDS.pipelineRun, name: rerun.metadata.name!, namespace: rerun.metadata.namespace!, uid: rerun.metadata.uid! },
      labels: { [LABELS.pipelineRun]: rerun.metadata.name! },
    },
    {},
  );
  // The stored bytes, as they are: no decoding and re-encoding of a value.
  secret.data = Object.fromEntries(sensitive.map((param) => [param, source.data![param]!]));
  try {
    await client.create(RESOURCES.secrets, secret);
  } catch (e) {
    if (!(isKubeError(e) && e.alreadyExists)) throw e;
  }
}

async function refuse(deps: RerunDeps, run: PipelineRun, request: string, message: string): Promise<void> {
  deps.events.record(run, 'Warning', EVENT_REASONS.rerunRefused, 'Rerun', message);
  await record(deps.client, run, request, { [ANNOTATIONS.rerunRefused]: message, [ANNOTATIONS.lastRerun]: null });
}

/** The request is handled: a merge patch of the run's annotations (null removes one). */
async function record(client: KubeClient, run: PipelineRun, request: string, outcome: Record<string, string | null>): Promise<void> {
  await client.mergePatch(RESOURCES.pipelineRuns, run.metadata.namespace, run.metadata.name!, {
    metadata: { annotations: { [ANNOTATIONS.rerunHandled]: request, ...outcome } },
  });
}
