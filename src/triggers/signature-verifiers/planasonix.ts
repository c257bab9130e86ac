// X-Planasonix-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>,v1a=<base64 Ed25519>, each over
// "<t>.<raw body>". Several v1 entries let a sender sign with old and new secrets during rotation.
import { SIGNATURE_HEADERS as H } from '../../signing/headers.ts';
import { decodeBase64, decodeHex } from '../../util/strict-encoding.ts';
import { hasConflictingValues, readHeader } from './request-headers.ts';
import {
  isWithinTolerance,
  matchesAnySignature,
  MAX_SIGNATURE_ENTRIES,
  parseUnixSeconds,
  replayKeyOf,
  type Candidates,
} from './signature-checks.ts';
import type { SignatureVerifier, VerificationFailure } from './signature-verifier.ts';

interface ParsedHeader extends Candidates {
  timestamp: string | undefined;
}

export const planasonixVerifier: SignatureVerifier = {
  scheme: 'planasonix',
  timestamped: true,
  verify(req, keys) {
    const header = readHeader(req.headers, H.planasonixSignature);
    if (header === undefined) return { ok: false, failure: 'missing_signature' };
    if (hasConflictingValues(req.headers, H.planasonixSignature)) return { ok: false, failure: 'malformed_signature' };
    const parsed = parseSignatureHeader(header);
    if (typeof parsed === 'string') return { ok: false, failure: parsed };
    if (parsed.timestamp === undefined) return { ok: false, failure: 'missing_timestamp' };
    const t = parseUnixSeconds(parsed.timestamp);
    if (t === undefined) return { ok: false, failure: 'malformed_signature' };
    const prefix = `${parsed.timestamp}.`;
    if (!matchesAnySignature('planasonix', parsed, keys.secrets, keys.publicKey, prefix, req.rawBody)) {
      return { ok: false, failure: 'invalid_signature' };
    }
    // Checked after the signature so that "stale" always describes a genuine, merely late, delivery.
    if (!isWithinTolerance(t, req.nowMs, keys.toleranceSeconds)) return { ok: false, failure: 'stale_timestamp' };
    const deliveryId = readHeader(req.headers, H.planasonixDelivery);
    return { ok: true, replayKey: replayKeyOf('planasonix', prefix, req.rawBody), ...(deliveryId !== undefined && { deliveryId }) };
  },
};

// Entries with unknown names are ignored (room for future versions); an entry of a known version
// with a bad value is skipped, and a header with no usable signature at all is malformed.
function parseSignatureHeader(header: string): ParsedHeader | VerificationFailure {
  const items = header.split(',');
  if (items.length > MAX_SIGNATURE_ENTRIES + 1) return 'malformed_signature';
  const parsed: ParsedHeader = { timestamp: undefined, hmacs: [], ed25519: [] };
  for (const item of items) {
    if (item.trim() === '') continue; // a stray comma, as in "t=1,v1=…,"
    const eq = item.indexOf('=');
    if (eq < 0) return 'malformed_signature';
    const name = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (name === 't') {
      if (parsed.timestamp !== undefined) return 'malformed_signature';
      parsed.timestamp = value;
    } else if (name === 'v1') {
      const digest = decodeHex(value, 32);
      if (digest) parsed.hmacs.push(digest);
    } else if (name === 'v1a') {
      const signature = decodeBase64(value, 64);
      if (signature) parsed.ed25519.push(signature);
    }
  }
  if (parsed.timestamp !== undefined && parsed.hmacs.length + parsed.ed25519.length === 0) return 'malformed_signature';
  return parsed;
}
