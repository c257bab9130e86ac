// Whether a run may create its Job now, under its Pipeline's concurrencyPolicy. The decision uses
// only the runs themselves (their status and the time their delivery arrived), so it survives a
// controller restart and two replicas reach the same answer.
import type { ConcurrencyPolicy, PipelineRun } from '../../api/types.ts';
import { RUN_REASONS } from '../../api/constants.ts';
import { isTerminal } from './run-status.ts';

export type AdmissionDecision =
  /** Create the Job (also the answer for a run that already has one: it was admitted before). */
  | { action: 'start' }
  /** Stay Pending without a Job, with this reason and message. */
  | { action: 'wait'; reason: typeof RUN_REASONS.concurrencyLimited | typeof RUN_REASONS.queued; message: string }
  /** Cancel these older runs (names, oldest first), then create the Job. */
  | { action: 'replace'; cancel: string[] }
  /** Replace only: a newer run supersedes this one, which should end Cancelled with reason Replaced. */
  | { action: 'cancel'; reason: typeof RUN_REASONS.replaced; message: string };

/**
 * A run is active when it is not finished and has a Job (status.jobRef): its pod may be running or
 * about to. A run that waits for admission, or has just been created, has no Job and is not active.
 */
export function isActiveRun(run: PipelineRun): boolean {
  return !isTerminal(run.status?.phase) && run.status?.jobRef !== undefined;
}

/**
 * Receipt order: spec.trigger.receivedTime (creationTimestamp for a run made by hand), then
 * creationTimestamp, then name, so that every replica sorts runs the same way. Times are compared
 * as instants, not as text ("…:00.5Z" sorts before "…:00Z" as text).
 */
export function compareReceiptOrder(a: PipelineRun, b: PipelineRun): number {
  return (
    compareTimes(receivedAt(a), receivedAt(b)) ||
    compareTimes(a.metadata.creationTimestamp, b.metadata.creationTimestamp) ||
    compareText(a.metadata.name ?? '', b.metadata.name ?? '')
  );
}

/**
 * Decides for `run` (not finished, no Job yet) given the other runs of its Pipeline (the run itself
 * and runs of other Pipelines in the list are ignored):
 *
 * - Allow: start.
 * - Forbid: wait (ConcurrencyLimited) while another run is active; Forbid never fails a run. It
 *   also waits while an older run is still waiting to start: the cache may not show yet that a run
 *   admitted a moment ago has a Job, and without this two runs reconciled in quick succession
 *   could both start. So runs start one at a time, oldest first, as with Queue.
 * - Queue: start when no run is active and this is the oldest unfinished run; otherwise wait (Queued).
 * - Replace: the newest run wins. Older unfinished runs are cancelled (those without a Job too,
 *   or they would start later and run beside this one); a run that a newer one supersedes is cancelled.
 *
 * A run with spec.cancelled set never holds a place in line: it is about to end.
 */
export function decideAdmission(
  run: PipelineRun,
  others: readonly PipelineRun[],
  policy: ConcurrencyPolicy = 'Allow',
): AdmissionDecision {
  if (run.status?.jobRef !== undefined) return { action: 'start' };
  const siblings = others.filter((o) => isSibling(run, o));
  const pipeline = run.spec.pipelineRef.name;

  switch (policy) {
    case 'Allow':
      return { action: 'start' };
    case 'Forbid': {
      const active = siblings.filter(isActiveRun).sort(compareReceiptOrder);
      if (active.length > 0) {
        return {
          action: 'wait',
          reason: RUN_REASONS.concurrencyLimited,
          message:
            `waiting for ${describeRuns(active)} of Pipeline "${pipeline}" to finish ` +
            '(concurrencyPolicy Forbid: one run at a time)',
        };
      }
      const older = waitingBefore(run, siblings);
      if (older.length > 0) {
        return {
          action: 'wait',
          reason: RUN_REASONS.concurrencyLimited,
          message: `${describeRuns(older)} of Pipeline "${pipeline}" arrived earlier and start${older.length === 1 ? 's' : ''} first (concurrencyPolicy Forbid)`,
        };
      }
      return { action: 'start' };
    }
    case 'Queue': {
      const active = siblings.filter(isActiveRun).sort(compareReceiptOrder);
      const older = waitingBefore(run, siblings);
      if (active.length === 0 && older.length === 0) return { action: 'start' };
      const parts = [`position ${older.length + 1} in the queue of Pipeline "${pipeline}"`];
      if (active.length > 0) parts.push(`waiting for ${describeRuns(active)} to finish`);
      return { action: 'wait', reason: RUN_REASONS.queued, message: parts.join('; ') };
    }
    case 'Replace': {
      const unfinished = siblings.filter((o) => !isTerminal(o.status?.phase) && !o.spec.cancelled);
      const newer = unfinished.filter((o) => compareReceiptOrder(o, run) > 0).sort(compareReceiptOrder);
      if (newer.length > 0) {
        const newest = newer[newer.length - 1]!;
        return {
          action: 'cancel',
          reason: RUN_REASONS.replaced,
          message: `replaced by the newer run ${newest.metadata.name ?? ''} (concurrencyPolicy Replace)`,
        };
      }
      const cancel = unfinished.sort(compareReceiptOrder).map((o) => o.metadata.name ?? '');
      if (cancel.length > 0) return { action: 'replace', cancel };
      // Cancelled already, but its Job is not stopped yet: the new run starts once it has (seen when
      // a retry of the new run was decided between the cancel and the old Job's deletion).
      const stopping = siblings.filter((o) => o.spec.cancelled && isActiveRun(o)).sort(compareReceiptOrder);
      if (stopping.length > 0) {
        return { action: 'wait', reason: RUN_REASONS.concurrencyLimited, message: `cancelling ${describeRuns(stopping)} (concurrencyPolicy Replace)` };
      }
      return { action: 'start' };
    }
    default:
      // An unknown policy (the CRD's enum prevents it) is treated as the CRD's default.
      return { action: 'start' };
  }
}

/** Unfinished, not cancelled, without a Job, and received before `run`: waiting ahead of it. */
function waitingBefore(run: PipelineRun, siblings: readonly PipelineRun[]): PipelineRun[] {
  return siblings
    .filter((o) => !isTerminal(o.status?.phase) && !o.spec.cancelled && !isActiveRun(o) && compareReceiptOrder(o, run) < 0)
    .sort(compareReceiptOrder);
}

function isSibling(run: PipelineRun, other: PipelineRun): boolean {
  return (
    other.metadata.name !== run.metadata.name &&
    other.metadata.namespace === run.metadata.namespace &&
    other.spec.pipelineRef.name === run.spec.pipelineRef.name
  );
}

function describeRuns(runs: readonly PipelineRun[]): string {
  const names = runs.slice(0, 3).map((r) => r.metadata.name ?? '');
  const more = runs.length > 3 ? ` and ${runs.length - 3} more` : '';
  return `${runs.length === 1 ? 'run' : 'runs'} ${names.join(', ')}${more}`;
}

function receivedAt(run: PipelineRun): string | undefined {
  return run.spec.trigger?.receivedTime ?? run.metadata.creationTimestamp;
}

// Unparseable or missing times sort last, so a malformed run never jumps the queue.
function compareTimes(a: string | undefined, b: string | undefined): number {
  const ta = a ? Date.parse(a) : NaN;
  const tb = b ? Date.parse(b) : NaN;
  if (Number.isNaN(ta) && Number.isNaN(tb)) return 0;
  if (Number.isNaN(ta)) return 1;
  if (Number.isNaN(tb)) return -1;
  return ta - tb;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
