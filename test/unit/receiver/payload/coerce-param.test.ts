import { expect } from 'chai';
import fc from 'fast-check';
import { coerceParam, formatDecimal } from '../../../../src/receiver/payload/coerce-param.ts';

const json = (value: unknown) => ({ kind: 'json' as const, value });
const text = (value: string) => ({ kind: 'text' as const, value });

describe('coerceParam', () => {
  it('takes strings as they are, from JSON only a JSON string', () => {
    expect(coerceParam(json('exp_1'), 'string')).to.deep.equal({ ok: true, value: 'exp_1' });
    expect(coerceParam(text('42'), 'string')).to.deep.equal({ ok: true, value: '42' });
    expect(coerceParam(json(42), 'string')).to.deep.equal({ ok: false, problem: 'expected a string, got a number' });
    expect(coerceParam(json({}), 'string')).to.deep.equal({ ok: false, problem: 'expected a string, got an object' });
  });

  it('writes numbers as plain decimals, from JSON numbers or numeric text', () => {
    const cases: [unknown, string][] = [[json(482910), '482910'], [json(-1.5), '-1.5'], [json(1e21), '1000000000000000000000'], [json(-0), '0'],
      [text('1e3'), '1000'], [text('0.000001'), '0.000001'], [text('1e-7'), '0.0000001'], [text('-12.50'), '-12.5']];
    for (const [raw, value] of cases) expect(coerceParam(raw as never, 'number'), JSON.stringify(raw)).to.deep.equal({ ok: true, value });
    for (const bad of [text(''), text('0x10'), text(' 1'), text('1,000'), text('NaN'), text('Infinity'), text('1e999'), text('+1'), text('01')]) {
      expect(coerceParam(bad, 'number').ok, bad.value).to.equal(false);
    }
    expect(coerceParam(json('42'), 'number')).to.deep.equal({ ok: false, problem: 'expected a finite number, got a string' });
  });

  it('accepts booleans as JSON true/false or the exact words', () => {
    expect(coerceParam(json(false), 'boolean')).to.deep.equal({ ok: true, value: 'false' });
    expect(coerceParam(text('true'), 'boolean')).to.deep.equal({ ok: true, value: 'true' });
    for (const bad of [text('True'), text('1'), text('yes')]) expect(coerceParam(bad, 'boolean').ok, bad.value).to.equal(false);
    expect(coerceParam(json(0), 'boolean').ok).to.equal(false);
  });

  it('serializes any JSON value compactly for object, and reads text as JSON', () => {
    expect(coerceParam(json({ a: [1, 'x'] }), 'object')).to.deep.equal({ ok: true, value: '{"a":[1,"x"]}' });
    expect(coerceParam(json('s'), 'object')).to.deep.equal({ ok: true, value: '"s"' });
    expect(coerceParam(text(' { "a" : 1 } '), 'object')).to.deep.equal({ ok: true, value: '{"a":1}' });
    expect(coerceParam(text('{oops'), 'object')).to.deep.equal({ ok: false, problem: 'expected JSON text' });
  });

  it('formats every finite number without an exponent and to the same value', () => {
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
      const s = formatDecimal(n);
      expect(s).to.match(/^-?\d+(\.\d+)?$/);
      expect(Number(s)).to.equal(n === 0 ? 0 : n);
    }), { numRuns: 2000 });
  });
});
