// spec.auth.hmac read once: a preset's parameters with the user's overrides on top, checked, and the
// signed-content template split around {body} so a request only fills in timestamp and ID.
import type { HmacAlgorithm, HmacPreset, HmacSpec } from '../api/types.ts';
import { TRIGGER_REASONS } from '../api/constants.ts';
import type { TriggerProblem } from './compiled-trigger.ts';
import type { ResolvedHmac } from '../signing/hmac-parameters.ts';

// Where a sender's signature parameters live: signing/ (below this floor) signs with them too.
export type { ResolvedHmac };

/** What each known sender does, from its documentation (README "Any sender's signature"). */
export const HMAC_PRESETS: Readonly<Record<HmacPreset, HmacSpec>> = {
  // docs.github.com, "Validating webhook deliveries": HMAC-SHA256 hex of the raw body, "sha256=" prefix.
  github: { header: 'X-Hub-Signature-256', algorithm: 'sha256', encoding: 'hex', prefix: 'sha256=', signedContent: '{body}', deliveryIdHeader: 'X-GitHub-Delivery' },
  // docs.gitlab.com, "Webhooks": X-Gitlab-Token carries the secret token itself; Idempotency-Key stays the same across retries.
  gitlab: { mode: 'token', header: 'X-Gitlab-Token', deliveryIdHeader: 'Idempotency-Key' },
  // docs.stripe.com, "Verify webhook signatures": Stripe-Signature "t=<ts>,v1=<hex>", HMAC-SHA256 of "<ts>.<body>"
  // keyed with the whole whsec_ string.
  stripe: {
    header: 'Stripe-Signature',
    algorithm: 'sha256',
    encoding: 'hex',
    separator: ',',
    prefix: 'v1=',
    timestamp: { prefix: 't=' },
    signedContent: '{timestamp}.{body}',
  },
  // api.slack.com, "Verifying requests from Slack": "v0=" + hex HMAC-SHA256 of "v0:<ts>:<body>".
  slack: {
    header: 'X-Slack-Signature',
    algorithm: 'sha256',
    encoding: 'hex',
    prefix: 'v0=',
    timestamp: { header: 'X-Slack-Request-Timestamp' },
    signedContent: 'v0:{timestamp}:{body}',
  },
  // shopify.dev, "Verify webhooks": base64 HMAC-SHA256 of the raw body; X-Shopify-Webhook-Id is kept across retries.
  shopify: { header: 'X-Shopify-Hmac-Sha256', algorithm: 'sha256', encoding: 'base64', signedContent: '{body}', deliveryIdHeader: 'X-Shopify-Webhook-Id' },
  // standardwebhooks.com: space-separated "v1,<base64>" over "<id>.<ts>.<body>", key = base64 after whsec_.
  'standard-webhooks': {
    header: 'webhook-signature',
    algorithm: 'sha256',
    encoding: 'base64',
    separator: ' ',
    prefix: 'v1,',
    timestamp: { header: 'webhook-timestamp' },
    deliveryIdHeader: 'webhook-id',
    signedContent: '{id}.{timestamp}.{body}',
    secretEncoding: 'base64',
  },
};


const DIGEST_BYTES: Readonly<Record<HmacAlgorithm, number>> = { sha1: 20, sha256: 32, sha512: 64 };
export const digestBytesOf = (algorithm: HmacAlgorithm) => DIGEST_BYTES[algorithm];

const PLACEHOLDER = /\{([a-z]*)\}/g;

export function resolveHmac(spec: HmacSpec | undefined, problems: TriggerProblem[]): ResolvedHmac | undefined {
  const field = 'spec.auth.hmac';
  const report = (message: string, at = field) => problems.push({ reason: TRIGGER_REASONS.invalidSpec, field: at, message: `${at}: ${message}` });
  if (!spec) {
    report('scheme hmac needs spec.auth.hmac: a preset (github, gitlab, stripe, slack, shopify, standard-webhooks) or at least a header');
    return undefined;
  }
  const preset = spec.preset === undefined ? {} : HMAC_PRESETS[spec.preset];
  if (!preset) {
    report(`unknown preset "${String(spec.preset)}"`, `${field}.preset`);
    return undefined;
  }
  const merged: HmacSpec = { ...preset, ...withoutUndefined(spec) };
  if (spec.timestamp) merged.timestamp = spec.timestamp; // a timestamp source replaces the preset's whole
  const mode = merged.mode ?? 'signature';
  if (!merged.header) {
    report('header is required (or a preset that sets it)', `${field}.header`);
    return undefined;
  }
  const template = merged.signedContent ?? '{body}';
  const names = [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
  const unknown = names.filter((n) => n !== 'body' && n !== 'timestamp' && n !== 'id');
  if (unknown.length > 0) report(`signedContent may use {timestamp}, {id} and {body}, not ${unknown.map((n) => `{${n}}`).join(', ')}`, `${field}.signedContent`);
  if (mode === 'signature' && names.filter((n) => n === 'body').length !== 1) report('signedContent must contain {body} exactly once', `${field}.signedContent`);
  const signsTimestamp = names.includes('timestamp');
  const signsDeliveryId = names.includes('id');
  const ts = merged.timestamp;
  if (ts && ts.header !== undefined && ts.prefix !== undefined) report('timestamp takes a header or a prefix, not both', `${field}.timestamp`);
  if (ts?.prefix !== undefined && merged.separator === undefined) report('timestamp.prefix reads an entry of the signature header: it needs separator', `${field}.timestamp`);
  if (signsTimestamp && !ts?.header && !ts?.prefix) report('signedContent uses {timestamp}, so timestamp must say where it comes from (header or prefix)', `${field}.timestamp`);
  if (ts && !signsTimestamp && mode === 'signature') report('a timestamp that signedContent does not include is not signed, so it cannot bound replays: add {timestamp} to signedContent', `${field}.timestamp`);
  if (signsDeliveryId && !merged.deliveryIdHeader) report('signedContent uses {id}, so deliveryIdHeader must name the header that carries it', `${field}.deliveryIdHeader`);
  if (mode === 'token' && (spec.algorithm || spec.encoding || spec.prefix || spec.separator || spec.signedContent || spec.timestamp)) {
    report('mode token compares the header with the secret: algorithm, encoding, prefix, separator, signedContent and timestamp do not apply');
  }
  const at = template.indexOf('{body}');
  return {
    mode,
    header: merged.header.toLowerCase(),
    algorithm: merged.algorithm ?? 'sha256',
    encoding: merged.encoding ?? 'hex',
    prefix: merged.prefix ?? '',
    separator: merged.separator,
    before: at < 0 ? template : template.slice(0, at),
    after: at < 0 ? '' : template.slice(at + '{body}'.length),
    timestamp: ts?.header ? { header: ts.header.toLowerCase() } : ts?.prefix ? { prefix: ts.prefix } : undefined,
    deliveryIdHeader: merged.deliveryIdHeader?.toLowerCase(),
    signsTimestamp,
    signsDeliveryId,
    secretEncoding: merged.secretEncoding ?? 'text',
  };
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
