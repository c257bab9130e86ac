// Watches break in the two ways the happy path never shows: the connection to the API server goes
// silent without closing (a dead NAT entry; here a proxy that stops forwarding), and the API server
// comes back after a compaction and answers 410 Gone to every watch that resumes from an old
// version. The operator must notice, relist and keep serving and reconciling, without a restart.
import { expect } from 'chai';
import type { WebhookTrigger } from '../../../src/api/types.ts';
import { API_VERSION } from '../../../src/api/constants.ts';
import { RESOURCES, type ResourceType } from '../../../src/kube/resources.ts';
import { createLogCapture, createLogger, type LogCapture } from '../../../src/observability/logger.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { controlPlane } from '../../harness/root-hooks.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { createPipeline, createTrigger, DEFAULT_PARAMS, PIPELINE, readTriggerSecret, type TriggerHandle } from '../receiver/receiver-fixtures.ts';
import { checkDeliveryInvariants, expectOneJobPerRun, FaultyClient, runsOfTrigger, StallProxy, Traffic, waitForApiServer } from './fault-fixtures.ts';

const INACTIVITY_MS = 3_000;
const API_TIMEOUT_MS = 2_000;
const CONFIG_MAPS: ResourceType = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };

describe('fault: broken watches (silent connections, 410 Gone after compaction)', function () {
  this.timeout(180_000);
  const ns = useNamespace('fault-watch');
  let proxy: StallProxy;
  let operator: TestOperator;
  let trigger: TriggerHandle;
  let traffic: Traffic;
  let capture: LogCapture;

  const route = (path: string) => operator.routes?.lookup(path)?.state;
  const informerTotals = () =>
    operator.manager.informers.reduce(
      (sum, i) => ({ lists: sum.lists + i.stats.lists, restarts: sum.restarts + i.stats.restarts, expired: sum.expired + i.stats.expired }),
      { lists: 0, restarts: 0, expired: 0 },
    );
  /** A new trigger, created behind the operator's back; resolves once the operator serves it. */
  const newTriggerServed = async (name: string, timeoutMs: number) => {
    await adminClient().create<WebhookTrigger>(RESOURCES.webhookTriggers, {
      apiVersion: API_VERSION,
      kind: 'WebhookTrigger',
      metadata: { name, namespace: ns() },
      spec: { pipelineRef: { name: PIPELINE }, params: DEFAULT_PARAMS },
    });
    const handle = await eventually(async () => readTriggerSecret(ns(), name, operator), timeoutMs, 100);
    await eventually(async () => route(handle.path) === 'serving', timeoutMs, 100);
    return handle;
  };

  before(async () => {
    capture = createLogCapture();
    proxy = await StallProxy.start(controlPlane().server);
    const client = FaultyClient.connect({ server: proxy.url, timeoutMs: API_TIMEOUT_MS });
    client.watchInactivityMs = INACTIVITY_MS;
    operator = await startTestOperator(
      { kubeApiTimeoutMs: API_TIMEOUT_MS, requestTimeoutMs: 5_000, headerTimeoutMs: 2_000, namespaces: [ns()] },
      { client, logger: createLogger({ level: 'debug', destination: capture.destination }) },
    );
    await createPipeline(ns());
    await adminClient().mergePatch(RESOURCES.pipelines, ns(), PIPELINE, { spec: { history: { succeeded: 1000, failed: 1000 } } });
    trigger = await createTrigger(operator, ns(), 'watched');
    traffic = new Traffic(trigger, operator.receiverUrl, { timeoutMs: 10_000 });
  });
  after(async () => {
    await controlPlane().command('start-apiserver');
    await operator?.stop();
    await proxy?.close();
  });

  it('notices a silently dropped connection and catches up, while deliveries keep their contract', async () => {
    expect((await traffic.send('valid')).status).to.equal(202);
    const before = informerTotals();
    const senders = traffic.start(2, { valid: 6, duplicate: 2, forged: 2 }, 100);
    try {
      await traffic.answered(5);
      const stalled = proxy.stall();
      expect(stalled, 'connections stalled (HTTP/2 carries every watch and request on one)').to.be.at.least(1);
      const t0 = performance.now();
      // Changes the operator can only learn of through its watches.
      await adminClient().mergePatch(RESOURCES.webhookTriggers, ns(), trigger.name, { spec: { suspend: true } });
      await eventually(async () => route(trigger.path) === 'suspended', 20_000, 50);
      const suspendSeen = performance.now() - t0;
      await adminClient().mergePatch(RESOURCES.webhookTriggers, ns(), trigger.name, { spec: { suspend: false } });
      await eventually(async () => route(trigger.path) === 'serving', 20_000, 50);
      const second = await newTriggerServed('after-stall', 20_000);
      console.log(`      ${stalled} connections stalled; suspension seen after ${Math.round(suspendSeen)} ms, a new trigger served after ${Math.round(performance.now() - t0)} ms`);
      expect(suspendSeen, 'noticed within the inactivity timeout plus a reconnect').to.be.below(INACTIVITY_MS + 3 * API_TIMEOUT_MS + 2_000);
      expect(second.secret).to.match(/^pxs_/);
    } finally {
      await senders.stop();
    }
    expect(informerTotals().restarts).to.be.greaterThan(before.restarts);
    expect(capture.records().some((r) => r.msg === 'watch went silent; reconnecting')).to.equal(true);
    await traffic.retryUnacknowledged(20_000);
    const report = await checkDeliveryInvariants(traffic, trigger);
    console.log(`      ${JSON.stringify(report)}`);
    await expectOneJobPerRun(ns(), await runsOfTrigger(trigger), 30_000);
  });

  it('relists after 410 Gone when the API server comes back compacted, and keeps serving and reconciling', async () => {
    // Writes the operator does not watch move the revision past every informer's version.
    for (let i = 0; i < 5; i++) {
      await adminClient().create(CONFIG_MAPS, { metadata: { name: `bump-${i}`, namespace: ns() }, data: { i: String(i) } });
      await adminClient().delete(CONFIG_MAPS, ns(), `bump-${i}`);
    }
    const before = informerTotals();
    const senders = traffic.start(2, { valid: 6, duplicate: 2, forged: 2 }, 100);
    let t0 = 0;
    try {
      await controlPlane().command('stop-apiserver');
      // While it is down the sender keeps trying and nothing that was answered 2xx is lost.
      await adminClient().list(RESOURCES.namespaces).then(
        () => expect.fail('the API server is still up'),
        () => undefined,
      );
      await controlPlane().command('compact');
    } finally {
      await controlPlane().command('start-apiserver');
      t0 = performance.now();
    }
    await waitForApiServer();
    try {
      await adminClient().mergePatch(RESOURCES.webhookTriggers, ns(), trigger.name, { spec: { suspend: true } });
      await eventually(async () => route(trigger.path) === 'suspended', 60_000, 100);
      await adminClient().mergePatch(RESOURCES.webhookTriggers, ns(), trigger.name, { spec: { suspend: false } });
      await eventually(async () => route(trigger.path) === 'serving', 20_000, 100);
      const third = await newTriggerServed('after-compaction', 20_000);
      console.log(`      recovered ${Math.round(performance.now() - t0)} ms after the restart; informer totals ${JSON.stringify(before)} → ${JSON.stringify(informerTotals())}`);
      expect(third.path).to.match(/^\/hooks\//);
    } finally {
      await senders.stop();
    }
    const after = informerTotals();
    expect(after.expired, '410 Gone answers that made an informer relist').to.be.greaterThan(before.expired);
    expect(after.lists).to.be.greaterThan(before.lists);
    await traffic.retryUnacknowledged(30_000);
    const report = await checkDeliveryInvariants(traffic, trigger);
    console.log(`      ${JSON.stringify(report)}`);
    // The run controller recovered too: every run has its one Job.
    await expectOneJobPerRun(ns(), await runsOfTrigger(trigger), 60_000);
    const text = capture.text();
    expect(text.includes(trigger.secret), 'the signing secret in the logs').to.equal(false);
    expect(text.includes(trigger.path), 'the capability path in the logs').to.equal(false);
  });
});
