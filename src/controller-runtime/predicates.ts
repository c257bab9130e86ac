// Which informer updates wake a controller, named as controller-runtime names its predicates. A
// controller's own status writes change none of these, so they never wake it again.
import type { ObjectMeta } from '../api/types.ts';

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

/** True when any of the predicates is. */
export function anyOf<T>(...predicates: UpdatePredicate<T>[]): UpdatePredicate<T> {
  return (before, after) => predicates.some((p) => p(before, after));
}

function sameStringMap(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const left = Object.entries(a ?? {});
  if (left.length !== Object.keys(b ?? {}).length) return false;
  return left.every(([k, v]) => b?.[k] === v);
}
