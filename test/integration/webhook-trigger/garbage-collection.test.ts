// Deleting a trigger removes its generated Secret: the Secret's controller ownerReference hands the
// job to the garbage collector in kube-controller-manager, so it also happens while the operator is
// down.
import { expect } from 'chai';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { isNotFound } from '../../../src/kube/errors.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { getTrigger, pipelineObject, readSecret, triggerObject, waitReady, waitReason } from './trigger-fixtures.ts';

/** The garbage collector discovers a newly installed CRD within about 30 s (longer on a busy machine). */
const GC_TIMEOUT_MS = 90_000;

describe('WebhookTrigger deletion (real API server)', function () {
  this.timeout(150_000);
  const ns = useNamespace('wht-gc');
  let operator: TestOperator | undefined;

  before(async () => {
    operator = await startTestOperator({ namespaces: [ns()] });
    await adminClient().create(RESOURCES.pipelines, pipelineObject(ns(), 'pipe'));
  });
  after(async () => operator?.stop());

  const secretGone = (name: string) =>
    eventually(
      async () => {
        try {
          await readSecret(ns(), name);
          return false;
        } catch (e) {
          if (isNotFound(e)) return true;
          throw e;
        }
      },
      GC_TIMEOUT_MS,
      250,
    );

  it('removes the generated Secret when the trigger is deleted', async () => {
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), 'short-lived'));
    await waitReady(ns(), 'short-lived');
    await readSecret(ns(), 'short-lived-webhook');
    const t0 = Date.now();
    await adminClient().delete(RESOURCES.webhookTriggers, ns(), 'short-lived');
    await secretGone('short-lived-webhook');
    console.log(`      Secret removed ${Date.now() - t0} ms after the trigger was deleted`);
  });

  it('removes it while the operator is stopped too, and a recreated trigger gets a new URL', async () => {
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), 'again'));
    await waitReady(ns(), 'again');
    const oldPath = (await readSecret(ns(), 'again-webhook')).data.path;
    await operator!.stop();
    operator = undefined;
    await adminClient().delete(RESOURCES.webhookTriggers, ns(), 'again');
    await secretGone('again-webhook');

    operator = await startTestOperator({ namespaces: [ns()] });
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), 'again'));
    await waitReady(ns(), 'again');
    expect((await readSecret(ns(), 'again-webhook')).data.path).not.to.equal(oldPath);
  });

  it('refuses a Secret of that name it does not own (SecretConflict) and takes over once it is deleted', async () => {
    await adminClient().create(RESOURCES.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'taken-webhook', namespace: ns() }, data: { mine: Buffer.from('x').toString('base64') } });
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), 'taken'));
    const t = await waitReason(ns(), 'taken', 'False', 'SecretConflict');
    expect(t.status!.conditions!.find((c) => c.type === 'Ready')!.message).to.include('taken-webhook');
    const foreign = await readSecret(ns(), 'taken-webhook');
    expect(foreign.data).to.deep.equal({ mine: 'x' });

    await adminClient().delete(RESOURCES.secrets, ns(), 'taken-webhook');
    await waitReady(ns(), 'taken', 5_000);
    const ours = await readSecret(ns(), 'taken-webhook');
    expect(ours.secret.metadata?.ownerReferences?.[0]?.uid).to.equal((await getTrigger(ns(), 'taken')).metadata.uid);
  });
});
