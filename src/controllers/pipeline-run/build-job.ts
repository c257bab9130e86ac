// The one Job a PipelineRun creates. Its name is derived from the run and it is owned by the run,
// so creating it twice is harmless (AlreadyExists) and deleting the run deletes it.
import { createHash } from 'node:crypto';
import type { JobTemplate, Pipeline, PipelineRun } from '../../api/types.ts';
import { ANNOTATIONS, KINDS, LABELS, MANAGED_BY, paramsSecretName } from '../../api/constants.ts';
import { formatTime } from '../../controller-runtime/conditions.ts';
import { parseDuration } from '../../util/duration.ts';
import type { Container, EnvVar, Job, JobSpec, PodTemplateSpec } from './job.ts';
import { envNameForParam } from './param-names.ts';
import { escapeEnvReferences } from './substitute-params.ts';
import { controllerReferenceTo } from '../../api/owner-reference.ts';
import { parseTraceparent, parseTracestate } from '../../tracing/trace-context.ts';

export interface BuildJobOptions {
  /** Stands in for the received time of a run that has neither spec.trigger nor a creationTimestamp. */
  now?: Date;
}

/** Environment variables every container receives besides the params. */
export const RUN_ENV = {
  correlationId: 'PLANASONIX_CORRELATION_ID',
  deliveryId: 'PLANASONIX_DELIVERY_ID',
  pipeline: 'PLANASONIX_PIPELINE',
  pipelineRun: 'PLANASONIX_PIPELINE_RUN',
  trigger: 'PLANASONIX_TRIGGER',
  /** Set in a rerun: the run whose params it repeats. */
  rerunOf: 'PLANASONIX_RERUN_OF',
  /** The W3C trace context, under the names OpenTelemetry's environment-carrier convention reads. */
  traceparent: 'TRACEPARENT',
  tracestate: 'TRACESTATE',
} as const;

// A label value (the Job's name is one too, on its pods): at most 63 characters.
const MAX_LABEL_VALUE = 63;
const SHORT_PREFIX = 52;
const SHORT_HASH = 10;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * The Job's name: the run's own name, which the receiver keeps within 63 characters. A longer name
 * (a run created by hand) becomes its first 52 characters, a dash and 10 hex digits of its SHA-256,
 * so that it stays unique, deterministic and usable as the pods' job-name label.
 */
export function jobNameFor(run: PipelineRun): string {
  return shortenName(requireName(run));
}

/**
 * Builds the Job for a run from an already substituted template (see resolveRun) and the values of
 * its non-sensitive params. Throws when the run has no name or uid, or the Pipeline's timeout is not
 * a duration (the Pipeline CRD rejects such a timeout, so this is a programming error).
 */
export function buildJob(
  run: PipelineRun,
  pipeline: Pipeline,
  template: JobTemplate,
  values: Readonly<Record<string, string>>,
  opts: BuildJobOptions = {},
): Job {
  const name = jobNameFor(run);
  const uid = run.metadata.uid;
  if (!uid) throw new Error(`PipelineRun "${requireName(run)}" has no metadata.uid, so the Job cannot be owned by it`);

  const labels = runLabels(run, pipeline);
  const annotations = runAnnotations(run, opts.now ?? new Date());
  const env = runEnv(run, pipeline, values);
  const { ttlSecondsAfterFinished: _ttl, ...templateSpec } = template.spec as JobSpec;
  const pod: PodTemplateSpec = templateSpec.template ?? {};
  const podSpec = pod.spec ?? {};

  const spec: JobSpec = {
    ...templateSpec,
    // The run's history pruning deletes Jobs with their runs; a TTL would delete a Job whose run
    // still mirrors it.
    suspend: false,
    backoffLimit: pipeline.spec.retries ?? templateSpec.backoffLimit ?? 0,
    template: {
      ...pod,
      metadata: {
        ...pod.metadata,
        labels: { ...pod.metadata?.labels, ...labels },
        annotations: { ...pod.metadata?.annotations, ...annotations },
      },
      spec: {
        ...podSpec,
        restartPolicy: podSpec.restartPolicy ?? 'Never',
        ...(podSpec.containers ? { containers: podSpec.containers.map((c) => withRunEnv(c, env)) } : {}),
        ...(podSpec.initContainers ? { initContainers: podSpec.initContainers.map((c) => withRunEnv(c, env)) } : {}),
      },
    },
  };
  const deadline = activeDeadlineSeconds(pipeline);
  if (deadline !== undefined) spec.activeDeadlineSeconds = deadline;

  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      ...(run.metadata.namespace ? { namespace: run.metadata.namespace } : {}),
      labels: { ...template.metadata?.labels, ...labels, [LABELS.managedBy]: MANAGED_BY },
      annotations: { ...template.metadata?.annotations, ...annotations },
      ownerReferences: [controllerReferenceTo(KINDS.pipelineRun, { name: requireName(run), uid })],
    },
    spec,
  };
}

/** `value` if it is a valid label value, otherwise undefined. */
function labelValue(value: string | undefined): string | undefined {
  return value !== undefined && value !== '' && value.length <= MAX_LABEL_VALUE && LABEL_VALUE.test(value) ? value : undefined;
}

