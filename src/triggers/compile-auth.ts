// spec.auth read once: the scheme's verifier, the keys it checks against (the user's Secret, or the
// generated one with a rotated-out secret until it expires), the public key and the tolerance.
import type { KeyObject } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { AuthScheme, AuthSpec } from '../api/types.ts';
import { DEFAULT_SECRET_KEY, TRIGGER_REASONS } from '../api/constants.ts';
import type { WebhookSecretState } from '../api/webhook-secret.ts';
import { validateSigningSecret } from '../signing/secret-format.ts';
import { parseEd25519PublicKey } from '../signing/public-key.ts';
import { parseDuration } from '../util/duration.ts';
import { verifiers, type SignatureVerifier, type VerificationKeys } from './signature-verifiers/index.ts';
import type { TriggerProblem } from './compiled-trigger.ts';
import { checkRotation } from './compile-rotation.ts';

export const DEFAULT_TOLERANCE = '5m';

export interface CompiledAuth {
  scheme: AuthScheme;
  verifier: SignatureVerifier;
  keysAt(nowMs: number): VerificationKeys;
  hasKeys: boolean;
  warning: string | undefined;
}

export function compileAuth(
  auth: AuthSpec,
  userSecret: V1Secret | undefined,
  generated: WebhookSecretState | undefined,
  problems: TriggerProblem[],
): CompiledAuth {
  const scheme: AuthScheme = auth.scheme ?? 'planasonix';
  const verifier = verifiers[scheme];
  if (!verifier) problems.push({ reason: TRIGGER_REASONS.invalidSpec, field: 'spec.auth.scheme', message: `spec.auth.scheme "${String(scheme)}" is not supported` });

  let current: string | undefined;
  let previous: { secret: string; expiresAtMs: number } | undefined;
  if (auth.secretRef) {
    current = readUserSecret(scheme, auth, userSecret, problems);
    if (auth.rotation) {
      problems.push({ reason: TRIGGER_REASONS.invalidSpec, field: 'spec.auth.rotation', message: 'spec.auth.rotation needs a generated secret: remove spec.auth.secretRef or rotation' });
    }
  } else if (generated) {
    current = generated.signingSecret;
    if (generated.previousSigningSecret && generated.previousExpiresAt) {
      previous = { secret: generated.previousSigningSecret, expiresAtMs: generated.previousExpiresAt.getTime() };
    }
  }
  if (auth.rotation) checkRotation(auth.rotation, problems);
  const publicKey = auth.publicKey === undefined ? undefined : readPublicKey(auth.publicKey, problems);

  let toleranceSeconds = parseDuration(DEFAULT_TOLERANCE) / 1000;
  if (auth.tolerance !== undefined) {
    try {
      toleranceSeconds = parseDuration(auth.tolerance) / 1000;
    } catch (e) {
      problems.push({ reason: TRIGGER_REASONS.invalidSpec, field: 'spec.auth.tolerance', message: `spec.auth.tolerance: ${(e as Error).message}` });
    }
  }

  const currentOnly: readonly string[] = current ? [current] : [];
  const withPrevious: readonly string[] = previous ? [...currentOnly, previous.secret] : currentOnly;
  return {
    scheme,
    verifier,
    keysAt: (nowMs) => ({
      secrets: previous && nowMs < previous.expiresAtMs ? withPrevious : currentOnly,
      ...(publicKey ? { publicKey } : {}),
      toleranceSeconds,
    }),
    hasKeys: scheme === 'none' || currentOnly.length > 0 || publicKey !== undefined,
    warning: scheme === 'none' ? 'auth scheme "none": anyone who knows the URL can start runs' : undefined,
  };
}

/** The user's signing secret, checked for the scheme; undefined (and a problem) when unusable. */
function readUserSecret(scheme: AuthScheme, auth: AuthSpec, userSecret: V1Secret | undefined, problems: TriggerProblem[]): string | undefined {
  const ref = auth.secretRef!;
  const key = ref.key ?? DEFAULT_SECRET_KEY;
  const field = 'spec.auth.secretRef';
  if (!userSecret) {
    problems.push({ reason: TRIGGER_REASONS.secretNotFound, field, message: `Secret "${ref.name}" (spec.auth.secretRef) not found` });
    return undefined;
  }
  const raw = userSecret.data?.[key];
  if (raw === undefined) {
    problems.push({ reason: TRIGGER_REASONS.secretKeyNotFound, field, message: `Secret "${ref.name}" has no key "${key}"` });
    return undefined;
  }
  const secret = Buffer.from(raw, 'base64').toString('utf8');
  const problem = validateSigningSecret(scheme, secret);
  if (problem) {
    problems.push({ reason: TRIGGER_REASONS.invalidSpec, field, message: `Secret "${ref.name}" key "${key}": ${problem}` });
    return undefined;
  }
  return secret;
}

function readPublicKey(pem: string, problems: TriggerProblem[]): KeyObject | undefined {
  const report = (message: string) => problems.push({ reason: TRIGGER_REASONS.invalidPublicKey, field: 'spec.auth.publicKey', message });
  // A private key would be accepted by createPublicKey (which derives its public half): refuse it,
  // since a private key in a spec is readable by everyone who can read the trigger.
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(pem)) {
    report('spec.auth.publicKey holds a PRIVATE key: put only the public key here, and replace the leaked key pair');
    return undefined;
  }
  try {
    return parseEd25519PublicKey(pem);
  } catch (e) {
    report(`spec.auth.publicKey: ${(e as Error).message}`);
    return undefined;
  }
}
