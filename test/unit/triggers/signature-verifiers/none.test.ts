import { expect } from 'chai';
import { noneVerifier as verifier } from '../../../../src/triggers/signature-verifiers/none.ts';
import { keys, request } from './verifier-fixtures.ts';

describe('none verifier', () => {
  it('accepts any request, with no secret configured', () => {
    expect(verifier.verify(request({}), keys([]))).to.deep.equal({ ok: true });
    expect(verifier).to.include({ scheme: 'none', timestamped: false });
  });
});
