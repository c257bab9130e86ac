// Turns a value found in a request into the string a PipelineRun param holds, by declared type.
// Problems are described by the value's kind only, never the value, which may be sensitive.
import type { ParamType } from '../../api/types.ts';

/** Where a value came from: JSON from the body, or text from a header, the query or a default. */
export type RawValue = { kind: 'json'; value: unknown } | { kind: 'text'; value: string };

export type Coerced = { ok: true; value: string } | { ok: false; problem: string };

const JSON_NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

const coercers: Record<ParamType, (raw: RawValue) => Coerced> = {
  // From the body only a JSON string is a string: a number there most likely means a wrong mapping.
  string: (raw) => (raw.kind === 'text' || typeof raw.value === 'string' ? ok(String(raw.value)) : wrongType('a string', raw.value)),
  number: (raw) => {
    if (raw.kind === 'json') {
      return typeof raw.value === 'number' && Number.isFinite(raw.value) ? ok(formatDecimal(raw.value)) : wrongType('a finite number', raw.value);
    }
    const n = JSON_NUMBER.test(raw.value) ? Number(raw.value) : Number.NaN;
    return Number.isFinite(n) ? ok(formatDecimal(n)) : { ok: false, problem: 'expected a decimal number' };
  },
  boolean: (raw) => {
    if (raw.kind === 'json') return typeof raw.value === 'boolean' ? ok(String(raw.value)) : wrongType('true or false', raw.value);
    return raw.value === 'true' || raw.value === 'false' ? ok(raw.value) : { ok: false, problem: 'expected "true" or "false"' };
  },
  // Text is read as JSON and written back compactly, so a header can carry a small JSON document.
  object: (raw) => {
    if (raw.kind === 'json') return ok(JSON.stringify(raw.value));
    try {
      return ok(JSON.stringify(JSON.parse(raw.value)));
    } catch {
      // JSON.parse's message quotes the input: never pass it on.
      return { ok: false, problem: 'expected JSON text' };
    }
  },
};

/** Coerces a raw value to the param's string form, or says (without the value) why it cannot. */
export function coerceParam(raw: RawValue, type: ParamType): Coerced {
  const coerce = Object.hasOwn(coercers, type) ? coercers[type] : undefined;
  return coerce ? coerce(raw) : { ok: false, problem: `unknown param type "${String(type)}"` };
}

/** Writes a finite number in plain decimal (no exponent): 1e21 → "1000000000000000000000", -0 → "0". */
export function formatDecimal(n: number): string {
  const text = String(n === 0 ? 0 : n);
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!m) return text;
  const [, sign = '', intPart = '', fracPart = '', expText = '0'] = m;
  const digits = intPart + fracPart;
  const point = intPart.length + Number(expText); // position of the decimal point within digits
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function ok(value: string): Coerced {
  return { ok: true, value };
}

function wrongType(expected: string, value: unknown): Coerced {
  return { ok: false, problem: `expected ${expected}, got ${kindOf(value)}` };
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number') return Number.isFinite(value) ? 'a number' : 'a number too large to represent';
  return `a ${typeof value}`;
}
