import { expect } from 'chai';
import {
  buildWebhookSecret,
  generateWebhookPath,
  readWebhookSecret,
  sameSecretState,
  webhookSecretName,
  webhookUrl,
  type WebhookSecretState,
} from '../../../src/api/webhook-secret.ts';
import { makeTrigger } from '../controllers/webhook-trigger/fixtures.ts';

const STATE: WebhookSecretState = {
  path: '/hooks/' + 'A'.repeat(43),
  url: 'https://hooks.example.com/hooks/' + 'A'.repeat(43),
  signingSecret: 'pxs_current',
  currentSince: new Date('2026-01-01T00:00:00.123Z'),
  previousSigningSecret: 'pxs_previous',
  previousExpiresAt: new Date('2026-01-02T00:00:00Z'),
  handledRotateRequest: 'req-1',
};

describe('generateWebhookPath', () => {
  it('holds 256 random bits as URL-safe base64 under /hooks/', () => {
    const path = generateWebhookPath();
    expect(path).to.match(/^\/hooks\/[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(path.slice('/hooks/'.length), 'base64url')).to.have.length(32);
  });

  it('never repeats', () => {
    const paths = new Set(Array.from({ length: 10_000 }, generateWebhookPath));
    expect(paths.size).to.equal(10_000);
  });
});

describe('webhookUrl', () => {
  it('joins the external URL and the path with exactly one slash', () => {
    expect(webhookUrl('https://hooks.example.com/', '/hooks/x')).to.equal('https://hooks.example.com/hooks/x');
    expect(webhookUrl('https://example.com/base', '/hooks/x')).to.equal('https://example.com/base/hooks/x');
  });
});

describe('buildWebhookSecret / readWebhookSecret', () => {
  it('round-trips the whole state through the Secret', () => {
    const secret = buildWebhookSecret(makeTrigger(), STATE, '42');
    expect(readWebhookSecret(secret)).to.deep.equal(STATE);
    expect(secret.metadata?.resourceVersion).to.equal('42');
  });

  it('writes the documented keys, the trigger label and a controller ownerReference', () => {
    const secret = buildWebhookSecret(makeTrigger(), STATE);
    expect(secret.metadata?.name).to.equal(webhookSecretName('export-completed')).and.equal('export-completed-webhook');
    expect(Object.keys(secret.data!).sort()).to.deep.equal(['path', 'previous-expires-at', 'previous-signing-secret', 'signing-secret', 'url']);
    expect(Buffer.from(secret.data!['previous-expires-at']!, 'base64').toString()).to.equal('2026-01-02T00:00:00.000Z');
    expect(secret.metadata?.labels).to.deep.include({ 'planasonix.io/trigger': 'export-completed' });
    expect(secret.metadata?.ownerReferences).to.deep.equal([
      { apiVersion: 'planasonix.io/v1alpha1', kind: 'WebhookTrigger', name: 'export-completed', uid: 'trigger-uid', controller: true, blockOwnerDeletion: true },
    ]);
    expect(secret.metadata?.resourceVersion).to.equal(undefined);
  });

  it('holds only url and path for a user-managed secret', () => {
    const secret = buildWebhookSecret(makeTrigger(), { path: STATE.path, url: STATE.url });
    expect(Object.keys(secret.data!).sort()).to.deep.equal(['path', 'url']);
    expect(readWebhookSecret(secret)).to.deep.equal({ path: STATE.path, url: STATE.url });
  });

  it('ignores a Secret without a usable path, and a previous secret without its expiry', () => {
    const secret = buildWebhookSecret(makeTrigger(), STATE);
    expect(readWebhookSecret({ ...secret, data: { ...secret.data, path: Buffer.from('elsewhere').toString('base64') } })).to.equal(undefined);
    const noExpiry = { ...secret, data: { ...secret.data } };
    delete noExpiry.data['previous-expires-at'];
    const state = readWebhookSecret(noExpiry)!;
    expect(state.previousSigningSecret).to.equal(undefined);
    expect(state.previousExpiresAt).to.equal(undefined);
  });
});

describe('sameSecretState', () => {
  it('compares every field, dates by instant', () => {
    expect(sameSecretState(STATE, { ...STATE, currentSince: new Date(STATE.currentSince!.getTime()) })).to.equal(true);
    expect(sameSecretState(undefined, STATE)).to.equal(false);
    for (const change of [{ path: '/hooks/other' }, { signingSecret: 'pxs_other' }, { previousExpiresAt: new Date(0) }, { handledRotateRequest: 'req-2' }, { currentSince: undefined }]) {
      expect(sameSecretState(STATE, { ...STATE, ...change }), JSON.stringify(change)).to.equal(false);
    }
  });
});
