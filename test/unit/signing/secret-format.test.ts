import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import type { AuthScheme } from '../../../src/api/types.ts';
import { generateSigningSecret, hmacKeyFor, validateSigningSecret } from '../../../src/signing/secret-format.ts';

const SCHEMES: AuthScheme[] = ['planasonix', 'standard-webhooks', 'github', 'bearer', 'none'];

describe('signing secret formats', () => {
  it('generates secrets in each scheme\'s format, carrying 32 random bytes', () => {
    const planasonix = generateSigningSecret('planasonix');
    expect(planasonix).to.match(/^pxs_[A-Za-z0-9_-]{43}$/);
    const sw = generateSigningSecret('standard-webhooks');
    expect(sw).to.match(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(sw.slice(6), 'base64')).to.have.length(32);
    expect(generateSigningSecret('github')).to.match(/^[0-9a-f]{64}$/);
    expect(generateSigningSecret('bearer')).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(generateSigningSecret('none')).to.equal('');
  });

  it('generates a different secret every time', () => {
    for (const scheme of SCHEMES.filter((s) => s !== 'none')) {
      const seen = new Set(Array.from({ length: 50 }, () => generateSigningSecret(scheme)));
      expect(seen.size, scheme).to.equal(50);
    }
  });

  it('accepts every secret it generates', () => {
    for (const scheme of SCHEMES) expect(validateSigningSecret(scheme, generateSigningSecret(scheme)), scheme).to.equal(undefined);
  });

  it('generates standard-webhooks secrets that the standardwebhooks package accepts', () => {
    expect(() => new Webhook(generateSigningSecret('standard-webhooks'))).to.not.throw();
  });

  it('explains why a user-provided standard-webhooks secret is unusable', () => {
    expect(validateSigningSecret('standard-webhooks', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')).to.match(/must start with "whsec_"/);
    expect(validateSigningSecret('standard-webhooks', 'whsec_not base64!')).to.match(/valid padded base64/);
    expect(validateSigningSecret('standard-webhooks', 'whsec_abc')).to.match(/valid padded base64/);
    expect(validateSigningSecret('standard-webhooks', 'whsec_')).to.match(/at least one byte/);
    expect(validateSigningSecret('standard-webhooks', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')).to.equal(undefined);
  });

  it('refuses empty secrets, surrounding whitespace, and bearer tokens that cannot travel in a header', () => {
    expect(validateSigningSecret('github', '')).to.match(/empty/);
    expect(validateSigningSecret('planasonix', 'pxs_abc\n')).to.match(/trailing newline/);
    expect(validateSigningSecret('bearer', 'tok en')).to.match(/visible ASCII/);
    expect(validateSigningSecret('bearer', 'tökén')).to.match(/visible ASCII/);
    expect(validateSigningSecret('github', 'any UTF-8 secret, even ünïcödé')).to.equal(undefined);
    expect(validateSigningSecret('none', '')).to.equal(undefined);
  });

  it('never repeats the secret in its message', () => {
    const secret = 'whsec_s3cr3t-value!';
    for (const scheme of SCHEMES) expect(validateSigningSecret(scheme, ` ${secret}`) ?? '').to.not.include(secret);
    expect(validateSigningSecret('standard-webhooks', secret)).to.not.include('s3cr3t');
  });

  it('keys the HMAC with the decoded bytes for standard-webhooks and with UTF-8 otherwise', () => {
    expect(hmacKeyFor('standard-webhooks', 'whsec_' + Buffer.from('key bytes').toString('base64'))).to.deep.equal(Buffer.from('key bytes'));
    expect(hmacKeyFor('planasonix', 'pxs_ünï')).to.deep.equal(Buffer.from('pxs_ünï', 'utf8'));
    expect(hmacKeyFor('github', 'whsec_AAAA')).to.deep.equal(Buffer.from('whsec_AAAA'));
    expect(() => hmacKeyFor('standard-webhooks', 'whsec_%%%')).to.throw(/base64/);
  });
});
