import { expect } from 'chai';
import fc from 'fast-check';
import type { AuthScheme } from '../../../../src/api/types.ts';
import { verifiers } from '../../../../src/triggers/signature-verifiers/index.ts';
import type { VerificationResult } from '../../../../src/triggers/signature-verifiers/signature-verifier.ts';
import { SIGNATURE_HEADERS } from '../../../../src/signing/headers.ts';
import { signRequest } from '../../../../src/signing/sign-request.ts';
import { ed25519KeyPair, NOW_SECONDS } from './verifier-fixtures.ts';

// hmac has a verifier per trigger (hmac.test.ts), built from its spec.auth.hmac.
const SCHEMES: Exclude<AuthScheme, 'hmac'>[] = ['planasonix', 'standard-webhooks', 'github', 'bearer', 'none'];
const SIGNED_SCHEMES = ['planasonix', 'standard-webhooks', 'github'] as const;
const pair = ed25519KeyPair();

// A secret a user could configure for the scheme (validateSigningSecret accepts it).
function secretFor(scheme: Exclude<AuthScheme, 'hmac'>): fc.Arbitrary<string> {
  if (scheme === 'standard-webhooks') return fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => 'whsec_' + Buffer.from(b).toString('base64'));
  if (scheme === 'bearer') return fc.stringMatching(/^[\x21-\x7e]{1,80}$/);
  return fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }).filter((s) => s.trim() === s && s.length > 0);
}

function isResult(r: VerificationResult): boolean {
  return r.ok === true || (r.ok === false && typeof r.failure === 'string');
}

describe('signature verifiers', () => {
  it('has one verifier per scheme, registered under its own name', () => {
    expect(Object.keys(verifiers).sort()).to.deep.equal([...SCHEMES].sort());
    for (const scheme of SCHEMES) expect(verifiers[scheme].scheme).to.equal(scheme);
  });

  it('always return a result, never throw, for arbitrary bytes and headers', () => {
    const headerNames = [...Object.values(SIGNATURE_HEADERS), 'x-other'];
    const headerValue = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.array(fc.string({ maxLength: 80 }), { maxLength: 3 }),
      // Near-misses of real formats reach deeper into the parsers than random text does.
      fc.tuple(fc.nat(), fc.uint8Array({ minLength: 32, maxLength: 32 })).map(([t, d]) => `t=${t},v1=${Buffer.from(d).toString('hex')},v1a=${Buffer.from(d).toString('base64')}`),
      fc.uint8Array({ minLength: 0, maxLength: 70 }).map((d) => `v1,${Buffer.from(d).toString('base64')} v1a,${Buffer.from(d).toString('base64')}`),
      fc.string().map((s) => `Bearer ${s}`),
      fc.constant(undefined),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...SCHEMES),
        fc.uint8Array({ maxLength: 512 }),
        fc.dictionary(fc.constantFrom(...headerNames), headerValue),
        fc.array(fc.string({ unit: 'binary', maxLength: 60 }), { maxLength: 3 }),
        fc.boolean(),
        fc.oneof(fc.integer(), fc.double()),
        (scheme, body, headers, secrets, withKey, nowMs) => {
          const result = verifiers[scheme].verify(
            { rawBody: Buffer.from(body), headers, nowMs },
            { secrets, toleranceSeconds: 300, ...(withKey && { publicKey: pair.publicKey }) },
          );
          expect(isResult(result)).to.equal(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('verify what signRequest signs, for random bodies, secrets, ids and times (round trip)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SCHEMES).chain((scheme) => fc.tuple(fc.constant(scheme), secretFor(scheme))),
        fc.uint8Array({ maxLength: 2048 }),
        fc.integer({ min: 0, max: 4_000_000_000 }),
        fc.stringMatching(/^[\x21-\x7e]{1,40}$/),
        ([scheme, secret], body, t, deliveryId) => {
          const headers = signRequest(scheme, { secret, body: Buffer.from(body), timestampSeconds: t, deliveryId });
          const result = verifiers[scheme].verify({ rawBody: Buffer.from(body), headers, nowMs: t * 1000 }, { secrets: [secret], toleranceSeconds: 60 });
          expect(result.ok, JSON.stringify(result)).to.equal(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reject a signed request after any single byte of the body changes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SIGNED_SCHEMES).chain((scheme) => fc.tuple(fc.constant(scheme), secretFor(scheme))),
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        ([scheme, secret], bytes, at, flip) => {
          const body = Buffer.from(bytes);
          const headers = signRequest(scheme, { secret, body, timestampSeconds: NOW_SECONDS });
          const tampered = Buffer.from(body);
          tampered[at % tampered.length]! ^= flip;
          const result = verifiers[scheme].verify({ rawBody: tampered, headers, nowMs: NOW_SECONDS * 1000 }, { secrets: [secret], toleranceSeconds: 60 });
          expect(result).to.deep.equal({ ok: false, failure: 'invalid_signature' });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('verify Ed25519 (v1a) round trips for random bodies', () => {
    fc.assert(
      fc.property(fc.constantFrom('planasonix', 'standard-webhooks' as const), fc.uint8Array({ maxLength: 1024 }), (scheme, body) => {
        const headers = signRequest(scheme, { body: Buffer.from(body), timestampSeconds: NOW_SECONDS, privateKey: pair.privateKey });
        const result = verifiers[scheme].verify({ rawBody: Buffer.from(body), headers, nowMs: NOW_SECONDS * 1000 }, { secrets: [], publicKey: pair.publicKey, toleranceSeconds: 60 });
        expect(result.ok).to.equal(true);
      }),
      { numRuns: 100 },
    );
  });
});
