import { assert, expect } from 'chai';
import type { WebhookTriggerSpec } from '../../../src/api/types.ts';
import { compileTrigger } from '../../../src/triggers/compile.ts';
import type { CompiledTrigger, TriggerProblem } from '../../../src/triggers/compiled-trigger.ts';
import type { WebhookSecretState } from '../../../src/api/webhook-secret.ts';
import { makeTrigger } from '../controllers/webhook-trigger/fixtures.ts';

const GENERATED: WebhookSecretState = { path: '/hooks/x', url: 'https://x/hooks/x', signingSecret: 'pxs_current' };

function compiled(spec: Partial<WebhookTriggerSpec>, generated: WebhookSecretState | null = GENERATED): CompiledTrigger {
  const result = compileTrigger({ trigger: makeTrigger(spec), generated: generated ?? undefined });
  assert(result.ok, JSON.stringify(!result.ok && result.problems));
  return result.trigger;
}

function problems(spec: Partial<WebhookTriggerSpec>): TriggerProblem[] {
  const result = compileTrigger({ trigger: makeTrigger(spec), generated: GENERATED });
  assert(!result.ok, 'expected the trigger not to compile');
  return result.problems;
}

describe('compileTrigger', () => {
  it('parses every body pointer once, when the trigger is read', () => {
    const t = compiled({
      params: [{ name: 'a', from: 'body', path: '/a~1b/0' }, { name: 'h', from: 'header', header: 'X-H' }],
      idempotency: { from: 'body', path: '/delivery/id' },
    });
    expect(t.params[0]!.pointer).to.deep.equal(['a/b', '0']);
    expect(t.params[1]!.pointer).to.equal(undefined);
    expect(t.idempotency).to.deep.equal({ from: 'body', path: '/delivery/id', pointer: ['delivery', 'id'] });
    expect(t.needsJsonBody).to.equal(true);
  });

  it('maps CloudEvent attributes without needing a JSON body, and refuses a mapping without a valid attribute name', () => {
    const t = compiled({ params: [{ name: 'kind', from: 'cloudevent', attribute: 'type' }] });
    expect(t.needsJsonBody).to.equal(false);
    for (const attribute of [undefined, 'Type', 'my-ext']) {
      const found = problems({ params: [{ name: 'kind', from: 'cloudevent', ...(attribute ? { attribute } : {}) }] });
      expect(found.map((p) => p.field)).to.deep.equal(['spec.params[0]']);
      expect(found[0]!.message).to.include('from: cloudevent needs an attribute name');
    }
  });

  it('signedDeliveryIdOnly: planasonix serves with the v2-only verifier, with or without a publicKey; other schemes are refused with the reason', () => {
    expect(compiled({ auth: { scheme: 'planasonix', signedDeliveryIdOnly: true } }).verifier.signsDeliveryId).to.equal(true);
    expect(compiled({ auth: { scheme: 'planasonix' } }).verifier.signsDeliveryId).to.equal(undefined);
    const github = problems({ auth: { scheme: 'github', signedDeliveryIdOnly: true } });
    expect(github.map((p) => [p.field, p.message])).to.deep.equal([
      ['spec.auth.signedDeliveryIdOnly', 'spec.auth.signedDeliveryIdOnly applies to scheme planasonix only: scheme "github" has no signature that covers its delivery ID'],
    ]);
    expect(problems({ auth: { scheme: 'standard-webhooks', signedDeliveryIdOnly: true } })[0]!.message).to.include('standard-webhooks always signs webhook-id');
    // v2a signatures (Ed25519) cover the ID, as v2 does.
    const withKey = { auth: { scheme: 'planasonix' as const, signedDeliveryIdOnly: true, publicKey: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n' } };
    expect(compiled(withKey).verifier.signsDeliveryId).to.equal(true);
  });

  it('keys: the generated secret, and a rotated-out one only until it expires', () => {
    const t = compiled({}, { ...GENERATED, previousSigningSecret: 'pxs_old', previousExpiresAt: new Date(2_000) });
    expect(t.keysAt(1_999).secrets).to.deep.equal(['pxs_current', 'pxs_old']);
    expect(t.keysAt(2_000).secrets).to.deep.equal(['pxs_current']);
    expect(t.keysAt(0).toleranceSeconds).to.equal(300);
    expect(t.hasKeys).to.equal(true);
    expect(compiled({}, null).hasKeys, 'no generated Secret yet').to.equal(false);
  });

  it('limits: maxBytes from the spec or the operator\'s default, rate limit burst defaulting to the rate', () => {
    expect(compiled({ payload: { maxBytes: '2Ki' } }).maxBytes).to.equal(2048);
    expect(compileTrigger({ trigger: makeTrigger(), generated: GENERATED }, { defaultMaxBytes: 77 })).to.have.nested.property('trigger.maxBytes', 77);
    expect(compiled({ rateLimit: { requestsPerMinute: 60 } }).rateLimit).to.deep.equal({ requestsPerMinute: 60, burst: 60 });
    const allows = compiled({ allowedSourceRanges: ['10.0.0.0/8'] }).allowsAddress!;
    expect([allows('10.1.2.3'), allows('11.0.0.1')]).to.deep.equal([true, false]);
  });

  it('lists every problem, each with its reason and field', () => {
    const found = problems({
      auth: { publicKey: 'not a key', secretRef: { name: 'billing' }, rotation: { every: '1h' }, tolerance: 'soon' },
      params: [{ name: 'p', from: 'body', path: 'no-slash' }, { name: 'p', from: 'query', query: 'q' }],
      idempotency: { from: 'body', path: '~2' },
      payload: { schema: { type: 'no-such-type' }, maxBytes: 'lots' },
    });
    expect(found.map((p) => [p.reason, p.field])).to.deep.equal([
      ['InvalidSpec', 'spec.auth.rotation'],
      ['InvalidPublicKey', 'spec.auth.publicKey'],
      ['InvalidSpec', 'spec.auth.tolerance'],
      ['InvalidSpec', 'spec.params[0]'],
      ['InvalidSpec', 'spec.params[1]'],
      ['InvalidSpec', 'spec.idempotency'],
      ['InvalidSpec', 'spec.payload.schema'],
      ['InvalidSpec', 'spec.payload.maxBytes'],
    ]);
    expect(found[3]!.message).to.include('invalid JSON pointer "no-slash"');
    expect(found[4]!.message).to.include('mapped more than once');
  });

  it('warns, and still compiles, for scheme none', () => {
    const t = compiled({ auth: { scheme: 'none' } }, null);
    expect(t.warning).to.include('anyone');
    expect(t.hasKeys).to.equal(true);
  });

  describe('targets', () => {
    it('pipelineRef is the one-target shorthand', () => {
      const t = compiled({ pipelineRef: { name: 'export-loader', version: 'v2' } });
      expect(t.targets.map((x) => ({ name: x.name, shorthand: x.shorthand, pipeline: x.pipelineName, version: x.pipelineVersion }))).to.deep.equal([
        { name: 'export-loader', shorthand: true, pipeline: 'export-loader', version: 'v2' },
      ]);
    });

    it('each target gets the trigger\'s params and its own, its own winning by name, and its filter compiled', () => {
      const t = compiled({
        pipelineRef: undefined,
        params: [{ name: 'a', from: 'header', header: 'X-A' }, { name: 'b', from: 'header', header: 'X-B' }],
        targets: [
          { pipelineRef: { name: 'one' } },
          { name: 'two', pipelineRef: { name: 'one' }, filter: 'body.x == 1', params: [{ name: 'b', from: 'query', query: 'b' }, { name: 'c', from: 'body', path: '/c' }] },
        ],
      });
      expect(t.targets.map((x) => [x.name, x.shorthand, x.params.map((p) => `${p.name}:${p.from}`)])).to.deep.equal([
        ['one', false, ['a:header', 'b:header']],
        ['two', false, ['a:header', 'b:query', 'c:body']],
      ]);
      expect(t.targets[1]!.filter?.readsBody).to.equal(true);
      expect(t.needsJsonBody).to.equal(true);
    });

    it('refuses repeated target names, a target filter that does not compile, and a trigger with no Pipeline', () => {
      const p = problems({ pipelineRef: undefined, targets: [{ pipelineRef: { name: 'x' } }, { pipelineRef: { name: 'x' }, filter: 'body.' }] });
      expect(p.map((x) => [x.reason, x.field])).to.deep.equal([
        ['InvalidSpec', 'spec.targets[1].name'],
        ['InvalidFilter', 'spec.targets[1].filter'],
      ]);
      expect(problems({ pipelineRef: undefined }).map((x) => x.field)).to.deep.equal(['spec.pipelineRef']);
    });
  });
});
