// Byte sizes written the Kubernetes way ("512Ki", "1Mi", "1M") or as a plain number of bytes. The
// arithmetic is client-node's quantityToScalar; this module only narrows what counts as a byte size
// (whole bytes, no milli-bytes or exponents) and explains a refusal.
import { quantityToScalar } from './client-node-seam.ts';

const BYTE_QUANTITY = /^[0-9]+(Ki|Mi|Gi|k|M|G)?$/;

/**
 * Parses a byte quantity: a whole number of bytes, or a whole number with a suffix Ki, Mi, Gi
 * (powers of 1024) or k, M, G (powers of 1000). Throws a clear error for anything else.
 */
export function parseByteQuantity(quantity: string | number): number {
  if (typeof quantity === 'number') {
    if (Number.isSafeInteger(quantity) && quantity >= 0) return quantity;
    throw new Error(`invalid byte size ${quantity}: a number of bytes must be a non-negative whole number`);
  }
  if (typeof quantity !== 'string' || !BYTE_QUANTITY.test(quantity)) {
    const shown = typeof quantity === 'string' ? JSON.stringify(quantity.slice(0, 64)) : typeof quantity;
    throw new Error(`invalid byte size ${shown}: write a whole number of bytes, optionally followed by Ki, Mi, Gi, k, M or G (for example "512Ki" or "1Mi")`);
  }
  const bytes = Number(quantityToScalar(quantity));
  if (!Number.isSafeInteger(bytes)) throw new Error(`invalid byte size ${JSON.stringify(quantity.slice(0, 64))}: it is too large`);
  return bytes;
}
