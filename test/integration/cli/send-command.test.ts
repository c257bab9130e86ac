// `planasonix send` against a real API server and the in-process operator: a delivery becomes a
// PipelineRun carrying the printed correlation ID, and --wait follows the run's phase.
import { expect } from 'chai';
import net from 'node:net';
import type { PipelineRun } from '../../../src/api/types.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { PAYLOAD_FILE, applySamples, createTrigger, runCli, waitServing } from './cli-harness.ts';

describe('planasonix send', function () {
  this.timeout(120_000);
  const ns = useNamespace('cli-send');
  let operator: TestOperator;

  before(async () => {
    operator = await startTestOperator();
    await applySamples(ns());
    // The sample queues runs one at a time, and without a kubelet none finishes: let runs start side by side.
    await adminClient().mergePatch(RESOURCES.pipelines, ns(), 'export-loader', { spec: { concurrencyPolicy: 'Allow' } });
    await createTrigger(ns(), 'paused', { suspend: true });
    await createTrigger(ns(), 'stripe-like', { auth: { scheme: 'hmac', hmac: { preset: 'stripe' } } });
    await createTrigger(ns(), 'signed-ids', { auth: { scheme: 'planasonix', signedDeliveryIdOnly: true } });
    await waitServing(operator, ns(), 'export-completed');
    await waitServing(operator, ns(), 'signed-ids');
    await waitServing(operator, ns(), 'paused', 'suspended');
    await waitServing(operator, ns(), 'stripe-like');
  });
  after(async () => operator?.stop());

  it('creates a run, prints its correlation ID, and the run carries that label and the headers given', async () => {
    const res = await runCli(['send', '--trigger', 'export-completed', '-n', ns(), '--data', PAYLOAD_FILE, '--url-override', operator.receiverUrl, '-H', 'X-Requested-By: billing']);
    expect(res.code, res.stderr).to.equal(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).to.equal('HTTP 202 Accepted');
    const correlationId = /^correlation ID: (\S+)$/m.exec(res.stdout)?.[1];
    expect(correlationId, res.stdout).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    const runName = new RegExp(`^PipelineRun: ${ns()}/(\\S+)$`, 'm').exec(res.stdout)?.[1];

    const runs = await adminClient().list<PipelineRun>(RESOURCES.pipelineRuns, ns(), { labelSelector: `planasonix.io/correlation-id=${correlationId}` });
    expect(runs.items).to.have.length(1);
    expect(runs.items[0]!.metadata.name).to.equal(runName);
    expect(runs.items[0]!.spec.params).to.include({ export_id: 'exp_8f3c21', requested_by: 'billing' });
  });

  it('signs for a scheme hmac trigger as its spec.auth.hmac says (here the stripe preset)', async () => {
    const res = await runCli(['send', '--trigger', 'stripe-like', '-n', ns(), '--data', PAYLOAD_FILE, '--url-override', operator.receiverUrl]);
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout.trim().split('\n')[0]).to.equal('HTTP 202 Accepted');
  });

  it('gives a signedDeliveryIdOnly trigger a delivery ID and a v2 signature, and sends the same delivery again with --delivery-id', async () => {
    const first = await runCli(['send', '--trigger', 'signed-ids', '-n', ns(), '--data', PAYLOAD_FILE, '--url-override', operator.receiverUrl]);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout.trim().split('\n')[0]).to.equal('HTTP 202 Accepted');
    const again = ['send', '--trigger', 'signed-ids', '-n', ns(), '--data', PAYLOAD_FILE, '--url-override', operator.receiverUrl, '--delivery-id', 'exp_8f3c21-completed'];
    expect((await runCli(again)).stdout.trim().split('\n')[0]).to.equal('HTTP 202 Accepted');
    expect((await runCli(again)).stdout.trim().split('\n')[0]).to.equal('HTTP 200 OK');
  });

  it('with --wait, prints the phases until the run is Running (or already finished)', async () => {
    // The run really runs on the test cluster's node; the sample pipeline only prints, so --wait
    // may see it Running or already Succeeded.
    const args = ['send', '--trigger', 'export-completed', '-n', ns(), '--data', '-', '--url-override', operator.receiverUrl, '--wait', '--timeout', '60s'];
    const { code, stdout, stderr } = await runCli(args, { input: JSON.stringify({ export_id: 'exp_wait', location: 's3://b/wait/' }) });

    expect(code, stderr).to.equal(0);
    const phases = stdout.split('\n').filter((l) => l.startsWith('phase: '));
    expect(phases.at(-1)).to.match(/^phase: (Running \(JobActive|Succeeded \(Completed)/);
    expect(phases.slice(0, -1).every((l) => l.startsWith('phase: Pending'))).to.equal(true);
  });

  it('exits 1 and shows the receiver\'s answer when it is not 2xx', async () => {
    const res = await runCli(['send', '--trigger', 'paused', '-n', ns(), '--data', PAYLOAD_FILE, '--url-override', operator.receiverUrl]);
    expect(res.code).to.equal(1);
    expect(res.stdout).to.match(/^HTTP 503 Service Unavailable\nerror: /);
    expect(res.stdout).not.to.include('correlation ID');
  });

  it('says which receiver it cannot reach, without the webhook path', async () => {
    const closed = await closedPort();
    const res = await runCli(['send', '--trigger', 'export-completed', '-n', ns(), '--data', PAYLOAD_FILE, '--url-override', `http://127.0.0.1:${closed}`]);
    expect(res.code).to.equal(1);
    expect(res.stderr).to.equal(`planasonix send: cannot reach the receiver at http://127.0.0.1:${closed}: ECONNREFUSED\n`);
  });

  it('prints its usage with --help, and exits 2 naming an unknown flag', async () => {
    const help = await runCli(['send', '--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.include('Usage: planasonix send --trigger NAME');
    expect(help.stdout).to.include('--wait');

    const bad = await runCli(['send', '--trigger', 'export-completed', '--data', PAYLOAD_FILE, '--wiat']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('unknown flag --wiat; did you mean --wait?');
  });
});

/** A port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
