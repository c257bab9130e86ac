// scheme hmac: any sender that signs with a shared secret, described by spec.auth.hmac (resolved in
// compile-hmac.ts). One verifier per trigger, built when the trigger is compiled. Signatures are
// compared as decoded digests of equal length in constant time; a token (mode token) is compared as
// the SHA-256 of both sides, so the time says nothing about its length either.
import { createHash, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { ResolvedHmac } from '../compile-hmac.ts';
import { digestBytesOf } from '../compile-hmac.ts';
import { decodeBase64, decodeHex } from '../../util/strict-encoding.ts';
import { hasConflictingValues, readHeader } from './request-headers.ts';
import { hmacKeyBytes } from '../../signing/secret-format.ts';
import { isWithinTolerance, MAX_SIGNATURE_ENTRIES, parseUnixSeconds } from './signature-checks.ts';
import type { SignatureVerifier, VerificationFailure, VerificationResult } from './signature-verifier.ts';

const DELIVERY_ID = /^[\x21-\x7e]{1,256}$/;


export function createHmacVerifier(spec: ResolvedHmac): SignatureVerifier {
  // The current and the rotated-out secret: a handful of prepared keys per trigger at most.
  const keys = new Map<string, KeyObject | null>();
  const keyOf = (secret: string): KeyObject | undefined => {
    let key = keys.get(secret);
    if (key === undefined) {
      const bytes = hmacKeyBytes(secret, spec.secretEncoding);
      key = bytes ? createSecretKey(bytes) : null;
      if (keys.size >= 4) keys.clear();
      keys.set(secret, key);
    }
    return key ?? undefined;
  };
  const digestBytes = digestBytesOf(spec.algorithm);
  const decode = (value: string) => (spec.encoding === 'hex' ? decodeHex(value, digestBytes) : decodeBase64(value, digestBytes));

  const verifySignature: SignatureVerifier['verify'] = (req, verificationKeys) => {
    const header = readHeader(req.headers, spec.header);
    if (header === undefined) return { ok: false, failure: 'missing_signature' };
    if (hasConflictingValues(req.headers, spec.header)) return { ok: false, failure: 'malformed_signature' };
    const parsed = parseSignatureHeader(header);
    if (typeof parsed === 'string') return { ok: false, failure: parsed };

    let timestamp: string | undefined;
    if (spec.timestamp) {
      if ('header' in spec.timestamp) {
        if (hasConflictingValues(req.headers, spec.timestamp.header)) return { ok: false, failure: 'malformed_signature' };
        timestamp = readHeader(req.headers, spec.timestamp.header);
      } else timestamp = parsed.timestamp;
      if (timestamp === undefined) return { ok: false, failure: 'missing_timestamp' };
    }
    const t = timestamp === undefined ? undefined : parseUnixSeconds(timestamp);
    if (timestamp !== undefined && t === undefined) return { ok: false, failure: 'malformed_signature' };

    let deliveryId: string | undefined;
    if (spec.deliveryIdHeader) {
      deliveryId = readHeader(req.headers, spec.deliveryIdHeader);
      if (deliveryId !== undefined && !DELIVERY_ID.test(deliveryId)) return { ok: false, failure: 'malformed_signature' };
      if (spec.signsDeliveryId && deliveryId === undefined) return { ok: false, failure: 'missing_signature' };
      if (spec.signsDeliveryId && hasConflictingValues(req.headers, spec.deliveryIdHeader)) return { ok: false, failure: 'malformed_signature' };
    }
    const fill = (part: string) => part.replaceAll('{timestamp}', timestamp ?? '').replaceAll('{id}', deliveryId ?? '');
    const before = fill(spec.before);
    const after = fill(spec.after);

    let matched = false;
    for (const secret of verificationKeys.secrets) {
      const key = keyOf(secret);
      if (!key) continue;
      const expected = createHmac(spec.algorithm, key).update(before).update(req.rawBody).update(after).digest();
      for (const candidate of parsed.signatures) {
        if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
      }
      if (matched) break;
    }
    if (!matched) return { ok: false, failure: 'invalid_signature' };
    // After the signature, so that "stale" always describes a genuine, merely late, delivery.
    if (t !== undefined && !isWithinTolerance(t, req.nowMs, verificationKeys.toleranceSeconds)) return { ok: false, failure: 'stale_timestamp' };
    const replayKey = createHash('sha256').update(`hmac\n${spec.header}\n${before}`).update(req.rawBody).update(after).digest('hex');
    return { ok: true, replayKey, ...(deliveryId !== undefined ? { deliveryId } : {}) };
  };

  /** The signatures (decoded) and, with timestamp.prefix, the timestamp entry of the header. */
  function parseSignatureHeader(header: string): { signatures: Buffer[]; timestamp: string | undefined } | VerificationFailure {
    const entries = spec.separator === undefined ? [header] : header.split(spec.separator).map((e) => e.trim()).filter((e) => e !== '');
    if (entries.length > MAX_SIGNATURE_ENTRIES + 1) return 'malformed_signature';
    const tsPrefix = spec.timestamp && 'prefix' in spec.timestamp ? spec.timestamp.prefix : undefined;
    const signatures: Buffer[] = [];
    let timestamp: string | undefined;
    for (const entry of entries) {
      if (tsPrefix !== undefined && entry.startsWith(tsPrefix)) {
        if (timestamp !== undefined) return 'malformed_signature';
        timestamp = entry.slice(tsPrefix.length);
      } else if (entry.startsWith(spec.prefix)) {
        const digest = decode(entry.slice(spec.prefix.length));
        if (digest) signatures.push(digest);
        else if (spec.separator === undefined) return 'malformed_signature';
      } else if (spec.separator === undefined) return 'malformed_signature';
      // With a separator, entries of other versions (Stripe's v0, Standard Webhooks' v1a) are skipped.
    }
    if (signatures.length === 0) return 'malformed_signature';
    return { signatures, timestamp };
  }

  const verifyToken: SignatureVerifier['verify'] = (req, verificationKeys): VerificationResult => {
    const token = readHeader(req.headers, spec.header);
    if (token === undefined) return { ok: false, failure: 'missing_token' };
    if (hasConflictingValues(req.headers, spec.header)) return { ok: false, failure: 'invalid_token' };
    const presented = sha256(token);
    // No early exit: every secret is compared, so timing does not reveal which one matched.
    let matched = false;
    for (const secret of verificationKeys.secrets) {
      if (secret !== '' && timingSafeEqual(presented, sha256(secret))) matched = true;
    }
    if (!matched) return { ok: false, failure: 'invalid_token' };
    const deliveryId = spec.deliveryIdHeader ? readHeader(req.headers, spec.deliveryIdHeader) : undefined;
    return { ok: true, ...(deliveryId !== undefined && DELIVERY_ID.test(deliveryId) ? { deliveryId } : {}) };
  };

  return {
    scheme: 'hmac',
    timestamped: spec.mode === 'signature' && spec.signsTimestamp,
    signsDeliveryId: spec.mode === 'signature' && spec.signsDeliveryId,
    verify: spec.mode === 'token' ? verifyToken : verifySignature,
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
