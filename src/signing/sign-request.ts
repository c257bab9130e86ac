// The headers a sender adds to sign a request, per scheme. The receiver's verifiers are the
// inverse of these functions; our CLI and tests use them to produce valid deliveries.
import { createHmac, randomUUID, sign, type KeyObject } from 'node:crypto';
import type { AuthScheme } from '../api/types.ts';
import { SIGNATURE_HEADERS as H } from './headers.ts';
import { assertEd25519PrivateKey } from './public-key.ts';
import { hmacKeyFor } from './secret-format.ts';
import type { ResolvedHmac } from './hmac-parameters.ts';
import { hmacKeyBytes } from './secret-format.ts';

export interface SignOptions {
  /** The shared secret; may be omitted for planasonix or standard-webhooks when privateKey is given. */
  secret?: string;
  body: Buffer;
  /** Unix seconds; defaults to now. */
  timestampSeconds?: number;
  /** Delivery ID; standard-webhooks requires one and gets a random one when omitted. */
  deliveryId?: string;
  /** Ed25519 private key: adds a v1a signature (planasonix and standard-webhooks), and a v2a with a planasonix delivery ID. */
  privateKey?: KeyObject;
  /** scheme hmac: the trigger's spec.auth.hmac, resolved (resolveHmac). */
  hmac?: ResolvedHmac;
}

type Signer = (o: SignOptions) => Record<string, string>;

const signers: Record<AuthScheme, Signer> = {
  planasonix: signPlanasonix,
  'standard-webhooks': signStandardWebhooks,
  github: signGithub,
  bearer: signBearer,
  hmac: signHmac,
  none: () => ({}),
};

/** Returns the headers (lowercase names) that sign `body` for the scheme. Throws on unusable options. */
export function signRequest(scheme: AuthScheme, options: SignOptions): Record<string, string> {
  return signers[scheme](options);
}

function signPlanasonix(o: SignOptions): Record<string, string> {
  const t = timestampOf(o);
  const prefix = `${t}.`;
  const entries = [`t=${t}`];
  const id = o.deliveryId === undefined ? undefined : checkDeliveryId(o.deliveryId);
  // v2 and v2a sign the delivery ID too; v1 and v1a stay for receivers that know only those.
  const idPrefix = id === undefined ? undefined : `${prefix}${id}\n`;
  if (o.secret !== undefined && idPrefix !== undefined) entries.push(`v2=${hmac('planasonix', o.secret, idPrefix, o.body).toString('hex')}`);
  if (o.secret !== undefined) entries.push(`v1=${hmac('planasonix', o.secret, prefix, o.body).toString('hex')}`);
  if (o.privateKey && idPrefix !== undefined) entries.push(`v2a=${ed25519(o.privateKey, idPrefix, o.body).toString('base64')}`);
  if (o.privateKey) entries.push(`v1a=${ed25519(o.privateKey, prefix, o.body).toString('base64')}`);
  requireSomeSignature(entries.length > 1, 'planasonix');
  const headers: Record<string, string> = { [H.planasonixSignature]: entries.join(',') };
  if (id !== undefined) headers[H.planasonixDelivery] = id;
  return headers;
}

function signStandardWebhooks(o: SignOptions): Record<string, string> {
  const t = timestampOf(o);
  const id = checkDeliveryId(o.deliveryId ?? `msg_${randomUUID()}`);
  const prefix = `${id}.${t}.`;
  const entries: string[] = [];
  if (o.secret !== undefined) entries.push(`v1,${hmac('standard-webhooks', o.secret, prefix, o.body).toString('base64')}`);
  if (o.privateKey) entries.push(`v1a,${ed25519(o.privateKey, prefix, o.body).toString('base64')}`);
  requireSomeSignature(entries.length > 0, 'standard-webhooks');
  return { [H.webhookId]: id, [H.webhookTimestamp]: String(t), [H.webhookSignature]: entries.join(' ') };
}

function signGithub(o: SignOptions): Record<string, string> {
  if (o.secret === undefined) throw new Error('github signing needs a secret');
  const headers: Record<string, string> = {
    [H.githubSignature]: `sha256=${hmac('github', o.secret, '', o.body).toString('hex')}`,
  };
  if (o.deliveryId !== undefined) headers[H.githubDelivery] = checkDeliveryId(o.deliveryId);
  return headers;
}

function signBearer(o: SignOptions): Record<string, string> {
  if (o.secret === undefined) throw new Error('bearer authentication needs a token (the secret)');
  hmacKeyFor('bearer', o.secret); // validates the token's format with a clear error
  return { [H.authorization]: `Bearer ${o.secret}` };
}

/** Signs as spec.auth.hmac describes: the inverse of the hmac verifier, for the CLI and tests. */
function signHmac(o: SignOptions): Record<string, string> {
  const spec = o.hmac;
  if (!spec) throw new Error('hmac signing needs the trigger\'s spec.auth.hmac');
  if (o.secret === undefined) throw new Error('hmac signing needs a secret');
  const headers: Record<string, string> = {};
  if (spec.mode === 'token') {
    headers[spec.header] = o.secret;
    if (spec.deliveryIdHeader && o.deliveryId !== undefined) headers[spec.deliveryIdHeader] = checkDeliveryId(o.deliveryId);
    return headers;
  }
  const t = String(timestampOf(o));
  const id = spec.deliveryIdHeader ? checkDeliveryId(o.deliveryId ?? `msg_${randomUUID()}`) : '';
  const fill = (part: string) => part.replaceAll('{timestamp}', t).replaceAll('{id}', id);
  const key = hmacKeyBytes(o.secret, spec.secretEncoding);
  if (!key) throw new Error('the secret is not base64 (after an optional whsec_), as spec.auth.hmac.secretEncoding says');
  const digest = createHmac(spec.algorithm, key).update(fill(spec.before)).update(o.body).update(fill(spec.after)).digest(spec.encoding);
  const signature = `${spec.prefix}${digest}`;
  headers[spec.header] = spec.timestamp && 'prefix' in spec.timestamp ? `${spec.timestamp.prefix}${t}${spec.separator ?? ','}${signature}` : signature;
  if (spec.timestamp && 'header' in spec.timestamp) headers[spec.timestamp.header] = t;
  if (spec.deliveryIdHeader) headers[spec.deliveryIdHeader] = id;
  return headers;
}

function hmac(scheme: AuthScheme, secret: string, prefix: string, body: Buffer): Buffer {
  return createHmac('sha256', hmacKeyFor(scheme, secret)).update(prefix).update(body).digest();
}

function ed25519(privateKey: KeyObject, prefix: string, body: Buffer): Buffer {
  assertEd25519PrivateKey(privateKey);
  return sign(null, Buffer.concat([Buffer.from(prefix), body]), privateKey);
}

function timestampOf(o: SignOptions): number {
  const t = o.timestampSeconds ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(t) || t < 0) throw new Error('timestampSeconds must be a non-negative whole number of seconds');
  return t;
}

// The id ends up in a header and, for standard-webhooks, in the signed content: keep it to visible ASCII.
function checkDeliveryId(id: string): string {
  if (!/^[\x21-\x7e]{1,256}$/.test(id)) throw new Error('a delivery ID must be 1 to 256 visible ASCII characters');
  return id;
}

function requireSomeSignature(present: boolean, scheme: AuthScheme): void {
  if (!present) throw new Error(`${scheme} signing needs a secret, a private key, or both`);
}
