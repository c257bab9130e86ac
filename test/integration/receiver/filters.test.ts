// spec.filter against the real API server: a matching delivery starts its run, a non-matching one
// is answered 200 {"filtered": true} and creates nothing (counted outcome="filtered"), an expression
// that does not compile keeps the trigger from being Ready with the CEL compiler's message, and a
// payload built to make the filter run for hours is stopped at its cost limit while other triggers
// keep being served.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { kubectl, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { readyCondition, waitReason } from '../webhook-trigger/trigger-fixtures.ts';
import { createPipeline, createTrigger, deliver, runsOf, type TriggerHandle } from './receiver-fixtures.ts';

describe('receiver: payload filters (spec.filter, CEL)', function () {
  this.timeout(60_000);
  const ns = useNamespace('rx-filters');
  let operator: TestOperator;
  let onMain: TriggerHandle;

  before(async () => {
    operator = await startTestOperator();
    await createPipeline(ns());
    onMain = await createTrigger(operator, ns(), 'on-main', {
      filter: 'body.ref == "refs/heads/main" && headers["x-event"] == "push"',
    });
  });
  after(async () => operator?.stop());

  async function filteredCount(trigger: string): Promise<number> {
    const metric = await operator.metrics.registry.getSingleMetric('planasonix_webhook_requests_total')!.get();
    return metric.values.filter((v) => v.labels.trigger === trigger && v.labels.outcome === 'filtered').reduce((sum, v) => sum + v.value, 0);
  }

  it('a matching delivery starts its run', async () => {
    const reply = await deliver(onMain, { export_id: 'exp-main', ref: 'refs/heads/main' }, { headers: { 'x-event': 'push' } });
    expect(reply.status, reply.text).to.equal(202);
    const runs = await runsOf(ns(), 'on-main');
    expect(runs.map((r) => r.spec.params?.export_id)).to.deep.equal(['exp-main']);
  });

  it('a delivery it does not match is answered 200 filtered, creates nothing and is counted', async () => {
    const before = await filteredCount('on-main');
    const runsBefore = (await runsOf(ns(), 'on-main')).length;
    const other = await deliver(onMain, { export_id: 'exp-dev', ref: 'refs/heads/dev' }, { headers: { 'x-event': 'push' } });
    expect(other.status, other.text).to.equal(200);
    expect(other.json()).to.have.keys('filtered', 'correlationId');
    expect(other.json().filtered).to.equal(true);
    expect(other.headers['x-correlation-id']).to.equal(other.json().correlationId);
    // A payload without the field the filter reads is no match either; the answer says why.
    const ping = await deliver(onMain, { zen: 'ping' }, { headers: { 'x-event': 'push' } });
    expect(ping.status, ping.text).to.equal(200);
    expect(ping.json()).to.include({ filtered: true, filterError: 'field not found: ref' });
    expect((await runsOf(ns(), 'on-main')).length).to.equal(runsBefore);
    expect(await filteredCount('on-main')).to.equal(before + 2);
  });

  it('a CloudEvent\'s attributes are available (binary mode)', async () => {
    const onEvent = await createTrigger(operator, ns(), 'on-event', { filter: 'cloudevent.type == "com.example.export.completed"' });
    const ce = (type: string) => ({ 'ce-specversion': '1.0', 'ce-id': randomUUID(), 'ce-source': '/billing', 'ce-type': type });
    const matched = await deliver(onEvent, { export_id: 'exp-ce' }, { headers: ce('com.example.export.completed') });
    expect(matched.status, matched.text).to.equal(202);
    const other = await deliver(onEvent, { export_id: 'exp-ce2' }, { headers: ce('com.example.export.started') });
    expect(other.status, other.text).to.equal(200);
    expect(other.json().filtered).to.equal(true);
    expect((await runsOf(ns(), 'on-event')).map((r) => r.spec.params?.export_id)).to.deep.equal(['exp-ce']);
  });

  it('an unsigned delivery is refused before the filter runs', async () => {
    const reply = await deliver({ ...onMain, secret: 'not-the-secret' }, { ref: 'refs/heads/dev' }, { headers: { 'x-event': 'push' } });
    expect(reply.status, reply.text).to.equal(401);
  });

  it('an expression that does not compile: not Ready, with the compiler\'s message (kubectl shows it)', async () => {
    const manifest = {
      apiVersion: 'planasonix.io/v1alpha1',
      kind: 'WebhookTrigger',
      metadata: { name: 'bad-filter', namespace: ns() },
      spec: { pipelineRef: { name: 'loader' }, params: [{ name: 'export_id', from: 'body', path: '/export_id' }], filter: 'body.ref ==' },
    };
    const applied = await kubectl(['apply', '-f', '-'], JSON.stringify(manifest));
    expect(applied.code, applied.stderr).to.equal(0);
    const t = await waitReason(ns(), 'bad-filter', 'False', 'InvalidFilter');
    expect(readyCondition(t)!.message).to.match(/^spec\.filter: at 1:\d+: found .+ but expecting /);
    // Fixing it makes the trigger Ready.
    const fixed = await kubectl(['patch', 'webhooktrigger', 'bad-filter', '-n', ns(), '--type=merge', '-p', '{"spec":{"filter":"body.ref == \\"x\\""}}']);
    expect(fixed.code, fixed.stderr).to.equal(0);
    await waitReason(ns(), 'bad-filter', 'True', 'Serving');
  });

  describe('cost limit (abuse)', () => {
    let quadratic: TriggerHandle;
    before(async () => {
      quadratic = await createTrigger(operator, ns(), 'quadratic', {
        filter: 'body.items.all(x, body.items.all(y, x + y >= 0.0))',
        payload: { maxBytes: '1Mi' },
      });
    });

    it('a payload that would make the filter run for hours is stopped and answered 400; other triggers are served meanwhile', async () => {
      // 200,000 items: 4·10^10 steps unmetered.
      const items = Array.from({ length: 200_000 }, () => 1);
      const runsBefore = (await runsOf(ns(), 'quadratic')).length;
      const attack = deliver(quadratic, { export_id: 'x', items }, { deliveryId: randomUUID() });
      const normal = deliver(onMain, { export_id: 'exp-during', ref: 'refs/heads/main' }, { headers: { 'x-event': 'push' } });
      const [stopped, served] = await Promise.all([attack, normal]);
      expect(stopped.status, stopped.text).to.equal(400);
      expect(stopped.json()).to.deep.equal({
        error: 'filter_limit_exceeded',
        message: 'the trigger\'s filter could not be evaluated on this payload within its cost limit',
      });
      expect(stopped.durationMs, 'stopped at the budget, not after the whole evaluation').to.be.below(10_000);
      expect(served.status, served.text).to.equal(202);
      expect((await runsOf(ns(), 'quadratic')).length).to.equal(runsBefore);
    });

    it('the same trigger accepts a small payload', async () => {
      const reply = await deliver(quadratic, { export_id: 'small', items: [1, 2, 3] });
      expect(reply.status, reply.text).to.equal(202);
    });
  });
});
