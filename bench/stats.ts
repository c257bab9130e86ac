// Small statistics over latency samples and repeated rounds: percentiles by the nearest-rank
// method (no interpolation, so p99 of 200 samples is a sample that was really observed).

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.length ? sorted.reduce((s, v) => s + v, 0) / sorted.length : Number.NaN;
  return {
    count: sorted.length,
    mean,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

/** The middle value; the mean of the two middle ones for an even count. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Cumulative distribution at log-spaced points, for the latency chart: `points` pairs of
 * (latency, fraction of samples at or below it). Keeps the chart data small in results.json.
 */
export function cdfPoints(samples: readonly number[], points = 60): [number, number][] {
  const sorted = [...samples].filter((v) => v > 0).sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const lo = Math.log10(sorted[0]!);
  const hi = Math.log10(sorted[sorted.length - 1]!);
  const out: [number, number][] = [];
  let i = 0;
  for (let k = 0; k <= points; k++) {
    const x = 10 ** (lo + ((hi - lo) * k) / points);
    while (i < sorted.length && sorted[i]! <= x * (1 + 1e-12)) i++;
    out.push([x, i / sorted.length]);
  }
  return out;
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
