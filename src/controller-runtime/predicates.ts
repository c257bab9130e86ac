// Which informer updates wake a controller, named as controller-runtime names its predicates. A
// controller's own status writes change none of these, so they never wake it again.
import type { ObjectMeta } from '../api/types.ts';
import { statusPatch } from './status-writer.ts';

export type UpdatePredicate<T> = (before: T, after: T) => boolean;

interface HasMetadata {
  metadata?: ObjectMeta;
}

/** The spec changed (the API server bumps generation on spec changes only). */
export const generationChanged: UpdatePredicate<HasMetadata> = (before, after) => before.metadata?.generation !== after.metadata?.generation;

/** An annotation was added, changed or removed (requests such as rotate-requested-at travel there). */
export const annotationsChanged: UpdatePredicate<HasMetadata> = (before, after) => !sameStringMap(before.metadata?.annotations, after.metadata?.annotations);

/** Deletion started (deletionTimestamp set) or, rarely, was undone. */
export const deletionChanged: UpdatePredicate<HasMetadata> = (before, after) => before.metadata?.deletionTimestamp !== after.metadata?.deletionTimestamp;

/**
 * One of these status fields changed. A controller that is the only writer of a status still
 * watches it: a write that is not its own (a former leader that was paused mid-reconcile and
 * resumed after the take-over, a hand edit) is corrected; its own costs a reconcile that writes
 * nothing. The resourceVersion precondition alone cannot stop the paused leader when the new one
 * found nothing to write.
 */
export function statusChanged<S>(fields: readonly (keyof S & string)[]): UpdatePredicate<{ status?: S }> {
  return (before, after) => statusPatch(before.status, (after.status ?? {}) as S, fields) !== undefined;
}

/** True when any of the predicates is. */
export function anyOf<T>(...predicates: UpdatePredicate<T>[]): UpdatePredicate<T> {
  return (before, after) => predicates.some((p) => p(before, after));
}

function sameStringMap(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const left = Object.entries(a ?? {});
  if (left.length !== Object.keys(b ?? {}).length) return false;
  return left.every(([k, v]) => b?.[k] === v);
}
