// From a signed webhook to the Job, through the receiver and the run controller: the Job carries the
// params, the PLANASONIX_ variables and the TRACEPARENT of the delivery, and the time from the 202 to the Job's
// creation (seen through a watch on Jobs, as any client would see it) is measured.
import { expect } from 'chai';
import { eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { PIPELINE, createPipeline, createTrigger, deliver, type TriggerHandle } from '../receiver/receiver-fixtures.ts';
import { getRun, waitJob, watchJobs, type JobWatch } from './run-fixtures.ts';

const DELIVERIES = 30;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!;
}

describe('signed webhook to Job (real API server)', function () {
  this.timeout(60_000);
  const ns = useNamespace('run-hook');
  let operator: TestOperator;
  let trigger: TriggerHandle;
  let jobs: JobWatch;

  before(async () => {
    operator = await startTestOperator({ namespaces: [ns()] });
    await createPipeline(ns());
    trigger = await createTrigger(operator, ns(), 'latency');
    jobs = await watchJobs(ns());
  });
  after(async () => {
    jobs?.stop();
    await operator?.stop();
  });

  it('gives the Job the params, the correlation and delivery IDs, the run, Pipeline and trigger names', async () => {
    const reply = await deliver(trigger, { export_id: 'exp_env', record_count: 7 }, { deliveryId: 'dlv-env-1', headers: { 'x-requested-by': 'billing' } });
    expect(reply.status, reply.text).to.equal(202);
    const { correlationId, pipelineRun } = reply.json() as { correlationId: string; pipelineRun: { name: string } };
    const job = await waitJob(ns(), pipelineRun.name);
    const run = await getRun(ns(), pipelineRun.name);
    // The receiver's delivery key: the sender's ID, prefixed with where it came from (`id:` for the
    // scheme's delivery header); stable across retries, so the pipeline can deduplicate on it.
    expect(run.spec.trigger?.deliveryId).to.equal('id:dlv-env-1');
    expect(job.spec.template.spec!.containers![0]!.env).to.deep.equal([
      { name: 'PARAM_API_TOKEN' }, // an optional param not sent: "", which the API server stores as no value
      { name: 'PARAM_EXPORT_ID', value: 'exp_env' },
      { name: 'PARAM_RECORD_COUNT', value: '7' },
      { name: 'PARAM_REQUESTED_BY', value: 'billing' },
      { name: 'PLANASONIX_CORRELATION_ID', value: correlationId },
      { name: 'PLANASONIX_DELIVERY_ID', value: 'id:dlv-env-1' },
      { name: 'PLANASONIX_PIPELINE', value: PIPELINE },
      { name: 'PLANASONIX_PIPELINE_RUN', value: pipelineRun.name },
      { name: 'PLANASONIX_TRIGGER', value: 'latency' },
      // No traceparent on the request: a new trace whose ID is the correlation ID.
      { name: 'TRACEPARENT', value: run.metadata.annotations!['planasonix.io/traceparent'] },
    ]);
    expect(run.metadata.annotations!['planasonix.io/traceparent']).to.match(new RegExp(`^00-${correlationId.replaceAll('-', '')}-[0-9a-f]{16}-01$`));
    expect(job.spec.template.spec!.containers![0]!.args).to.deep.equal(['--export', 'exp_env']);
  });

  it(`takes a short time from the 202 to the Job's creation (median over ${DELIVERIES} deliveries)`, async () => {
    const latencies: number[] = [];
    for (let i = 0; i < DELIVERIES; i++) {
      const reply = await deliver(trigger, { export_id: `exp_${i}` }, { deliveryId: `dlv-latency-${i}` });
      const acceptedAt = performance.now();
      expect(reply.status, reply.text).to.equal(202);
      const name = (reply.json() as { pipelineRun: { name: string } }).pipelineRun.name;
      await waitJob(ns(), name, 10_000);
      // The Job exists; its watch event (which carries the time it was seen) may trail the GET.
      const seen = await eventually(async () => jobs.events.find((e) => e.type === 'ADDED' && e.name === name), 5_000, 10);
      latencies.push(seen!.at - acceptedAt);
    }
    const sorted = latencies.toSorted((a, b) => a - b);
    const median = (percentile(sorted, 0.5) + sorted[Math.ceil((sorted.length - 1) / 2)]!) / 2;
    console.log(
      `      202 → Job ADDED over ${DELIVERIES} deliveries: median ${median.toFixed(1)} ms, p90 ${percentile(sorted, 0.9).toFixed(1)} ms, min ${sorted[0]!.toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`,
    );
    expect(median).to.be.below(1_000);
  });
});
