// History pruning: per Pipeline, the newest history.succeeded succeeded runs and the newest
// history.failed failed (or cancelled) runs are kept; older ones are deleted, and the garbage
// collector removes their Jobs and `<run>-params` Secrets with them.
import { expect } from 'chai';
import type { PipelineRun } from '../../../src/api/types.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { buildSensitiveParamsSecret } from '../../../src/receiver/build-pipeline-run.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { RecordingClient, createPipeline, createRun, exists, failJob, getRun, startJob, succeedJob, waitGone, waitJob, waitPhase } from './run-fixtures.ts';

/** The garbage collector notices a newly installed CRD within about 30 s (longer on a busy machine). */
const GC_TIMEOUT_MS = 60_000;

describe('PipelineRun history pruning (real API server)', function () {
  this.timeout(120_000);
  const ns = useNamespace('run-hist');
  let operator: TestOperator | undefined;

  before(async () => {
    operator = await startTestOperator({ namespaces: [ns()] });
  });
  after(async () => operator?.stop());

  const runNames = async (pipeline: string) =>
    (await adminClient().list<PipelineRun>(RESOURCES.pipelineRuns, ns(), { labelSelector: `planasonix.io/pipeline=${pipeline}` })).items.map((r) => r.metadata.name!).toSorted();

  /** Creates the runs (each with its `<run>-params` Secret, as the receiver makes it) and waits for their Jobs. */
  async function startRuns(pipeline: string, names: readonly string[]): Promise<void> {
    await createPipeline(ns(), pipeline, {
      params: [{ name: 'export_id', required: true }, { name: 'api_token' }],
      history: { succeeded: 2, failed: 1 },
    });
    for (const [i, name] of names.entries()) {
      const run = await createRun(ns(), name, pipeline, { receivedAt: new Date(Date.now() - 120_000 + i * 1_000), spec: { sensitiveParams: ['api_token'] } });
      await adminClient().create(RESOURCES.secrets, buildSensitiveParamsSecret(run, { api_token: `tok_${name}` }));
    }
    await Promise.all(names.map((n) => waitJob(ns(), n)));
    await Promise.all(names.map((n) => startJob(ns(), n, new Date(Date.now() - 100_000))));
  }

  /** Finishes s1…s4 and f1…f3 interleaved, each a second later than the one before (its completion time). */
  const finishes = (p: string) =>
    [`${p}-s1`, `${p}-f1`, `${p}-s2`, `${p}-f2`, `${p}-s3`, `${p}-f3`, `${p}-s4`].map((name, i) => {
      const at = new Date(Date.now() - 60_000 + i * 1_000);
      return { name, finish: () => (name.includes('-s') ? succeedJob(ns(), name, { completionTime: at }) : failJob(ns(), name, 'BackoffLimitExceeded', { at })) };
    });

  async function expectPruned(pipeline: string): Promise<void> {
    const kept = [`${pipeline}-f3`, `${pipeline}-s3`, `${pipeline}-s4`];
    const pruned = [`${pipeline}-f1`, `${pipeline}-f2`, `${pipeline}-s1`, `${pipeline}-s2`];
    await eventually(async () => JSON.stringify(await runNames(pipeline)) === JSON.stringify(kept), 15_000, 100).catch(async (e: Error) => {
      throw new Error(`${e.message}; runs left: ${(await runNames(pipeline)).join(', ')}`);
    });
    for (const name of pruned) {
      await waitGone(RESOURCES.jobs, ns(), name, GC_TIMEOUT_MS);
      await waitGone(RESOURCES.secrets, ns(), `${name}-params`, GC_TIMEOUT_MS);
    }
    for (const name of kept) {
      expect(await exists(RESOURCES.jobs, ns(), name), `Job ${name}`).to.equal(true);
      expect(await exists(RESOURCES.secrets, ns(), `${name}-params`), `Secret ${name}-params`).to.equal(true);
    }
  }

  it('keeps the newest 2 succeeded and 1 failed of 4 + 3 runs finished one after another; the pruned runs\' Jobs and Secrets go too (test acts as the Job controller)', async () => {
    const steps = finishes('seq');
    await startRuns('seq', steps.map((s) => s.name));
    for (const step of steps) {
      await step.finish();
      await waitPhase(ns(), step.name, step.name.includes('-s') ? 'Succeeded' : 'Failed');
    }
    await expectPruned('seq');
  });

  it('does the same when all seven Jobs finish at once (test acts as the Job controller)', async () => {
    const steps = finishes('burst');
    await startRuns('burst', steps.map((s) => s.name));
    await Promise.all(steps.map((s) => s.finish()));
    await expectPruned('burst');
  });

  it('does the same when they finished while the operator was down (test acts as the Job controller)', async () => {
    const steps = finishes('down');
    await startRuns('down', steps.map((s) => s.name));
    await operator!.stop();
    operator = undefined;
    await Promise.all(steps.map((s) => s.finish()));
    operator = await startTestOperator({ namespaces: [ns()] });
    await expectPruned('down');
  });

  it('does the same when all seven finish at once and the operator\'s cache of runs lags 400 ms behind (test acts as the Job controller)', async () => {
    // Each status write is then pruned from a view where none of the others has finished yet.
    await operator!.stop();
    const client = RecordingClient.create();
    client.watchLagMs = { [RESOURCES.pipelineRuns.plural]: 400 };
    operator = await startTestOperator({ namespaces: [ns()] }, { client });
    const steps = finishes('lag');
    await startRuns('lag', steps.map((s) => s.name));
    await eventually(async () => (await Promise.all(steps.map((s) => getRun(ns(), s.name)))).every((r) => r.status?.phase === 'Running'), 10_000, 50);
    await Promise.all(steps.map((s) => s.finish()));
    await expectPruned('lag');
  });
});
