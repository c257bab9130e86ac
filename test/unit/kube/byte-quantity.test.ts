import { expect } from 'chai';
import { parseByteQuantity } from '../../../src/kube/byte-quantity.ts';

describe('parseByteQuantity', () => {
  it('reads plain numbers and the binary and decimal suffixes', () => {
    const cases: [string | number, number][] = [
      [1048576, 1_048_576], ['1048576', 1_048_576], ['0', 0], ['512Ki', 524_288], ['1Mi', 1_048_576], ['2Gi', 2_147_483_648],
      ['1k', 1000], ['1M', 1_000_000], ['3G', 3_000_000_000],
    ];
    for (const [q, bytes] of cases) expect(parseByteQuantity(q), String(q)).to.equal(bytes);
  });

  it('refuses other forms with an error that shows the accepted ones', () => {
    for (const bad of ['1Ti', '1K', '1mi', '1.5Mi', '-1', '1 Mi', '', 'Mi', '1e6', '1MiB']) {
      expect(() => parseByteQuantity(bad), bad).to.throw(/invalid byte size .*"512Ki"/);
    }
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => parseByteQuantity(bad), String(bad)).to.throw(/non-negative whole number/);
    expect(() => parseByteQuantity('99999999999999999999Gi')).to.throw(/too large/);
  });
});
