// Executes each PipelineRun as exactly one Job and keeps the run's status true to the Job's fate.
// The Job's name comes from the run, so a crash between creating the Job and writing the status
// finds the Job on restart instead of creating a second one.
import type { V1Secret } from '@kubernetes/client-node';
import type { Pipeline, PipelineRun, PipelineRunStatus } from '../../api/types.ts';
import { EVENT_REASONS, LABELS, paramsSecretName, RUN_REASONS } from '../../api/constants.ts';
import type { KubeClient, KubeObject } from '../../kube/client.ts';
import { RESOURCES } from '../../kube/resources.ts';
import { isKubeError } from '../../kube/errors.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { Controller, type ReconcileEvent } from '../../controller-runtime/controller.ts';
import type { SharedInformer } from '../../controller-runtime/shared-informer.ts';
import type { ReconcileResult } from '../../controller-runtime/reconciler.ts';
import { keyOf } from '../../controller-runtime/keys.ts';
import { StatusWriter } from '../../controller-runtime/status-writer.ts';
import { CreateExpectations } from '../../controller-runtime/create-expectations.ts';
import { anyOf, deletionChanged, generationChanged, type UpdatePredicate } from '../../controller-runtime/predicates.ts';
import type { Logger } from '../../observability/logger.ts';
import { ACTIVE_RUN_PHASES, type ActiveRunPhase, type Metrics } from '../../observability/metrics.ts';
import { buildJob, jobNameFor } from './build-job.ts';
import { compareReceiptOrder, decideAdmission } from './concurrency.ts';
import { selectRunsToPrune } from './history.ts';
import { resolveRun } from './resolve-pipeline.ts';
import { cancelledStatus, deriveRunStatus, failedStatus, isTerminal, RUN_STATUS_FIELDS, waitingStatus } from './run-status.ts';
import type { Job } from './job.ts';
import { handleRerun, pendingRerun, rerunRequestChanged } from './rerun.ts';

/** `namespace/pipeline` → runs of that Pipeline. */
export const RUNS_BY_PIPELINE = 'pipeline';

/** How long a run waits for the Secret with its sensitive params before it fails. */
const PARAMS_SECRET_GRACE_MS = 5 * 60_000;
const DEFAULT_HISTORY = { succeeded: 10, failed: 10 };

export interface PipelineRunControllerOptions {
  client: KubeClient;
  runs: SharedInformer<PipelineRun>;
  pipelines: SharedInformer<Pipeline>;
  jobs: SharedInformer<KubeObject>;
  secrets: SharedInformer<V1Secret>;
  events: EventRecorder;
  metrics?: Metrics;
  logger: Logger;
  workers?: number;
  now?: () => Date;
  onReconciled?: (event: ReconcileEvent) => void;
}

/** What a reconcile uses: the options and the controller's one status writer. */
interface RunReconcileDeps extends PipelineRunControllerOptions {
  status: StatusWriter<PipelineRunStatus>;
  /**
   * Runs this controller let start whose jobRef the cache does not show yet (their Job create or
   * status write is in flight). Admission counts them as active: decided from the cache alone, two
   * runs of a Queue or Forbid Pipeline reconciled a moment apart could both start (seen with real
   * Pods: two deliveries a millisecond apart ran side by side).
   */
  admitted: Set<string>;
  /** Jobs this controller created that the Job cache does not show yet: never created twice. */
  createdJobs: CreateExpectations;
}

/** A run's place in its Pipeline's concurrency changed: it got a Job, or its phase moved. */
const slotChanged: UpdatePredicate<PipelineRun> = (before, after) => before.status?.phase !== after.status?.phase || before.status?.jobRef?.name !== after.status?.jobRef?.name;

/** The run has just finished (as the cache shows it), so its Pipeline's history can be pruned. */
const justFinished: UpdatePredicate<PipelineRun> = (before, after) => isTerminal(after.status?.phase) && !isTerminal(before.status?.phase);

