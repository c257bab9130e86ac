// A run's status, derived from its Job. The run carries a `Succeeded` condition (Unknown while it
// waits or runs, True or False at the end, as in Tekton and Knative), so that
// `kubectl wait --for=condition=Succeeded pipelinerun/NAME` works; `--for=condition=Succeeded=false`
// waits for a failure. Ready, Reconciling and Stalled say the same as kstatus reads them (Flux's
// health checks, `kubectl wait --for=condition=Ready`, as on the other two kinds).
import type { Condition, PipelineRun, PipelineRunStatus, RunPhase } from '../../api/types.ts';
import { CONDITION_TYPES, RUN_REASONS } from '../../api/constants.ts';
import { conditionsEqual, findCondition, formatTime, setCondition, setKstatusConditions } from '../../controller-runtime/conditions.ts';
import type { Job, JobCondition } from './job.ts';

export type WaitReason = typeof RUN_REASONS.concurrencyLimited | typeof RUN_REASONS.queued;

const TERMINAL: ReadonlySet<RunPhase | undefined> = new Set<RunPhase | undefined>(['Succeeded', 'Failed', 'Cancelled']);

export function isTerminal(phase: RunPhase | undefined): boolean {
  return TERMINAL.has(phase);
}

/**
 * The status a run should have, given its Job (undefined when none exists yet). A terminal status
 * never changes again, so a Job deleted later (by history pruning, by a person) cannot turn a
 * finished run back into a pending one. A finished Job wins over a cancellation that came too late.
 */
export function deriveRunStatus(run: PipelineRun, job: Job | undefined, now: Date): PipelineRunStatus {
  const previous = run.status ?? {};
  if (isTerminal(previous.phase)) return keepTerminal(run, now);

  const complete = trueCondition(job, 'Complete');
  const failed = trueCondition(job, 'Failed');
  if (job && complete) {
    return withCondition(run, now, {
      phase: 'Succeeded',
      reason: RUN_REASONS.completed,
      message: `Job ${job.metadata.name} completed`,
      startTime: job.status?.startTime ?? previous.startTime,
      completionTime: job.status?.completionTime ?? complete.lastTransitionTime ?? formatTime(now),
      jobRef: { name: job.metadata.name },
      attempts: attemptsOf(job),
    });
  }
  if (job && failed) {
    return withCondition(run, now, {
      phase: 'Failed',
      reason: failureReason(failed.reason),
      message: failed.message || `Job ${job.metadata.name} failed`,
      startTime: job.status?.startTime ?? previous.startTime,
      // A failed Job has no completionTime: Kubernetes sets it on success only.
      completionTime: failed.lastTransitionTime ?? formatTime(now),
      jobRef: { name: job.metadata.name },
      attempts: attemptsOf(job),
    });
  }
  if (run.spec.cancelled) return cancelledStatus(run, now);

  if (!job) {
    return pending(run, now, RUN_REASONS.created, 'creating the Job');
  }
  const status = job.status ?? {};
  if ((status.active ?? 0) > 0 || status.startTime) {
    return withCondition(run, now, {
      phase: 'Running',
      reason: RUN_REASONS.jobActive,
      message: runningMessage(job),
      startTime: status.startTime ?? previous.startTime ?? formatTime(now),
      jobRef: { name: job.metadata.name },
      attempts: attemptsOf(job),
    });
  }
  return { ...pending(run, now, RUN_REASONS.jobPending, "waiting for the Job's pod to start"), jobRef: { name: job.metadata.name } };
}

/** Pending without a Job, held back by the Pipeline's concurrencyPolicy. */
export function waitingStatus(run: PipelineRun, reason: WaitReason, message: string, now: Date): PipelineRunStatus {
  return pending(run, now, reason, message);
}

/** A run that cannot succeed: invalid params, a missing Pipeline, an invalid payload. */
export function failedStatus(run: PipelineRun, reason: string, message: string, now: Date): PipelineRunStatus {
  return withCondition(run, now, { ...carried(run), phase: 'Failed', reason, message, completionTime: formatTime(now) });
}

/** A run stopped on request (spec.cancelled), or replaced by a newer one (reason Replaced). */
export function cancelledStatus(
  run: PipelineRun,
  now: Date,
  opts: { reason?: string; message?: string } = {},
): PipelineRunStatus {
  return withCondition(run, now, {
    ...carried(run),
    phase: 'Cancelled',
    reason: opts.reason ?? RUN_REASONS.cancelled,
    message: opts.message ?? 'cancelled: spec.cancelled is true',
    completionTime: formatTime(now),
  });
}

/** Every status field: the run controller owns them all. */
export const RUN_STATUS_FIELDS = ['observedGeneration', 'phase', 'reason', 'message', 'startTime', 'completionTime', 'jobRef', 'attempts', 'conditions'] as const satisfies readonly (keyof PipelineRunStatus)[];

/** True when writing `b` over `a` would change nothing, so the status write can be skipped. */
export function statusEquals(a: PipelineRunStatus | undefined, b: PipelineRunStatus | undefined): boolean {
  const { conditions: left, ...restA } = a ?? {};
  const { conditions: right, ...restB } = b ?? {};
  return conditionsEqual(left, right) && jsonEqual(restA, restB);
}

