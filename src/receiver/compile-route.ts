// Turns a WebhookTrigger and its Secrets into everything a request needs, once per change rather
// than once per request: the verifier, keys, compiled address ranges, schema and limits.
import type { KeyObject } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { AuthScheme, IdempotencySpec, ParamMapping, WebhookTrigger } from '../api/types.ts';
import { CONDITION_TYPES } from '../api/constants.ts';
import { verifiers, type SignatureVerifier, type VerificationKeys } from './signature-verifiers/index.ts';
import { parseEd25519PublicKey } from '../signing/public-key.ts';
import { compileSourceRanges } from '../util/source-ranges.ts';
import { parseDuration } from '../util/duration.ts';
import { parseByteQuantity } from '../util/quantity.ts';
import { compilePayloadSchema, type CompiledPayloadSchema } from './payload/payload-schema.ts';
import { readWebhookSecret } from '../api/webhook-secret.ts';

export type RouteState = 'serving' | 'suspended' | 'not-ready';

/** Schemes whose signature covers a timestamp, refused outside the tolerance. */
const TIMESTAMPED_SCHEMES: ReadonlySet<AuthScheme> = new Set(['planasonix', 'standard-webhooks']);
const DEFAULT_REPLAY_WINDOW_MS = 24 * 3600 * 1000;

export interface Route {
  namespace: string;
  name: string;
  uid: string;
  path: string;
  state: RouteState;
  pipelineName: string;
  pipelineVersion: string | undefined;
  scheme: AuthScheme;
  verifier: SignatureVerifier;
  /** Keys valid at a moment: the previous secret only until its expiry. */
  keysAt(nowMs: number): VerificationKeys;
  allowsAddress: ((ip: string) => boolean) | undefined;
  params: readonly ParamMapping[];
  strict: boolean;
  maxBytes: number;
  schema: CompiledPayloadSchema | undefined;
  /** The body must parse as JSON: body params, a body delivery key, a schema or strict mode need it. */
  needsJsonBody: boolean;
  idempotency: IdempotencySpec;
  /**
   * How long a delivery key keeps deduplicating: twice the tolerance for schemes that sign a
   * timestamp (a request is accepted from tolerance before its timestamp to tolerance after), the
   * operator's --replay-window for those that do not (GitHub's signature never expires).
   */
  replayWindowMs: number;
  rateLimit: { requestsPerMinute: number; burst: number } | undefined;
}

export interface RouteInputs {
  trigger: WebhookTrigger;
  /**
   * The generated `<trigger>-webhook` Secret. With spec.auth.secretRef it carries the controller's
   * copy of the user's secret: the receiver never reads a Secret the operator does not manage.
   */
  webhookSecret: V1Secret | undefined;
  defaultMaxBytes: number;
  /**
   * The operator-wide ceiling (--max-body-bytes). The controller marks a trigger asking more not
   * Ready; the receiver never reads more than the ceiling whatever the trigger says.
   */
  maxBodyBytes?: number;
  /** --replay-window: for schemes without a signed timestamp. */
  replayWindowMs?: number;
}

/** Returns undefined while the trigger has no URL yet (its generated Secret does not exist). */
export function compileRoute(inputs: RouteInputs): Route | undefined {
  const { trigger } = inputs;
  const state = inputs.webhookSecret ? readWebhookSecret(inputs.webhookSecret) : undefined;
  if (!state) return undefined;
  const spec = trigger.spec;
  const auth = spec.auth ?? {};
  const scheme: AuthScheme = auth.scheme ?? 'planasonix';

  const current = state.signingSecret;
  const previous = state.previousSigningSecret && state.previousExpiresAt ? { secret: state.previousSigningSecret, expiresAtMs: state.previousExpiresAt.getTime() } : undefined;
  let publicKey: KeyObject | undefined;
  let broken = false;
  try {
    if (auth.publicKey) publicKey = parseEd25519PublicKey(auth.publicKey);
  } catch {
    broken = true;
  }
  const toleranceSeconds = parseDuration(auth.tolerance ?? '5m') / 1000;
  const currentOnly: readonly string[] = current ? [current] : [];
  const withPrevious: readonly string[] = previous ? [...currentOnly, previous.secret] : currentOnly;
  const keysAt = (nowMs: number): VerificationKeys => ({
    secrets: previous && nowMs < previous.expiresAtMs ? withPrevious : currentOnly,
    ...(publicKey ? { publicKey } : {}),
    toleranceSeconds,
  });

  const schema = spec.payload?.schema ? compilePayloadSchema(spec.payload.schema) : undefined;
  const params = spec.params ?? [];
  const idempotency = spec.idempotency ?? { from: 'scheme' };
  const strict = spec.payload?.strict ?? false;
  const ready = isReady(trigger) && !broken && (scheme === 'none' || currentOnly.length > 0 || publicKey !== undefined);
  return {
    namespace: trigger.metadata.namespace!,
    name: trigger.metadata.name!,
    uid: trigger.metadata.uid!,
    path: state.path,
    state: spec.suspend ? 'suspended' : ready ? 'serving' : 'not-ready',
    pipelineName: spec.pipelineRef.name,
    pipelineVersion: spec.pipelineRef.version || undefined,
    scheme,
    verifier: verifiers[scheme],
    keysAt,
    allowsAddress: spec.allowedSourceRanges?.length ? compileSourceRanges(spec.allowedSourceRanges) : undefined,
    params,
    strict,
    maxBytes: Math.min(spec.payload?.maxBytes !== undefined ? parseByteQuantity(spec.payload.maxBytes) : inputs.defaultMaxBytes, inputs.maxBodyBytes ?? Infinity),
    schema,
    needsJsonBody: strict || schema !== undefined || idempotency.from === 'body' || params.some((p) => p.from === 'body'),
    idempotency,
    replayWindowMs: TIMESTAMPED_SCHEMES.has(scheme) ? 2 * toleranceSeconds * 1000 : (inputs.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS),
    rateLimit: spec.rateLimit
      ? { requestsPerMinute: spec.rateLimit.requestsPerMinute, burst: spec.rateLimit.burst ?? spec.rateLimit.requestsPerMinute }
      : undefined,
  };
}

function isReady(trigger: WebhookTrigger): boolean {
  return (trigger.status?.conditions ?? []).some((c) => c.type === CONDITION_TYPES.ready && c.status === 'True');
}

