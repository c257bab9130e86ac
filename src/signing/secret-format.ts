// The shape of a signing secret per scheme: how we generate one, how a user-provided one is
// checked, and which bytes key the HMAC.
import { randomBytes } from 'node:crypto';
import type { AuthScheme } from '../api/types.ts';
import { decodeBase64 } from '../util/strict-encoding.ts';

const STANDARD_WEBHOOKS_PREFIX = 'whsec_';
const PLANASONIX_PREFIX = 'pxs_';
const SECRET_BYTES = 32;

const generators: Record<AuthScheme, () => string> = {
  planasonix: () => PLANASONIX_PREFIX + randomBytes(SECRET_BYTES).toString('base64url'),
  'standard-webhooks': () => STANDARD_WEBHOOKS_PREFIX + randomBytes(SECRET_BYTES).toString('base64'),
  github: () => randomBytes(SECRET_BYTES).toString('hex'),
  bearer: () => randomBytes(SECRET_BYTES).toString('base64url'),
  // whsec_ and base64: a key for every hmac sender, whether it keys the HMAC with the text as it is
  // (Stripe, GitHub, Slack, Shopify) or with the base64 after whsec_ (Standard Webhooks, Svix).
  hmac: () => STANDARD_WEBHOOKS_PREFIX + randomBytes(SECRET_BYTES).toString('base64'),
  none: () => '',
};

/** Generates a new random signing secret in the format the scheme expects ('' for none). */
export function generateSigningSecret(scheme: AuthScheme): string {
  return generators[scheme]();
}

// Visible ASCII only: a bearer token travels in a header, where other characters are mangled or refused.
const HEADER_TOKEN = /^[\x21-\x7e]+$/;

/**
 * Checks a user-provided secret for the scheme. Returns an error message (never containing the
 * secret) or undefined when the secret is usable.
 */
export function validateSigningSecret(scheme: AuthScheme, secret: string): string | undefined {
  if (scheme === 'none') return undefined;
  if (secret.length === 0) return `the ${scheme} signing secret is empty`;
  if (secret.trim() !== secret) {
    return `the ${scheme} signing secret begins or ends with whitespace (often a trailing newline from "echo"); remove it`;
  }
  if (scheme === 'standard-webhooks') {
    if (!secret.startsWith(STANDARD_WEBHOOKS_PREFIX)) {
      return 'a standard-webhooks signing secret must start with "whsec_" followed by base64';
    }
    const key = decodeBase64(secret.slice(STANDARD_WEBHOOKS_PREFIX.length));
    if (key === undefined) return 'a standard-webhooks signing secret must be "whsec_" followed by valid padded base64';
    if (key.length === 0) return 'a standard-webhooks signing secret must hold at least one byte after "whsec_"';
  }
  if (scheme === 'bearer' && !HEADER_TOKEN.test(secret)) {
    return 'a bearer token may hold only visible ASCII characters, since it is sent in a header';
  }
  return undefined;
}

/**
 * The HMAC key bytes for a secret: the base64-decoded part after "whsec_" for standard-webhooks,
 * the UTF-8 bytes of the secret as stored otherwise. Throws when the secret is not usable.
 */
export function hmacKeyFor(scheme: AuthScheme, secret: string): Buffer {
  const problem = validateSigningSecret(scheme, secret);
  if (problem !== undefined) throw new Error(problem);
  if (scheme === 'standard-webhooks') return Buffer.from(secret.slice(STANDARD_WEBHOOKS_PREFIX.length), 'base64');
  return Buffer.from(secret, 'utf8');
}

/** The HMAC key of a secret, or undefined when a base64 secret does not decode (it can never match). */
export function hmacKeyBytes(secret: string, encoding: 'text' | 'base64'): Buffer | undefined {
  if (secret === '') return undefined;
  if (encoding === 'text') return Buffer.from(secret, 'utf8');
  const key = decodeBase64(secret.startsWith(STANDARD_WEBHOOKS_PREFIX) ? secret.slice(STANDARD_WEBHOOKS_PREFIX.length) : secret);
  return key && key.length > 0 ? key : undefined;
}
