// Which finished runs of a Pipeline to delete (their Jobs go with them, through owner references).
import type { PipelineRun } from '../../api/types.ts';
import { ANNOTATIONS } from '../../api/constants.ts';

export interface HistoryLimits {
  /** Succeeded runs to keep; undefined keeps all. */
  succeeded?: number;
  /** Failed and cancelled runs to keep; undefined keeps all. */
  failed?: number;
}

/**
 * Names of the finished runs beyond the newest `limits.succeeded` succeeded ones and the newest
 * `limits.failed` failed or cancelled ones, oldest first. "Newest" is by completionTime, else
 * creationTimestamp, then name. Unfinished runs and runs already being deleted are never returned,
 * nor runs still inside their replay window (annotation keep-until, after `nowMs`): their delivery
 * key deduplicates by their name, so pruning one early would let a retry start a second run.
 * `keptUntilMs` is the earliest time one of those may go, when any was kept.
 */
export function selectRunsToPrune(runs: readonly PipelineRun[], limits: HistoryLimits, nowMs = -Infinity): { names: string[]; keptUntilMs?: number } {
  const live = runs.filter((r) => !r.metadata.deletionTimestamp);
  const succeeded = live.filter((r) => r.status?.phase === 'Succeeded');
  const failed = live.filter((r) => r.status?.phase === 'Failed' || r.status?.phase === 'Cancelled');
  const beyond = [...beyondLimit(succeeded, limits.succeeded), ...beyondLimit(failed, limits.failed)].sort(compareFinish);
  const keptUntil = beyond.map(keepUntilOf).filter((t) => t > nowMs);
  return {
    names: beyond.filter((r) => keepUntilOf(r) <= nowMs).map((r) => r.metadata.name ?? ''),
    ...(keptUntil.length > 0 ? { keptUntilMs: Math.min(...keptUntil) } : {}),
  };
}

function keepUntilOf(run: PipelineRun): number {
  const t = Date.parse(run.metadata.annotations?.[ANNOTATIONS.keepUntil] ?? '');
  return Number.isNaN(t) ? -Infinity : t;
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
