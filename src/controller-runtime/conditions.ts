// Status conditions as meta.SetStatusCondition handles them: lastTransitionTime moves only when the
// status changes, so a user (and a GitOps tool) can tell how long an object has been in its state.
import type { Condition } from '../api/types.ts';

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/** A metav1.Time: RFC 3339 in UTC with whole seconds, as the API server writes it. */
export function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/**
 * Returns a new array with the condition of `input.type` set: replaced in place when present
 * (keeping its lastTransitionTime if the status is unchanged), appended otherwise.
 */
export function setCondition(conditions: readonly Condition[] | undefined, input: ConditionInput, now: Date): Condition[] {
  const list = conditions ?? [];
  const existing = list.find((c) => c.type === input.type);
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message,
    ...(input.observedGeneration !== undefined ? { observedGeneration: input.observedGeneration } : {}),
    lastTransitionTime: existing && existing.status === input.status ? existing.lastTransitionTime : formatTime(now),
  };
  if (!existing) return [...list, next];
  return list.map((c) => (c === existing ? next : c));
}

/** Returns a new array without the condition of that type. */
export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** True when both lists hold the same conditions (any order), so a status write can be skipped. */
export function conditionsEqual(a: readonly Condition[] | undefined, b: readonly Condition[] | undefined): boolean {
  const left = a ?? [];
  const right = b ?? [];
  if (left.length !== right.length) return false;
  return left.every((c) => {
    const other = right.find((o) => o.type === c.type);
    return (
      other !== undefined &&
      other.status === c.status &&
      other.reason === c.reason &&
      other.message === c.message &&
      other.observedGeneration === c.observedGeneration &&
      other.lastTransitionTime === c.lastTransitionTime
    );
  });
}

/** Reconciling or Stalled, with why: what a controller says besides Ready while an object is not Ready. */
export interface Progress {
  type: 'Reconciling' | 'Stalled';
  reason: string;
  message: string;
}

/**
 * Sets Ready, and Reconciling or Stalled as kstatus (Flux's health checks, `kstatus`) reads them:
 * each only while True, removed otherwise. Reconciling: still converging, wait. Stalled: it cannot
 * converge until someone changes a spec, so a GitOps tool should report a failure now.
 */
export function setKstatusConditions(conditions: readonly Condition[] | undefined, ready: ConditionInput, progress: Progress | undefined, now: Date): Condition[] {
  let list = setCondition(conditions, ready, now);
  for (const type of ['Reconciling', 'Stalled'] as const) {
    list =
      progress?.type === type
        ? setCondition(list, { type, status: 'True', reason: progress.reason, message: progress.message, ...(ready.observedGeneration !== undefined ? { observedGeneration: ready.observedGeneration } : {}) }, now)
        : removeCondition(list, type);
  }
  return list;
}
