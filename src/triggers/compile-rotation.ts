// What the CRD's schema cannot check about a rotation spec: that the durations parse, the interval
// is not absurdly short, and the cron schedule parses and ever fires.
import { Cron } from 'croner';
import type { RotationSpec } from '../api/types.ts';
import { TRIGGER_REASONS } from '../api/constants.ts';
import { parseDuration } from '../util/duration.ts';
import type { TriggerProblem } from './compiled-trigger.ts';

/**
 * The shortest `every` honoured. The schema only demands more than 0s, and `every: 1ms` would
 * rewrite the Secret on every reconcile: a write loop against etcd, not a rotation policy.
 */
export const MIN_ROTATION_INTERVAL_MS = 1_000;

export function checkRotation(rotation: RotationSpec, problems: TriggerProblem[]): void {
  const report = (field: string, message: string) => problems.push({ reason: TRIGGER_REASONS.invalidSpec, field: `spec.auth.rotation.${field}`, message });
  for (const [field, value] of [['every', rotation.every], ['overlap', rotation.overlap]] as const) {
    if (value === undefined) continue;
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch (e) {
      report(field, `spec.auth.rotation.${field}: ${(e as Error).message}`);
      continue;
    }
    if (field === 'every' && ms < MIN_ROTATION_INTERVAL_MS) {
      report(field, `spec.auth.rotation.every "${value}" is shorter than ${MIN_ROTATION_INTERVAL_MS / 1000}s; the secret is not rotated until it is longer`);
    }
  }
  if (rotation.schedule !== undefined) {
    let next: Date | null;
    try {
      next = new Cron(rotation.schedule, { timezone: 'UTC', paused: true }).nextRun();
    } catch (e) {
      report('schedule', `spec.auth.rotation.schedule "${rotation.schedule}" is not a cron expression: ${(e as Error).message}`);
      return;
    }
    if (!next) report('schedule', `spec.auth.rotation.schedule "${rotation.schedule}" never fires`);
  }
}