/**
 * How long a run took or has been running, as kubectl prints ages: "41s", "2m5s", "1h3m", "2d4h".
 * Undefined before it started.
 */
export function describeRunDuration(status: PipelineRunStatus | undefined, now: Date): string | undefined {
  if (!status?.startTime) return undefined;
  const end = status.completionTime ? Date.parse(status.completionTime) : now.getTime();
  const seconds = Math.max(0, Math.floor((end - Date.parse(status.startTime)) / 1000));
  if (!Number.isFinite(seconds)) return undefined;
  const [d, h, m, s] = [Math.floor(seconds / 86400), Math.floor(seconds / 3600) % 24, Math.floor(seconds / 60) % 60, seconds % 60];
  if (d > 0) return h > 0 ? `${d}d${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h${m}m` : `${h}h`;
  if (m > 0) return s > 0 ? `${m}m${s}s` : `${m}m`;
  return `${s}s`;
}

type StatusFields = Omit<PipelineRunStatus, 'conditions' | 'observedGeneration'> & { phase: RunPhase; reason: string; message: string };

function pending(run: PipelineRun, now: Date, reason: string, message: string): PipelineRunStatus {
  return withCondition(run, now, { phase: 'Pending', reason, message });
}

/** Adds observedGeneration and the Succeeded condition, and drops unset fields so that equal statuses compare equal. */
function withCondition(run: PipelineRun, now: Date, fields: StatusFields): PipelineRunStatus {
  const generation = run.metadata.generation;
  const conditionStatus: Condition['status'] =
    fields.phase === 'Succeeded' ? 'True' : fields.phase === 'Failed' || fields.phase === 'Cancelled' ? 'False' : 'Unknown';
  const observed = generation !== undefined ? { observedGeneration: generation } : {};
  const succeeded = setCondition(run.status?.conditions, { type: CONDITION_TYPES.succeeded, status: conditionStatus, reason: fields.reason, message: fields.message, ...observed }, now);
  // kstatus's reading of the same: Ready once it succeeded; Reconciling while it waits or runs;
  // Stalled once it failed or was cancelled, since nothing will change it any more.
  const conditions = setKstatusConditions(
    succeeded,
    { type: CONDITION_TYPES.ready, status: conditionStatus === 'True' ? 'True' : 'False', reason: fields.reason, message: fields.message, ...observed },
    conditionStatus === 'True' ? undefined : { type: conditionStatus === 'False' ? 'Stalled' : 'Reconciling', reason: fields.reason, message: fields.message },
    now,
  );
  const status: PipelineRunStatus = { ...(generation !== undefined ? { observedGeneration: generation } : {}), ...fields, conditions };
  return dropUndefined(status);
}

/** A finished run keeps its status; only the generation it has seen moves on. */
function keepTerminal(run: PipelineRun, now: Date): PipelineRunStatus {
  const previous = run.status!;
  const condition = findCondition(previous.conditions, CONDITION_TYPES.succeeded);
  const { conditions: _conditions, observedGeneration: _generation, ...fields } = previous;
  return withCondition(run, now, {
    ...fields,
    phase: previous.phase!,
    reason: previous.reason ?? condition?.reason ?? previous.phase!,
    message: previous.message ?? condition?.message ?? '',
  });
}

/** What a run keeps from its previous status when it ends without its Job having ended. */
function carried(run: PipelineRun): Pick<PipelineRunStatus, 'startTime' | 'jobRef' | 'attempts'> {
  const { startTime, jobRef, attempts } = run.status ?? {};
  return { startTime, jobRef, attempts };
}

function trueCondition(job: Job | undefined, type: string): JobCondition | undefined {
  return job?.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

function failureReason(jobReason: string | undefined): string {
  if (jobReason === 'DeadlineExceeded') return RUN_REASONS.deadlineExceeded;
  if (jobReason === 'BackoffLimitExceeded') return RUN_REASONS.backoffLimitExceeded;
  return RUN_REASONS.jobFailed;
}

/** Pods created so far (failed, succeeded, still active); at least 1 once the Job has started. */
function attemptsOf(job: Job): number {
  const s = job.status ?? {};
  return Math.max(1, (s.failed ?? 0) + (s.succeeded ?? 0) + (s.active ?? 0));
}

function runningMessage(job: Job): string {
  // Since Kubernetes 1.31 a Job is marked FailureTarget (or SuccessCriteriaMet) first and only
  // Failed (Complete) once its pods are gone; until then the run is still running.
  const failing = trueCondition(job, 'FailureTarget');
  if (failing) return `the Job is failing (${failing.reason ?? 'unknown reason'}); waiting for its pods to terminate`;
  if (trueCondition(job, 'SuccessCriteriaMet')) return 'the Job succeeded; waiting for its pods to terminate';
  const failed = job.status?.failed ?? 0;
  return failed > 0 ? `the Job's pod is running (attempt ${attemptsOf(job)}, after ${failed} failed)` : "the Job's pod is running";
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  const entriesA = Object.entries(a).filter(([, v]) => v !== undefined);
  const entriesB = Object.entries(b).filter(([, v]) => v !== undefined);
  if (entriesA.length !== entriesB.length) return false;
  const mapB = new Map(entriesB);
  return entriesA.every(([k, v]) => mapB.has(k) && jsonEqual(v, mapB.get(k)));
}
