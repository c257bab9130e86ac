// spec.targets against the real API server: one delivery starts one run per matching target, each
// deduplicated on its own and all under one correlation ID; a per-target filter and params; a
// retry creates none twice, even when it arrives after an attempt that stored only some of the
// runs (the API server refused the second one for a moment); and what the CRD and the controller
// refuse about targets.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Pipeline, PipelineRun, WebhookTriggerSpec } from '../../../src/api/types.ts';
import { API_VERSION, LABELS } from '../../../src/api/constants.ts';
import { KubeClient, type KubeObject } from '../../../src/kube/client.ts';
import { KubeError } from '../../../src/kube/errors.ts';
import { RESOURCES, type ResourceType } from '../../../src/kube/resources.ts';
import { adminClient, eventually, kubectl, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { readyCondition, waitReason } from '../webhook-trigger/trigger-fixtures.ts';
import { createPipeline, createTrigger, deliver, runsOf, type TriggerHandle } from './receiver-fixtures.ts';
import { STATUS_WRITTEN_BY_TEST } from '../../harness/job-status-writer.ts';

/** Refuses the next `failures` creates of a run for target `target` as an overloaded API server would (503). */
class FlakyRunsClient extends KubeClient {
  failures = 0;
  target = '';
  override async create<T extends KubeObject>(r: ResourceType, obj: T, opts: { dryRun?: boolean; timeoutMs?: number } = {}): Promise<T> {
    const run = obj as unknown as PipelineRun;
    if (r === RESOURCES.pipelineRuns && run.spec?.trigger?.target === this.target && this.failures > 0) {
      this.failures--;
      throw new KubeError(503, 'ServiceUnavailable', 'injected: the API server is overloaded');
    }
    return super.create(r, obj, opts);
  }
}

async function createNotifier(namespace: string): Promise<void> {
  const pipeline: Pipeline = {
    apiVersion: API_VERSION,
    kind: 'Pipeline',
    metadata: { name: 'notifier', namespace },
    spec: {
      params: [
        { name: 'channel', type: 'string', required: true },
        { name: 'export_id', type: 'string', default: '' },
      ],
      jobTemplate: { spec: { ...STATUS_WRITTEN_BY_TEST, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'notify', image: 'registry.example/notify:1' }] } } } },
    },
  };
  await adminClient().create(RESOURCES.pipelines, pipeline);
}

const TARGETS: Partial<WebhookTriggerSpec> = {
  pipelineRef: undefined,
  params: [{ name: 'export_id', from: 'body', path: '/export_id', required: true }],
  targets: [
    { name: 'load', pipelineRef: { name: 'loader' }, params: [{ name: 'record_count', from: 'body', path: '/record_count', type: 'number' }] },
    { name: 'notify', pipelineRef: { name: 'notifier' }, filter: 'body.record_count > 100', params: [{ name: 'channel', from: 'query', query: 'channel', default: '#exports' }] },
  ],
};

