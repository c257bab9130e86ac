// W3C trace context from a delivery to its Job, through the real API server: the sender's
// traceparent is kept on the run, handed to the Job as TRACEPARENT and written in the receiver's log
// line; a delivery without one (or with an invalid one) gets a new trace seeded by its correlation ID.
import { expect } from 'chai';
import { ANNOTATIONS } from '../../../src/api/constants.ts';
import { createLogCapture, createLogger, type LogCapture } from '../../../src/observability/logger.ts';
import { parseTraceparent } from '../../../src/tracing/trace-context.ts';
import { useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { createPipeline, createTrigger, deliver, type TriggerHandle } from '../receiver/receiver-fixtures.ts';
import { getRun, waitJob } from '../pipeline-run/run-fixtures.ts';

const SENDERS_TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('trace context: traceparent from the request to the Job (real API server)', function () {
  this.timeout(60_000);
  const ns = useNamespace('trace');
  let operator: TestOperator;
  let trigger: TriggerHandle;
  let capture: LogCapture;

  before(async () => {
    capture = createLogCapture();
    operator = await startTestOperator({ namespaces: [ns()] }, { logger: createLogger({ level: 'info', destination: capture.destination }) });
    await createPipeline(ns());
    trigger = await createTrigger(operator, ns(), 'traced');
  });
  after(async () => {
    await operator?.stop();
  });

  const envOf = (job: Awaited<ReturnType<typeof waitJob>>) => Object.fromEntries((job.spec.template.spec!.containers![0]!.env ?? []).map((e) => [e.name, e.value]));
  const logLineOf = (correlationId: string) =>
    capture.records().find((r) => r.msg === 'webhook request' && (r as { correlationId?: string }).correlationId === correlationId) as { traceparent?: string; outcome?: string } | undefined;

  it("keeps the sender's traceparent and tracestate on the run, gives them to the Job and logs the traceparent", async () => {
    const reply = await deliver(trigger, { export_id: 'exp_traced' }, { headers: { traceparent: SENDERS_TRACEPARENT, tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' } });
    expect(reply.status, reply.text).to.equal(202);
    const { correlationId, pipelineRun } = reply.json() as { correlationId: string; pipelineRun: { name: string } };

    const run = await getRun(ns(), pipelineRun.name);
    expect(run.metadata.annotations?.[ANNOTATIONS.traceparent]).to.equal(SENDERS_TRACEPARENT);
    expect(run.metadata.annotations?.[ANNOTATIONS.tracestate]).to.equal('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
    const job = await waitJob(ns(), pipelineRun.name);
    expect(envOf(job)).to.include({ TRACEPARENT: SENDERS_TRACEPARENT, TRACESTATE: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' });
    expect(job.spec.template.metadata?.annotations?.[ANNOTATIONS.traceparent]).to.equal(SENDERS_TRACEPARENT);
    expect(logLineOf(correlationId)?.traceparent).to.equal(SENDERS_TRACEPARENT);
  });

  it('starts a new trace from the correlation ID when the request has no traceparent', async () => {
    const reply = await deliver(trigger, { export_id: 'exp_untraced' });
    expect(reply.status, reply.text).to.equal(202);
    const { correlationId, pipelineRun } = reply.json() as { correlationId: string; pipelineRun: { name: string } };

    const run = await getRun(ns(), pipelineRun.name);
    const stored = run.metadata.annotations?.[ANNOTATIONS.traceparent];
    const parsed = parseTraceparent(stored);
    expect(parsed, `valid traceparent, got ${stored}`).to.not.equal(undefined);
    // The trace ID is the correlation ID (a UUID is 128 bits): a tracing backend finds the run by it.
    expect(parsed!.traceId).to.equal(correlationId.replaceAll('-', ''));
    const job = await waitJob(ns(), pipelineRun.name);
    expect(envOf(job).TRACEPARENT).to.equal(stored);
    expect(envOf(job)).to.not.have.property('TRACESTATE');
    expect(logLineOf(correlationId)?.traceparent).to.equal(stored);
  });

  it('ignores an invalid traceparent: a new trace, and the invalid value is never stored or logged', async () => {
    const invalid = '00-00000000000000000000000000000000-00f067aa0ba902b7-01'; // an all-zero trace ID is invalid
    const reply = await deliver(trigger, { export_id: 'exp_bad_trace' }, { headers: { traceparent: invalid, tracestate: 'congo=keep-me-not' } });
    expect(reply.status, reply.text).to.equal(202);
    const { correlationId, pipelineRun } = reply.json() as { correlationId: string; pipelineRun: { name: string } };
    const run = await getRun(ns(), pipelineRun.name);
    expect(parseTraceparent(run.metadata.annotations?.[ANNOTATIONS.traceparent])?.traceId).to.equal(correlationId.replaceAll('-', ''));
    expect(run.metadata.annotations).to.not.have.property(ANNOTATIONS.tracestate);
    expect(capture.text()).to.not.include(invalid);
    expect(capture.text()).to.not.include('keep-me-not');
  });

  it("answers a retry with the first delivery's run and logs that run's traceparent", async () => {
    const first = await deliver(trigger, { export_id: 'exp_retry' }, { deliveryId: 'dlv-trace-retry', headers: { traceparent: SENDERS_TRACEPARENT } });
    expect(first.status, first.text).to.equal(202);
    const retry = await deliver(trigger, { export_id: 'exp_retry' }, { deliveryId: 'dlv-trace-retry' });
    expect(retry.status, retry.text).to.equal(200);
    const { correlationId } = retry.json() as { correlationId: string };
    const lines = capture.records().filter((r) => r.msg === 'webhook request' && (r as { correlationId?: string }).correlationId === correlationId) as { traceparent?: string; outcome?: string }[];
    expect(lines.map((l) => [l.outcome, l.traceparent])).to.deep.equal([
      ['accepted', SENDERS_TRACEPARENT],
      ['duplicate', SENDERS_TRACEPARENT],
    ]);
  });
});
