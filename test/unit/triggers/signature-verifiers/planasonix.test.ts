import { createHmac, sign } from 'node:crypto';
import { expect } from 'chai';
import { planasonixSignedIdVerifier as signedIdVerifier, planasonixVerifier as verifier } from '../../../../src/triggers/signature-verifiers/planasonix.ts';
import { signRequest } from '../../../../src/signing/sign-request.ts';
import { BODY, ed25519KeyPair, keys, NOW_SECONDS, request, TOLERANCE_SECONDS } from './verifier-fixtures.ts';

const SECRET = 'pxs_current-secret-0123456789abcdef';
const PREVIOUS = 'pxs_previous-secret-fedcba9876543210';

// Written from the spec, not with our signer: HMAC-SHA256 over "<t>.<body>", keyed with the secret's UTF-8 bytes.
function v1(secret: string, t: number, body: Buffer = BODY): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${t}.`).update(body).digest('hex');
}

// v2, from the spec too: HMAC-SHA256 over "<t>.<delivery id>\n<body>".
function v2(secret: string, t: number, id: string, body: Buffer = BODY): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${t}.${id}\n`).update(body).digest('hex');
}

function header(value: string, delivery?: string) {
  return { 'x-planasonix-signature': value, ...(delivery && { 'x-planasonix-delivery': delivery }) };
}

