// The API server is killed under sustained mixed traffic — new deliveries, duplicates, forged
// signatures — and restarted on the same data. Every answer keeps the contract, every delivery the
// sender retries after a 503 ends with exactly one run, and the operator's informers and controllers
// recover by themselves: no restart of the operator.
import { expect } from 'chai';
import type { WebhookTrigger } from '../../../src/api/types.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { createLogCapture, createLogger, type LogCapture } from '../../../src/observability/logger.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { controlPlane } from '../../harness/root-hooks.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { createPipeline, createTrigger, PIPELINE, type TriggerHandle } from '../receiver/receiver-fixtures.ts';
import { checkDeliveryInvariants, expectOneJobPerRun, runsOfTrigger, Traffic, waitForApiServer } from './fault-fixtures.ts';

const REQUEST_TIMEOUT_MS = 5_000;

describe('fault: the API server dies under mixed traffic and comes back', function () {
  this.timeout(180_000);
  const ns = useNamespace('fault-apiserver');
  let operator: TestOperator;
  let trigger: TriggerHandle;
  let capture: LogCapture;
  /** Every delivery this file sends, so that every run of the trigger is accounted for. */
  let traffic: Traffic;

  before(async () => {
    capture = createLogCapture();
    operator = await startTestOperator(
      { kubeApiTimeoutMs: 2_000, requestTimeoutMs: REQUEST_TIMEOUT_MS, headerTimeoutMs: 2_000, namespaces: [ns()] },
      { logger: createLogger({ level: 'debug', destination: capture.destination }) },
    );
    await createPipeline(ns());
    await adminClient().mergePatch(RESOURCES.pipelines, ns(), PIPELINE, { spec: { history: { succeeded: 1000, failed: 1000 } } });
    trigger = await createTrigger(operator, ns(), 'mixed');
    traffic = new Traffic(trigger, operator.receiverUrl, { timeoutMs: REQUEST_TIMEOUT_MS + 5_000 });
  });
  after(async () => {
    await controlPlane().command('start-apiserver'); // idempotent: never leave the next file without an API server
    await operator?.stop();
  });

  it('keeps the contract for every delivery, and every retried 503 ends as exactly one run', async () => {
    const senders = traffic.start(3, { valid: 5, duplicate: 2, forged: 3 }, 120);
    let stopping = 0;
    let downAt = 0;
    let upAt = 0;
    const answeredWhileDown = (until: number) => traffic.attempts.filter((a) => a.at > downAt && a.at + a.durationMs < until);
    try {
      await traffic.answered(10);
      stopping = Date.now();
      await controlPlane().command('stop-apiserver'); // takes ~10 s; the traffic goes on meanwhile
      downAt = Date.now();
      // Deliveries sent after the API server went down, and answered while it is down. The wait
      // uses the very filter the assertion below uses: an answer that lands in the same
      // millisecond as the restart must not count for the wait and then miss the assertion.
      await eventually(async () => answeredWhileDown(Date.now()).length > 10, 60_000, 20);
    } finally {
      upAt = Date.now();
      await controlPlane().command('start-apiserver');
    }
    await waitForApiServer();
    await traffic.answered(10); // and after it is back
    await senders.stop();

    const during = answeredWhileDown(upAt);
    expect(during.length, 'deliveries sent while the API server was down').to.be.greaterThan(10);
    // Forged deliveries are refused without the API server; the others are told to retry.
    for (const a of during) expect(a.status, `${a.kind} during the outage`).to.equal(a.kind === 'forged' ? 401 : 503);
    for (const a of traffic.attempts) expect(a.durationMs, 'answered within the request timeout').to.be.below(REQUEST_TIMEOUT_MS);

    const retries = await traffic.retryUnacknowledged(30_000);
    const report = await checkDeliveryInvariants(traffic, trigger);
    console.log(`      ${JSON.stringify({ ...report, retries: retries.length, stopTookMs: downAt - stopping, downMs: upAt - downAt })}`);
    expect(report.byStatus[503] ?? 0).to.be.greaterThan(5);
    expect(report.runs).to.equal(traffic.validIds.length);
    await expectOneJobPerRun(ns(), await runsOfTrigger(trigger), 60_000);
  });

  it('sees trigger changes again after the restart: informers and controllers recovered without a process restart', async () => {
    const route = () => operator.routes?.lookup(trigger.path)?.state;
    const ready = async () => (await adminClient().get<WebhookTrigger>(RESOURCES.webhookTriggers, ns(), trigger.name)).status?.conditions?.find((c) => c.type === 'Ready');
    const t0 = performance.now();
    await adminClient().mergePatch(RESOURCES.webhookTriggers, ns(), trigger.name, { spec: { suspend: true } });
    await eventually(async () => route() === 'suspended' && (await ready())?.reason === 'Suspended', 60_000, 100);
    console.log(`      suspension seen by receiver and controller ${Math.round(performance.now() - t0)} ms after the change`);
    expect((await traffic.send('valid')).code).to.equal('suspended');

    await adminClient().mergePatch(RESOURCES.webhookTriggers, ns(), trigger.name, { spec: { suspend: false } });
    await eventually(async () => route() === 'serving' && (await ready())?.status === 'True', 20_000, 100);
    expect((await traffic.send('valid')).status).to.equal(202);
    await traffic.retryUnacknowledged(10_000);
    await checkDeliveryInvariants(traffic, trigger);
    for (const informer of operator.manager.informers) expect(informer.hasSynced(), informer.name).to.equal(true);

    const text = capture.text();
    expect(text.includes(trigger.secret), 'the signing secret in the logs').to.equal(false);
    expect(text.includes(trigger.path), 'the capability path in the logs').to.equal(false);
  });
});
