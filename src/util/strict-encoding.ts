// Strict decoders for signature values: Buffer.from(s, 'hex' | 'base64') silently skips bad
// characters, which would let a malformed signature compare as if it were a different one.

const HEX = /^[0-9a-fA-F]*$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes hex of exactly `bytes` bytes, or returns undefined. */
export function decodeHex(text: string, bytes: number): Buffer | undefined {
  if (text.length !== bytes * 2 || !HEX.test(text)) return undefined;
  return Buffer.from(text, 'hex');
}

/** Tells whether text is canonical padded base64 (RFC 4648 section 4). */
export function isBase64(text: string): boolean {
  return text.length % 4 === 0 && BASE64.test(text);
}

/** Decodes padded base64, optionally of exactly `bytes` bytes, or returns undefined. */
export function decodeBase64(text: string, bytes?: number): Buffer | undefined {
  if (!isBase64(text)) return undefined;
  const decoded = Buffer.from(text, 'base64');
  if (bytes !== undefined && decoded.length !== bytes) return undefined;
  return decoded;
}
