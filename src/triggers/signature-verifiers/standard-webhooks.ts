// Standard Webhooks (standardwebhooks.com): webhook-id, webhook-timestamp and webhook-signature
// holding space-separated "v1,<base64 HMAC-SHA256>" and "v1a,<base64 Ed25519>" entries over
// "<id>.<timestamp>.<raw body>"; the HMAC key is the base64 after "whsec_".
import { SIGNATURE_HEADERS as H } from '../../signing/headers.ts';
import { decodeBase64 } from '../../util/strict-encoding.ts';
import { hasConflictingValues, readHeader } from './request-headers.ts';
import {
  isWithinTolerance,
  matchesAnySignature,
  MAX_SIGNATURE_ENTRIES,
  parseUnixSeconds,
  replayKeyOf,
  type Candidates,
} from './signature-checks.ts';
import type { SignatureVerifier } from './signature-verifier.ts';

const MESSAGE_ID = /^[\x21-\x7e]{1,256}$/;

export const standardWebhooksVerifier: SignatureVerifier = {
  scheme: 'standard-webhooks',
  timestamped: true,
  verify(req, keys) {
    const signature = readHeader(req.headers, H.webhookSignature);
    const id = readHeader(req.headers, H.webhookId);
    if (signature === undefined || id === undefined) return { ok: false, failure: 'missing_signature' };
    const timestamp = readHeader(req.headers, H.webhookTimestamp);
    if (timestamp === undefined) return { ok: false, failure: 'missing_timestamp' };
    const signedHeaders = [H.webhookSignature, H.webhookId, H.webhookTimestamp];
    if (signedHeaders.some((name) => hasConflictingValues(req.headers, name))) return { ok: false, failure: 'malformed_signature' };
    const t = parseUnixSeconds(timestamp);
    const candidates = parseSignatureHeader(signature);
    if (t === undefined || candidates === undefined || !MESSAGE_ID.test(id)) return { ok: false, failure: 'malformed_signature' };
    const prefix = `${id}.${timestamp}.`;
    if (!matchesAnySignature('standard-webhooks', candidates, keys.secrets, keys.publicKey, prefix, req.rawBody)) {
      return { ok: false, failure: 'invalid_signature' };
    }
    if (!isWithinTolerance(t, req.nowMs, keys.toleranceSeconds)) return { ok: false, failure: 'stale_timestamp' };
    return { ok: true, deliveryId: id, replayKey: replayKeyOf('standard-webhooks', prefix, req.rawBody) };
  },
};

// Unknown versions and bad values are skipped, as the spec asks; no usable entry at all is malformed.
function parseSignatureHeader(header: string): Candidates | undefined {
  const entries = header.split(' ').filter((e) => e !== '');
  if (entries.length > MAX_SIGNATURE_ENTRIES) return undefined;
  const candidates: Candidates = { hmacs: [], ed25519: [] };
  for (const entry of entries) {
    const comma = entry.indexOf(',');
    if (comma < 0) continue;
    const version = entry.slice(0, comma);
    const value = entry.slice(comma + 1);
    if (version === 'v1') {
      const digest = decodeBase64(value, 32);
      if (digest) candidates.hmacs.push(digest);
    } else if (version === 'v1a') {
      const sig = decodeBase64(value, 64);
      if (sig) candidates.ed25519.push(sig);
    }
  }
  return candidates.hmacs.length + candidates.ed25519.length === 0 ? undefined : candidates;
}
