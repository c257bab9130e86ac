import { expect } from 'chai';
import { bearerVerifier as verifier } from '../../../../src/triggers/signature-verifiers/bearer.ts';
import { signRequest } from '../../../../src/signing/sign-request.ts';
import { keys, request } from './verifier-fixtures.ts';

const TOKEN = 'q9Z1-uJ3b0l2Zk8sV7xYwP4rT6mN5aC1dE2fG3hI4jK';
const PREVIOUS = 'older-token-0123456789';

const auth = (value: string) => ({ authorization: value });

describe('bearer token verifier', () => {
  it('accepts the configured token, with the scheme name in any case', () => {
    expect(verifier.verify(request(auth(`Bearer ${TOKEN}`)), keys([TOKEN]))).to.deep.equal({ ok: true });
    expect(verifier.verify(request(auth(`bearer ${TOKEN}`)), keys([TOKEN])).ok).to.equal(true);
    expect(verifier.verify(request(signRequest('bearer', { secret: TOKEN, body: Buffer.alloc(0) })), keys([TOKEN])).ok).to.equal(true);
  });

  it('rejects a wrong token, including one of another length (the digests compared are always of equal length)', () => {
    for (const token of [TOKEN.slice(0, -1), TOKEN + 'x', 'x', TOKEN.toLowerCase()]) {
      expect(verifier.verify(request(auth(`Bearer ${token}`)), keys([TOKEN])), token).to.deep.equal({ ok: false, failure: 'invalid_token' });
    }
  });

  it('reports a missing token for no header, another scheme, or an empty token', () => {
    for (const h of [{}, auth(`Basic ${Buffer.from('user:pass').toString('base64')}`), auth('Bearer '), auth('Bearer'), auth(TOKEN)]) {
      expect(verifier.verify(request(h), keys([TOKEN])), JSON.stringify(h)).to.deep.equal({ ok: false, failure: 'missing_token' });
    }
  });

  it('accepts either token during rotation, and none when no secret is configured', () => {
    expect(verifier.verify(request(auth(`Bearer ${PREVIOUS}`)), keys([TOKEN, PREVIOUS])).ok).to.equal(true);
    expect(verifier.verify(request(auth(`Bearer ${TOKEN}`)), keys([TOKEN, PREVIOUS])).ok).to.equal(true);
    expect(verifier.verify(request(auth(`Bearer ${TOKEN}`)), keys([]))).to.deep.equal({ ok: false, failure: 'invalid_token' });
  });

  it('never accepts an empty configured secret', () => {
    expect(verifier.verify(request(auth('Bearer x')), keys(['']))).to.deep.equal({ ok: false, failure: 'invalid_token' });
  });
});
