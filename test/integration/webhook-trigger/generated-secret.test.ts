// What a user sees after applying a WebhookTrigger: a generated `<trigger>-webhook` Secret that
// holds the capability URL (and, unless they bring their own, the signing secret), owned by the
// trigger, and a Ready status that names the Secret keys but never shows the URL.
import { expect } from 'chai';
import type { V1Secret } from '@kubernetes/client-node';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import {
  countingClient,
  getTrigger,
  pipelineObject,
  readSecret,
  secretObject,
  triggerEvents,
  triggerObject,
  waitIdle,
  waitReady,
  waitReason,
  pipelineCountsSeen,
} from './trigger-fixtures.ts';

describe('WebhookTrigger generated Secret (real API server)', function () {
  this.timeout(60_000);
  const ns = useNamespace('wht-secret');
  let operator: TestOperator | undefined;

  before(async () => {
    operator = await startTestOperator({ namespaces: [ns()] });
    await adminClient().create(RESOURCES.pipelines, pipelineObject(ns(), 'pipe'));
  });
  after(async () => operator?.stop());

  it('generates url, path and a pxs_ signing secret for a planasonix trigger, owned by the trigger', async () => {
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), 'plain'));
    const trigger = await waitReady(ns(), 'plain');
    const { secret, data } = await readSecret(ns(), 'plain-webhook');

    expect(Object.keys(data).sort()).to.deep.equal(['path', 'signing-secret', 'url']);
    // 43 base64url characters are 32 random bytes: 256 bits.
    expect(data.path).to.match(/^\/hooks\/[A-Za-z0-9_-]{43}$/);
    expect(data.url).to.equal(`https://hooks.example.test${data.path}`);
    expect(data['signing-secret']).to.match(/^pxs_[A-Za-z0-9_-]{43}$/);
    expect(secret.metadata?.ownerReferences).to.deep.equal([
      { apiVersion: 'planasonix.io/v1alpha1', kind: 'WebhookTrigger', name: 'plain', uid: trigger.metadata.uid, controller: true, blockOwnerDeletion: true },
    ]);

    expect(trigger.status?.observedGeneration).to.equal(trigger.metadata.generation);
    expect(trigger.status?.urlSecretRef).to.deep.equal({ name: 'plain-webhook', key: 'url' });
    expect(trigger.status?.signingSecretRef).to.deep.equal({ name: 'plain-webhook', key: 'signing-secret' });
    const everything = JSON.stringify(trigger);
    expect(everything).not.to.include(data.path!);
    expect(everything).not.to.include('/hooks/');
    expect(everything).not.to.include(data['signing-secret']!);

  });

  it('records no Event for a new trigger, whose status says it all, and one when its Secret had to be recreated', async () => {
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), 'evented'));
    await waitReady(ns(), 'evented');
    const { data: before } = await readSecret(ns(), 'evented-webhook');
    // Deliberate negative check: Events are written asynchronously, so absence needs the time one would take.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await triggerEvents(ns(), 'evented')).to.deep.equal([]);

    await adminClient().delete(RESOURCES.secrets, ns(), 'evented-webhook');
    const after = await eventually(async () => {
      const again = await readSecret(ns(), 'evented-webhook').catch(() => undefined);
      return again && again.data.path !== before.path ? again.data : undefined;
    }, 10_000);
    const recreated = await eventually(async () => (await triggerEvents(ns(), 'evented', 'SecretCreated'))[0], 5_000);
    expect(recreated.type).to.equal('Normal');
    expect(recreated.note).to.equal('recreated Secret evented-webhook, which was missing: the webhook URL and signing secret are new');
    for (const secretValue of [before.path!, before['signing-secret']!, after.path!, after['signing-secret']!]) expect(JSON.stringify(recreated)).not.to.include(secretValue);
  });

  it('generates a whsec_ secret of 32 random bytes for a standard-webhooks trigger', async () => {
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), 'std', { auth: { scheme: 'standard-webhooks' } }));
    await waitReady(ns(), 'std');
    const { data } = await readSecret(ns(), 'std-webhook');
    const signing = data['signing-secret']!;
    expect(signing).to.match(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(signing.slice('whsec_'.length), 'base64')).to.have.length(32);
  });

  it('with spec.auth.secretRef: the generated Secret holds the URL and a copy for the receiver; the user Secret is never written', async () => {
    const user = await adminClient().create<V1Secret>(RESOURCES.secrets, secretObject(ns(), 'billing-signing', { 'signing-secret': 'pxs_user-provided-secret-value' }));
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), 'byo', { auth: { scheme: 'planasonix', secretRef: { name: 'billing-signing' } } }));
    const trigger = await waitReady(ns(), 'byo');

    const { data } = await readSecret(ns(), 'byo-webhook');
    // The copy is what the receiver verifies with: it reads no Secret but the generated ones.
    expect(Object.keys(data).sort()).to.deep.equal(['path', 'signing-secret', 'url']);
    expect(data['signing-secret']).to.equal('pxs_user-provided-secret-value');
    expect(trigger.status?.signingSecretRef).to.deep.equal({ name: 'billing-signing', key: 'signing-secret' });
    expect(trigger.status?.urlSecretRef).to.deep.equal({ name: 'byo-webhook', key: 'url' });

    const after = await adminClient().get<V1Secret>(RESOURCES.secrets, ns(), 'billing-signing');
    expect(after.metadata?.resourceVersion).to.equal(user.metadata?.resourceVersion);
    expect(after.metadata?.ownerReferences).to.equal(undefined);
    expect(after.data).to.deep.equal(user.data);
  });

  it('keeps the URL path across spec changes, reconciles and a controller restart, without rewriting the Secret', async () => {
    const before = await readSecret(ns(), 'plain-webhook');

    // A spec change that makes the trigger not Ready and back.
    await adminClient().mergePatch(RESOURCES.webhookTriggers, ns(), 'plain', { spec: { suspend: true } });
    await waitReason(ns(), 'plain', 'False', 'Suspended');
    await adminClient().mergePatch(RESOURCES.webhookTriggers, ns(), 'plain', { spec: { suspend: false } });
    await waitReady(ns(), 'plain');

    // A new operator (a restart) that reconciles every trigger again, once the old one has written
    // everything it had to (the Pipeline's count of this test's triggers included).
    await eventually(async () => pipelineCountsSeen(operator!, ns()), 10_000);
    await operator!.stop();
    const client = countingClient();
    operator = await startTestOperator({ namespaces: [ns()] }, { client });
    await waitIdle(operator, 3, ns());

    const after = await readSecret(ns(), 'plain-webhook');
    expect(after.data.path).to.equal(before.data.path);
    expect(after.data.url).to.equal(before.data.url);
    expect(after.data['signing-secret']).to.equal(before.data['signing-secret']);
    expect(after.secret.metadata?.resourceVersion).to.equal(before.secret.metadata?.resourceVersion);
    expect(client.writes, JSON.stringify(client.writes)).to.deep.equal([]);
    expect((await getTrigger(ns(), 'plain')).status?.conditions?.[0]?.status).to.equal('True');
  });

  it('regenerates the signing secret in the new format when the scheme changes, keeping the URL', async () => {
    const before = await readSecret(ns(), 'std-webhook');
    await adminClient().mergePatch(RESOURCES.webhookTriggers, ns(), 'std', { spec: { auth: { scheme: 'planasonix' } } });
    const after = await eventually(async () => {
      const s = await readSecret(ns(), 'std-webhook');
      return s.data['signing-secret']!.startsWith('pxs_') ? s : undefined;
    }, 5_000);
    expect(after.data.path).to.equal(before.data.path);
    expect(after.data['previous-signing-secret'], 'a whsec_ secret is no use to a planasonix sender').to.equal(undefined);
    await waitReady(ns(), 'std');
    const events = await eventually(async () => (await triggerEvents(ns(), 'std', 'SecretRotated'))[0], 5_000);
    expect(events.note).to.include('scheme');
    expect(events.note).not.to.include(before.data['signing-secret']!);
  });
});
