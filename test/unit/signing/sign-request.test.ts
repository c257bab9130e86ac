import { createHmac, generateKeyPairSync, verify } from 'node:crypto';
import { expect } from 'chai';
import { signRequest } from '../../../src/signing/sign-request.ts';

const BODY = Buffer.from('{"export_id":"exp_1"}');

describe('signRequest', () => {
  it('signs planasonix as t=<seconds>,v1=<hex HMAC of "<t>.<body>">, without a delivery ID', () => {
    const headers = signRequest('planasonix', { secret: 'pxs_k', body: BODY, timestampSeconds: 1700000000 });
    const hex = createHmac('sha256', 'pxs_k').update('1700000000.').update(BODY).digest('hex');
    expect(headers).to.deep.equal({ 'x-planasonix-signature': `t=1700000000,v1=${hex}` });
  });

  it('with a delivery ID, also signs it: v2=<hex HMAC of "<t>.<id>\\n<body>">, then v1 for receivers that know only v1', () => {
    const headers = signRequest('planasonix', { secret: 'pxs_k', body: BODY, timestampSeconds: 1700000000, deliveryId: 'd-1' });
    const v2 = createHmac('sha256', 'pxs_k').update('1700000000.d-1\n').update(BODY).digest('hex');
    const v1 = createHmac('sha256', 'pxs_k').update('1700000000.').update(BODY).digest('hex');
    expect(headers).to.deep.equal({ 'x-planasonix-signature': `t=1700000000,v2=${v2},v1=${v1}`, 'x-planasonix-delivery': 'd-1' });
  });

  it('adds a v1a entry after v1 when given a private key', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const headers = signRequest('planasonix', { secret: 'pxs_k', body: BODY, timestampSeconds: 1, privateKey });
    expect(headers['x-planasonix-signature']).to.match(/^t=1,v1=[0-9a-f]{64},v1a=[A-Za-z0-9+/]{86}==$/);
  });

  it('with a private key and a delivery ID, adds v2a: Ed25519 over "<t>.<id>\\n<body>", checked with the public key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const headers = signRequest('planasonix', { body: BODY, timestampSeconds: 1700000000, deliveryId: 'd-1', privateKey });
    const entries = Object.fromEntries(headers['x-planasonix-signature']!.split(',').map((e) => e.split(/=(.*)/s).slice(0, 2)));
    expect(Object.keys(entries)).to.deep.equal(['t', 'v2a', 'v1a']);
    expect(verify(null, Buffer.concat([Buffer.from('1700000000.d-1\n'), BODY]), publicKey, Buffer.from(entries.v2a!, 'base64'))).to.equal(true);
    expect(verify(null, Buffer.concat([Buffer.from('1700000000.'), BODY]), publicKey, Buffer.from(entries.v1a!, 'base64'))).to.equal(true);
  });

  it('uses the current time when no timestamp is given', () => {
    const before = Math.floor(Date.now() / 1000);
    const headers = signRequest('standard-webhooks', { secret: 'whsec_AAAA', body: BODY });
    const t = Number(headers['webhook-timestamp']);
    expect(t).to.be.within(before, Math.floor(Date.now() / 1000));
  });

  it('signs github and bearer in their formats, and adds nothing for none', () => {
    expect(signRequest('github', { secret: 's', body: BODY })['x-hub-signature-256']).to.match(/^sha256=[0-9a-f]{64}$/);
    expect(signRequest('bearer', { secret: 'tok', body: BODY })).to.deep.equal({ authorization: 'Bearer tok' });
    expect(signRequest('none', { body: BODY })).to.deep.equal({});
  });

  it('explains unusable options', () => {
    expect(() => signRequest('planasonix', { body: BODY })).to.throw(/needs a secret, a private key, or both/);
    expect(() => signRequest('github', { body: BODY })).to.throw(/needs a secret/);
    expect(() => signRequest('standard-webhooks', { secret: 'not-whsec', body: BODY })).to.throw(/whsec_/);
    expect(() => signRequest('planasonix', { secret: 'k', body: BODY, timestampSeconds: -1 })).to.throw(/non-negative whole number/);
    expect(() => signRequest('planasonix', { secret: 'k', body: BODY, timestampSeconds: 1.5 })).to.throw(/whole number/);
    expect(() => signRequest('github', { secret: 'k', body: BODY, deliveryId: 'has space' })).to.throw(/visible ASCII/);
    expect(() => signRequest('bearer', { secret: 'two words', body: BODY })).to.throw(/visible ASCII/);
    const { privateKey: rsa } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => signRequest('planasonix', { body: BODY, privateKey: rsa })).to.throw(/Ed25519 private key/);
  });
});
