import { expect } from 'chai';
import { decodeBase64, decodeHex, isBase64 } from '../../../src/util/strict-encoding.ts';

describe('strict decoding', () => {
  it('decodes hex of the expected length only', () => {
    expect(decodeHex('00ff', 2)).to.deep.equal(Buffer.from([0, 255]));
    expect(decodeHex('00FF', 2)).to.deep.equal(Buffer.from([0, 255]));
    for (const bad of ['00f', '00fg', '00ff00', ' 00f']) expect(decodeHex(bad, 2), bad).to.equal(undefined);
  });

  it('decodes only canonical padded base64, where Buffer.from would skip junk', () => {
    expect(decodeBase64('AAE=')).to.deep.equal(Buffer.from([0, 1]));
    expect(decodeBase64('AAE=', 3)).to.equal(undefined);
    for (const bad of ['AAE', 'AA=E', 'A*E=', 'AAE=\n', '-_8=']) expect(isBase64(bad), bad).to.equal(false);
    expect(isBase64('')).to.equal(true);
  });
});