function shortenName(name: string): string {
  if (name.length <= MAX_LABEL_VALUE) return name;
  const digest = createHash('sha256').update(name).digest('hex').slice(0, SHORT_HASH);
  return `${name.slice(0, SHORT_PREFIX).replace(/[-.]+$/, '')}-${digest}`;
}

function requireName(run: PipelineRun): string {
  const name = run.metadata.name;
  if (!name) throw new Error('the PipelineRun has no metadata.name');
  return name;
}

// Our labels win over the template's: the controller and users select Jobs and pods by them. A
// value that is not a valid label value (a hand-written correlation ID, say) is left out rather
// than making the API server refuse the Job.
function runLabels(run: PipelineRun, pipeline: Pipeline): Record<string, string> {
  const candidates: [string, string | undefined][] = [
    [LABELS.trigger, labelValue(run.spec.trigger?.name)],
    [LABELS.pipeline, labelValue(pipeline.metadata.name ?? run.spec.pipelineRef.name)],
    [LABELS.pipelineRun, jobNameFor(run)],
    [LABELS.correlationId, labelValue(run.spec.correlationId)],
  ];
  return Object.fromEntries(candidates.filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function runAnnotations(run: PipelineRun, now: Date): Record<string, string> {
  const annotations: Record<string, string> = {};
  if (run.spec.trigger?.deliveryId) annotations[ANNOTATIONS.deliveryId] = run.spec.trigger.deliveryId;
  const trace = traceOf(run);
  if (trace) annotations[ANNOTATIONS.traceparent] = trace.traceparent;
  annotations[ANNOTATIONS.receivedAt] = run.spec.trigger?.receivedTime ?? run.metadata.creationTimestamp ?? formatTime(now);
  return annotations;
}

/**
 * Our environment variables, in a stable order: the params (sorted by variable name; sensitive ones
 * as secretKeyRefs into the run's Secret) and then the PLANASONIX_ variables. Values are escaped
 * because Kubernetes expands `$(VAR)` in env values too.
 */
function runEnv(run: PipelineRun, pipeline: Pipeline, values: Readonly<Record<string, string>>): EnvVar[] {
  const secretName = paramsSecretName(run.metadata.name!);
  const params: EnvVar[] = [
    ...Object.entries(values).map(([param, value]) => ({ name: envNameForParam(param), value: escapeEnvReferences(value) })),
    ...(run.spec.sensitiveParams ?? []).map((param) => ({
      name: envNameForParam(param),
      valueFrom: { secretKeyRef: { name: secretName, key: param } },
    })),
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const plain: [string, string | undefined][] = [
    [RUN_ENV.correlationId, run.spec.correlationId],
    [RUN_ENV.deliveryId, run.spec.trigger?.deliveryId],
    [RUN_ENV.pipeline, pipeline.metadata.name ?? run.spec.pipelineRef.name],
    [RUN_ENV.pipelineRun, requireName(run)],
    [RUN_ENV.trigger, run.spec.trigger?.name],
    [RUN_ENV.rerunOf, run.spec.rerunOf],
    ...traceEnv(run),
  ];
  const meta = plain
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => ({ name, value: escapeEnvReferences(value) }));
  return [...params, ...meta];
}

/**
 * The run's trace context, re-checked: an annotation anyone with edit rights may have set by hand
 * reaches the Job only when it is a valid traceparent (and a tracestate only with one).
 */
function traceOf(run: PipelineRun): { traceparent: string; tracestate?: string } | undefined {
  const annotations = run.metadata.annotations ?? {};
  const parent = parseTraceparent(annotations[ANNOTATIONS.traceparent]);
  if (!parent) return undefined;
  const tracestate = parseTracestate(annotations[ANNOTATIONS.tracestate]);
  return { traceparent: parent.traceparent, ...(tracestate ? { tracestate } : {}) };
}

function traceEnv(run: PipelineRun): [string, string | undefined][] {
  const trace = traceOf(run);
  return trace ? [[RUN_ENV.traceparent, trace.traceparent], [RUN_ENV.tracestate, trace.tracestate]] : [];
}

/**
 * Ours go first, so that the template's own entries can use them (`value: "--id=$(PARAM_EXPORT_ID)"`:
 * Kubernetes only expands references to variables defined earlier). A name the template defines
 * itself is not emitted at all: the author chose that value on purpose.
 */
function withRunEnv(container: Container, env: readonly EnvVar[]): Container {
  const own = container.env ?? [];
  const taken = new Set(own.map((e) => e.name));
  return { ...container, env: [...env.filter((e) => !taken.has(e.name)), ...own] };
}

function activeDeadlineSeconds(pipeline: Pipeline): number | undefined {
  const timeout = pipeline.spec.timeout;
  if (timeout === undefined || timeout === '') return undefined;
  let ms: number;
  try {
    ms = parseDuration(timeout);
  } catch (e) {
    throw new Error(`Pipeline "${pipeline.metadata.name ?? ''}" has an invalid spec.timeout: ${(e as Error).message}`);
  }
  // Kubernetes wants whole seconds, at least one; rounding up never cuts a run short.
  return Math.max(1, Math.ceil(ms / 1000));
}
