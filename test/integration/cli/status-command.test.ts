// `planasonix status` against a real API server and the in-process operator: a trigger's readiness,
// URL Secret and delivery counts, and a delivery's run found by its correlation ID.
import { expect } from 'chai';
import { useNamespace, adminClient, eventually } from '../../harness/fixtures.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import type { PipelineRun } from '../../../src/api/types.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { PAYLOAD_FILE, applySamples, runCli, secretValue, waitServing } from './cli-harness.ts';

describe('planasonix status', function () {
  this.timeout(120_000);
  const ns = useNamespace('cli-status');
  let operator: TestOperator;
  let correlationId = '';
  let runName = '';

  before(async () => {
    operator = await startTestOperator();
    await applySamples(ns());
    await waitServing(operator, ns(), 'export-completed');
    const sent = await runCli(['send', '--trigger', 'export-completed', '-n', ns(), '--data', PAYLOAD_FILE, '--url-override', operator.receiverUrl]);
    if (sent.code !== 0) throw new Error(`send failed: ${sent.stderr}${sent.stdout}`);
    correlationId = /^correlation ID: (\S+)$/m.exec(sent.stdout)![1]!;
    runName = /^PipelineRun: \S+\/(\S+)$/m.exec(sent.stdout)![1]!;
  });
  after(async () => operator?.stop());

  it('shows the trigger Ready, where its URL is kept (not the URL), its rotation and its last delivery', async () => {
    const url = await secretValue(ns(), 'export-completed-webhook', 'url');
    // The last delivery reaches the trigger's status within the controller's interval.
    const res = await eventually(async () => {
      const r = await runCli(['status', '--trigger', 'export-completed', '-n', ns()]);
      return r.stdout.includes(`(correlation ID ${correlationId})`) ? r : undefined;
    }, 30_000, 500);
    expect(res.code).to.equal(0);
    expect(res.stdout).to.include(`WebhookTrigger ${ns()}/export-completed\n`);
    expect(res.stdout).to.match(/\n {2}Ready: +True \(Serving\) accepting deliveries for Pipeline export-loader\n/);
    expect(res.stdout).to.match(/\n {2}URL: +in Secret export-completed-webhook, key url \(--show-url prints it\)\n/);
    expect(res.stdout).to.match(/\n {2}Last rotated: +\d{4}-\d\d-\d\dT[^ ]+Z \(\d+s ago\)\n/);
    expect(res.stdout).to.match(/\n {2}Next rotation: +\d{4}-\d\d-\d\dT[^ ]+Z \(in 90d\)\n/);
    expect(res.stdout).to.include(`PipelineRun ${runName} (correlation ID ${correlationId})`);
    expect(res.stdout).not.to.include(url);
    expect(res.stdout).not.to.include('/hooks/');
  });

  it('prints the URL itself with --show-url', async () => {
    const res = await runCli(['status', '--trigger', 'export-completed', '-n', ns(), '--show-url']);
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout).to.include(`\n${' '.repeat(19)}${await secretValue(ns(), 'export-completed-webhook', 'url')}\n`);
  });

  it('finds the run by correlation ID in a namespace and with -A, and shows its phase and Job', async () => {
    // The sample pipeline really runs on the test cluster's node (deploy/examples-local).
    await eventually(async () => (await adminClient().get<PipelineRun>(RESOURCES.pipelineRuns, ns(), runName)).status?.phase === 'Succeeded', 60_000);
    const res = await runCli(['status', '--correlation-id', correlationId, '-n', ns()]);
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout).to.include(`PipelineRun ${ns()}/${runName}\n`);
    expect(res.stdout).to.match(new RegExp(`\\n {2}Job: +${runName}\\n`));
    const all = await runCli(['status', '--correlation-id', correlationId, '-A']);
    expect(all.code, all.stderr).to.equal(0);
    expect(all.stdout).to.match(/\n {2}Phase: +Succeeded\n {2}Reason: +Completed\n/);
    expect(all.stdout).to.match(/\n {2}Completed: +\d{4}-\d\d-\d\dT\S+Z \(\d+s ago\)\n/);
  });

  it('exits 1 with one line when no run has the correlation ID', async () => {
    const res = await runCli(['status', '--correlation-id', '0193f6c2-7b1e-7c3a-9f1d-2b8e4a6c0d11', '-n', ns()]);
    expect(res.code).to.equal(1);
    expect(res.stderr).to.equal(`planasonix status: no PipelineRun with correlation ID 0193f6c2-7b1e-7c3a-9f1d-2b8e4a6c0d11 in namespace "${ns()}" (search all with -A)\n`);
  });

  it('prints its usage with --help, and exits 2 for an unknown flag or a wrong combination', async () => {
    const help = await runCli(['status', '--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.include('planasonix status --correlation-id ID [-n NAMESPACE | -A]');

    const unknown = await runCli(['status', '--trigger', 'export-completed', '--verbose']);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.include('unknown flag --verbose');

    const both = await runCli(['status', '--trigger', 'export-completed', '--correlation-id', correlationId]);
    expect(both.code).to.equal(2);
    expect(both.stderr).to.include('give either --trigger or --correlation-id');
  });
});
