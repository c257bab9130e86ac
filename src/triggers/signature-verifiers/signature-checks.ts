// Cryptographic steps shared by the signing schemes. Each secret's HMAC is computed once and
// compared against every candidate, always as digests of equal length in constant time.
import { createHash, createHmac, createSecretKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import type { AuthScheme } from '../../api/types.ts';
import { hmacKeyFor } from '../../signing/secret-format.ts';

/** Most signature entries one header may carry; bounds the work an attacker can ask for. */
export const MAX_SIGNATURE_ENTRIES = 8;

/** Candidate signatures taken from a request, already decoded to bytes. */
export interface Candidates {
  hmacs: Buffer[];
  ed25519: Buffer[];
}

/**
 * True when some candidate is the HMAC-SHA256 of prefix+body under one of the secrets, or an
 * Ed25519 signature of prefix+body under the public key.
 */
export function matchesAnySignature(
  scheme: AuthScheme,
  candidates: Candidates,
  secrets: readonly string[],
  publicKey: KeyObject | undefined,
  prefix: string,
  body: Buffer,
): boolean {
  if (candidates.hmacs.length > 0) {
    for (const secret of secrets) {
      const key = keyOrUndefined(scheme, secret);
      if (key === undefined) continue;
      const expected = createHmac('sha256', key).update(prefix).update(body).digest();
      for (const candidate of candidates.hmacs) {
        if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return true;
      }
    }
  }
  if (candidates.ed25519.length > 0 && publicKey?.asymmetricKeyType === 'ed25519') {
    const message = Buffer.concat([Buffer.from(prefix), body]);
    for (const candidate of candidates.ed25519) {
      if (verifyEd25519(message, publicKey, candidate)) return true;
    }
  }
  return false;
}

// createHmac with raw key bytes costs ~13 µs to import the key, with a prepared KeyObject ~3 µs
// for a 1 KiB body; so prepared keys are kept, a bounded number, least recently used evicted.
const MAX_PREPARED_KEYS = 1024;
const preparedKeys = new Map<string, KeyObject | null>();

// A secret that cannot key an HMAC (a bad whsec_) can never match: skip it rather than fail.
function keyOrUndefined(scheme: AuthScheme, secret: string): KeyObject | undefined {
  const id = `${scheme}\0${secret}`;
  let key = preparedKeys.get(id);
  if (key === undefined) {
    key = prepareKey(scheme, secret);
    if (preparedKeys.size >= MAX_PREPARED_KEYS) preparedKeys.delete(preparedKeys.keys().next().value!);
  } else {
    preparedKeys.delete(id); // re-inserted below as the most recently used
  }
  preparedKeys.set(id, key);
  return key ?? undefined;
}

function prepareKey(scheme: AuthScheme, secret: string): KeyObject | null {
  try {
    return createSecretKey(hmacKeyFor(scheme, secret));
  } catch {
    return null;
  }
}

function verifyEd25519(message: Buffer, publicKey: KeyObject, signature: Buffer): boolean {
  try {
    return verify(null, message, publicKey, signature);
  } catch {
    return false;
  }
}

/** Parses a Unix-seconds timestamp: digits only, no sign, no exponent, at most 12 digits. */
export function parseUnixSeconds(text: string): number | undefined {
  return /^[0-9]{1,12}$/.test(text) ? Number(text) : undefined;
}

/** True when the timestamp lies within the tolerance of now, in either direction. */
export function isWithinTolerance(timestampSeconds: number, nowMs: number, toleranceSeconds: number): boolean {
  return Math.abs(nowMs - timestampSeconds * 1000) <= toleranceSeconds * 1000;
}

/** The replay key of a signed request: SHA-256 over the scheme and the signed content. */
export function replayKeyOf(scheme: AuthScheme, prefix: string, body: Buffer): string {
  return createHash('sha256').update(`${scheme}\n${prefix}`).update(body).digest('hex');
}
