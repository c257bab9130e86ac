import { createHmac, randomBytes, sign } from 'node:crypto';
import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import { standardWebhooksVerifier as verifier } from '../../../../src/triggers/signature-verifiers/standard-webhooks.ts';
import { signRequest } from '../../../../src/signing/sign-request.ts';
import { BODY, ed25519KeyPair, keys, NOW_SECONDS, request, TOLERANCE_SECONDS } from './verifier-fixtures.ts';

const SECRET = 'whsec_' + Buffer.from('current-key-0123456789abcdef0123').toString('base64');
const PREVIOUS = 'whsec_' + Buffer.from('previous-key-0123456789abcdef012').toString('base64');
const ID = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';

function headers(id: string, t: number, signature: string) {
  return { 'webhook-id': id, 'webhook-timestamp': String(t), 'webhook-signature': signature };
}

// Written from the spec: base64 HMAC-SHA256 over "<id>.<t>.<body>" keyed with the bytes after whsec_.
function v1(secret: string, t: number, id = ID, body: Buffer = BODY): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return 'v1,' + createHmac('sha256', key).update(`${id}.${t}.`).update(body).digest('base64');
}

describe('standard-webhooks signature verifier', () => {
  it('accepts a signature made by the standardwebhooks package, with webhook-id as the delivery id', () => {
    const signature = new Webhook(SECRET).sign(ID, new Date(NOW_SECONDS * 1000), BODY.toString());
    const result = verifier.verify(request(headers(ID, NOW_SECONDS, signature)), keys([SECRET]));
    expect(result).to.include({ ok: true, deliveryId: ID });
  });

  it('produces signatures (through signRequest) that the standardwebhooks package accepts', () => {
    const now = Math.floor(Date.now() / 1000);
    const signed = signRequest('standard-webhooks', { secret: SECRET, body: BODY, timestampSeconds: now, deliveryId: ID });
    expect(() => new Webhook(SECRET).verify(BODY, signed)).to.not.throw();
    expect(verifier.verify(request(signed, BODY, now * 1000), keys([SECRET])).ok).to.equal(true);
  });

  it('gives signRequest a fresh webhook-id when none is supplied', () => {
    const a = signRequest('standard-webhooks', { secret: SECRET, body: BODY });
    const b = signRequest('standard-webhooks', { secret: SECRET, body: BODY });
    expect(a['webhook-id']).to.match(/^msg_/);
    expect(a['webhook-id']).to.not.equal(b['webhook-id']);
  });

  it('rejects a tampered body, timestamp or id, and a wrong secret', () => {
    const sig = v1(SECRET, NOW_SECONDS);
    const invalid = { ok: false, failure: 'invalid_signature' };
    expect(verifier.verify(request(headers(ID, NOW_SECONDS, sig), Buffer.concat([BODY, Buffer.from('\n')])), keys([SECRET]))).to.deep.equal(invalid);
    expect(verifier.verify(request(headers(ID, NOW_SECONDS - 1, sig)), keys([SECRET]))).to.deep.equal(invalid);
    expect(verifier.verify(request(headers('msg_other', NOW_SECONDS, sig)), keys([SECRET]))).to.deep.equal(invalid);
    expect(verifier.verify(request(headers(ID, NOW_SECONDS, sig)), keys([PREVIOUS]))).to.deep.equal(invalid);
  });

  it('rejects timestamps beyond the tolerance, past and future', () => {
    for (const t of [NOW_SECONDS - TOLERANCE_SECONDS - 1, NOW_SECONDS + TOLERANCE_SECONDS + 1]) {
      expect(verifier.verify(request(headers(ID, t, v1(SECRET, t))), keys([SECRET]))).to.deep.equal({ ok: false, failure: 'stale_timestamp' });
    }
  });

  it('names what is missing or malformed', () => {
    const sig = v1(SECRET, NOW_SECONDS);
    const full = headers(ID, NOW_SECONDS, sig);
    const without = (name: string) => Object.fromEntries(Object.entries(full).filter(([k]) => k !== name));
    const cases: [Record<string, string>, string][] = [
      [without('webhook-signature'), 'missing_signature'],
      [without('webhook-id'), 'missing_signature'],
      [without('webhook-timestamp'), 'missing_timestamp'],
      [{ ...full, 'webhook-timestamp': 'yesterday' }, 'malformed_signature'],
      [{ ...full, 'webhook-signature': 'v1,not base64!' }, 'malformed_signature'],
      [{ ...full, 'webhook-signature': sig.replace('v1,', 'v1=') }, 'malformed_signature'],
      [{ ...full, 'webhook-signature': 'v2,' + sig.slice(3) }, 'malformed_signature'],
      [{ ...full, 'webhook-id': 'has space' }, 'malformed_signature'],
    ];
    for (const [h, failure] of cases) {
      expect(verifier.verify(request(h), keys([SECRET])), JSON.stringify(h)).to.deep.equal({ ok: false, failure });
    }
  });

  it('accepts either secret during rotation', () => {
    for (const secret of [SECRET, PREVIOUS]) {
      expect(verifier.verify(request(headers(ID, NOW_SECONDS, v1(secret, NOW_SECONDS))), keys([SECRET, PREVIOUS])).ok, secret).to.equal(true);
    }
  });

  it('accepts a list where only the second signature is valid, skipping unknown versions', () => {
    const list = `v2,abc ${v1(PREVIOUS, NOW_SECONDS)}  ${v1(SECRET, NOW_SECONDS)}`;
    expect(verifier.verify(request(headers(ID, NOW_SECONDS, list)), keys([SECRET])).ok).to.equal(true);
  });

  it('skips a configured secret that is not valid whsec_ base64 instead of failing', () => {
    expect(verifier.verify(request(headers(ID, NOW_SECONDS, v1(SECRET, NOW_SECONDS))), keys(['whsec_!!!', SECRET])).ok).to.equal(true);
  });

  it('accepts a v1a Ed25519 signature with the configured public key', () => {
    const pair = ed25519KeyPair();
    const raw = sign(null, Buffer.concat([Buffer.from(`${ID}.${NOW_SECONDS}.`), BODY]), pair.privateKey);
    const h = headers(ID, NOW_SECONDS, `v1a,${raw.toString('base64')}`);
    expect(verifier.verify(request(h), keys([], { publicKey: pair.publicKey })).ok).to.equal(true);
    expect(verifier.verify(request(h, Buffer.from('{}')), keys([], { publicKey: pair.publicKey })).ok).to.equal(false);
    const viaSigner = signRequest('standard-webhooks', { body: BODY, privateKey: pair.privateKey, timestampSeconds: NOW_SECONDS, deliveryId: ID });
    expect(viaSigner['webhook-signature']).to.equal(`v1a,${raw.toString('base64')}`);
  });

  it('gives a replay the same replay key and another message id a different one', () => {
    const sig = (id: string) => v1(SECRET, NOW_SECONDS, id);
    const a = verifier.verify(request(headers(ID, NOW_SECONDS, sig(ID))), keys([SECRET]));
    const again = verifier.verify(request(headers(ID, NOW_SECONDS, sig(ID))), keys([SECRET]));
    const other = verifier.verify(request(headers('msg_2', NOW_SECONDS, sig('msg_2'))), keys([SECRET]));
    if (!a.ok || !again.ok || !other.ok) throw new Error('expected all three to verify');
    expect(again.replayKey).to.equal(a.replayKey);
    expect(other.replayKey).to.not.equal(a.replayKey);
  });

  it('handles binary bodies that the reference package cannot (it decodes to a string first)', () => {
    const body = randomBytes(256);
    const h = headers(ID, NOW_SECONDS, v1(SECRET, NOW_SECONDS, ID, body));
    expect(verifier.verify(request(h, body), keys([SECRET])).ok).to.equal(true);
  });
});
