// Controller restarts around a scheduled rotation neither skip nor repeat it: the rotation state
// lives in the generated Secret, so whichever controller runs next decides from the same facts.
// The controller's clock is the test's (TestClock): a rotation falls due when the test moves the
// clock, never because a loaded machine was slow, and the test wakes the controller to look.
import { expect } from 'chai';
import type { WebhookTrigger } from '../../../src/api/types.ts';
import type { KubeObject } from '../../../src/kube/client.ts';
import { KubeError } from '../../../src/kube/errors.ts';
import { RESOURCES, type ResourceType } from '../../../src/kube/resources.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, TestClock, type TestOperator } from '../../harness/operator.ts';
import { CountingClient, getTrigger, pipelineObject, readSecret, triggerEvents, triggerObject, waitIdle, waitReady } from './trigger-fixtures.ts';

const EVERY_MS = 6_000;

/** A client whose status writes fail once `failStatus` is set, like an operator dying right after its Secret write. */
class StatusFailingClient extends CountingClient {
  failStatus = false;
  failedStatusWrites = 0;

  override async patchStatus<T extends KubeObject>(r: ResourceType, namespace: string | undefined, name: string, status: unknown, opts?: { resourceVersion?: string }): Promise<T> {
    if (this.failStatus) {
      this.failedStatusWrites++;
      throw new KubeError(503, 'ServiceUnavailable', 'injected: status write failed');
    }
    return super.patchStatus(r, namespace, name, status, opts);
  }
}

describe('WebhookTrigger rotation across controller restarts (real API server)', function () {
  this.timeout(60_000);
  const ns = useNamespace('wht-restart');
  let operator: TestOperator | undefined;
  const start = async (clock: TestClock, client?: CountingClient) => {
    operator = await startTestOperator({ namespaces: [ns()] }, { now: clock.now, ...(client ? { client } : {}) });
    return operator;
  };
  const stop = async () => {
    await operator?.stop();
    operator = undefined;
  };
  const triggerController = () => operator!.controllers.find((c) => c.name === 'webhooktrigger')!;
  /** Timers wait in real time: after moving the clock, the test asks the controller to look again. */
  const wake = (name: string) => triggerController().enqueue(`${ns()}/${name}`);
  /** The controller has reconciled at least `count` times and has nothing in hand. */
  const idle = (count: number) => waitIdle(operator!, count, ns());
  const rotatedEvents = (name: string) => triggerEvents(ns(), name, 'SecretRotated');
  /** When the current secret became current, as stored with it in the Secret. */
  const currentSince = async (name: string) => Date.parse((await readSecret(ns(), `${name}-webhook`)).secret.metadata!.annotations!['planasonix.io/secret-created-at']!);

  before(async () => {
    await adminClient().create(RESOURCES.pipelines, pipelineObject(ns(), 'pipe'));
  });
  after(stop);

  it('rotates exactly once when the controller was down at the rotation time, and not again after a restart right after it', async () => {
    const clock = new TestClock();
    await start(clock);
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), 'down', { auth: { rotation: { every: '6s', overlap: '4s' } } }));
    await waitReady(ns(), 'down');
    const a = (await readSecret(ns(), 'down-webhook')).data['signing-secret']!;
    const due = (await currentSince('down')) + EVERY_MS;

    // Stopped a second before the rotation is due, started a second after it.
    clock.set(due - 1_000);
    wake('down');
    await idle(2);
    await stop();
    expect((await readSecret(ns(), 'down-webhook')).data['signing-secret'], 'not rotated before it was due').to.equal(a);
    clock.set(due + 1_000);
    await start(clock);

    const rotated = await eventually(async () => {
      const s = await readSecret(ns(), 'down-webhook');
      return s.data['signing-secret'] !== a ? s : undefined;
    }, 10_000, 50);
    const b = rotated.data['signing-secret']!;
    expect(rotated.data['previous-signing-secret']).to.equal(a);
    const since = await currentSince('down');
    expect(since).to.equal(due + 1_000);
    await eventually(async () => (await rotatedEvents('down')).length === 1, 10_000);

    // A restart right after the rotation rotates nothing: the clock has not moved, so once the new
    // controller has reconciled and holds nothing, nothing more can happen.
    await stop();
    await start(clock);
    await idle(1);
    const after = await readSecret(ns(), 'down-webhook');
    expect(after.data['signing-secret']).to.equal(b);
    expect(await currentSince('down')).to.equal(since);
    expect(await rotatedEvents('down')).to.have.length(1);
    const status = (await eventually(async () => {
      const t = await getTrigger(ns(), 'down');
      return Date.parse(t.status?.rotation?.lastRotationTime ?? '') === since ? t : undefined;
    }, 10_000)).status!;
    expect(Date.parse(status.rotation!.nextRotationTime!)).to.equal(since + EVERY_MS);

    // The schedule goes on from the rotation, once per period.
    clock.set(since + EVERY_MS);
    wake('down');
    const next = await eventually(async () => {
      const s = await readSecret(ns(), 'down-webhook');
      return s.data['previous-signing-secret'] === b ? s : undefined;
    }, 10_000, 50);
    expect(next.data['signing-secret']).not.to.be.oneOf([a, b]);
    expect(await currentSince('down')).to.equal(since + EVERY_MS);
    await eventually(async () => (await rotatedEvents('down')).length === 2, 10_000);
    await adminClient().delete(RESOURCES.webhookTriggers, ns(), 'down');
    await stop();
  });

  it('does not rotate again when the controller died between the Secret write and the status write', async () => {
    const clock = new TestClock();
    const client = new StatusFailingClient(adminClient().config, { timeoutMs: 10_000 });
    await start(clock, client);
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), 'crash', { auth: { rotation: { every: '6s', overlap: '4s' } } }));
    const before = await waitReady(ns(), 'crash');
    const a = (await readSecret(ns(), 'crash-webhook')).data['signing-secret']!;
    const due = (await currentSince('crash')) + EVERY_MS;

    client.failStatus = true;
    clock.set(due);
    wake('crash');
    const rotated = await eventually(async () => {
      const s = await readSecret(ns(), 'crash-webhook');
      return s.data['signing-secret'] !== a ? s : undefined;
    }, 10_000, 50);
    const b = rotated.data['signing-secret']!;
    // The status write that would have recorded the rotation was attempted, and failed.
    await eventually(async () => client.failedStatusWrites > 0, 10_000, 20);
    await stop();
    expect((await getTrigger(ns(), 'crash')).status?.rotation?.lastRotationTime).to.equal(before.status?.rotation?.lastRotationTime);

    await start(clock);
    const fixed = await eventually(async () => {
      const t: WebhookTrigger = await getTrigger(ns(), 'crash');
      return t.status?.rotation?.lastRotationTime !== before.status?.rotation?.lastRotationTime ? t : undefined;
    }, 10_000);
    await idle(1);
    const s = await readSecret(ns(), 'crash-webhook');
    expect(s.data['signing-secret']).to.equal(b);
    expect(s.data['previous-signing-secret']).to.equal(a);
    expect(Date.parse(fixed.status!.rotation!.lastRotationTime!)).to.equal(await currentSince('crash'));
    // The first controller's Event is recorded once; the second controller, finding the Secret
    // already rotated, rotates nothing and records nothing.
    await eventually(async () => (await rotatedEvents('crash')).length >= 1, 10_000);
    expect(await rotatedEvents('crash')).to.have.length(1);
    await adminClient().delete(RESOURCES.webhookTriggers, ns(), 'crash');
  });
});