describe('receiver: several targets per delivery (spec.targets)', function () {
  this.timeout(60_000);
  const ns = useNamespace('rx-targets');
  let operator: TestOperator;
  let client: FlakyRunsClient;
  let fanout: TriggerHandle;

  before(async () => {
    client = new FlakyRunsClient(adminClient().config, { timeoutMs: 10_000 });
    operator = await startTestOperator({}, { client });
    await createPipeline(ns());
    await createNotifier(ns());
    fanout = await createTrigger(operator, ns(), 'fanout', TARGETS);
  });
  after(async () => operator?.stop());

  const byTarget = (runs: PipelineRun[]) => Object.fromEntries(runs.map((r) => [r.spec.trigger?.target, r]));

  it('one run per matching target, all under one correlation ID; the answer lists them', async () => {
    const id = randomUUID();
    const reply = await deliver(fanout, { export_id: 'exp-big', record_count: 500 }, { deliveryId: id });
    expect(reply.status, reply.text).to.equal(202);
    const body = reply.json() as { correlationId: string; pipelineRuns: { target: string; name: string; duplicate: boolean }[] };
    expect(body.pipelineRuns.map((r) => [r.target, r.duplicate])).to.deep.equal([['load', false], ['notify', false]]);
    const runs = (await runsOf(ns(), 'fanout')).filter((r) => r.metadata.labels?.[LABELS.correlationId] === body.correlationId);
    const runs2 = byTarget(runs);
    expect(Object.keys(runs2).sort()).to.deep.equal(['load', 'notify']);
    expect(runs2.load!.spec.pipelineRef.name).to.equal('loader');
    expect(runs2.load!.spec.params).to.deep.equal({ export_id: 'exp-big', record_count: '500' });
    expect(runs2.notify!.spec.pipelineRef.name).to.equal('notifier');
    expect(runs2.notify!.spec.params).to.deep.equal({ export_id: 'exp-big', channel: '#exports' });
    expect(body.pipelineRuns.map((r) => r.name).sort()).to.deep.equal(runs.map((r) => r.metadata.name).sort());
    expect(runs.every((r) => r.spec.correlationId === body.correlationId)).to.equal(true);

    // A retry creates nothing: both runs are duplicates.
    const again = await deliver(fanout, { export_id: 'exp-big', record_count: 500 }, { deliveryId: id });
    expect(again.status, again.text).to.equal(200);
    expect(again.json()).to.include({ correlationId: body.correlationId, duplicate: true });
    expect((again.json().pipelineRuns as { duplicate: boolean }[]).map((r) => r.duplicate)).to.deep.equal([true, true]);
    expect((await runsOf(ns(), 'fanout')).filter((r) => r.spec.trigger?.deliveryId === `id:${id}`)).to.have.length(2);
  });

  it('each target\'s Pipeline counts the trigger (Pipeline status.triggers)', async () => {
    for (const name of ['loader', 'notifier']) {
      await eventually(async () => ((await adminClient().get<Pipeline>(RESOURCES.pipelines, ns(), name)).status?.triggers ?? 0) >= 1, 15_000);
    }
  });

  it('a target whose filter does not match starts nothing; the others run', async () => {
    const reply = await deliver(fanout, { export_id: 'exp-small', record_count: 5 });
    expect(reply.status, reply.text).to.equal(202);
    expect((reply.json().pipelineRuns as { target: string }[]).map((r) => r.target)).to.deep.equal(['load']);
    const runs = (await runsOf(ns(), 'fanout')).filter((r) => r.spec.params?.export_id === 'exp-small');
    expect(runs.map((r) => r.spec.trigger?.target)).to.deep.equal(['load']);
  });

  it('a retry after an attempt that stored only some runs creates the missing ones and none twice', async () => {
    const id = randomUUID();
    const payload = { export_id: 'exp-partial', record_count: 1000 };
    client.target = 'notify';
    client.failures = 1;
    const first = await deliver(fanout, payload, { deliveryId: id });
    expect(first.status, first.text).to.equal(503); // not acknowledged: the sender retries
    const stored = (await runsOf(ns(), 'fanout')).filter((r) => r.spec.trigger?.deliveryId === `id:${id}`);
    expect(stored.map((r) => r.spec.trigger?.target)).to.deep.equal(['load']);

    const retry = await deliver(fanout, payload, { deliveryId: id });
    expect(retry.status, retry.text).to.equal(202);
    const answer = retry.json() as { correlationId: string; pipelineRuns: { target: string; duplicate: boolean }[]; duplicate: boolean };
    expect(answer.pipelineRuns.map((r) => [r.target, r.duplicate])).to.deep.equal([['load', true], ['notify', false]]);
    expect(answer.duplicate).to.equal(false);
    const runs = (await runsOf(ns(), 'fanout')).filter((r) => r.spec.trigger?.deliveryId === `id:${id}`);
    expect(runs.map((r) => r.spec.trigger?.target).sort()).to.deep.equal(['load', 'notify']);
    // The run stored by the retry adopted the first attempt's correlation ID.
    expect(new Set(runs.map((r) => r.spec.correlationId))).to.deep.equal(new Set([stored[0]!.spec.correlationId]));
    expect(answer.correlationId).to.equal(stored[0]!.spec.correlationId);

    const third = await deliver(fanout, payload, { deliveryId: id });
    expect(third.status, third.text).to.equal(200);
    expect((await runsOf(ns(), 'fanout')).filter((r) => r.spec.trigger?.deliveryId === `id:${id}`)).to.have.length(2);
  });

  it('a delivery no target matches is answered 200 filtered and creates nothing', async () => {
    const only = await createTrigger(operator, ns(), 'only-big', {
      ...TARGETS,
      targets: [{ name: 'notify', pipelineRef: { name: 'notifier' }, filter: 'body.record_count > 100', params: [{ name: 'channel', from: 'query', query: 'channel', default: '#x' }] }],
    });
    const reply = await deliver(only, { export_id: 'tiny', record_count: 1 });
    expect(reply.status, reply.text).to.equal(200);
    expect(reply.json().filtered).to.equal(true);
    expect(await runsOf(ns(), 'only-big')).to.deep.equal([]);
  });

  it('the CRD refuses pipelineRef and targets together; the controller names a missing Pipeline and a repeated target', async () => {
    const both = {
      apiVersion: 'planasonix.io/v1alpha1',
      kind: 'WebhookTrigger',
      metadata: { name: 'both', namespace: ns() },
      spec: { pipelineRef: { name: 'loader' }, targets: [{ pipelineRef: { name: 'notifier' } }] },
    };
    const refused = await kubectl(['apply', '-f', '-'], JSON.stringify(both));
    expect(refused.code).to.not.equal(0);
    expect(refused.stderr).to.include('set exactly one of spec.pipelineRef (one Pipeline) and spec.targets (several)');

    await createTrigger(operator, ns(), 'missing-target', { ...TARGETS, targets: [{ pipelineRef: { name: 'loader' } }, { pipelineRef: { name: 'nowhere' } }] }, { state: 'not-ready' });
    const missing = await waitReason(ns(), 'missing-target', 'False', 'PipelineNotFound');
    expect(readyCondition(missing)!.message).to.include('Pipeline "nowhere" not found').and.include('(target "nowhere")');

    await createTrigger(operator, ns(), 'twice', { ...TARGETS, targets: [{ pipelineRef: { name: 'loader' } }, { pipelineRef: { name: 'loader' } }] }, { state: 'not-ready' });
    const twice = await waitReason(ns(), 'twice', 'False', 'InvalidSpec');
    expect(readyCondition(twice)!.message).to.include('target name "loader" is used twice');
  });
});
