// scheme hmac's compiler and verifier without a server: every preset resolves, bad specs are named,
// what signRequest signs verifies for random specs, and arbitrary input never throws.
import { expect } from 'chai';
import fc from 'fast-check';
import type { HmacSpec } from '../../../../src/api/types.ts';
import { HMAC_PRESETS, resolveHmac, type ResolvedHmac } from '../../../../src/triggers/compile-hmac.ts';
import { createHmacVerifier } from '../../../../src/triggers/signature-verifiers/hmac.ts';
import { signRequest } from '../../../../src/signing/sign-request.ts';
import type { TriggerProblem } from '../../../../src/triggers/compiled-trigger.ts';

function resolved(spec: HmacSpec): ResolvedHmac {
  const problems: TriggerProblem[] = [];
  const r = resolveHmac(spec, problems);
  expect(problems).to.deep.equal([]);
  return r!;
}

function problemsOf(spec: HmacSpec | undefined): string[] {
  const problems: TriggerProblem[] = [];
  resolveHmac(spec, problems);
  return problems.map((p) => p.message);
}

describe('scheme hmac', () => {
  it('every preset resolves; fields set beside a preset override it', () => {
    for (const preset of Object.keys(HMAC_PRESETS) as (keyof typeof HMAC_PRESETS)[]) resolved({ preset });
    const svix = resolved({ preset: 'standard-webhooks', header: 'svix-signature', timestamp: { header: 'svix-timestamp' }, deliveryIdHeader: 'svix-id' });
    expect(svix).to.include({ header: 'svix-signature', deliveryIdHeader: 'svix-id', encoding: 'base64', secretEncoding: 'base64', before: '{id}.{timestamp}.' });
    expect(svix.timestamp).to.deep.equal({ header: 'svix-timestamp' });
  });

  it('names what cannot work', () => {
    expect(problemsOf(undefined)[0]).to.match(/^spec\.auth\.hmac: scheme hmac needs spec\.auth\.hmac/);
    expect(problemsOf({ algorithm: 'sha256' })).to.deep.equal(['spec.auth.hmac.header: header is required (or a preset that sets it)']);
    expect(problemsOf({ header: 'X-S', signedContent: '{body}{body}' })).to.deep.equal(['spec.auth.hmac.signedContent: signedContent must contain {body} exactly once']);
    expect(problemsOf({ header: 'X-S', signedContent: '{nonce}.{body}' })[0]).to.contain('not {nonce}');
    expect(problemsOf({ header: 'X-S', signedContent: '{id}.{body}' })[0]).to.contain('deliveryIdHeader must name the header');
    expect(problemsOf({ header: 'X-S', timestamp: { header: 'X-T' } })[0]).to.contain('add {timestamp} to signedContent');
    expect(problemsOf({ header: 'X-S', signedContent: '{timestamp}.{body}', timestamp: { prefix: 't=' } })[0]).to.contain('it needs separator');
    expect(problemsOf({ preset: 'gitlab', algorithm: 'sha1' })[0]).to.contain('mode token compares the header with the secret');
  });

  it('verifies what signRequest signs, for random specs, secrets and bodies (round trip), and refuses a changed body', () => {
    const spec = fc.record({
      algorithm: fc.constantFrom('sha1', 'sha256', 'sha512') as fc.Arbitrary<'sha1' | 'sha256' | 'sha512'>,
      encoding: fc.constantFrom('hex', 'base64') as fc.Arbitrary<'hex' | 'base64'>,
      prefix: fc.constantFrom('', 'sha256=', 'v1,', 'v0='),
      timed: fc.boolean(),
      withId: fc.boolean(),
    });
    fc.assert(
      fc.property(spec, fc.uint8Array({ minLength: 1, maxLength: 512 }), fc.stringMatching(/^[\x21-\x7e]{1,40}$/), (s, body, secret) => {
        const r = resolved({
          header: 'X-Sig',
          algorithm: s.algorithm,
          encoding: s.encoding,
          prefix: s.prefix,
          signedContent: `${s.timed ? '{timestamp}.' : ''}${s.withId ? '{id}.' : ''}{body}`,
          ...(s.timed ? { timestamp: { header: 'X-Time' } } : {}),
          ...(s.withId ? { deliveryIdHeader: 'X-Id' } : {}),
        });
        const verifier = createHmacVerifier(r);
        const nowMs = Date.now();
        const headers = signRequest('hmac', { hmac: r, secret, body: Buffer.from(body), timestampSeconds: Math.floor(nowMs / 1000), deliveryId: 'd-1' });
        const keys = { secrets: ['another', secret], toleranceSeconds: 300 };
        expect(verifier.verify({ rawBody: Buffer.from(body), headers, nowMs }, keys).ok).to.equal(true);
        const changed = Buffer.from(body);
        changed[0] = changed[0]! ^ 1;
        expect(verifier.verify({ rawBody: changed, headers, nowMs }, keys)).to.deep.equal({ ok: false, failure: 'invalid_signature' });
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary headers, for every preset', () => {
    const verifiers = Object.keys(HMAC_PRESETS).map((preset) => createHmacVerifier(resolved({ preset: preset as keyof typeof HMAC_PRESETS })));
    const names = ['x-hub-signature-256', 'x-gitlab-token', 'stripe-signature', 'x-slack-signature', 'x-slack-request-timestamp', 'x-shopify-hmac-sha256', 'webhook-signature', 'webhook-id', 'webhook-timestamp', 'idempotency-key'];
    fc.assert(
      fc.property(fc.constantFrom(...verifiers), fc.uint8Array({ maxLength: 256 }), fc.dictionary(fc.constantFrom(...names), fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.array(fc.string({ maxLength: 40 }), { maxLength: 3 }))), (v, body, headers) => {
        const result = v.verify({ rawBody: Buffer.from(body), headers, nowMs: Date.now() }, { secrets: ['s', 'whsec_AAAA'], toleranceSeconds: 300 });
        expect(typeof result.ok).to.equal('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('mode token compares the whole token and names the delivery', () => {
    const v = createHmacVerifier(resolved({ preset: 'gitlab' }));
    const keys = { secrets: ['tok-en'], toleranceSeconds: 300 };
    const req = (headers: Record<string, string>) => v.verify({ rawBody: Buffer.from('{}'), headers, nowMs: 0 }, keys);
    expect(req({ 'x-gitlab-token': 'tok-en', 'idempotency-key': 'k1' })).to.deep.equal({ ok: true, deliveryId: 'k1' });
    expect(req({ 'x-gitlab-token': 'tok-e' })).to.deep.equal({ ok: false, failure: 'invalid_token' });
    expect(req({})).to.deep.equal({ ok: false, failure: 'missing_token' });
  });
});
