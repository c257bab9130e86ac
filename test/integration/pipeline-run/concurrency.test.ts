// Each concurrencyPolicy against the real API server. Which run may start is decided from the runs
// alone (status and receipt time), so Queue's order also survives an operator restart. There is
// no job controller: the tests finish Jobs by writing the status it would write.
import { expect } from 'chai';
import type { PipelineRun } from '../../../src/api/types.ts';
import { changePipelineStatusOnly } from '../webhook-trigger/trigger-fixtures.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import {
  RecordingClient,
  createPipeline,
  createRun,
  failJob,
  getJob,
  getRun,
  runJobToSuccess,
  settle,
  startJob,
  waitGone,
  waitJob,
  waitPhase,
  watchJobs,
  type RecordedCall,
} from './run-fixtures.ts';

describe('PipelineRun concurrencyPolicy (real API server)', function () {
  this.timeout(60_000);
  const ns = useNamespace('run-conc');
  let operator: TestOperator | undefined;

  before(async () => {
    operator = await startTestOperator({ namespaces: [ns()] });
    await Promise.all([
      createPipeline(ns(), 'allow', { concurrencyPolicy: 'Allow' }),
      createPipeline(ns(), 'forbid', { concurrencyPolicy: 'Forbid' }),
      createPipeline(ns(), 'replace', { concurrencyPolicy: 'Replace' }),
      createPipeline(ns(), 'queue', { concurrencyPolicy: 'Queue' }),
    ]);
  });
  after(async () => operator?.stop());

  /** Receipt times one second apart, in the order given, ending a minute ago. */
  const receivedAt = (i: number) => new Date(Date.now() - 60_000 + i * 1_000);

  it('Allow: runs two Jobs at once (test acts as the Job controller)', async () => {
    await createRun(ns(), 'allow-1', 'allow', { receivedAt: receivedAt(0) });
    await createRun(ns(), 'allow-2', 'allow', { receivedAt: receivedAt(1) });
    await Promise.all([waitJob(ns(), 'allow-1'), waitJob(ns(), 'allow-2')]);
    await Promise.all([startJob(ns(), 'allow-1'), startJob(ns(), 'allow-2')]);
    await Promise.all([waitPhase(ns(), 'allow-1', 'Running'), waitPhase(ns(), 'allow-2', 'Running')]);
  });

  it('Forbid: keeps the second run Pending (ConcurrencyLimited, no Job) until the first finishes, then starts it (test acts as the Job controller)', async () => {
    await createRun(ns(), 'forbid-1', 'forbid', { receivedAt: receivedAt(0) });
    await waitJob(ns(), 'forbid-1');
    await startJob(ns(), 'forbid-1');
    await createRun(ns(), 'forbid-2', 'forbid', { receivedAt: receivedAt(1) });
    const waiting = await waitPhase(ns(), 'forbid-2', 'Pending', 'ConcurrencyLimited');
    expect(waiting.status?.message).to.include('forbid-1');
    expect(waiting.status).not.to.have.property('jobRef');
    await settle(operator!);
    expect(await getJob(ns(), 'forbid-2')).to.equal(undefined);
    expect((await getRun(ns(), 'forbid-2')).status?.reason).to.equal('ConcurrencyLimited');

    // A failure of the first frees the slot just as well; Forbid never fails the waiting run.
    await failJob(ns(), 'forbid-1', 'BackoffLimitExceeded');
    await waitPhase(ns(), 'forbid-1', 'Failed');
    await waitJob(ns(), 'forbid-2');
    const started = await waitPhase(ns(), 'forbid-2', 'Pending', 'JobPending');
    expect(started.status?.jobRef).to.deep.equal({ name: 'forbid-2' });
  });

  it("wakes no run when only the Pipeline's status changes; a change of its policy from Forbid to Allow starts the waiting run (test acts as the Job controller)", async () => {
    await createPipeline(ns(), 'relaxed', { concurrencyPolicy: 'Forbid' });
    await createRun(ns(), 'relaxed-1', 'relaxed', { receivedAt: receivedAt(0) });
    await waitJob(ns(), 'relaxed-1');
    await startJob(ns(), 'relaxed-1');
    await createRun(ns(), 'relaxed-2', 'relaxed', { receivedAt: receivedAt(1) });
    await waitPhase(ns(), 'relaxed-2', 'Pending', 'ConcurrencyLimited');
    await settle(operator!);

    const controller = operator!.controllers.find((c) => c.name === 'pipelinerun')!;
    const reconciles = controller.stats.reconciles;
    await changePipelineStatusOnly(operator!, ns(), 'relaxed');
    expect(controller.queue.length + controller.queue.inFlight, 'runs queued by a status change').to.equal(0);
    expect(controller.stats.reconciles).to.equal(reconciles);

    await adminClient().mergePatch(RESOURCES.pipelines, ns(), 'relaxed', { spec: { concurrencyPolicy: 'Allow' } });
    await waitJob(ns(), 'relaxed-2');
    expect((await getRun(ns(), 'relaxed-1')).status?.phase).to.equal('Running');
  });

  /**
   * Replace as a user sees it: `<p>-1` runs, `<p>-2` arrives, `<p>-1` ends Cancelled (Replaced) and
   * only then does `<p>-2` get its Job. `meanwhile` runs once `<p>-2` exists.
   */
  async function replaceRunning(pipeline: string, meanwhile: () => Promise<void> = async () => {}): Promise<void> {
    const [first, second] = [`${pipeline}-1`, `${pipeline}-2`];
    await createRun(ns(), first, pipeline, { receivedAt: receivedAt(0) });
    await waitJob(ns(), first);
    await startJob(ns(), first);
    await waitPhase(ns(), first, 'Running');
    const jobs = await watchJobs(ns(), `planasonix.io/pipeline=${pipeline}`);
    try {
      await createRun(ns(), second, pipeline, { receivedAt: receivedAt(1) });
      await meanwhile();
      const replaced = await waitPhase(ns(), first, 'Cancelled');
      expect(replaced.status).to.include({ reason: 'Replaced' });
      expect(replaced.status?.message).to.include(second);
      await waitGone(RESOURCES.jobs, ns(), first);
      await waitJob(ns(), second);
      await waitPhase(ns(), second, 'Pending', 'JobPending');
      // The new Job only once the old one was gone.
      const order = jobs.events.filter((e) => e.type !== 'MODIFIED').map((e) => `${e.type} ${e.name}`);
      expect(order).to.deep.equal([`DELETED ${first}`, `ADDED ${second}`]);
    } finally {
      jobs.stop();
    }
  }

  it('Replace: cancels the running run (its Job deleted) and starts the new one (test acts as the Job controller)', async () => {
    await replaceRunning('replace');
  });

  it('Replace: never starts the new run while the cancelled one still has its Job, even when woken meanwhile (test acts as the Job controller)', async () => {
    // The operator's deletes of the old Job fail for a while (as during an API server hiccup), and a
    // spec change of the Pipeline wakes the new run in that window.
    await operator!.stop();
    const client = RecordingClient.create();
    let failures = 0;
    const failJobDelete = (c: RecordedCall) => c.verb === 'delete' && c.resource === RESOURCES.jobs.plural && c.name === 'held-1';
    client.failNext = failJobDelete;
    client.onFailed = () => {
      if (++failures < 8) client.failNext = failJobDelete;
    };
    try {
      operator = await startTestOperator({ namespaces: [ns()] }, { client });
      await createPipeline(ns(), 'held', { concurrencyPolicy: 'Replace' });
      await replaceRunning('held', async () => {
        await eventually(async () => failures >= 1, 10_000, 10);
        await adminClient().mergePatch(RESOURCES.pipelines, ns(), 'held', { spec: { timeout: '59m' } });
        // What kubectl shows meanwhile: the new run waits, and says for what.
        const waiting = await waitPhase(ns(), 'held-2', 'Pending', 'ConcurrencyLimited');
        expect(waiting.status?.message).to.equal('cancelling run held-1 (concurrencyPolicy Replace)');
        expect(waiting.status).not.to.have.property('jobRef');
      });
      expect(failures, 'the old Job\'s deletion was held for every planned failure').to.equal(8);
    } finally {
      await operator!.stop();
      operator = await startTestOperator({ namespaces: [ns()] });
    }
  });

  async function queuedAs(name: string, message: RegExp): Promise<void> {
    await eventually(async () => {
      const run = await getRun(ns(), name);
      return run.status?.reason === 'Queued' && message.test(run.status.message ?? '');
    }, 10_000);
  }

  it('Queue: starts r1, r2, r3 strictly one at a time in order of receipt, also across an operator restart (test acts as the Job controller)', async () => {
    // Names in another order than receipt, so that only the receipt time can give the order.
    const [r1, r2, r3] = ['queue-zulu', 'queue-alpha', 'queue-mike'] as const;
    const jobs = await watchJobs(ns(), 'planasonix.io/pipeline=queue');
    try {
      for (const [i, name] of [r1, r2, r3].entries()) await createRun(ns(), name, 'queue', { receivedAt: receivedAt(i) });
      await waitJob(ns(), r1);
      await waitPhase(ns(), r2, 'Pending', 'Queued');
      await waitPhase(ns(), r3, 'Pending', 'Queued');
      // Reconciled at the same moment as r1, a queued run may first count r1 as queued too; once r1
      // has its Job the queue is told again.
      await queuedAs(r2, /position 1 in the queue.*waiting for run queue-zulu/);
      await queuedAs(r3, /position 2 in the queue/);
      await settle(operator!);
      expect(await getJob(ns(), r2)).to.equal(undefined);
      expect(await getJob(ns(), r3)).to.equal(undefined);

      await runJobToSuccess(ns(), r1);
      await waitJob(ns(), r2);
      await startJob(ns(), r2);
      await waitPhase(ns(), r2, 'Running');
      expect((await getRun(ns(), r3)).status?.reason).to.equal('Queued');

      // A restart while r2 runs: the new operator knows the order from the runs alone.
      await operator!.stop();
      operator = await startTestOperator({ namespaces: [ns()] });
      await settle(operator);
      expect(await getJob(ns(), r3), 'r3 must not start while r2 runs').to.equal(undefined);
      expect((await getRun(ns(), r3)).status?.message).to.match(/position 1 in the queue.*waiting for run queue-alpha/);

      await failJob(ns(), r2, 'DeadlineExceeded');
      await waitPhase(ns(), r2, 'Failed', 'DeadlineExceeded');
      await waitJob(ns(), r3);
      await runJobToSuccess(ns(), r3);
      const last: PipelineRun = await waitPhase(ns(), r3, 'Succeeded');
      expect(last.status?.jobRef).to.deep.equal({ name: r3 });
      expect(jobs.added()).to.deep.equal([r1, r2, r3]);
      expect(jobs.maxUnfinished(), 'Jobs unfinished at one time').to.equal(1);
    } finally {
      jobs.stop();
    }
  });
});
