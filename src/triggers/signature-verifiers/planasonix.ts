// X-Planasonix-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>,v1a=<base64 Ed25519>, each over
// "<t>.<raw body>", and v2=<hex HMAC-SHA256>,v2a=<base64 Ed25519>, each over "<t>.<delivery id>\n<raw
// body>", which also sign the X-Planasonix-Delivery header. Several entries of a version let a sender
// sign with old and new secrets during rotation. The ID ends at the line feed (no header value holds
// one) and the timestamp at the first dot, so no other ID and body sign the same bytes. Only a trigger
// that accepts v2 and v2a alone (signedDeliveryIdOnly) can trust the ID: elsewhere a v1 or v1a
// signature of the same content may exist, and a captured request could be replayed with it under a
// new ID.
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

interface ParsedHeader {
  timestamp: string | undefined;
  /** v1 and v1a: over the timestamp and the body. */
  content: Candidates;
  /** v2 and v2a: over the timestamp, the delivery ID and the body. */
  contentAndId: Candidates;
}

/** Accepts every version; the delivery ID counts as unsigned, since a v1 signature may exist for the same content. */
export const planasonixVerifier: SignatureVerifier = createPlanasonixVerifier(false);

/**
 * spec.auth.signedDeliveryIdOnly: accepts v2 and v2a alone. No signature of this trigger's deliveries then
 * leaves the ID out, so a retry under the same ID is the only way to send the content again.
 */
export const planasonixSignedIdVerifier: SignatureVerifier = createPlanasonixVerifier(true);

function createPlanasonixVerifier(signedIdOnly: boolean): SignatureVerifier {
  return {
    scheme: 'planasonix',
    timestamped: true,
    ...(signedIdOnly && { signsDeliveryId: true }),
    verify(req, keys) {
      const header = readHeader(req.headers, H.planasonixSignature);
      if (header === undefined) return { ok: false, failure: 'missing_signature' };
      if (hasConflictingValues(req.headers, H.planasonixSignature)) return { ok: false, failure: 'malformed_signature' };
      const parsed = parseSignatureHeader(header);
      if (typeof parsed === 'string') return { ok: false, failure: parsed };
      if (parsed.timestamp === undefined) return { ok: false, failure: 'missing_timestamp' };
      const t = parseUnixSeconds(parsed.timestamp);
      if (t === undefined) return { ok: false, failure: 'malformed_signature' };
      const signsId = parsed.contentAndId.hmacs.length + parsed.contentAndId.ed25519.length > 0;
      if (signedIdOnly && !signsId) return { ok: false, failure: 'missing_signature' };
      const prefix = `${parsed.timestamp}.`;
      const deliveryId = readHeader(req.headers, H.planasonixDelivery);
      // Two different delivery headers: no ID is signed, whatever v2 and v2a say.
      const idPrefix = deliveryId === undefined || hasConflictingValues(req.headers, H.planasonixDelivery) ? undefined : `${prefix}${deliveryId}\n`;
      const idSignatureHolds = idPrefix !== undefined && signsId && matchesAnySignature('planasonix', parsed.contentAndId, keys.secrets, keys.publicKey, idPrefix, req.rawBody);
      if (!idSignatureHolds && (signedIdOnly || !matchesAnySignature('planasonix', parsed.content, keys.secrets, keys.publicKey, prefix, req.rawBody))) {
        return { ok: false, failure: 'invalid_signature' };
      }
      // Checked after the signature so that "stale" always describes a genuine, merely late, delivery.
      if (!isWithinTolerance(t, req.nowMs, keys.toleranceSeconds)) return { ok: false, failure: 'stale_timestamp' };
      return { ok: true, replayKey: replayKeyOf('planasonix', prefix, req.rawBody), ...(deliveryId !== undefined && { deliveryId }) };
    },
  };
}

// Entries with unknown names are ignored (room for future versions); an entry of a known version
// with a bad value is skipped, and a header with no usable signature at all is malformed.
function parseSignatureHeader(header: string): ParsedHeader | VerificationFailure {
  const items = header.split(',');
  if (items.length > MAX_SIGNATURE_ENTRIES + 1) return 'malformed_signature';
  const parsed: ParsedHeader = { timestamp: undefined, content: { hmacs: [], ed25519: [] }, contentAndId: { hmacs: [], ed25519: [] } };
  for (const item of items) {
    if (item.trim() === '') continue; // a stray comma, as in "t=1,v1=…,"
    const eq = item.indexOf('=');
    if (eq < 0) return 'malformed_signature';
    const name = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (name === 't') {
      if (parsed.timestamp !== undefined) return 'malformed_signature';
      parsed.timestamp = value;
    } else if (name === 'v1' || name === 'v2') {
      const digest = decodeHex(value, 32);
      if (digest) (name === 'v1' ? parsed.content : parsed.contentAndId).hmacs.push(digest);
    } else if (name === 'v1a' || name === 'v2a') {
      const signature = decodeBase64(value, 64);
      if (signature) (name === 'v1a' ? parsed.content : parsed.contentAndId).ed25519.push(signature);
    }
  }
  const { content, contentAndId } = parsed;
  if (parsed.timestamp !== undefined && content.hmacs.length + content.ed25519.length + contentAndId.hmacs.length + contentAndId.ed25519.length === 0) {
    return 'malformed_signature';
  }
  return parsed;
}
