// When the signing secret rotates. Everything is derived from timestamps stored in the generated
// Secret, so a restarted controller neither skips nor repeats a rotation.
import { Cron } from 'croner';
import type { RotationSpec } from '../../api/types.ts';
import { parseDuration } from '../../util/duration.ts';
import { MIN_ROTATION_INTERVAL_MS } from '../../triggers/compile-rotation.ts';

export interface RotationState {
  /** When the current signing secret became current. */
  currentSince: Date;
  /** When the previous secret stops being accepted, if there is one. */
  previousExpiresAt?: Date;
}


/**
 * The next time the current secret must be replaced, or undefined when rotation is off or its spec
 * is unusable (validateTrigger reports that in the status; throwing here would only retry forever).
 */
export function nextRotationTime(spec: RotationSpec | undefined, currentSince: Date): Date | undefined {
  if (!spec) return undefined;
  try {
    if (spec.every) {
      const every = parseDuration(spec.every);
      return every >= MIN_ROTATION_INTERVAL_MS ? new Date(currentSince.getTime() + every) : undefined;
    }
    if (spec.schedule) return new Cron(spec.schedule, { timezone: 'UTC', paused: true }).nextRun(currentSince) ?? undefined;
  } catch {
    return undefined;
  }
  return undefined;
}

/** How long the previous secret stays valid after a rotation; 0 when unset or unusable. */
export function overlapMs(spec: RotationSpec | undefined): number {
  try {
    return spec?.overlap ? parseDuration(spec.overlap) : 0;
  } catch {
    return 0;
  }
}

export type RotationDecision =
  | { action: 'rotate'; reason: 'scheduled' | 'requested'; previousExpiresAt: Date }
  | { action: 'expire-previous' }
  | { action: 'none' };

/**
 * Decides what this reconcile must do to the signing secret. A manual request (the rotate annotation
 * with a value not yet handled) rotates at once; otherwise the schedule decides. A scheduled rotation
 * that is overdue by several periods (the controller was down) rotates once, not once per period.
 */
export function decideRotation(
  spec: RotationSpec | undefined,
  state: RotationState,
  now: Date,
  rotationRequested: boolean,
): RotationDecision {
  const previousExpiresAt = new Date(now.getTime() + overlapMs(spec));
  if (rotationRequested) return { action: 'rotate', reason: 'requested', previousExpiresAt };
  const next = nextRotationTime(spec, state.currentSince);
  if (next && next.getTime() <= now.getTime()) return { action: 'rotate', reason: 'scheduled', previousExpiresAt };
  if (state.previousExpiresAt && state.previousExpiresAt.getTime() <= now.getTime()) return { action: 'expire-previous' };
  return { action: 'none' };
}

/** How long until this trigger needs its next reconcile for rotation purposes. */
export function rotationRequeueAfterMs(spec: RotationSpec | undefined, state: RotationState, now: Date): number | undefined {
  const times = [nextRotationTime(spec, state.currentSince), state.previousExpiresAt]
    .filter((t): t is Date => t !== undefined)
    .map((t) => t.getTime() - now.getTime());
  if (times.length === 0) return undefined;
  // A few milliseconds late is better than a reconcile that wakes just before the deadline and does nothing.
  return Math.max(0, Math.min(...times)) + 50;
}
