// A run's life against the real API server: Pending (JobPending) → Running → Succeeded or Failed,
// with the Job's times, attempts, reasons and messages; Events; no status write that changes
// nothing; cancellation; deletion; and runs that cannot start failing at once without a Job and
// without a retry loop. There is no job controller: the tests write the Job status it would write.
import { expect } from 'chai';
import type { PipelineRun } from '../../../src/api/types.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, kubectl, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import {
  JOB_FAILURES,
  RecordingClient,
  type RunOptions,
  createJobPod,
  createPipeline,
  createRun,
  eventsFor,
  failJob,
  getJob,
  getRun,
  kubeTime,
  reconcileTotal,
  resync,
  runController,
  settle,
  startJob,
  succeedJob,
  waitEvent,
  waitGone,
  waitJob,
  waitPhase,
  waitRun,
} from './run-fixtures.ts';

const PIPELINE = 'lifecycle';
/** The garbage collector notices a newly installed CRD within about 30 s (longer on a busy machine). */
const GC_TIMEOUT_MS = 60_000;

const succeeded = (r: PipelineRun) => r.status?.conditions?.find((c) => c.type === 'Succeeded');

describe('PipelineRun lifecycle (real API server)', function () {
  this.timeout(90_000);
  const ns = useNamespace('run-life');
  let operator: TestOperator | undefined;
  let client: RecordingClient;

  const start = async () => {
    client = RecordingClient.create();
    operator = await startTestOperator({ namespaces: [ns()] }, { client });
  };

  before(async () => {
    await start();
    await createPipeline(ns(), PIPELINE, { timeout: '30s', retries: 2 });
  });
  after(async () => operator?.stop());

  it('mirrors a successful Job: Pending (JobPending) → Running (startTime) → Succeeded (completionTime, attempts); kubectl wait works (test acts as the Job controller)', async () => {
    await createRun(ns(), 'ok', PIPELINE);
    const job = await waitJob(ns(), 'ok');
    expect(job.spec.activeDeadlineSeconds).to.equal(30);
    expect(job.spec.backoffLimit).to.equal(2);
    const pending = await waitPhase(ns(), 'ok', 'Pending', 'JobPending');
    expect(pending.status?.jobRef).to.deep.equal({ name: 'ok' });
    expect(pending.status).not.to.have.property('startTime');
    expect(succeeded(pending)).to.include({ status: 'Unknown', reason: 'JobPending' });

    const waiting = kubectl(['wait', '-n', ns(), '--for=condition=Succeeded', 'pipelinerun/ok', '--timeout=20s']);
    const startedAt = new Date(Date.now() - 3_000);
    await startJob(ns(), 'ok', startedAt);
    const running = await waitPhase(ns(), 'ok', 'Running', 'JobActive');
    expect(running.status?.startTime).to.equal(kubeTime(startedAt));
    expect(running.status?.attempts).to.equal(1);
    expect(succeeded(running)).to.include({ status: 'Unknown', reason: 'JobActive' });

    const finished = await succeedJob(ns(), 'ok', {
      // SuccessCriteriaMet alone does not finish the run: the pods may still be terminating.
      interim: async () => {
        const r = await waitRun(ns(), 'ok', (x) => /succeeded; waiting for its pods/.test(x.status?.message ?? ''));
        expect(r.status?.phase).to.equal('Running');
      },
    });
    const done = await waitPhase(ns(), 'ok', 'Succeeded', 'Completed');
    expect(done.status).to.include({ startTime: kubeTime(startedAt), completionTime: finished.status!.completionTime, attempts: 1 });
    expect(succeeded(done)).to.include({ status: 'True', reason: 'Completed' });

    const waited = await waiting;
    expect(waited.code, waited.stderr).to.equal(0);
    expect(waited.stdout).to.include('pipelinerun.planasonix.io/ok condition met');
    await waitEvent(ns(), 'ok', 'RunStarted');
    const ev = await waitEvent(ns(), 'ok', 'RunSucceeded');
    expect(ev.type).to.equal('Normal');
  });

  for (const [reason, failed] of [
    ['BackoffLimitExceeded', 3],
    ['DeadlineExceeded', 1],
  ] as const) {
    it(`mirrors a Job that failed with ${reason}: Running until Failed=True, then Failed with the Job's reason and message (test acts as the Job controller)`, async () => {
      const name = `fail-${reason.toLowerCase()}`;
      await createRun(ns(), name, PIPELINE);
      await waitJob(ns(), name);
      const waiting = kubectl(['wait', '-n', ns(), '--for=condition=Succeeded=false', `pipelinerun/${name}`, '--timeout=20s']);
      const startedAt = new Date(Date.now() - 5_000);
      await startJob(ns(), name, startedAt);
      await waitPhase(ns(), name, 'Running');
      const at = new Date(Date.now() - 1_000);
      await failJob(ns(), name, reason, {
        failed,
        at,
        // FailureTarget alone does not finish the run either.
        interim: async () => {
          const r = await waitRun(ns(), name, (x) => (x.status?.message ?? '').includes(`the Job is failing (${reason})`));
          expect(r.status?.phase).to.equal('Running');
        },
      });
      const run = await waitPhase(ns(), name, 'Failed');
      expect(run.status).to.include({ reason, message: JOB_FAILURES[reason], startTime: kubeTime(startedAt), completionTime: kubeTime(at), attempts: failed });
      expect(succeeded(run)).to.include({ status: 'False', reason, message: JOB_FAILURES[reason] });
      expect((await waiting).code).to.equal(0);
      await waitEvent(ns(), name, 'RunStarted');
      const ev = await waitEvent(ns(), name, 'RunFailed');
      expect(ev).to.include({ type: 'Warning', note: `${reason}: ${JOB_FAILURES[reason]}` });
    });
  }

  it('writes no status when a resync or a Job update finds nothing changed (pending, running and finished runs; test acts as the Job controller)', async () => {
    await createRun(ns(), 'idle', PIPELINE);
    await waitPhase(ns(), 'idle', 'Pending', 'JobPending');
    await createRun(ns(), 'busy', PIPELINE);
    await waitJob(ns(), 'busy');
    await startJob(ns(), 'busy');
    await waitPhase(ns(), 'busy', 'Running');
    await settle(operator!);
    const names = ['ok', 'fail-backofflimitexceeded', 'fail-deadlineexceeded', 'idle', 'busy'];
    const statusWrites = client.runStatusWrites().length;
    const calls = client.calls.length;
    await resync(operator!, ns(), names);
    await resync(operator!, ns(), names);
    // A Job status change that changes nothing the run shows (its pod became ready) is no change either.
    const reconciles = runController(operator!).stats.reconciles;
    await adminClient().patchStatus(RESOURCES.jobs, ns(), 'busy', { ready: 1 });
    await eventually(async () => runController(operator!).stats.reconciles > reconciles, 5_000, 20);
    await settle(operator!);
    expect(client.runStatusWrites().length - statusWrites, 'status writes during the resync').to.equal(0);
    const writes = client.calls.slice(calls).filter((c) => c.verb !== 'get' && c.verb !== 'list' && c.verb !== 'watch');
    expect(writes, 'API writes during the resync').to.deep.equal([]);
  });

  it('cancels on `kubectl patch … cancelled=true`: the Job is deleted with propagation (its pod goes too) and the run ends Cancelled', async () => {
    await createRun(ns(), 'cancel-me', PIPELINE);
    const job = await waitJob(ns(), 'cancel-me');
    await startJob(ns(), 'cancel-me');
    // As the Job controller would, create the Job's pod (never scheduled; test/e2e cancels a real one).
    const pod = await createJobPod(ns(), job);
    const running = await waitPhase(ns(), 'cancel-me', 'Running');

    const res = await kubectl(['patch', '-n', ns(), 'pipelinerun', 'cancel-me', '--type', 'merge', '-p', '{"spec":{"cancelled":true}}']);
    expect(res.code, res.stderr).to.equal(0);
    const run = await waitPhase(ns(), 'cancel-me', 'Cancelled', 'Cancelled');
    expect(run.status?.startTime).to.equal(running.status!.startTime);
    expect(run.status?.jobRef).to.deep.equal({ name: 'cancel-me' });
    expect(run.status?.completionTime).to.be.a('string');
    expect(succeeded(run)).to.include({ status: 'False', reason: 'Cancelled' });
    const deletes = client.calls.filter((c) => c.verb === 'delete' && c.resource === 'jobs' && c.name === 'cancel-me');
    expect(deletes.map((d) => d.body)).to.deep.equal([{ propagationPolicy: 'Background' }]);
    await waitGone(RESOURCES.jobs, ns(), 'cancel-me');
    await waitGone(RESOURCES.pods, ns(), pod, GC_TIMEOUT_MS);
    await waitEvent(ns(), 'cancel-me', 'RunCancelled');
  });

  it('keeps a Succeeded run Succeeded (and its Job) when a cancel arrives after the Job finished (test acts as the Job controller)', async () => {
    await createRun(ns(), 'late-cancel', PIPELINE);
    await waitJob(ns(), 'late-cancel');
    await startJob(ns(), 'late-cancel');
    await succeedJob(ns(), 'late-cancel');
    const done = await waitPhase(ns(), 'late-cancel', 'Succeeded');
    const before = await reconcileTotal(operator!);
    const res = await kubectl(['patch', '-n', ns(), 'pipelinerun', 'late-cancel', '--type', 'merge', '-p', '{"spec":{"cancelled":true}}']);
    expect(res.code, res.stderr).to.equal(0);
    await eventually(async () => (await reconcileTotal(operator!)) > before, 5_000, 20);
    await settle(operator!);
    const after = await getRun(ns(), 'late-cancel');
    expect(after.spec.cancelled).to.equal(true);
    expect(after.status).to.deep.equal(done.status);
    expect(await getJob(ns(), 'late-cancel')).to.not.equal(undefined);
  });

  it('also when the cancel and the Job\'s completion both arrive while the operator is down (test acts as the Job controller)', async () => {
    await createRun(ns(), 'race-cancel', PIPELINE);
    await waitJob(ns(), 'race-cancel');
    await startJob(ns(), 'race-cancel');
    await waitPhase(ns(), 'race-cancel', 'Running');
    await operator!.stop();
    operator = undefined;
    const finished = await succeedJob(ns(), 'race-cancel');
    const res = await kubectl(['patch', '-n', ns(), 'pipelinerun', 'race-cancel', '--type', 'merge', '-p', '{"spec":{"cancelled":true}}']);
    expect(res.code, res.stderr).to.equal(0);
    await start();
    const run = await waitRun(ns(), 'race-cancel', (r) => r.status?.phase !== 'Running');
    expect(run.status).to.include({ phase: 'Succeeded', reason: 'Completed', completionTime: finished.status!.completionTime });
    await settle(operator!);
    expect(await getJob(ns(), 'race-cancel')).to.not.equal(undefined);
    expect(client.calls.filter((c) => c.verb === 'delete')).to.deep.equal([]);
  });

  it('deleting a PipelineRun deletes its Job (garbage collector)', async () => {
    await createRun(ns(), 'deleted', PIPELINE);
    const job = await waitJob(ns(), 'deleted');
    const run = await getRun(ns(), 'deleted');
    expect(job.metadata.ownerReferences?.[0]).to.include({ kind: 'PipelineRun', uid: run.metadata.uid, controller: true });
    await adminClient().delete(RESOURCES.pipelineRuns, ns(), 'deleted');
    await waitGone(RESOURCES.jobs, ns(), 'deleted', GC_TIMEOUT_MS);
  });

  describe('runs that cannot start', () => {
    const cases: { name: string; reason: string; message: RegExp; opts: RunOptions }[] = [
      { name: 'no-pipeline', reason: 'PipelineNotFound', message: /Pipeline "missing" not found/, opts: { spec: { pipelineRef: { name: 'missing' } } } },
      { name: 'no-version', reason: 'PipelineVersionNotFound', message: /has no version "v9"/, opts: { spec: { pipelineRef: { name: PIPELINE, version: 'v9' } } } },
      { name: 'undeclared', reason: 'InvalidParams', message: /does not declare param "color"/, opts: { params: { export_id: 'exp_1', color: 'red' } } },
      { name: 'missing-param', reason: 'InvalidParams', message: /missing required param "export_id"/, opts: { params: {} } },
      {
        name: 'bad-payload',
        reason: 'InvalidPayload',
        message: /export_id: missing at \/export_id/,
        opts: { params: {}, spec: { payloadErrors: [{ param: 'export_id', message: 'missing at /export_id' }] } },
      },
    ];

    it('fail at once with PipelineNotFound / PipelineVersionNotFound / InvalidParams / InvalidPayload, never create a Job, and are not retried', async () => {
      await settle(operator!);
      const errorsBefore = runController(operator!).stats.errors;
      const t0 = Date.now();
      await Promise.all(cases.map((c) => createRun(ns(), c.name, c.opts.spec?.pipelineRef?.name ?? PIPELINE, c.opts)));
      for (const c of cases) {
        const run = await waitPhase(ns(), c.name, 'Failed', undefined, 5_000);
        expect(run.status?.reason, c.name).to.equal(c.reason);
        expect(run.status?.message, c.name).to.match(c.message);
        expect(run.status?.completionTime, c.name).to.be.a('string');
        expect(run.status, c.name).not.to.have.property('jobRef');
        expect(succeeded(run), c.name).to.include({ status: 'False', reason: c.reason });
      }
      console.log(`      all ${cases.length} failed within ${Date.now() - t0} ms of being created`);
      await settle(operator!);
      const reconciles = await reconcileTotal(operator!);
      await new Promise((r) => setTimeout(r, 2_500)); // deliberate negative check: no retry loop in this window
      expect(await reconcileTotal(operator!), 'reconciles after the runs failed').to.equal(reconciles);
      expect(runController(operator!).stats.errors).to.equal(errorsBefore);
      for (const c of cases) {
        expect(await getJob(ns(), c.name), c.name).to.equal(undefined);
        expect(client.jobCreates().filter((x) => x.name === c.name), c.name).to.deep.equal([]);
        const events = await eventually(async () => {
          const e = await eventsFor(ns(), c.name);
          return e.some((x) => x.reason === 'RunFailed') ? e : undefined;
        });
        expect(events.map((e) => e.reason)).to.deep.equal(['RunFailed']);
      }
    });
  });
});
