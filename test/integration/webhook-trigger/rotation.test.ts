// Signing-secret rotation as a caller experiences it: on schedule, the old secret keeps working
// through the receiver during the overlap and is refused after it, the URL never changes, the status
// and an Event say what happened; and `kubectl annotate ... rotate-requested-at=<value>` rotates
// once per value. The operator's clock is the test's (TestClock): the schedule and the overlap end
// when the test moves the clock, however slow the machine is.
import { expect } from 'chai';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, kubectl, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, TestClock, type TestOperator } from '../../harness/operator.ts';
import { deliver, getTrigger, pipelineObject, readSecret, triggerEvents, triggerObject, waitReady } from './trigger-fixtures.ts';

describe('WebhookTrigger signing-secret rotation (real API server)', function () {
  this.timeout(60_000);
  const ns = useNamespace('wht-rotate');
  let operator: TestOperator | undefined;
  // Made when the operator starts, not when mocha loads the file: a clock frozen at load time would
  // lag the callers' signed timestamps by however long the suite ran before this file.
  let clock: TestClock;
  const triggerController = () => operator!.controllers.find((c) => c.name === 'webhooktrigger')!;
  /** Timers wait in real time: after moving the clock, the test asks the controller to look again. */
  const wake = (name: string) => triggerController().enqueue(`${ns()}/${name}`);

  before(async () => {
    clock = new TestClock();
    operator = await startTestOperator({ namespaces: [ns()] }, { now: clock.now });
    await adminClient().create(RESOURCES.pipelines, pipelineObject(ns(), 'pipe'));
  });
  after(async () => operator?.stop());

  /** Sends signed deliveries until one gets `status` (the receiver's cache follows the Secret within ms). */
  const expectDelivery = async (path: string, secret: string, status: number, timeoutMs = 1_500) => {
    let last = 0;
    await eventually(async () => (last = await deliver(operator!.receiverUrl, path, secret)) === status, timeoutMs, 50).catch(() => {
      throw new Error(`expected HTTP ${status}, got ${last}`);
    });
  };

  it('rotates every period: both secrets verify during the overlap, only the new one after it, and the URL stays', async () => {
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), 'timed', { auth: { rotation: { every: '4s', overlap: '2s' } } }));
    const t0 = await waitReady(ns(), 'timed');
    const first = await readSecret(ns(), 'timed-webhook');
    const path = first.data.path!;
    const a = first.data['signing-secret']!;
    expect(first.data['previous-signing-secret']).to.equal(undefined);
    const lastRotated0 = Date.parse(t0.status!.rotation!.lastRotationTime!);
    expect(Date.parse(t0.status!.rotation!.nextRotationTime!) - lastRotated0).to.equal(4_000);
    await expectDelivery(path, a, 202);

    // The first rotation, once the clock reaches it: A becomes previous, with an expiry, in the same write that adds B.
    clock.set(lastRotated0 + 4_000);
    wake('timed');
    const rotated = await eventually(async () => {
      const s = await readSecret(ns(), 'timed-webhook');
      return s.data['previous-signing-secret'] ? s : undefined;
    }, 10_000, 50);
    const b = rotated.data['signing-secret']!;
    const expiresAt = Date.parse(rotated.data['previous-expires-at']!);
    expect(b).to.match(/^pxs_/).and.not.equal(a);
    expect(rotated.data['previous-signing-secret']).to.equal(a);
    expect(rotated.data.path).to.equal(path);
    expect(rotated.data.url).to.equal(first.data.url);
    expect(expiresAt).to.equal(lastRotated0 + 4_000 + 2_000);

    // During the overlap both verify.
    await expectDelivery(path, a, 202);
    await expectDelivery(path, b, 202);

    // After it only B does; the controller also drops A from the Secret.
    clock.set(expiresAt + 100);
    expect(await deliver(operator!.receiverUrl, path, a)).to.equal(401);
    await expectDelivery(path, b, 202);
    wake('timed');
    const expired = await eventually(async () => {
      const s = await readSecret(ns(), 'timed-webhook');
      return s.data['previous-signing-secret'] === undefined ? s : undefined;
    }, 10_000, 50);
    expect(Object.keys(expired.data).sort()).to.deep.equal(['path', 'signing-secret', 'url']);
    expect(expired.data['signing-secret']).to.equal(b);

    const t1 = await eventually(async () => {
      const t = await getTrigger(ns(), 'timed');
      return Date.parse(t.status?.rotation?.lastRotationTime ?? '') === lastRotated0 + 4_000 ? t : undefined;
    }, 10_000);
    const lastRotated1 = Date.parse(t1.status!.rotation!.lastRotationTime!);
    expect(Date.parse(t1.status!.rotation!.nextRotationTime!) - lastRotated1).to.equal(4_000);
    expect(JSON.stringify(t1.status)).not.to.include(path);

    // The second rotation: B → previous, the URL still the same.
    clock.set(lastRotated1 + 4_000);
    wake('timed');
    const again = await eventually(async () => {
      const s = await readSecret(ns(), 'timed-webhook');
      return s.data['previous-signing-secret'] === b ? s : undefined;
    }, 10_000, 50);
    expect(again.data.path).to.equal(path);
    expect(again.data['signing-secret']).not.to.be.oneOf([a, b]);

    const events = await eventually(async () => {
      const found = await triggerEvents(ns(), 'timed', 'SecretRotated');
      return found.length === 2 ? found : undefined;
    }, 10_000);
    for (const e of events) {
      expect(e.type).to.equal('Normal');
      for (const secret of [a, b, again.data['signing-secret']!, path]) expect(e.note).not.to.include(secret);
      expect(e.note).to.match(/on schedule/);
    }
    await adminClient().delete(RESOURCES.webhookTriggers, ns(), 'timed');
  });

  it('rotates once per value of the rotate-requested-at annotation', async () => {
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), 'manual', { auth: { rotation: { every: '1h', overlap: '1m' } } }));
    await waitReady(ns(), 'manual');
    const a = (await readSecret(ns(), 'manual-webhook')).data['signing-secret']!;
    const rotatedEvents = async (n: number) =>
      eventually(async () => {
        const events = await triggerEvents(ns(), 'manual', 'SecretRotated');
        return events.length === n ? events : undefined;
      }, 5_000);

    let res = await kubectl(['annotate', '-n', ns(), 'webhooktrigger', 'manual', 'planasonix.io/rotate-requested-at=2026-01-01T00:00:00Z']);
    expect(res.code, res.stderr).to.equal(0);
    const first = await eventually(async () => {
      const s = await readSecret(ns(), 'manual-webhook');
      return s.data['signing-secret'] !== a ? s : undefined;
    }, 5_000);
    const b = first.data['signing-secret']!;
    expect(first.data['previous-signing-secret']).to.equal(a);
    const events = await rotatedEvents(1);
    expect(events[0]!.note).to.include('rotate-requested-at');
    await eventually(async () => (await getTrigger(ns(), 'manual')).status?.rotation?.lastHandledRequest === '2026-01-01T00:00:00Z');

    // The same value again (with another change, so the trigger is reconciled) rotates nothing.
    const controller = operator!.controllers.find((c) => c.name === 'webhooktrigger')!;
    const reconciles = controller.stats.reconciles;
    res = await kubectl(['annotate', '--overwrite', '-n', ns(), 'webhooktrigger', 'manual', 'planasonix.io/rotate-requested-at=2026-01-01T00:00:00Z', 'example.test/touched=yes']);
    expect(res.code, res.stderr).to.equal(0);
    await eventually(async () => controller.stats.reconciles > reconciles && controller.queue.inFlight === 0, 5_000);
    // That reconcile is done and wrote nothing: a rotation would have changed the Secret in it.
    expect((await readSecret(ns(), 'manual-webhook')).data['signing-secret']).to.equal(b);
    expect(await triggerEvents(ns(), 'manual', 'SecretRotated')).to.have.length(1);

    // A new value rotates again.
    res = await kubectl(['annotate', '--overwrite', '-n', ns(), 'webhooktrigger', 'manual', 'planasonix.io/rotate-requested-at=2026-01-02T00:00:00Z']);
    expect(res.code, res.stderr).to.equal(0);
    const second = await eventually(async () => {
      const s = await readSecret(ns(), 'manual-webhook');
      return s.data['signing-secret'] !== b ? s : undefined;
    }, 5_000);
    expect(second.data['previous-signing-secret']).to.equal(b);
    expect(second.data.path).to.equal(first.data.path);
    await rotatedEvents(2);
  });

  it('without an overlap, a requested rotation refuses the old secret at once', async () => {
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), 'leaked'));
    await waitReady(ns(), 'leaked');
    const before = await readSecret(ns(), 'leaked-webhook');
    const path = before.data.path!;
    await expectDelivery(path, before.data['signing-secret']!, 202);

    const res = await kubectl(['annotate', '-n', ns(), 'webhooktrigger', 'leaked', 'planasonix.io/rotate-requested-at=leak-1']);
    expect(res.code, res.stderr).to.equal(0);
    const after = await eventually(async () => {
      const s = await readSecret(ns(), 'leaked-webhook');
      return s.data['signing-secret'] !== before.data['signing-secret'] ? s : undefined;
    }, 5_000);
    expect(Object.keys(after.data).sort()).to.deep.equal(['path', 'signing-secret', 'url']);
    await expectDelivery(path, after.data['signing-secret']!, 202);
    expect(await deliver(operator!.receiverUrl, path, before.data['signing-secret']!)).to.equal(401);
  });
});
