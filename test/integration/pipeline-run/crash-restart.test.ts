// The run controller's promise that a crash never creates a second Job: the Job is named after the
// run, so a controller that dies after creating it and before writing the run's status finds it on
// restart and mirrors it. The tests kill the operator's client at that exact moment.
import { expect } from 'chai';
import { LABELS } from '../../../src/api/constants.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { RecordingClient, createPipeline, createRun, getRun, runJobToSuccess, settle, waitJob, waitPhase, type Job } from './run-fixtures.ts';

const PIPELINE = 'crashy';

const isRunStatusWrite = (c: { resource: string; subresource?: string }) => c.resource === RESOURCES.pipelineRuns.plural && c.subresource === 'status';

describe('PipelineRun controller crash between creating the Job and writing status (real API server)', function () {
  this.timeout(60_000);
  const ns = useNamespace('run-crash');
  const operators: TestOperator[] = [];

  before(async () => {
    await createPipeline(ns(), PIPELINE);
  });
  afterEach(async () => {
    for (const o of operators.splice(0)) await o.stop();
  });

  const jobsOfRun = async (run: string) => (await adminClient().list<Job>(RESOURCES.jobs, ns(), { labelSelector: `${LABELS.pipelineRun}=${run}` })).items;

  it('creates no second Job after a restart, and the run then mirrors the one Job (test acts as the Job controller)', async () => {
    // The first operator dies on its first run status write: the Job exists, the run says nothing.
    const dying = RecordingClient.create();
    dying.failNext = isRunStatusWrite;
    dying.onFailed = () => dying.kill();
    operators.push(await startTestOperator({ namespaces: [ns()] }, { client: dying }));
    await createRun(ns(), 'crash', PIPELINE);
    const job = await waitJob(ns(), 'crash');
    await eventually(async () => dying.dead, 10_000, 20);
    await operators.pop()!.stop();
    expect(dying.jobCreates().filter((c) => c.ok).map((c) => c.name), 'Jobs created before the crash').to.deep.equal(['crash']);
    expect(dying.runStatusWrites().length, 'status writes tried (all failed)').to.be.at.least(1);
    expect((await getRun(ns(), 'crash')).status, 'status after the crash').to.equal(undefined);

    const client = RecordingClient.create();
    const second = await startTestOperator({ namespaces: [ns()] }, { client });
    operators.push(second);
    const run = await waitPhase(ns(), 'crash', 'Pending', 'JobPending');
    expect(run.status?.jobRef).to.deep.equal({ name: 'crash' });
    expect(client.jobCreates(), 'Job creates after the restart').to.deep.equal([]);
    expect((await jobsOfRun('crash')).map((j) => j.metadata.uid)).to.deep.equal([job.metadata.uid]);

    const finished = await runJobToSuccess(ns(), 'crash');
    const done = await waitPhase(ns(), 'crash', 'Succeeded');
    expect(done.status).to.include({ startTime: finished.status!.startTime, completionTime: finished.status!.completionTime, attempts: 1 });
    await settle(second);
    expect(client.jobCreates()).to.deep.equal([]);
    expect((await jobsOfRun('crash')).map((j) => j.metadata.uid)).to.deep.equal([job.metadata.uid]);
  });

  it('creates no second Job when the answer to the Job create was lost and the reconcile is retried', async () => {
    const client = RecordingClient.create();
    client.loseAnswer = (c) => c.verb === 'create' && c.resource === RESOURCES.jobs.plural;
    const operator = await startTestOperator({ namespaces: [ns()] }, { client });
    operators.push(operator);
    await createRun(ns(), 'lost-answer', PIPELINE);
    const run = await waitPhase(ns(), 'lost-answer', 'Pending', 'JobPending');
    expect(run.status?.jobRef).to.deep.equal({ name: 'lost-answer' });
    await settle(operator);
    expect(await jobsOfRun('lost-answer')).to.have.length(1);
    // The retry either found the Job in its cache or was told AlreadyExists: never two.
    const creates = client.jobCreates().filter((c) => c.name === 'lost-answer');
    expect(creates.length).to.be.within(1, 2);
  });

  it('sends no second Job create when the run is woken again before its Job reached the cache', async () => {
    const client = RecordingClient.create();
    client.watchLagMs = { [RESOURCES.jobs.plural]: 1_000 };
    const operator = await startTestOperator({ namespaces: [ns()] }, { client });
    operators.push(operator);
    await createRun(ns(), 'woken-early', PIPELINE);
    await eventually(async () => client.jobCreates().some((c) => c.name === 'woken-early' && c.ok), 10_000, 10);
    // A spec change of the Pipeline wakes its unfinished runs; the Job cache is a second behind.
    await adminClient().mergePatch(RESOURCES.pipelines, ns(), PIPELINE, { spec: { timeout: '59m' } });
    await waitPhase(ns(), 'woken-early', 'Pending', 'JobPending');
    await settle(operator);
    expect(client.jobCreates().filter((c) => c.name === 'woken-early').map((c) => c.ok)).to.deep.equal([true]);
    expect(await jobsOfRun('woken-early')).to.have.length(1);
  });
});
