// What the API server cannot check about a trigger — that its Pipeline, version, Secret and key
// exist, its public key parses and its params fit — shows as Ready=False with a reason and a message
// naming the problem; the controller does not spin on it, and the trigger becomes Ready as soon as
// the missing piece appears, without anyone touching the trigger.
import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import {
  countingClient,
  getTrigger,
  pipelineObject,
  readSecret,
  readyCondition,
  secretObject,
  sleep,
  triggerEvents,
  triggerObject,
  waitReady,
  waitIdle,
  waitReason,
  pipelineCountsSeen,
  type CountingClient,
} from './trigger-fixtures.ts';
import { STATUS_WRITTEN_BY_TEST } from '../../harness/job-status-writer.ts';

const JOB = { spec: { ...STATUS_WRITTEN_BY_TEST, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'example.test/job:1' }] } } } };

/** Becoming Ready after a fix is event-driven: well under this, even on a busy CI machine. */
const RECOVERY_MS = 3_000;

describe('WebhookTrigger validation (real API server)', function () {
  this.timeout(60_000);
  const ns = useNamespace('wht-valid');
  let operator: TestOperator | undefined;
  let client: CountingClient;

  before(async () => {
    client = countingClient();
    operator = await startTestOperator({ namespaces: [ns()] }, { client });
    const admin = adminClient();
    await admin.create(RESOURCES.pipelines, pipelineObject(ns(), 'versioned', { versions: [{ name: 'v1', jobTemplate: JOB }] }));
    await admin.create(RESOURCES.pipelines, pipelineObject(ns(), 'with-params', { params: [{ name: 'export_id', required: true }] }));
    await admin.create(RESOURCES.secrets, secretObject(ns(), 'wrong-key', { token: 'pxs_some-value' }));

    await admin.create(RESOURCES.webhookTriggers, triggerObject(ns(), 'no-pipeline', { pipelineRef: { name: 'arrives-later' } }));
    await admin.create(RESOURCES.webhookTriggers, triggerObject(ns(), 'no-version', { pipelineRef: { name: 'versioned', version: 'v2' } }));
    await admin.create(RESOURCES.webhookTriggers, triggerObject(ns(), 'no-secret', { pipelineRef: { name: 'versioned' }, auth: { secretRef: { name: 'billing-signing' } } }));
    await admin.create(RESOURCES.webhookTriggers, triggerObject(ns(), 'no-key', { pipelineRef: { name: 'versioned' }, auth: { secretRef: { name: 'wrong-key', key: 'signing-secret' } } }));
    await admin.create(RESOURCES.webhookTriggers, triggerObject(ns(), 'bad-key', { pipelineRef: { name: 'versioned' }, auth: { publicKey: 'not a PEM key' } }));
    await admin.create(
      RESOURCES.webhookTriggers,
      triggerObject(ns(), 'undeclared', { pipelineRef: { name: 'with-params' }, params: [{ name: 'export_id', from: 'body', path: '/id' }, { name: 'region', from: 'header', header: 'X-Region' }] }),
    );
    await admin.create(RESOURCES.webhookTriggers, triggerObject(ns(), 'unmapped', { pipelineRef: { name: 'with-params' } }));
  });
  after(async () => operator?.stop());

  const cases = [
    { trigger: 'no-pipeline', reason: 'PipelineNotFound', names: 'arrives-later' },
    { trigger: 'no-version', reason: 'PipelineVersionNotFound', names: 'v2' },
    { trigger: 'no-secret', reason: 'SecretNotFound', names: 'billing-signing' },
    { trigger: 'no-key', reason: 'SecretKeyNotFound', names: 'signing-secret' },
    { trigger: 'bad-key', reason: 'InvalidPublicKey', names: 'publicKey' },
    { trigger: 'undeclared', reason: 'ParamsMismatch', names: 'region' },
    { trigger: 'unmapped', reason: 'ParamsMismatch', names: 'export_id' },
  ];

  it('reports each problem as Ready=False with its reason, a message naming it, and a Warning Event', async () => {
    for (const c of cases) {
      const t = await waitReason(ns(), c.trigger, 'False', c.reason);
      expect(readyCondition(t)!.message, c.trigger).to.include(c.names);
      expect(t.status?.urlSecretRef, 'the URL is generated anyway, so it never changes once fixed').to.deep.equal({ name: `${c.trigger}-webhook`, key: 'url' });
      const events = await eventually(async () => {
        // One specific reason per case, the condition's, rather than one catch-all.
        const found = await triggerEvents(ns(), c.trigger, c.reason);
        return found.length > 0 ? found : undefined;
      }, 5_000);
      expect(events.map((e) => e.type)).to.deep.equal(['Warning']);
      expect(events[0]!.note).to.include(c.names);
    }
  });

  it('does not retry an invalid trigger in a loop: no writes while nothing changes', async () => {
    const controller = operator!.controllers.find((c) => c.name === 'webhooktrigger')!;
    await waitIdle(operator!, 0, ns());
    const writes = client.writes.length;
    const reconciles = controller.stats.reconciles;
    await sleep(2_000); // deliberate negative check: nothing may happen in this window
    expect(client.writes.slice(writes)).to.deep.equal([]);
    expect(controller.stats.reconciles - reconciles).to.equal(0);
    expect(controller.queue.delayedCount, 'nothing scheduled either').to.equal(0);
  });

  it('becomes Ready within seconds when the missing Pipeline is created', async () => {
    const t0 = Date.now();
    await adminClient().create(RESOURCES.pipelines, pipelineObject(ns(), 'arrives-later'));
    await waitReady(ns(), 'no-pipeline', RECOVERY_MS);
    console.log(`      PipelineNotFound → Ready in ${Date.now() - t0} ms`);
    const ready = await eventually(async () => (await triggerEvents(ns(), 'no-pipeline', 'Ready'))[0], 5_000);
    expect(ready.type).to.equal('Normal');
  });

  it('becomes Ready when the Pipeline gains the version', async () => {
    const t0 = Date.now();
    await adminClient().mergePatch(RESOURCES.pipelines, ns(), 'versioned', {
      spec: { versions: [{ name: 'v1', jobTemplate: JOB }, { name: 'v2', jobTemplate: JOB }] },
    });
    await waitReady(ns(), 'no-version', RECOVERY_MS);
    console.log(`      PipelineVersionNotFound → Ready in ${Date.now() - t0} ms`);
  });

  it('becomes Ready when the referenced Secret is created', async () => {
    const t0 = Date.now();
    await adminClient().create(RESOURCES.secrets, secretObject(ns(), 'billing-signing', { 'signing-secret': 'pxs_arrived-later' }));
    const t = await waitReady(ns(), 'no-secret', RECOVERY_MS);
    console.log(`      SecretNotFound → Ready in ${Date.now() - t0} ms`);
    expect(t.status?.signingSecretRef).to.deep.equal({ name: 'billing-signing', key: 'signing-secret' });
  });

  it('becomes Ready when the Secret gains the key', async () => {
    const t0 = Date.now();
    await adminClient().mergePatch(RESOURCES.secrets, ns(), 'wrong-key', { data: { 'signing-secret': Buffer.from('pxs_now-here').toString('base64') } });
    await waitReady(ns(), 'no-key', RECOVERY_MS);
    console.log(`      SecretKeyNotFound → Ready in ${Date.now() - t0} ms`);
  });

  it('becomes Ready when the Pipeline declares the param and makes the unmapped one optional', async () => {
    const t0 = Date.now();
    await adminClient().mergePatch(RESOURCES.pipelines, ns(), 'with-params', {
      spec: { params: [{ name: 'export_id', required: false, default: 'none' }, { name: 'region' }] },
    });
    await waitReady(ns(), 'undeclared', RECOVERY_MS);
    await waitReady(ns(), 'unmapped', RECOVERY_MS);
    console.log(`      ParamsMismatch → Ready in ${Date.now() - t0} ms`);
  });

  it('rejects a private key or a non-Ed25519 key as publicKey, and accepts an Ed25519 public key', async () => {
    const ed = generateKeyPairSync('ed25519');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const privatePem = ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

    await adminClient().mergePatch(RESOURCES.webhookTriggers, ns(), 'bad-key', { spec: { auth: { publicKey: privatePem } } });
    let t = await waitReason(ns(), 'bad-key', 'False', 'InvalidPublicKey');
    expect(readyCondition(t)!.message).to.include('PRIVATE');
    expect(JSON.stringify(t.status)).not.to.include(privatePem.split('\n')[1]!);

    await adminClient().mergePatch(RESOURCES.webhookTriggers, ns(), 'bad-key', { spec: { auth: { publicKey: rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString() } } });
    t = await eventually(async () => {
      const got = await getTrigger(ns(), 'bad-key');
      return got.status?.observedGeneration === got.metadata.generation ? got : undefined;
    });
    expect(readyCondition(t)).to.include({ status: 'False', reason: 'InvalidPublicKey' });
    expect(readyCondition(t)!.message).to.include('rsa');

    await adminClient().mergePatch(RESOURCES.webhookTriggers, ns(), 'bad-key', { spec: { auth: { publicKey: ed.publicKey.export({ type: 'spki', format: 'pem' }).toString() } } });
    await waitReady(ns(), 'bad-key', RECOVERY_MS);
  });

  it('goes back to PipelineNotFound / SecretNotFound when a referenced object is deleted', async () => {
    await adminClient().delete(RESOURCES.pipelines, ns(), 'arrives-later');
    await waitReason(ns(), 'no-pipeline', 'False', 'PipelineNotFound', RECOVERY_MS);
    await adminClient().delete(RESOURCES.secrets, ns(), 'billing-signing');
    await waitReason(ns(), 'no-secret', 'False', 'SecretNotFound', RECOVERY_MS);
  });

  it('reports a cron schedule that never fires, or a 1ms interval, as InvalidSpec instead of looping', async () => {
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), 'bad-cron', { pipelineRef: { name: 'versioned' }, auth: { rotation: { schedule: '0 0 30 2 *' } } }));
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), 'too-fast', { pipelineRef: { name: 'versioned' }, auth: { rotation: { every: '1ms' } } }));
    const t = await waitReason(ns(), 'bad-cron', 'False', 'InvalidSpec');
    expect(readyCondition(t)!.message).to.include('never fires');
    const fast = await waitReason(ns(), 'too-fast', 'False', 'InvalidSpec');
    expect(readyCondition(fast)!.message).to.include('spec.auth.rotation.every');

    const secret = await readSecret(ns(), 'too-fast-webhook');
    await eventually(async () => pipelineCountsSeen(operator!, ns()), 10_000); // the Pipeline counts the two new triggers
    const writes = client.writes.length;
    await sleep(1_000); // deliberate negative check: a rotation loop would write within this second
    expect(client.writes.slice(writes), 'no rotation loop').to.deep.equal([]);
    expect((await readSecret(ns(), 'too-fast-webhook')).secret.metadata?.resourceVersion).to.equal(secret.secret.metadata?.resourceVersion);
    const controller = operator!.controllers.find((c) => c.name === 'webhooktrigger')!;
    expect(controller.stats.errors).to.equal(0);
  });
});
