// Controller restarts around a scheduled rotation neither skip nor repeat it: the rotation state
// lives in the generated Secret, so whichever controller runs next decides from the same facts.
import { expect } from 'chai';
import type { WebhookTrigger } from '../../../src/api/types.ts';
import type { KubeObject } from '../../../src/kube/client.ts';
import { KubeError } from '../../../src/kube/errors.ts';
import { RESOURCES, type ResourceType } from '../../../src/kube/resources.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { CountingClient, getTrigger, pipelineObject, readSecret, sleep, triggerEvents, triggerObject, waitReady } from './trigger-fixtures.ts';

const EVERY_MS = 6_000;

/** A client whose status writes fail once `failStatus` is set, like an operator dying right after its Secret write. */
class StatusFailingClient extends CountingClient {
  failStatus = false;

  override async patchStatus<T extends KubeObject>(r: ResourceType, namespace: string | undefined, name: string, status: unknown, opts?: { resourceVersion?: string }): Promise<T> {
    if (this.failStatus) throw new KubeError(503, 'ServiceUnavailable', 'injected: status write failed');
    return super.patchStatus(r, namespace, name, status, opts);
  }
}

describe('WebhookTrigger rotation across controller restarts (real API server)', function () {
  this.timeout(60_000);
  const ns = useNamespace('wht-restart');
  let operator: TestOperator | undefined;
  const start = async (client?: CountingClient) => {
    operator = await startTestOperator({ namespaces: [ns()] }, client ? { client } : {});
    return operator;
  };
  const stop = async () => {
    await operator?.stop();
    operator = undefined;
  };
  const rotatedEvents = (name: string) => triggerEvents(ns(), name, 'SecretRotated');
  /** When the current secret became current, as stored with it in the Secret. */
  const currentSince = async (name: string) => Date.parse((await readSecret(ns(), `${name}-webhook`)).secret.metadata!.annotations!['planasonix.io/secret-created-at']!);

  before(async () => {
    await adminClient().create(RESOURCES.pipelines, pipelineObject(ns(), 'pipe'));
  });
  after(stop);

  it('rotates exactly once when the controller was down at the rotation time, and not again after a restart right after it', async () => {
    await start();
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), 'down', { auth: { rotation: { every: '6s', overlap: '4s' } } }));
    await waitReady(ns(), 'down');
    const a = (await readSecret(ns(), 'down-webhook')).data['signing-secret']!;
    const due = (await currentSince('down')) + EVERY_MS;

    // Stop just before the rotation is due, start again just after.
    await sleep(due - 1_000 - Date.now());
    await stop();
    expect(Date.now(), 'stopped before the rotation time').to.be.below(due);
    expect((await readSecret(ns(), 'down-webhook')).data['signing-secret']).to.equal(a);
    await sleep(due + 1_000 - Date.now());
    await start();

    const rotated = await eventually(async () => {
      const s = await readSecret(ns(), 'down-webhook');
      return s.data['signing-secret'] !== a ? s : undefined;
    }, 5_000, 50);
    const b = rotated.data['signing-secret']!;
    expect(rotated.data['previous-signing-secret']).to.equal(a);
    const since = await currentSince('down');
    expect(since).to.be.at.least(due);
    await eventually(async () => (await rotatedEvents('down')).length === 1, 5_000);

    // A restart right after the rotation rotates nothing.
    await stop();
    const op = await start();
    const controller = op.controllers.find((c) => c.name === 'webhooktrigger')!;
    await eventually(async () => controller.stats.reconciles >= 1 && controller.queue.inFlight === 0, 5_000);
    await sleep(1_000);
    const after = await readSecret(ns(), 'down-webhook');
    expect(after.data['signing-secret']).to.equal(b);
    expect(await currentSince('down')).to.equal(since);
    expect(await rotatedEvents('down')).to.have.length(1);
    const status = (await getTrigger(ns(), 'down')).status!;
    expect(Date.parse(status.rotation!.lastRotationTime!)).to.equal(since);
    expect(Date.parse(status.rotation!.nextRotationTime!)).to.equal(since + EVERY_MS);

    // The schedule goes on from the rotation, once per period.
    const next = await eventually(async () => {
      const s = await readSecret(ns(), 'down-webhook');
      return s.data['previous-signing-secret'] === b ? s : undefined;
    }, EVERY_MS + 2_000, 100);
    expect(next.data['signing-secret']).not.to.be.oneOf([a, b]);
    expect(await currentSince('down')).to.be.within(since + EVERY_MS, since + EVERY_MS + 1_000);
    await eventually(async () => (await rotatedEvents('down')).length === 2, 5_000);
    await adminClient().delete(RESOURCES.webhookTriggers, ns(), 'down');
    await stop();
  });

  it('does not rotate again when the controller died between the Secret write and the status write', async () => {
    const client = new StatusFailingClient(adminClient().config, { timeoutMs: 10_000 });
    await start(client);
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), 'crash', { auth: { rotation: { every: '6s', overlap: '4s' } } }));
    const before = await waitReady(ns(), 'crash');
    const a = (await readSecret(ns(), 'crash-webhook')).data['signing-secret']!;
    const due = (await currentSince('crash')) + EVERY_MS;

    await sleep(due - 500 - Date.now());
    client.failStatus = true;
    const rotated = await eventually(async () => {
      const s = await readSecret(ns(), 'crash-webhook');
      return s.data['signing-secret'] !== a ? s : undefined;
    }, 3_000, 50);
    const b = rotated.data['signing-secret']!;
    await sleep(300);
    await stop();
    // The status still shows the old rotation: the write that would have recorded the new one failed.
    expect((await getTrigger(ns(), 'crash')).status?.rotation?.lastRotationTime).to.equal(before.status?.rotation?.lastRotationTime);

    await start();
    const fixed = await eventually(async () => {
      const t: WebhookTrigger = await getTrigger(ns(), 'crash');
      return t.status?.rotation?.lastRotationTime !== before.status?.rotation?.lastRotationTime ? t : undefined;
    }, 5_000);
    const s = await readSecret(ns(), 'crash-webhook');
    expect(s.data['signing-secret']).to.equal(b);
    expect(s.data['previous-signing-secret']).to.equal(a);
    expect(Date.parse(fixed.status!.rotation!.lastRotationTime!)).to.equal(await currentSince('crash'));
    await sleep(500);
    expect(await rotatedEvents('crash')).to.have.length(1);
    await adminClient().delete(RESOURCES.webhookTriggers, ns(), 'crash');
  });
});
