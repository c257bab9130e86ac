import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import type { WebhookTriggerSpec } from '../../../../src/api/types.ts';
import { validateTrigger, type TriggerReferences } from '../../../../src/controllers/webhook-trigger/validate-trigger.ts';
import { makePipeline, makeSecret, makeTrigger } from './fixtures.ts';

const MAPPED: Partial<WebhookTriggerSpec> = { params: [{ name: 'export_id', from: 'body', path: '/export_id' }] };
const refs = (over: Partial<TriggerReferences> = {}): TriggerReferences => ({ pipeline: makePipeline(), userSecret: undefined, ...over });
const check = (spec: Partial<WebhookTriggerSpec>, over: Partial<TriggerReferences> = {}) => validateTrigger(makeTrigger({ ...MAPPED, ...spec }), refs(over));

const ed25519 = generateKeyPairSync('ed25519');
const pem = (key: { export(o: object): string | Buffer }, type: 'spki' | 'pkcs8') => key.export({ type, format: 'pem' }).toString();

describe('validateTrigger', () => {
  it('accepts a trigger whose references exist and fit', () => {
    expect(check({})).to.deep.equal({ valid: true });
    expect(check({ pipelineRef: { name: 'export-loader', version: 'v2' } }, { pipeline: makePipeline({ versions: [{ name: 'v2', jobTemplate: { spec: {} } }] }) })).to.deep.equal({ valid: true });
    expect(check({ auth: { secretRef: { name: 'billing' } } }, { userSecret: makeSecret('billing', { 'signing-secret': 'pxs_ok' }) })).to.deep.equal({ valid: true });
    expect(check({ auth: { publicKey: pem(ed25519.publicKey, 'spki') } })).to.deep.equal({ valid: true });
    expect(check({ auth: { rotation: { schedule: '0 3 * * SUN', overlap: '1h' } } })).to.deep.equal({ valid: true });
  });

  it('PipelineNotFound names the Pipeline and the namespace', () => {
    expect(check({ pipelineRef: { name: 'nope' } }, { pipeline: undefined })).to.deep.equal({ valid: false, reason: 'PipelineNotFound', message: 'Pipeline "nope" not found in namespace "data"' });
  });

  it('PipelineVersionNotFound names the version', () => {
    const v = check({ pipelineRef: { name: 'export-loader', version: 'v9' } });
    expect(v).to.deep.equal({ valid: false, reason: 'PipelineVersionNotFound', message: 'Pipeline "export-loader" has no version "v9"' });
  });

  it('SecretNotFound and SecretKeyNotFound name the Secret and the key', () => {
    expect(check({ auth: { secretRef: { name: 'billing' } } })).to.include({ reason: 'SecretNotFound' }).and.satisfy((v: { message: string }) => v.message.includes('"billing"'));
    const noKey = check({ auth: { secretRef: { name: 'billing', key: 'hmac' } } }, { userSecret: makeSecret('billing', { token: 'x' }) });
    expect(noKey).to.deep.equal({ valid: false, reason: 'SecretKeyNotFound', message: 'Secret "billing" has no key "hmac"' });
  });

  it('rejects an unusable user secret without showing it', () => {
    const v = check({ auth: { scheme: 'standard-webhooks', secretRef: { name: 'billing' } } }, { userSecret: makeSecret('billing', { 'signing-secret': 'plain-text-secret' }) });
    expect(v).to.include({ valid: false, reason: 'InvalidSpec' });
    expect(JSON.stringify(v)).not.to.include('plain-text-secret');
    const newline = check({ auth: { secretRef: { name: 'billing' } } }, { userSecret: makeSecret('billing', { 'signing-secret': 'pxs_value\n' }) });
    expect(newline).to.include({ reason: 'InvalidSpec' });
    expect((newline as { message: string }).message).to.include('newline');
  });

  it('InvalidPublicKey for text that is no key, a non-Ed25519 key, or a private key', () => {
    expect(check({ auth: { publicKey: 'hello' } })).to.include({ reason: 'InvalidPublicKey' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(check({ auth: { publicKey: pem(rsa.publicKey, 'spki') } })).to.deep.equal({ valid: false, reason: 'InvalidPublicKey', message: 'spec.auth.publicKey: the public key is rsa, but v1a signatures need an Ed25519 key' });
    const leaked = check({ auth: { publicKey: pem(ed25519.privateKey, 'pkcs8') } });
    expect(leaked).to.include({ valid: false, reason: 'InvalidPublicKey' });
    expect((leaked as { message: string }).message).to.include('PRIVATE key');
    expect(JSON.stringify(leaked)).not.to.include(pem(ed25519.privateKey, 'pkcs8').split('\n')[1]);
  });

  it('ParamsMismatch names params the Pipeline does not declare, and required ones left unmapped', () => {
    const undeclared = check({ params: [{ name: 'export_id', from: 'body', path: '/e' }, { name: 'region', from: 'header', header: 'X-Region' }] });
    expect(undeclared).to.deep.equal({ valid: false, reason: 'ParamsMismatch', message: 'params not declared by Pipeline "export-loader": region' });
    const unmapped = check({ params: [] });
    expect(unmapped).to.deep.equal({ valid: false, reason: 'ParamsMismatch', message: 'required params of Pipeline "export-loader" not mapped: export_id' });
    // An optional param with a default needs no mapping.
    expect(check({ params: [{ name: 'export_id', from: 'body', path: '/e' }] })).to.deep.equal({ valid: true });
  });

  it('InvalidSpec for a rotation schedule that does not parse or never fires, or an interval under a second', () => {
    expect(check({ auth: { rotation: { schedule: '61 * * * *' } } })).to.include({ valid: false, reason: 'InvalidSpec' });
    expect(check({ auth: { rotation: { schedule: '0 0 30 2 *' } } })).to.deep.equal({ valid: false, reason: 'InvalidSpec', message: 'spec.auth.rotation.schedule "0 0 30 2 *" never fires' });
    expect(check({ auth: { rotation: { every: '10ms' } } })).to.include({ valid: false, reason: 'InvalidSpec' });
    expect(check({ auth: { rotation: { every: '1s' } } })).to.deep.equal({ valid: true });
  });

  it('InvalidSpec for rotation together with a user-managed secret, and for a payload schema that does not compile', () => {
    expect(check({ auth: { secretRef: { name: 'billing' }, rotation: { every: '1h' } } }, { userSecret: makeSecret('billing', { 'signing-secret': 'pxs_ok' }) })).to.include({ reason: 'InvalidSpec' });
    expect(check({ payload: { schema: { type: 'no-such-type' } } })).to.include({ valid: false, reason: 'InvalidSpec' });
  });

  it('is valid with a warning for scheme none', () => {
    const v = check({ auth: { scheme: 'none' } });
    expect(v.valid).to.equal(true);
    expect((v as { warning?: string }).warning).to.include('anyone');
  });

  it('checks the Pipeline before anything else, so the first problem to fix is reported first', () => {
    expect(check({ pipelineRef: { name: 'nope' }, auth: { publicKey: 'bad', secretRef: { name: 'missing' } } }, { pipeline: undefined })).to.include({ reason: 'PipelineNotFound' });
  });
});
