// Authorization: Bearer <token>, compared with each secret. Both sides are hashed first so the
// comparison is of equal-length digests and its time says nothing about the token's length.
import { createHash, timingSafeEqual } from 'node:crypto';
import { SIGNATURE_HEADERS as H } from '../../signing/headers.ts';
import { readHeader } from './request-headers.ts';
import type { SignatureVerifier } from './signature-verifier.ts';

export const bearerVerifier: SignatureVerifier = {
  scheme: 'bearer',
  timestamped: false,
  verify(req, keys) {
    const token = bearerTokenOf(readHeader(req.headers, H.authorization));
    if (token === undefined) return { ok: false, failure: 'missing_token' };
    const presented = sha256(token);
    // No early exit: every secret is compared, so timing does not reveal which one matched.
    let matched = false;
    for (const secret of keys.secrets) {
      if (secret !== '' && timingSafeEqual(presented, sha256(secret))) matched = true;
    }
    return matched ? { ok: true } : { ok: false, failure: 'invalid_token' };
  },
};

// The auth scheme name is case-insensitive (RFC 9110 section 11.1).
function bearerTokenOf(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^bearer +(\S+) *$/i.exec(header);
  return match?.[1];
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