export function createPipelineRunController(opts: PipelineRunControllerOptions): Controller {
  const now = opts.now ?? (() => new Date());
  if (!opts.runs.hasIndex(RUNS_BY_PIPELINE)) {
    opts.runs.addIndex(RUNS_BY_PIPELINE, (r) => [keyOf(r.metadata.namespace, r.spec.pipelineRef.name)]);
  }
  const status = new StatusWriter<PipelineRunStatus>({ client: opts.client, resource: RESOURCES.pipelineRuns, fields: RUN_STATUS_FIELDS });
  const admitted = new Set<string>();
  const createdJobs = new CreateExpectations();
  const controller = new Controller({
    name: 'pipelinerun',
    // A reconcile is two API writes in a row (the Job, then the status), so it is bound by their
    // latency: with 4 workers a faster receiver outran the controller and runs waited in the queue.
    workers: opts.workers ?? 16,
    logger: opts.logger,
    reconcile: (key) => reconcileRun(key, { ...opts, status, admitted, createdJobs }, now()),
    ...(opts.onReconciled ? { onReconciled: opts.onReconciled } : {}),
  });
  const enqueueRun = (r: PipelineRun) => controller.enqueue(keyOf(r.metadata.namespace, r.metadata.name!));
  // Runs waiting for a turn (Forbid, Queue, Replace) are woken when a sibling starts or finishes.
  const enqueueWaitingSiblings = (r: PipelineRun) => {
    for (const sibling of opts.runs.byIndex(RUNS_BY_PIPELINE, keyOf(r.metadata.namespace, r.spec.pipelineRef.name))) {
      if (!isTerminal(sibling.status?.phase) && sibling.status?.jobRef === undefined) enqueueRun(sibling);
    }
  };
  opts.runs.onAdd(enqueueRun);
  const specChanged = anyOf<PipelineRun>(generationChanged, deletionChanged);
  opts.runs.onUpdate((before, after) => {
    if (after.status?.jobRef !== undefined || isTerminal(after.status?.phase)) admitted.delete(keyOf(after.metadata.namespace, after.metadata.name!));
    if (specChanged(before, after) || justFinished(before, after) || rerunRequestChanged(before, after)) enqueueRun(after);
    if (slotChanged(before, after)) enqueueWaitingSiblings(after);
  });
  status.wakeWhenCaughtUp(opts.runs, enqueueRun);
  opts.runs.onDelete((r) => {
    status.forget(r);
    admitted.delete(keyOf(r.metadata.namespace, r.metadata.name!));
    enqueueWaitingSiblings(r);
  });
  const enqueueOwner = (o: KubeObject) => {
    const run = o.metadata?.labels?.[LABELS.pipelineRun];
    if (run) controller.enqueue(keyOf(o.metadata?.namespace, run));
  };
  opts.jobs.onAdd(enqueueOwner);
  opts.jobs.onUpdate((_, j) => enqueueOwner(j));
  opts.jobs.onDelete(enqueueOwner);
  opts.secrets.onAdd((s) => enqueueOwner(s as KubeObject));
  const enqueueRunsOfPipeline = (p: Pipeline) => {
    for (const r of opts.runs.byIndex(RUNS_BY_PIPELINE, keyOf(p.metadata.namespace, p.metadata.name!))) if (!isTerminal(r.status?.phase)) enqueueRun(r);
  };
  opts.pipelines.onAdd(enqueueRunsOfPipeline);
  // Runs read only the Pipeline's spec. Its status changes with every run (counts, conditions) and
  // woke all its unfinished runs each time, some before the Job cache showed their new Job.
  opts.pipelines.onUpdate((before, p) => {
    if (generationChanged(before, p)) enqueueRunsOfPipeline(p);
  });
  return controller;
}

