// What the generated Secret should hold after this reconcile: the same URL path forever, and the
// signing secret generated, kept, rotated or expired as the spec and the clock say.
import type { AuthScheme, WebhookTrigger } from '../../api/types.ts';
import { ANNOTATIONS } from '../../api/constants.ts';
import { generateSigningSecret, validateSigningSecret } from '../../signing/secret-format.ts';
import { decideRotation } from './rotation.ts';
import { generateWebhookPath, webhookUrl, type WebhookSecretState } from '../../api/webhook-secret.ts';

export interface DesiredSecretState {
  state: WebhookSecretState;
  /** Set when this reconcile replaces the signing secret. */
  rotated?: 'scheduled' | 'requested' | 'initial' | 'scheme-changed';
}

/**
 * `referencedSecret` is the value of the user's Secret (spec.auth.secretRef) when it is valid: the
 * generated Secret carries a copy, so that the receiver reads only Secrets the operator labels and
 * owns, never the user's (its Secret informer is label-selected; see deploy/receiver-clusterrole.yaml).
 */
export function desiredSecretState(
  trigger: WebhookTrigger,
  existing: WebhookSecretState | undefined,
  externalUrl: string,
  now: Date,
  referencedSecret?: string,
): DesiredSecretState {
  const path = existing?.path ?? generateWebhookPath();
  const base: WebhookSecretState = { path, url: webhookUrl(externalUrl, path) };
  const auth = trigger.spec.auth ?? {};
  const scheme = auth.scheme ?? 'planasonix';
  const request = trigger.metadata.annotations?.[ANNOTATIONS.rotateRequestedAt];
  const handled = request ?? existing?.handledRotateRequest;
  const withHandled = (s: WebhookSecretState): WebhookSecretState => (handled ? { ...s, handledRotateRequest: handled } : s);

  // A user-managed secret: the generated Secret holds the URL and a copy of it, never rotated by us.
  if (auth.secretRef) return { state: withHandled(referencedSecret ? { ...base, signingSecret: referencedSecret } : base) };
  // No secret at all: the generated Secret holds only the URL.
  if (scheme === 'none') return { state: withHandled(base) };

  const current = existing?.signingSecret;
  if (!current || !fitsScheme(scheme, current)) {
    const state = withHandled({ ...base, signingSecret: generateSigningSecret(scheme), currentSince: now });
    return { state, rotated: current ? 'scheme-changed' : 'initial' };
  }
  const currentSince = existing.currentSince ?? now;
  const kept: WebhookSecretState = { ...base, signingSecret: current, currentSince };
  if (existing.previousSigningSecret && existing.previousExpiresAt) {
    kept.previousSigningSecret = existing.previousSigningSecret;
    kept.previousExpiresAt = existing.previousExpiresAt;
  }
  const requested = request !== undefined && request !== existing.handledRotateRequest;
  const decision = decideRotation(auth.rotation, { currentSince, previousExpiresAt: existing.previousExpiresAt }, now, requested);
  switch (decision.action) {
    case 'rotate': {
      const rotated: WebhookSecretState = { ...base, signingSecret: generateSigningSecret(scheme), currentSince: now };
      // Without an overlap the old secret is invalid at once: writing it with an expiry of now would
      // only cost a second write to remove it.
      if (decision.previousExpiresAt.getTime() > now.getTime()) {
        rotated.previousSigningSecret = current;
        rotated.previousExpiresAt = decision.previousExpiresAt;
      }
      return { state: withHandled(rotated), rotated: decision.reason };
    }
    case 'expire-previous':
      return { state: withHandled({ ...base, signingSecret: current, currentSince }) };
    case 'none':
      return { state: withHandled(kept) };
  }
}

/**
 * Whether a generated secret still suits the scheme. A planasonix secret we generate starts with
 * "pxs_": a "whsec_" one left from standard-webhooks would work, but would tell a reader the wrong
 * scheme, so a scheme change regenerates it.
 */
function fitsScheme(scheme: AuthScheme, secret: string): boolean {
  if (validateSigningSecret(scheme, secret) !== undefined) return false;
  return scheme !== 'planasonix' || secret.startsWith('pxs_');
}
