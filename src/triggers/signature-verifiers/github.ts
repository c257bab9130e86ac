// GitHub: X-Hub-Signature-256: sha256=<hex HMAC-SHA256 over the raw body>, keyed with the secret's
// UTF-8 bytes. No timestamp is signed, so only the replay key can spot a replay.
import { SIGNATURE_HEADERS as H } from '../../signing/headers.ts';
import { decodeHex } from '../../util/strict-encoding.ts';
import { hasConflictingValues, readHeader } from './request-headers.ts';
import { matchesAnySignature, replayKeyOf } from './signature-checks.ts';
import type { SignatureVerifier } from './signature-verifier.ts';

const PREFIX = 'sha256=';

export const githubVerifier: SignatureVerifier = {
  scheme: 'github',
  timestamped: false,
  verify(req, keys) {
    const header = readHeader(req.headers, H.githubSignature);
    if (header === undefined) return { ok: false, failure: 'missing_signature' };
    if (hasConflictingValues(req.headers, H.githubSignature)) return { ok: false, failure: 'malformed_signature' };
    const digest = header.startsWith(PREFIX) ? decodeHex(header.slice(PREFIX.length), 32) : undefined;
    if (digest === undefined) return { ok: false, failure: 'malformed_signature' };
    if (!matchesAnySignature('github', { hmacs: [digest], ed25519: [] }, keys.secrets, undefined, '', req.rawBody)) {
      return { ok: false, failure: 'invalid_signature' };
    }
    const deliveryId = readHeader(req.headers, H.githubDelivery);
    return { ok: true, replayKey: replayKeyOf('github', '', req.rawBody), ...(deliveryId !== undefined && { deliveryId }) };
  },
};