async function reconcileRun(key: string, opts: RunReconcileDeps, now: Date): Promise<ReconcileResult | void> {
  const run = opts.runs.get(key);
  if (!run || run.metadata.deletionTimestamp) return;
  const namespace = run.metadata.namespace!;
  const rerunRequest = pendingRerun(run);
  if (rerunRequest !== undefined) {
    const result = await handleRerun(opts, run, rerunRequest, now);
    if (result) return result;
  }
  if (isTerminal(run.status?.phase)) {
    // Pruned here, from the cache, rather than right after our own status write: runs that finish
    // at the same moment would each miss the others' new status there, and none would be pruned.
    // The last of them to reach the cache sees them all.
    return pruneHistory(opts, run, now);
  }

  const jobName = jobNameFor(run);
  const jobKey = keyOf(namespace, jobName);
  const job = opts.jobs.get(jobKey) as Job | undefined;
  // Woken again before the Job cache shows the Job we created (a status write of ours, an update of
  // the run): wait for it rather than create it again and be refused.
  opts.createdJobs.expectSeen(jobKey, job !== undefined);

  if (run.spec.cancelled && !finished(job)) {
    if (job) await deleteJob(opts.client, namespace, jobName);
    return writeStatus(opts, run, cancelledStatus(run, now, replacedBy(opts, run)));
  }
  if (job) return writeStatus(opts, run, deriveRunStatus(run, job, now));

  // No Job yet: everything that must hold before one is created.
  if (run.spec.payloadErrors?.length) {
    const problems = run.spec.payloadErrors.map((e) => `${e.param}: ${e.message}`).join('; ');
    return writeStatus(opts, run, failedStatus(run, RUN_REASONS.invalidPayload, `the webhook payload did not provide valid params (${problems})`, now));
  }
  const pipeline = opts.pipelines.get(keyOf(namespace, run.spec.pipelineRef.name));
  if (!pipeline) {
    return writeStatus(opts, run, failedStatus(run, RUN_REASONS.pipelineNotFound, `Pipeline "${run.spec.pipelineRef.name}" not found`, now));
  }
  const resolved = resolveRun(run, pipeline);
  if (!resolved.ok) return writeStatus(opts, run, failedStatus(run, resolved.reason, resolved.message, now));

  if (run.spec.sensitiveParams?.length && !opts.secrets.get(keyOf(namespace, paramsSecretName(run.metadata.name!)))) {
    const age = now.getTime() - Date.parse(run.metadata.creationTimestamp ?? now.toISOString());
    if (age > PARAMS_SECRET_GRACE_MS) {
      return writeStatus(opts, run, failedStatus(run, RUN_REASONS.invalidParams, `Secret "${paramsSecretName(run.metadata.name!)}" with the sensitive params never appeared`, now));
    }
    await writeStatus(opts, run, waitingStatus(run, RUN_REASONS.queued, `waiting for Secret "${paramsSecretName(run.metadata.name!)}" with the sensitive params`, now));
    return { requeueAfterMs: 2_000 };
  }

  const siblings = opts.runs.byIndex(RUNS_BY_PIPELINE, keyOf(namespace, run.spec.pipelineRef.name)).map((s) =>
    s.status?.jobRef === undefined && opts.admitted.has(keyOf(s.metadata.namespace, s.metadata.name!)) ? { ...s, status: { ...s.status, jobRef: { name: jobNameFor(s) } } } : s,
  );
  const admission = decideAdmission(run, siblings, pipeline.spec.concurrencyPolicy ?? 'Allow');
  switch (admission.action) {
    case 'wait':
      return writeStatus(opts, run, waitingStatus(run, admission.reason, admission.message, now));
    case 'cancel':
      return writeStatus(opts, run, cancelledStatus(run, now, { reason: admission.reason, message: admission.message }));
    case 'replace': {
      for (const name of admission.cancel) {
        await opts.client.mergePatch(RESOURCES.pipelineRuns, namespace, name, { spec: { cancelled: true } }).catch((e: unknown) => {
          if (!(isKubeError(e) && e.notFound)) throw e;
        });
      }
      // Decided again as the cache will show the cancels: the new run waits while a cancelled run
      // still has its Job, and their status changes wake it.
      const cancelled = siblings.map((s) => (admission.cancel.includes(s.metadata.name!) ? { ...s, spec: { ...s.spec, cancelled: true } } : s));
      const next = decideAdmission(run, cancelled, 'Replace');
      if (next.action === 'wait') return writeStatus(opts, run, waitingStatus(run, next.reason, next.message, now));
      break;
    }
    case 'start':
      break;
  }

  // Synchronously with the decision (no await since it for 'start'): the next reconcile sees it.
  opts.admitted.add(key);
  let created: Job;
  try {
    created = await opts.client.create(RESOURCES.jobs, buildJob(run, pipeline, resolved.template, resolved.values, { now }));
    opts.createdJobs.created(jobKey);
    opts.events.record(run, 'Normal', EVENT_REASONS.runStarted, 'CreateJob', `created Job ${jobName}`);
  } catch (e) {
    if (!(isKubeError(e) && e.alreadyExists)) {
      opts.admitted.delete(key);
      throw e;
    }
    // Created by an earlier attempt whose status write was lost: adopt it, never create a second.
    created = await opts.client.get<Job>(RESOURCES.jobs, namespace, jobName);
  }
  return writeStatus(opts, run, deriveRunStatus(run, created, now));
}