describe('planasonix signature verifier', () => {
  it('accepts a signature computed from the spec and reports the delivery id', () => {
    const result = verifier.verify(request(header(`t=${NOW_SECONDS},v1=${v1(SECRET, NOW_SECONDS)}`, 'dlv_42')), keys([SECRET]));
    expect(result).to.include({ ok: true, deliveryId: 'dlv_42' });
  });

  it('v2: accepts a signature over "<t>.<id>\\n<body>"; the default verifier still counts the ID as unsigned', () => {
    const result = verifier.verify(request(header(`t=${NOW_SECONDS},v2=${v2(SECRET, NOW_SECONDS, 'dlv_42')}`, 'dlv_42')), keys([SECRET]));
    expect(result).to.include({ ok: true, deliveryId: 'dlv_42' });
    // A v1 signature of the same content may exist elsewhere, so only the v2-only verifier vouches for the ID.
    expect(verifier.signsDeliveryId).to.equal(undefined);
    expect(signedIdVerifier.signsDeliveryId).to.equal(true);
  });

  describe('signedDeliveryIdOnly (v2 and v2a alone)', () => {
    const signed = `t=${NOW_SECONDS},v2=${v2(SECRET, NOW_SECONDS, 'dlv_42')}`;

    it('accepts v2, with the current or the previous secret', () => {
      expect(signedIdVerifier.verify(request(header(signed, 'dlv_42')), keys([SECRET]))).to.include({ ok: true, deliveryId: 'dlv_42' });
      const withPrevious = `t=${NOW_SECONDS},v2=${v2(PREVIOUS, NOW_SECONDS, 'dlv_42')}`;
      expect(signedIdVerifier.verify(request(header(withPrevious, 'dlv_42')), keys([SECRET, PREVIOUS])).ok).to.equal(true);
    });

    it('refuses a captured request under another delivery ID, without one, or with two', () => {
      expect(signedIdVerifier.verify(request(header(signed, 'dlv_43')), keys([SECRET]))).to.deep.equal({ ok: false, failure: 'invalid_signature' });
      expect(signedIdVerifier.verify(request(header(signed)), keys([SECRET]))).to.deep.equal({ ok: false, failure: 'invalid_signature' });
      const twice = { 'x-planasonix-signature': signed, 'x-planasonix-delivery': ['dlv_42', 'dlv_43'] };
      expect(signedIdVerifier.verify(request(twice), keys([SECRET]))).to.deep.equal({ ok: false, failure: 'invalid_signature' });
    });

    it('refuses v1 and v1a, which leave the ID out, even when they verify', () => {
      const v1Only = `t=${NOW_SECONDS},v1=${v1(SECRET, NOW_SECONDS)}`;
      expect(verifier.verify(request(header(v1Only, 'dlv_42')), keys([SECRET])).ok).to.equal(true);
      expect(signedIdVerifier.verify(request(header(v1Only, 'dlv_42')), keys([SECRET]))).to.deep.equal({ ok: false, failure: 'missing_signature' });
      // v1 beside a v2 made for another ID: the v1 would hold, but only v2 counts here.
      const mixed = `t=${NOW_SECONDS},v2=${v2(SECRET, NOW_SECONDS, 'dlv_42')},v1=${v1(SECRET, NOW_SECONDS)}`;
      expect(signedIdVerifier.verify(request(header(mixed, 'dlv_43')), keys([SECRET]))).to.deep.equal({ ok: false, failure: 'invalid_signature' });
    });

    it('ends the ID at the line feed: part of the ID cannot move into the body', () => {
      // Joined with a dot, ID "evt.1" and body "{…}" would sign the same bytes as ID "evt" and body "1.{…}".
      const forDottedId = `t=${NOW_SECONDS},v2=${v2(SECRET, NOW_SECONDS, 'evt.1')}`;
      expect(signedIdVerifier.verify(request(header(forDottedId, 'evt'), Buffer.concat([Buffer.from('1.'), BODY])), keys([SECRET]))).to.deep.equal({
        ok: false,
        failure: 'invalid_signature',
      });
      expect(signedIdVerifier.verify(request(header(forDottedId, 'evt.1')), keys([SECRET])).ok).to.equal(true);
    });

    describe('v2a: Ed25519 over "<t>.<id>\\n<body>", with spec.auth.publicKey', () => {
      const pair = ed25519KeyPair();
      const v2a = (id: string, privateKey = pair.privateKey) => sign(null, Buffer.concat([Buffer.from(`${NOW_SECONDS}.${id}\n`), BODY]), privateKey).toString('base64');
      const v1a = sign(null, Buffer.concat([Buffer.from(`${NOW_SECONDS}.`), BODY]), pair.privateKey).toString('base64');
      const withKey = (secrets: string[] = []) => keys(secrets, { publicKey: pair.publicKey });

      it('accepts v2a for the delivery ID it signs, with or without a secret beside the key', () => {
        const value = `t=${NOW_SECONDS},v2a=${v2a('dlv_42')}`;
        expect(signedIdVerifier.verify(request(header(value, 'dlv_42')), withKey())).to.include({ ok: true, deliveryId: 'dlv_42' });
        expect(signedIdVerifier.verify(request(header(value, 'dlv_42')), withKey([SECRET]))).to.include({ ok: true, deliveryId: 'dlv_42' });
        // The default verifier takes it too, like v2, but without vouching for the ID.
        expect(verifier.verify(request(header(value, 'dlv_42')), withKey()).ok).to.equal(true);
      });

      it('refuses it under another delivery ID, by another key, or with no public key configured', () => {
        expect(signedIdVerifier.verify(request(header(`t=${NOW_SECONDS},v2a=${v2a('dlv_42')}`, 'dlv_43')), withKey())).to.deep.equal({ ok: false, failure: 'invalid_signature' });
        const byOther = `t=${NOW_SECONDS},v2a=${v2a('dlv_42', ed25519KeyPair().privateKey)}`;
        expect(signedIdVerifier.verify(request(header(byOther, 'dlv_42')), withKey())).to.deep.equal({ ok: false, failure: 'invalid_signature' });
        expect(signedIdVerifier.verify(request(header(`t=${NOW_SECONDS},v2a=${v2a('dlv_42')}`, 'dlv_42')), keys([SECRET]))).to.deep.equal({ ok: false, failure: 'invalid_signature' });
      });

      it('refuses v1a alone, and a v1a beside a v2a made for another ID', () => {
        expect(signedIdVerifier.verify(request(header(`t=${NOW_SECONDS},v1a=${v1a}`, 'dlv_42')), withKey())).to.deep.equal({ ok: false, failure: 'missing_signature' });
        const mixed = `t=${NOW_SECONDS},v2a=${v2a('dlv_42')},v1a=${v1a}`;
        expect(signedIdVerifier.verify(request(header(mixed, 'dlv_43')), withKey())).to.deep.equal({ ok: false, failure: 'invalid_signature' });
        expect(verifier.verify(request(header(mixed, 'dlv_43')), withKey()).ok).to.equal(true);
      });

      it('accepts what signRequest produces with a private key and a delivery ID', () => {
        const headers = signRequest('planasonix', { body: BODY, timestampSeconds: NOW_SECONDS, deliveryId: 'dlv_9', privateKey: pair.privateKey });
        expect(signedIdVerifier.verify(request(headers), withKey())).to.include({ ok: true, deliveryId: 'dlv_9' });
      });
    });

    it('accepts what signRequest produces with a delivery ID, and refuses it stale', () => {
      const headers = signRequest('planasonix', { secret: SECRET, body: BODY, timestampSeconds: NOW_SECONDS, deliveryId: 'dlv_7' });
      expect(signedIdVerifier.verify(request(headers), keys([SECRET]))).to.include({ ok: true, deliveryId: 'dlv_7' });
      const old = signRequest('planasonix', { secret: SECRET, body: BODY, timestampSeconds: NOW_SECONDS - TOLERANCE_SECONDS - 1, deliveryId: 'dlv_7' });
      expect(signedIdVerifier.verify(request(old), keys([SECRET]))).to.deep.equal({ ok: false, failure: 'stale_timestamp' });
    });
  });

  it('accepts what signRequest produces', () => {
    const headers = signRequest('planasonix', { secret: SECRET, body: BODY, timestampSeconds: NOW_SECONDS });
    expect(verifier.verify(request(headers), keys([SECRET])).ok).to.equal(true);
  });

  it('rejects a tampered body, a tampered timestamp, a wrong secret', () => {
    const good = `t=${NOW_SECONDS},v1=${v1(SECRET, NOW_SECONDS)}`;
    expect(verifier.verify(request(header(good), Buffer.from(BODY.toString().replace('exp_8f3c21', 'exp_8f3c22'))), keys([SECRET])))
      .to.deep.equal({ ok: false, failure: 'invalid_signature' });
    expect(verifier.verify(request(header(`t=${NOW_SECONDS + 1},v1=${v1(SECRET, NOW_SECONDS)}`)), keys([SECRET])))
      .to.deep.equal({ ok: false, failure: 'invalid_signature' });
    expect(verifier.verify(request(header(good)), keys(['pxs_some-other-secret']))).to.deep.equal({ ok: false, failure: 'invalid_signature' });
  });

  it('rejects a signature made for another secret even when it is well-formed', () => {
    const forOther = `t=${NOW_SECONDS},v1=${v1('pxs_attacker', NOW_SECONDS)}`;
    expect(verifier.verify(request(header(forOther)), keys([SECRET, PREVIOUS]))).to.deep.equal({ ok: false, failure: 'invalid_signature' });
  });

  it('rejects timestamps beyond the tolerance in the past and in the future, and accepts the edges', () => {
    const at = (t: number) => verifier.verify(request(header(`t=${t},v1=${v1(SECRET, t)}`), BODY, NOW_SECONDS * 1000), keys([SECRET]));
    expect(at(NOW_SECONDS - TOLERANCE_SECONDS - 1)).to.deep.equal({ ok: false, failure: 'stale_timestamp' });
    expect(at(NOW_SECONDS + TOLERANCE_SECONDS + 1)).to.deep.equal({ ok: false, failure: 'stale_timestamp' });
    expect(at(NOW_SECONDS - TOLERANCE_SECONDS).ok).to.equal(true);
    expect(at(NOW_SECONDS + TOLERANCE_SECONDS).ok).to.equal(true);
  });

  it('calls an old request with a bad signature invalid, not stale', () => {
    const t = NOW_SECONDS - 3600;
    expect(verifier.verify(request(header(`t=${t},v1=${v1('pxs_wrong', t)}`)), keys([SECRET]))).to.deep.equal({ ok: false, failure: 'invalid_signature' });
  });

  it('names what is missing or malformed', () => {
    const sig = v1(SECRET, NOW_SECONDS);
    const cases: [Record<string, string | string[]>, string][] = [
      [{}, 'missing_signature'],
      [{ 'x-planasonix-signature': '' }, 'missing_signature'],
      [header(`v1=${sig}`), 'missing_timestamp'],
      [header(`t=${NOW_SECONDS}`), 'malformed_signature'],
      [header(`t=${NOW_SECONDS},v1=not-hex`), 'malformed_signature'],
      [header(`t=${NOW_SECONDS},v1=${sig.slice(2)}`), 'malformed_signature'],
      [header(`t=1e9,v1=${sig}`), 'malformed_signature'],
      [header(`t=-5,v1=${sig}`), 'malformed_signature'],
      [header(`t=${NOW_SECONDS},t=${NOW_SECONDS},v1=${sig}`), 'malformed_signature'],
      [header(`garbage`), 'malformed_signature'],
      [header(Array.from({ length: 20 }, () => `v1=${sig}`).join(',') + `,t=${NOW_SECONDS}`), 'malformed_signature'],
    ];
    for (const [headers, failure] of cases) {
      expect(verifier.verify(request(headers), keys([SECRET])), JSON.stringify(headers)).to.deep.equal({ ok: false, failure });
    }
  });

  it('accepts either the current or the previous secret during rotation', () => {
    for (const secret of [SECRET, PREVIOUS]) {
      const result = verifier.verify(request(header(`t=${NOW_SECONDS},v1=${v1(secret, NOW_SECONDS)}`)), keys([SECRET, PREVIOUS]));
      expect(result.ok, secret).to.equal(true);
    }
    // Once the previous secret has expired the caller drops it, and its signatures stop working.
    expect(verifier.verify(request(header(`t=${NOW_SECONDS},v1=${v1(PREVIOUS, NOW_SECONDS)}`)), keys([SECRET])).ok).to.equal(false);
  });

  it('accepts a header with several v1 entries when only the second is valid', () => {
    const value = `t=${NOW_SECONDS},v1=${v1('pxs_retired', NOW_SECONDS)},v1=${v1(SECRET, NOW_SECONDS)}`;
    expect(verifier.verify(request(header(value)), keys([SECRET])).ok).to.equal(true);
  });

  it('ignores entries of unknown versions, surrounding spaces and a stray comma', () => {
    const value = ` t=${NOW_SECONDS} , v0=abc, v1=${v1(SECRET, NOW_SECONDS)} ,`;
    expect(verifier.verify(request(header(value)), keys([SECRET])).ok).to.equal(true);
  });

  it('takes the first of a repeated header, and refuses conflicting repeats', () => {
    const good = `t=${NOW_SECONDS},v1=${v1(SECRET, NOW_SECONDS)}`;
    expect(verifier.verify(request({ 'x-planasonix-signature': [good, good] }), keys([SECRET])).ok).to.equal(true);
    expect(verifier.verify(request({ 'x-planasonix-signature': [good, `t=1,v1=${v1(SECRET, 1)}`] }), keys([SECRET])))
      .to.deep.equal({ ok: false, failure: 'malformed_signature' });
  });

  it('fails closed when no secret is configured', () => {
    expect(verifier.verify(request(header(`t=${NOW_SECONDS},v1=${v1(SECRET, NOW_SECONDS)}`)), keys([]))).to.deep.equal({ ok: false, failure: 'invalid_signature' });
  });

  describe('Ed25519 (v1a)', () => {
    const pair = ed25519KeyPair();
    const v1a = (t: number, body: Buffer = BODY, privateKey = pair.privateKey) =>
      sign(null, Buffer.concat([Buffer.from(`${t}.`), body]), privateKey).toString('base64');

    it('accepts a v1a signature checked with the configured public key', () => {
      const result = verifier.verify(request(header(`t=${NOW_SECONDS},v1a=${v1a(NOW_SECONDS)}`)), keys([], { publicKey: pair.publicKey }));
      expect(result.ok).to.equal(true);
    });

    it('accepts what signRequest produces with a private key only', () => {
      const headers = signRequest('planasonix', { body: BODY, timestampSeconds: NOW_SECONDS, privateKey: pair.privateKey });
      expect(verifier.verify(request(headers), keys([], { publicKey: pair.publicKey })).ok).to.equal(true);
    });

    it('rejects a v1a signature over another body, by another key, or with no public key configured', () => {
      const other = ed25519KeyPair();
      const tampered = Buffer.concat([BODY, Buffer.from(' ')]);
      expect(verifier.verify(request(header(`t=${NOW_SECONDS},v1a=${v1a(NOW_SECONDS)}`), tampered), keys([], { publicKey: pair.publicKey })).ok).to.equal(false);
      expect(verifier.verify(request(header(`t=${NOW_SECONDS},v1a=${v1a(NOW_SECONDS, BODY, other.privateKey)}`)), keys([], { publicKey: pair.publicKey })).ok).to.equal(false);
      expect(verifier.verify(request(header(`t=${NOW_SECONDS},v1a=${v1a(NOW_SECONDS)}`)), keys([SECRET]))).to.deep.equal({ ok: false, failure: 'invalid_signature' });
    });

    it('refuses a valid v1a signature outside the tolerance', () => {
      const t = NOW_SECONDS - TOLERANCE_SECONDS - 10;
      expect(verifier.verify(request(header(`t=${t},v1a=${v1a(t)}`)), keys([], { publicKey: pair.publicKey }))).to.deep.equal({ ok: false, failure: 'stale_timestamp' });
    });
  });

  describe('replay key', () => {
    const signed = (secret: string, t = NOW_SECONDS, delivery = 'd1') => header(`t=${t},v1=${v1(secret, t)}`, delivery);
    const replayKeyOf = (h: Record<string, string>, secret: string, body = BODY) => {
      const result = verifier.verify(request(h, body), keys([secret]));
      if (!result.ok) throw new Error(`expected success, got ${result.failure}`);
      return result.replayKey;
    };

    it('is the same for a replay, even with a different unsigned delivery id or secret', () => {
      const first = replayKeyOf(signed(SECRET), SECRET);
      expect(first).to.match(/^[0-9a-f]{64}$/);
      expect(replayKeyOf(signed(SECRET, NOW_SECONDS, 'd2'), SECRET)).to.equal(first);
      // The same content signed under another secret has the same key: it is derived from no secret.
      expect(replayKeyOf(signed(PREVIOUS), PREVIOUS)).to.equal(first);
    });

    it('differs when the timestamp or the body differs', () => {
      const first = replayKeyOf(signed(SECRET), SECRET);
      expect(replayKeyOf(signed(SECRET, NOW_SECONDS - 1), SECRET)).to.not.equal(first);
      const otherBody = Buffer.from('{"export_id":"exp_other"}');
      const h = header(`t=${NOW_SECONDS},v1=${v1(SECRET, NOW_SECONDS, otherBody)}`);
      expect(replayKeyOf(h, SECRET, otherBody)).to.not.equal(first);
    });
  });

  it('declares itself timestamped under its scheme name', () => {
    expect(verifier).to.include({ scheme: 'planasonix', timestamped: true });
  });

  it('checks the exact bytes, including a body that is not valid UTF-8', () => {
    const body = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x7b]);
    const h = header(`t=${NOW_SECONDS},v1=${v1(SECRET, NOW_SECONDS, body)}`);
    expect(verifier.verify(request(h, body), keys([SECRET])).ok).to.equal(true);
    expect(verifier.verify(request(h, Buffer.from(body.toString('utf8'))), keys([SECRET])).ok).to.equal(false);
  });
});
