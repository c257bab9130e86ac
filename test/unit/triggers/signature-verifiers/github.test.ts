import { expect } from 'chai';
import { sign as octokitSign, verify as octokitVerify } from '@octokit/webhooks-methods';
import { githubVerifier as verifier } from '../../../../src/triggers/signature-verifiers/github.ts';
import { signRequest } from '../../../../src/signing/sign-request.ts';
import { BODY, keys, request } from './verifier-fixtures.ts';

const SECRET = 'It\'s a Secret to Everybody';
const PREVIOUS = 'an older secret';

describe('github signature verifier', () => {
  it('accepts a signature made by @octokit/webhooks-methods, with X-GitHub-Delivery as the delivery id', async () => {
    const signature = await octokitSign(SECRET, BODY.toString());
    const result = verifier.verify(request({ 'x-hub-signature-256': signature, 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' }), keys([SECRET]));
    expect(result).to.include({ ok: true, deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958' });
  });

  it('produces signatures (through signRequest) that @octokit/webhooks-methods accepts', async () => {
    const signed = signRequest('github', { secret: SECRET, body: BODY, deliveryId: 'd-1' });
    expect(await octokitVerify(SECRET, BODY.toString(), signed['x-hub-signature-256']!)).to.equal(true);
    expect(signed['x-github-delivery']).to.equal('d-1');
  });

  it('matches the example from GitHub\'s documentation', () => {
    // docs.github.com "Validating webhook deliveries": secret "It's a Secret to Everybody", payload "Hello, World!".
    const h = { 'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17' };
    expect(verifier.verify(request(h, Buffer.from('Hello, World!')), keys([SECRET])).ok).to.equal(true);
  });

  it('rejects a tampered body and a wrong secret', async () => {
    const h = { 'x-hub-signature-256': await octokitSign(SECRET, BODY.toString()) };
    expect(verifier.verify(request(h, Buffer.from(BODY.toString() + ' ')), keys([SECRET]))).to.deep.equal({ ok: false, failure: 'invalid_signature' });
    expect(verifier.verify(request(h), keys([PREVIOUS]))).to.deep.equal({ ok: false, failure: 'invalid_signature' });
  });

  it('names what is missing or malformed', () => {
    const hex = '757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    const cases: [Record<string, string>, string][] = [
      [{}, 'missing_signature'],
      [{ 'x-hub-signature': 'sha1=0123' }, 'missing_signature'],
      [{ 'x-hub-signature-256': hex }, 'malformed_signature'],
      [{ 'x-hub-signature-256': `sha1=${hex}` }, 'malformed_signature'],
      [{ 'x-hub-signature-256': `sha256=${hex.slice(1)}z` }, 'malformed_signature'],
    ];
    for (const [h, failure] of cases) expect(verifier.verify(request(h), keys([SECRET])), JSON.stringify(h)).to.deep.equal({ ok: false, failure });
  });

  it('accepts either secret during rotation', async () => {
    for (const secret of [SECRET, PREVIOUS]) {
      const h = { 'x-hub-signature-256': await octokitSign(secret, BODY.toString()) };
      expect(verifier.verify(request(h), keys([SECRET, PREVIOUS])).ok, secret).to.equal(true);
    }
  });

  it('has no timestamp, so an old delivery still verifies; the replay key marks it as a repeat', async () => {
    const h = { 'x-hub-signature-256': await octokitSign(SECRET, BODY.toString()) };
    const now = verifier.verify(request(h), keys([SECRET]));
    const muchLater = verifier.verify(request(h, BODY, Date.now() + 365 * 86_400_000), keys([SECRET]));
    if (!now.ok || !muchLater.ok) throw new Error('expected both to verify');
    expect(verifier.timestamped).to.equal(false);
    expect(muchLater.replayKey).to.equal(now.replayKey);
  });
});
