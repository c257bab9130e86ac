// The user's signing secret named by spec.auth.secretRef, read once: the trigger controller reports
// its problems and copies a usable one into the generated Secret, which is all the receiver reads.
import type { V1Secret } from '@kubernetes/client-node';
import type { AuthSpec } from '../api/types.ts';
import { DEFAULT_SECRET_KEY, TRIGGER_REASONS } from '../api/constants.ts';
import { validateSigningSecret } from '../signing/secret-format.ts';
import type { TriggerProblem } from './compiled-trigger.ts';

export type ReferencedSecret = { secret: string } | { problem: TriggerProblem } | undefined;

/** Undefined without spec.auth.secretRef; otherwise the usable secret or the one problem with it. */
export function readReferencedSecret(auth: AuthSpec, userSecret: V1Secret | undefined): ReferencedSecret {
  const ref = auth.secretRef;
  if (!ref) return undefined;
  const key = ref.key ?? DEFAULT_SECRET_KEY;
  const field = 'spec.auth.secretRef';
  if (!userSecret) return { problem: { reason: TRIGGER_REASONS.secretNotFound, field, message: `Secret "${ref.name}" (spec.auth.secretRef) not found` } };
  const raw = userSecret.data?.[key];
  if (raw === undefined) return { problem: { reason: TRIGGER_REASONS.secretKeyNotFound, field, message: `Secret "${ref.name}" has no key "${key}"` } };
  const secret = Buffer.from(raw, 'base64').toString('utf8');
  const problem = validateSigningSecret(auth.scheme ?? 'planasonix', secret);
  if (problem) return { problem: { reason: TRIGGER_REASONS.invalidSpec, field, message: `Secret "${ref.name}" key "${key}": ${problem}` } };
  return { secret };
}
