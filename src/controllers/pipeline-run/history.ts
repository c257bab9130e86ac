// Which finished runs of a Pipeline to delete (their Jobs go with them, through owner references).
import type { PipelineRun } from '../../api/types.ts';

export interface HistoryLimits {
  /** Succeeded runs to keep; undefined keeps all. */
  succeeded?: number;
  /** Failed and cancelled runs to keep; undefined keeps all. */
  failed?: number;
}

/**
 * Names of the finished runs beyond the newest `limits.succeeded` succeeded ones and the newest
 * `limits.failed` failed or cancelled ones, oldest first. "Newest" is by completionTime, else
 * creationTimestamp, then name. Unfinished runs and runs already being deleted are never returned.
 */
export function selectRunsToPrune(runs: readonly PipelineRun[], limits: HistoryLimits): string[] {
  const live = runs.filter((r) => !r.metadata.deletionTimestamp);
  const succeeded = live.filter((r) => r.status?.phase === 'Succeeded');
  const failed = live.filter((r) => r.status?.phase === 'Failed' || r.status?.phase === 'Cancelled');
  return [...beyondLimit(succeeded, limits.succeeded), ...beyondLimit(failed, limits.failed)]
    .sort(compareFinish)
    .map((r) => r.metadata.name ?? '');
}

function beyondLimit(runs: PipelineRun[], limit: number | undefined): PipelineRun[] {
  if (limit === undefined) return [];
  const keep = Math.max(0, Math.floor(limit));
  const newestFirst = [...runs].sort((a, b) => compareFinish(b, a));
  return newestFirst.slice(keep);
}

function compareFinish(a: PipelineRun, b: PipelineRun): number {
  return (
    timeOf(a.status?.completionTime ?? a.metadata.creationTimestamp) - timeOf(b.status?.completionTime ?? b.metadata.creationTimestamp) ||
    timeOf(a.metadata.creationTimestamp) - timeOf(b.metadata.creationTimestamp) ||
    compareText(a.metadata.name ?? '', b.metadata.name ?? '')
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// A missing or unparseable time counts as the oldest, so such a run is pruned first.
function timeOf(time: string | undefined): number {
  const t = time ? Date.parse(time) : NaN;
  return Number.isNaN(t) ? -Infinity : t;
}
