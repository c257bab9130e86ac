// spec.auth read once: the scheme's verifier, the keys it checks against (from the generated Secret,
// which also carries the controller's copy of a spec.auth.secretRef secret, with a rotated-out secret
// until it expires), the public key and the tolerance.
import type { KeyObject } from 'node:crypto';
import type { AuthScheme, AuthSpec } from '../api/types.ts';
import { TRIGGER_REASONS } from '../api/constants.ts';
import type { WebhookSecretState } from '../api/webhook-secret.ts';
import { parseEd25519PublicKey } from '../signing/public-key.ts';
import { parseDuration } from '../util/duration.ts';
import { planasonixSignedIdVerifier, verifiers, type SignatureVerifier, type VerificationKeys } from './signature-verifiers/index.ts';
import type { TriggerProblem } from './compiled-trigger.ts';
import { checkRotation } from './compile-rotation.ts';
import { resolveHmac, type ResolvedHmac } from './compile-hmac.ts';
import { createHmacVerifier } from './signature-verifiers/hmac.ts';
import { hmacKeyBytes } from '../signing/secret-format.ts';

export const DEFAULT_TOLERANCE = '5m';

/** Schemes whose signature covers a timestamp, refused outside the tolerance. */
const TIMESTAMPED_SCHEMES: ReadonlySet<AuthScheme> = new Set(['planasonix', 'standard-webhooks']);

export interface CompiledAuth {
  scheme: AuthScheme;
  /** Whether the scheme signs a timestamp (so a delivery is refused after `toleranceSeconds`). */
  signsTimestamp: boolean;
  toleranceSeconds: number;
  verifier: SignatureVerifier;
  keysAt(nowMs: number): VerificationKeys;
  hasKeys: boolean;
  warning: string | undefined;
}

export function compileAuth(auth: AuthSpec, generated: WebhookSecretState | undefined, problems: TriggerProblem[]): CompiledAuth {
  const scheme: AuthScheme = auth.scheme ?? 'planasonix';
  let verifier: SignatureVerifier = verifiers[scheme as Exclude<AuthScheme, 'hmac'>];
  let hmac: ResolvedHmac | undefined;
  if (scheme === 'hmac') {
    hmac = resolveHmac(auth.hmac, problems);
    if (hmac) verifier = createHmacVerifier(hmac);
  } else if (auth.hmac) {
    problems.push({ reason: TRIGGER_REASONS.invalidSpec, field: 'spec.auth.hmac', message: `spec.auth.hmac applies to scheme hmac only, not "${scheme}"` });
  }
  if (!verifier) problems.push({ reason: TRIGGER_REASONS.invalidSpec, field: 'spec.auth.scheme', message: `spec.auth.scheme "${String(scheme)}" is not supported` });
  if (auth.signedDeliveryIdOnly) {
    const field = 'spec.auth.signedDeliveryIdOnly';
    if (scheme !== 'planasonix') {
      const why = scheme === 'standard-webhooks' ? 'standard-webhooks always signs webhook-id' : `scheme "${scheme}" has no signature that covers its delivery ID`;
      problems.push({ reason: TRIGGER_REASONS.invalidSpec, field, message: `${field} applies to scheme planasonix only: ${why}` });
    } else verifier = planasonixSignedIdVerifier;
  }

  if (auth.secretRef && auth.rotation) {
    problems.push({ reason: TRIGGER_REASONS.invalidSpec, field: 'spec.auth.rotation', message: 'spec.auth.rotation needs a generated secret: remove spec.auth.secretRef or rotation' });
  }
  const current = generated?.signingSecret;
  const previous =
    generated?.previousSigningSecret && generated.previousExpiresAt ? { secret: generated.previousSigningSecret, expiresAtMs: generated.previousExpiresAt.getTime() } : undefined;
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

  if (hmac?.secretEncoding === 'base64' && current !== undefined && hmacKeyBytes(current, 'base64') === undefined) {
    problems.push({ reason: TRIGGER_REASONS.invalidSpec, field: 'spec.auth.secretRef', message: 'spec.auth.hmac.secretEncoding is base64, but the signing secret is not base64 (after an optional whsec_)' });
  }
  const currentOnly: readonly string[] = current ? [current] : [];
  const withPrevious: readonly string[] = previous ? [...currentOnly, previous.secret] : currentOnly;
  return {
    scheme,
    signsTimestamp: TIMESTAMPED_SCHEMES.has(scheme),
    toleranceSeconds,
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
