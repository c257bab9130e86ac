// Byte sizes written the Kubernetes way ("512Ki", "1Mi", "1M") or as a plain number of bytes.

const MULTIPLIERS: Readonly<Record<string, number>> = {
  '': 1,
  k: 1_000,
  M: 1_000_000,
  G: 1_000_000_000,
  Ki: 1_024,
  Mi: 1_024 ** 2,
  Gi: 1_024 ** 3,
};

/**
 * Parses a byte quantity: a whole number of bytes, or a whole number with a suffix Ki, Mi, Gi
 * (powers of 1024) or k, M, G (powers of 1000). Throws a clear error for anything else.
 */
export function parseByteQuantity(quantity: string | number): number {
  if (typeof quantity === 'number') {
    if (Number.isSafeInteger(quantity) && quantity >= 0) return quantity;
    throw new Error(`invalid byte size ${quantity}: a number of bytes must be a non-negative whole number`);
  }
  const match = typeof quantity === 'string' ? /^([0-9]+)(Ki|Mi|Gi|k|M|G)?$/.exec(quantity) : null;
  if (!match) {
    const shown = typeof quantity === 'string' ? JSON.stringify(quantity.slice(0, 64)) : typeof quantity;
    throw new Error(`invalid byte size ${shown}: write a whole number of bytes, optionally followed by Ki, Mi, Gi, k, M or G (for example "512Ki" or "1Mi")`);
  }
  const bytes = Number(match[1]) * MULTIPLIERS[match[2] ?? '']!;
  if (!Number.isSafeInteger(bytes)) throw new Error(`invalid byte size ${JSON.stringify(quantity.slice(0, 64))}: it is too large`);
  return bytes;
}
