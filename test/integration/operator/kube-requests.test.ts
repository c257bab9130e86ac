// planasonix_kube_requests_total against the real API server: what one delivery costs it, as a user
// reads it from the metrics. A receiver replica writes exactly a DeliveryRecord and a PipelineRun for a
// new planasonix delivery, and nothing new for its retry; the controllers then write the Job and the
// run's status.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { createPipeline, createTrigger, planasonixHeaders, send, type TriggerHandle } from '../receiver/receiver-fixtures.ts';
import { signRequest } from '../../../src/signing/sign-request.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import type { PipelineRun } from '../../../src/api/types.ts';
import { parseRequestCounts, quietRequestCounts, writesBetween, type RequestCounts } from '../../../bench/api-writes.ts';

/** The operator's requests by "verb resource[/subresource] code", read from its scrape as Prometheus would. */
async function requestCounts(operator: TestOperator): Promise<RequestCounts> {
  return parseRequestCounts(await operator.metrics.registry.metrics());
}

describe('planasonix_kube_requests_total: what a delivery costs the API server', function () {
  this.timeout(60_000);
  const ns = useNamespace('kube-requests');
  let leader: TestOperator;
  let replica: TestOperator;
  let trigger: TriggerHandle;

  before(async () => {
    // Both watch this namespace only: an operator of the whole cluster would also count its work on
    // what other tests leave behind (runs in namespaces being deleted, say).
    leader = await startTestOperator({ namespaces: [ns()] });
    replica = await startTestOperator({ components: 'receiver', namespaces: [ns()] });
    await createPipeline(ns());
    trigger = await createTrigger(leader, ns(), 'counted');
    await eventually(async () => replica.routes?.lookup(trigger.path)?.state === 'serving', 20_000);
  });
  after(async () => {
    await replica?.stop();
    await leader?.stop();
  });

  it('a receiver replica writes one DeliveryRecord and one PipelineRun per new delivery, and only refused creates for its retry', async () => {
    const body = Buffer.from(JSON.stringify({ export_id: 'counted' }));
    const headers = planasonixHeaders(trigger.secret, body, { deliveryId: `evt_${randomUUID()}` });

    const before = await requestCounts(replica);
    expect((await send(replica.receiverUrl, trigger.path, { headers, body })).status).to.equal(202);
    const afterFirst = await requestCounts(replica);
    expect(writesBetween(before, afterFirst)).to.deep.equal({ 'create deliveryrecords 201': 1, 'create pipelineruns 201': 1 });

    expect((await send(replica.receiverUrl, trigger.path, { headers, body })).status).to.equal(200);
    // The retry finds both by their names: two creates refused as AlreadyExists, then two reads.
    expect(writesBetween(afterFirst, await requestCounts(replica))).to.deep.equal({ 'create deliveryrecords 409': 1, 'create pipelineruns 409': 1 });
  });

  it('with signedDeliveryIdOnly, one PipelineRun and nothing else per new delivery', async () => {
    const strict = await createTrigger(leader, ns(), 'counted-v2', { auth: { scheme: 'planasonix', signedDeliveryIdOnly: true } });
    await eventually(async () => replica.routes?.lookup(strict.path)?.state === 'serving', 20_000);
    const body = Buffer.from(JSON.stringify({ export_id: 'counted-v2' }));
    const headers = signRequest('planasonix', { secret: strict.secret, body, deliveryId: `evt_${randomUUID()}` });
    const before = await requestCounts(replica);
    expect((await send(replica.receiverUrl, strict.path, { headers, body })).status).to.equal(202);
    expect(writesBetween(before, await requestCounts(replica))).to.deep.equal({ 'create pipelineruns 201': 1 });
  });

  it("the controllers' writes for the run: its Job and its status", async () => {
    // The earlier tests' runs get their Jobs and statuses from the leader too, just after their 202s:
    // counted from before those writes, they would be charged to this run. The API server shows a
    // write before the leader has read its answer and counted it (CI once charged an earlier run's
    // status write to this run that way), so the count starts once the leader's counters are quiet.
    await eventually(async () => {
      const runs = await adminClient().list<PipelineRun>(RESOURCES.pipelineRuns, ns());
      return runs.items.length > 0 && runs.items.every((r) => r.status?.jobRef !== undefined);
    }, 20_000);
    const before = await quietRequestCounts(() => requestCounts(leader), { quietMs: 1_000, timeoutMs: 15_000 });
    const body = Buffer.from(JSON.stringify({ export_id: 'counted-run' }));
    const headers = planasonixHeaders(trigger.secret, body, { deliveryId: `evt_${randomUUID()}` });
    expect((await send(replica.receiverUrl, trigger.path, { headers, body })).status).to.equal(202);
    const writes = await eventually(async () => {
      const w = writesBetween(before, await requestCounts(leader));
      return w['create jobs 201'] && w['patch pipelineruns/status 200'] ? w : undefined;
    }, 20_000);
    expect(writes['create jobs 201']).to.equal(1);
    expect(writes['patch pipelineruns/status 200']).to.equal(1);
    // No write for the run (its Job, its status, its Event) fails, and none goes to the trigger's spec
    // or Secret. (A status write of the trigger may meet a Conflict and be retried quietly.)
    const forTheRun = Object.keys(writes).filter((k) => /^\w+ (jobs|pipelineruns|pipelineruns\/status|events) /.test(k));
    expect(forTheRun.filter((k) => !/ 20[01]$/.test(k)), JSON.stringify(writes)).to.deep.equal([]);
    expect(Object.keys(writes).filter((k) => /webhooktriggers |secrets /.test(k)), JSON.stringify(writes)).to.deep.equal([]);
  });
});