async function writeStatus(opts: RunReconcileDeps, run: PipelineRun, status: PipelineRunStatus): Promise<ReconcileResult | void> {
  // Only over the version this status was derived from: a replica that lost the lease while
  // paused mid-reconcile must not overwrite, when it resumes, what the new leader wrote since.
  if (!(await opts.status.write(run, status))) return;
  const phase = status.phase;
  if (phase !== run.status?.phase && isTerminal(phase)) {
    const labels = { namespace: run.metadata.namespace!, pipeline: run.spec.pipelineRef.name };
    if (phase === 'Succeeded') opts.events.record(run, 'Normal', EVENT_REASONS.runSucceeded, 'Complete', status.message ?? 'succeeded');
    else if (phase === 'Cancelled') opts.events.record(run, 'Normal', EVENT_REASONS.runCancelled, 'Cancel', status.message ?? 'cancelled');
    else opts.events.record(run, 'Warning', EVENT_REASONS.runFailed, 'Fail', `${status.reason}: ${status.message}`);
    if (status.startTime && status.completionTime && opts.metrics && (phase === 'Succeeded' || phase === 'Failed' || phase === 'Cancelled')) {
      opts.metrics.pipelineRunDuration.observe({ ...labels, phase }, Math.max(0, (Date.parse(status.completionTime) - Date.parse(status.startTime)) / 1000));
    }
  }
}

/** Keeps the newest N succeeded and N failed runs of the Pipeline; older ones go, with their Jobs. */
async function pruneHistory(opts: RunReconcileDeps, finishedRun: PipelineRun, now: Date): Promise<ReconcileResult | void> {
  const namespace = finishedRun.metadata.namespace!;
  const pipeline = opts.pipelines.get(keyOf(namespace, finishedRun.spec.pipelineRef.name));
  const limits = { ...DEFAULT_HISTORY, ...(pipeline?.spec.history ?? {}) };
  const runs = opts.runs.byIndex(RUNS_BY_PIPELINE, keyOf(namespace, finishedRun.spec.pipelineRef.name));
  const { names, keptUntilMs } = selectRunsToPrune(runs, limits, now.getTime());
  for (const name of names) {
    await opts.client.delete(RESOURCES.pipelineRuns, namespace, name, { propagationPolicy: 'Background' }).catch((e: unknown) => {
      if (!(isKubeError(e) && e.notFound)) throw e;
    });
  }
  // Runs kept for their replay window are pruned once it ends.
  if (keptUntilMs !== undefined) return { requeueAfterMs: Math.max(1_000, keptUntilMs - now.getTime()) };
}

/**
 * Under concurrencyPolicy Replace, a run that a newer one superseded was cancelled by this
 * controller, not by a person: it ends with reason Replaced, naming the newer run.
 */
function replacedBy(opts: RunReconcileDeps, run: PipelineRun): { reason?: string; message?: string } {
  const namespace = run.metadata.namespace!;
  const pipeline = opts.pipelines.get(keyOf(namespace, run.spec.pipelineRef.name));
  if (pipeline?.spec.concurrencyPolicy !== 'Replace') return {};
  const newer = opts.runs
    .byIndex(RUNS_BY_PIPELINE, keyOf(namespace, run.spec.pipelineRef.name))
    .filter((o) => o.metadata.name !== run.metadata.name && !isTerminal(o.status?.phase) && !o.spec.cancelled && compareReceiptOrder(o, run) > 0)
    .sort(compareReceiptOrder);
  const newest = newer[newer.length - 1];
  return newest ? { reason: RUN_REASONS.replaced, message: `replaced by the newer run ${newest.metadata.name ?? ''} (concurrencyPolicy Replace)` } : {};
}

async function deleteJob(client: KubeClient, namespace: string, name: string): Promise<void> {
  // Background propagation: the garbage collector removes the Job's pods.
  await client.delete(RESOURCES.jobs, namespace, name, { propagationPolicy: 'Background' }).catch((e: unknown) => {
    if (!(isKubeError(e) && e.notFound)) throw e;
  });
}

function finished(job: Job | undefined): boolean {
  return (job?.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

/**
 * Counts unfinished runs per pipeline and phase, for the active-runs gauge. A pipeline with runs in
 * its history and none active counts 0 in both phases: the gauge then reads "none active" rather
 * than no data, until its last run is pruned.
 */
export function countActiveRuns(runs: readonly PipelineRun[]): Map<string, { namespace: string; pipeline: string; phase: ActiveRunPhase; count: number }> {
  const counts = new Map<string, { namespace: string; pipeline: string; phase: ActiveRunPhase; count: number }>();
  for (const r of runs) {
    const namespace = r.metadata.namespace!;
    const pipeline = r.spec.pipelineRef.name;
    for (const phase of ACTIVE_RUN_PHASES) {
      const id = `${namespace}/${pipeline}/${phase}`;
      if (!counts.has(id)) counts.set(id, { namespace, pipeline, phase, count: 0 });
    }
    // Only the active phases have entries: a finished run counts nowhere.
    const entry = counts.get(`${namespace}/${pipeline}/${r.status?.phase ?? 'Pending'}`);
    if (entry) entry.count++;
  }
  return counts;
}
