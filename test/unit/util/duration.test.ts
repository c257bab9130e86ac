import { expect } from 'chai';
import fc from 'fast-check';
import { formatDuration, parseDuration } from '../../../src/util/duration.ts';

describe('durations', () => {
  it('parses Go-style durations into milliseconds', () => {
    const cases: [string, number][] = [
      ['0', 0], ['0s', 0], ['300ms', 300], ['5m', 300_000], ['1h30m', 5_400_000], ['1.5h', 5_400_000], ['2160h', 7_776_000_000],
      ['1h1m1s1ms', 3_661_001], ['.5s', 500], ['5.s', 5000], ['+5s', 5000], ['1500us', 1.5], ['1500µs', 1.5], ['1500μs', 1.5], ['1ns', 0.000001],
      ['0.1s', 100], ['0.3s', 300], ['1m0.001s', 60_001],
    ];
    for (const [text, ms] of cases) expect(parseDuration(text), text).to.equal(ms);
  });

  it('refuses empty, negative, unitless and unknown forms with an error that says what to write', () => {
    const cases: [string, RegExp][] = [
      ['', /is empty/], ['-5s', /negative/], ['10', /expected a number followed by a unit/], ['5 m', /expected a number/],
      ['1d', /unknown unit "d"/], ['s', /no number/], ['.s', /no number/], ['1h-5m', /expected a number/], ['1e3s', /unknown unit "e"/], ['1constructor', /unknown unit "constructor"/], ['+', /no number/],
    ];
    for (const [text, why] of cases) expect(() => parseDuration(text), text).to.throw(Error, why).with.property('message').that.match(/for example "30s"/);
  });

  it('refuses a duration too long to hold in milliseconds', () => {
    expect(() => parseDuration('9999999999999999h')).to.throw(/too long/);
  });

  it('formats milliseconds compactly, in the units Go would use', () => {
    const cases: [number, string][] = [[0, '0s'], [300, '300ms'], [1500, '1.5s'], [5_400_000, '1h30m'], [3_600_000, '1h'], [7_776_000_000, '2160h'],
      [61_000, '1m1s'], [0.25, '250us'], [1.5, '1.5ms'], [0.000001, '1ns'], [3_661_001, '1h1m1.001s']];
    for (const [ms, text] of cases) expect(formatDuration(ms), String(ms)).to.equal(text);
    expect(() => formatDuration(-1)).to.throw(/non-negative/);
  });

  it('reads back what it formats, for whole milliseconds up to a century', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 100 * 365 * 86_400_000 }), (ms) => {
      expect(parseDuration(formatDuration(ms))).to.equal(ms);
    }), { numRuns: 2000 });
  });

  it('formats whatever it parses into a form that parses to the same duration', () => {
    const component = fc.tuple(fc.nat({ max: 99999 }), fc.option(fc.stringMatching(/^[0-9]{1,6}$/), { nil: undefined }), fc.constantFrom('ns', 'us', 'ms', 's', 'm', 'h'))
      .map(([whole, fraction, unit]) => `${whole}${fraction === undefined ? '' : '.' + fraction}${unit}`);
    fc.assert(fc.property(fc.array(component, { minLength: 1, maxLength: 4 }), (parts) => {
      const ms = parseDuration(parts.join(''));
      // Milliseconds are a double: beyond a few days, sub-millisecond digits are only as exact as the double.
      expect(parseDuration(formatDuration(ms))).to.be.closeTo(ms, Math.max(1e-6, ms * 1e-15));
    }), { numRuns: 1000 });
  });
});
