import { expect } from 'chai';
import { desiredTriggerStatus } from '../../../../src/controllers/webhook-trigger/trigger-status.ts';
import type { WebhookSecretState } from '../../../../src/api/webhook-secret.ts';
import { makeTrigger } from './fixtures.ts';

const NOW = new Date('2026-01-01T00:00:10Z');
const SECRET: WebhookSecretState = {
  path: '/hooks/' + 'x'.repeat(43),
  url: 'https://hooks.example.com/hooks/' + 'x'.repeat(43),
  signingSecret: 'pxs_secret',
  currentSince: new Date('2026-01-01T00:00:00Z'),
};

describe('desiredTriggerStatus', () => {
  it('is Ready for the current generation and names the Secret keys, never the URL or the secret', () => {
    const trigger = makeTrigger({ auth: { rotation: { every: '1h' } } });
    const status = desiredTriggerStatus(trigger, { valid: true }, SECRET, NOW);
    expect(status.observedGeneration).to.equal(3);
    expect(status.conditions).to.deep.equal([
      { type: 'Ready', status: 'True', reason: 'Serving', message: 'accepting deliveries for Pipeline export-loader', observedGeneration: 3, lastTransitionTime: '2026-01-01T00:00:10Z' },
    ]);
    expect(status.urlSecretRef).to.deep.equal({ name: 'export-completed-webhook', key: 'url' });
    expect(status.signingSecretRef).to.deep.equal({ name: 'export-completed-webhook', key: 'signing-secret' });
    expect(status.rotation).to.deep.equal({ lastRotationTime: '2026-01-01T00:00:00.000Z', nextRotationTime: '2026-01-01T01:00:00.000Z' });
    const text = JSON.stringify(status);
    expect(text).not.to.include('/hooks/');
    expect(text).not.to.include(SECRET.signingSecret);
  });

  it('points signingSecretRef at the user Secret and shows no rotation with spec.auth.secretRef', () => {
    const trigger = makeTrigger({ auth: { secretRef: { name: 'billing', key: 'hmac' } } });
    const status = desiredTriggerStatus(trigger, { valid: true }, { path: SECRET.path, url: SECRET.url }, NOW);
    expect(status.signingSecretRef).to.deep.equal({ name: 'billing', key: 'hmac' });
    expect(status.rotation).to.equal(undefined);
  });

  it('says why it is not Ready: invalid, suspended; and warns when unauthenticated', () => {
    const invalid = desiredTriggerStatus(makeTrigger(), { valid: false, reason: 'PipelineNotFound', message: 'Pipeline "x" not found' }, SECRET, NOW);
    expect(invalid.conditions![0]).to.include({ status: 'False', reason: 'PipelineNotFound', message: 'Pipeline "x" not found' });
    const suspended = desiredTriggerStatus(makeTrigger({ suspend: true }), { valid: true }, SECRET, NOW);
    expect(suspended.conditions![0]).to.include({ status: 'False', reason: 'Suspended' });
    const open = desiredTriggerStatus(makeTrigger({ auth: { scheme: 'none' } }), { valid: true, warning: 'anyone can call' }, { path: SECRET.path, url: SECRET.url }, NOW);
    expect(open.conditions![0]).to.include({ status: 'True', reason: 'ServingUnauthenticated', message: 'anyone can call' });
    expect(open.signingSecretRef).to.equal(undefined);
  });

  it('keeps lastTransitionTime while the status stays the same', () => {
    const first = desiredTriggerStatus(makeTrigger(), { valid: false, reason: 'PipelineNotFound', message: 'a' }, SECRET, new Date('2026-01-01T00:00:00Z'));
    const trigger = makeTrigger({}, {});
    trigger.status = first;
    const second = desiredTriggerStatus(trigger, { valid: false, reason: 'SecretNotFound', message: 'b' }, SECRET, NOW);
    expect(second.conditions![0]!.lastTransitionTime).to.equal('2026-01-01T00:00:00Z');
    const ready = desiredTriggerStatus(trigger, { valid: true }, SECRET, NOW);
    expect(ready.conditions![0]!.lastTransitionTime).to.equal('2026-01-01T00:00:10Z');
  });
});
