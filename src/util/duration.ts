// Go-style durations ("300ms", "1.5h", "1h30m"), as Kubernetes users write them in specs.

const NS = { us: 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n } as const;
const NS_PER_MS = NS.ms;
// A Map, not an object, so that a "unit" such as "constructor" finds nothing.
const NS_PER_UNIT: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', NS.us],
  ['µs', NS.us], // U+00B5 micro sign
  ['μs', NS.us], // U+03BC Greek mu, which Go accepts too
  ['ms', NS.ms],
  ['s', NS.s],
  ['m', NS.m],
  ['h', NS.h],
]);
const COMPONENT = /([0-9]*)(?:\.([0-9]*))?([a-zµμ]+)/y;

/**
 * Parses a Go duration into milliseconds (fractional below 1 ms). Units: ns, us (µs), ms, s, m, h;
 * decimals allowed. Negative, empty or unknown forms throw an error that names the input.
 */
export function parseDuration(text: string): number {
  const fail = (why: string): never => {
    const shown = typeof text === 'string' ? JSON.stringify(text.slice(0, 64)) : `of type ${typeof text}`;
    throw new Error(`invalid duration ${shown}: ${why}; write for example "30s", "5m" or "1h30m"`);
  };
  if (typeof text !== 'string') fail('it is not a string');
  if (text === '') fail('it is empty');
  if (text.startsWith('-')) fail('it is negative');
  const body = text.startsWith('+') ? text.slice(1) : text;
  if (body === '0') return 0;
  if (body === '') fail('it has no number');
  let totalNs = 0n;
  COMPONENT.lastIndex = 0;
  while (COMPONENT.lastIndex < body.length) {
    const start = COMPONENT.lastIndex;
    const m = COMPONENT.exec(body);
    if (!m || m.index !== start) return fail('expected a number followed by a unit (ns, us, ms, s, m, h)');
    const [, whole = '', fraction = '', unit = ''] = m;
    if (whole === '' && fraction === '') fail('a unit has no number before it');
    const perUnit = NS_PER_UNIT.get(unit);
    if (perUnit === undefined) return fail(`unknown unit "${unit}" (use ns, us, ms, s, m or h)`);
    totalNs += BigInt(whole || '0') * perUnit + fractionNs(fraction, perUnit);
  }
  const wholeMs = totalNs / NS_PER_MS;
  if (wholeMs > BigInt(Number.MAX_SAFE_INTEGER)) fail('it is too long');
  // Split so that whole milliseconds stay exact however long the duration.
  return Number(wholeMs) + Number(totalNs % NS_PER_MS) / 1e6;
}

// Like Go, the fraction is truncated to whole nanoseconds.
function fractionNs(fraction: string, perUnit: bigint): bigint {
  if (fraction === '') return 0n;
  return (BigInt(fraction) * perUnit) / 10n ** BigInt(fraction.length);
}

/**
 * Formats milliseconds as a Go-style duration that parseDuration reads back, leaving out zero
 * parts: 5_400_000 → "1h30m", 1500 → "1.5s", 0.25 → "250us", 0 → "0s". Rounds to whole nanoseconds.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`cannot format ${ms} as a duration: it must be a non-negative finite number of milliseconds`);
  // Whole milliseconds apart from the fraction, so that long durations keep every nanosecond they have.
  const whole = Math.trunc(ms);
  const ns = BigInt(whole) * NS_PER_MS + BigInt(Math.round((ms - whole) * 1e6));
  if (ns === 0n) return '0s';
  if (ns < NS.s) {
    if (ns < NS.us) return `${ns}ns`;
    if (ns < NS.ms) return withFraction(ns, NS.us, 'us');
    return withFraction(ns, NS.ms, 'ms');
  }
  const h = ns / NS.h;
  const m = (ns % NS.h) / NS.m;
  const sNs = ns % NS.m;
  return (h > 0n ? `${h}h` : '') + (m > 0n ? `${m}m` : '') + (sNs > 0n ? withFraction(sNs, NS.s, 's') : '');
}

function withFraction(ns: bigint, perUnit: bigint, unit: string): string {
  const whole = ns / perUnit;
  const rest = ns % perUnit;
  if (rest === 0n) return `${whole}${unit}`;
  const digits = perUnit.toString().length - 1;
  const fraction = rest.toString().padStart(digits, '0').replace(/0+$/, '');
  return `${whole}.${fraction}${unit}`;
}
