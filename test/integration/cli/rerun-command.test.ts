// `planasonix rerun RUN` as a user runs it, against the real API server and a running operator: a
// finished run gets a rerun printed as kubectl prints created objects; an active run is refused
// unless --force; a missing run, a missing argument and an operator that never answers are clear
// failures with their exit codes.
import { expect } from 'chai';
import { parse } from 'yaml';
import type { PipelineRun } from '../../../src/api/types.ts';
import { ANNOTATIONS, LABELS } from '../../../src/api/constants.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { createPipeline, createRun, runJobToSuccess, waitJob, waitPhase } from '../pipeline-run/run-fixtures.ts';
import { runCli } from './cli-harness.ts';

const PIPELINE = 'cli-rerun';

describe('planasonix rerun (real API server)', function () {
  this.timeout(90_000);
  const ns = useNamespace('cli-rerun');
  let operator: TestOperator | undefined;

  before(async () => {
    operator = await startTestOperator({ namespaces: [ns()] });
    await createPipeline(ns(), PIPELINE);
  });
  after(async () => operator?.stop());

  async function finished(name: string): Promise<PipelineRun> {
    await createRun(ns(), name, PIPELINE, { params: { export_id: `exp_${name}` } });
    await waitJob(ns(), name);
    await runJobToSuccess(ns(), name);
    return waitPhase(ns(), name, 'Succeeded');
  }

  it('reruns a finished run and prints the new run as kubectl does (default and -o yaml)', async () => {
    const original = await finished('done');
    const first = await runCli(['rerun', 'done', '-n', ns()]);
    expect(first.code, first.stderr).to.equal(0);
    const match = /^pipelinerun\.planasonix\.io\/(done-r[0-9a-f]{8}) created \(rerun of done, correlation ID ([0-9a-f-]+)\)\n$/.exec(first.stdout);
    expect(match, first.stdout).to.not.equal(null);
    expect(match![2]).to.equal(original.spec.correlationId);
    const rerun = await adminClient().get<PipelineRun>(RESOURCES.pipelineRuns, ns(), match![1]!);
    expect(rerun.spec).to.include({ rerunOf: 'done', correlationId: original.spec.correlationId });
    expect(rerun.spec.params).to.deep.equal({ export_id: 'exp_done' });

    const second = await runCli(['rerun', '-o', 'yaml', '--namespace', ns(), 'done']);
    expect(second.code, second.stderr).to.equal(0);
    const printed = parse(second.stdout) as PipelineRun;
    expect(printed.kind).to.equal('PipelineRun');
    expect(printed.metadata.name).to.not.equal(match![1]);
    expect(printed.metadata.labels?.[LABELS.rerunOf]).to.equal('done');
    const all = await adminClient().list<PipelineRun>(RESOURCES.pipelineRuns, ns(), { labelSelector: `${LABELS.rerunOf}=done` });
    expect(all.items).to.have.length(2);
  });

  it('refuses an active run unless --force, and prints -o name', async () => {
    await createRun(ns(), 'busy', PIPELINE);
    await waitPhase(ns(), 'busy', 'Pending', 'JobPending');
    const refused = await runCli(['rerun', 'busy', '-n', ns()]);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.equal(`planasonix rerun: PipelineRun "busy" is still Pending: rerun it once it has finished, or use --force\n`);
    const run = await adminClient().get<PipelineRun>(RESOURCES.pipelineRuns, ns(), 'busy');
    expect(run.metadata.annotations ?? {}).to.not.have.property(ANNOTATIONS.rerunRequestedAt);

    const forced = await runCli(['rerun', 'busy', '-n', ns(), '--force', '-o', 'name']);
    expect(forced.code, forced.stderr).to.equal(0);
    expect(forced.stdout).to.match(/^pipelinerun\.planasonix\.io\/busy-r[0-9a-f]{8}\n$/);
  });

  it('fails clearly: no such run (1), no run named (2), an unsupported -o (2)', async () => {
    const missing = await runCli(['rerun', 'nope', '-n', ns()]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.equal(`planasonix rerun: PipelineRun "nope" not found in namespace "${ns()}"\n`);
    const noName = await runCli(['rerun', '-n', ns()]);
    expect(noName.code).to.equal(2);
    expect(noName.stderr).to.include('give the PipelineRun to rerun');
    const wide = await runCli(['rerun', 'done', '-n', ns(), '-o', 'wide']);
    expect(wide.code).to.equal(2);
    expect(wide.stderr).to.include('-o wide is not supported here');
  });

  it('says so when no operator acts on the request, and leaves the request for when one runs', async () => {
    await finished('orphan');
    await operator!.stop();
    operator = undefined;
    const result = await runCli(['rerun', 'orphan', '-n', ns(), '--timeout', '1s']);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.match(/did not act on the rerun request within 1s \(is it running\?\)/);
    const run = await adminClient().get<PipelineRun>(RESOURCES.pipelineRuns, ns(), 'orphan');
    expect(run.metadata.annotations?.[ANNOTATIONS.rerunRequestedAt]).to.be.a('string');
    // An operator that starts later acts on it.
    operator = await startTestOperator({ namespaces: [ns()] });
    await eventually(async () => (await adminClient().get<PipelineRun>(RESOURCES.pipelineRuns, ns(), 'orphan')).metadata.annotations?.[ANNOTATIONS.lastRerun], 20_000);
  });
});
