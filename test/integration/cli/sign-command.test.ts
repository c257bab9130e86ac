// `planasonix sign` against a real API server and the in-process operator: the printed curl command,
// run as a user would paste it, is accepted by the receiver.
import { expect } from 'chai';
import path from 'node:path';
import type { PipelineRun } from '../../../src/api/types.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { controlPlane } from '../../harness/root-hooks.ts';
import { adminClient, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { PAYLOAD_FILE, applySamples, createTrigger, runCli, runShell, secretValue, waitServing } from './cli-harness.ts';

/** Runs a printed curl command, adding only -w so that the HTTP status is visible. */
async function curl(line: string, env: NodeJS.ProcessEnv = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await runShell(`${line} -w '\\n%{http_code}'`, env);
  expect(res.code, res.stderr).to.equal(0);
  const lines = res.stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  return { status, body: JSON.parse(lines.join('\n')) as Record<string, unknown> };
}

describe('planasonix sign', function () {
  this.timeout(120_000);
  const ns = useNamespace('cli-sign');
  let operator: TestOperator;

  before(async () => {
    operator = await startTestOperator();
    await applySamples(ns());
    await createTrigger(ns(), 'bearer-hook', { auth: { scheme: 'bearer' } });
    await waitServing(operator, ns(), 'export-completed');
    await waitServing(operator, ns(), 'bearer-hook');
  });
  after(async () => operator?.stop());

  it('prints a curl command that the receiver accepts with 202 and that creates a run', async () => {
    const res = await runCli(['sign', '--trigger', 'export-completed', '-n', ns(), '--data', PAYLOAD_FILE, '--url-override', operator.receiverUrl]);
    expect(res.code, res.stderr).to.equal(0);
    const line = res.stdout.trim();
    expect(line).to.match(/^curl -sS -X POST 'http:\/\/127\.0\.0\.1:\d+\/hooks\/[A-Za-z0-9_-]+' -H 'content-type: application\/json' -H 'x-planasonix-signature: t=\d+,v1=[0-9a-f]{64}' --data-binary @deploy\/examples\/export-completed-payload\.json$/);

    const { status, body } = await curl(line);
    expect(status, JSON.stringify(body)).to.equal(202);
    const runs = await adminClient().list<PipelineRun>(RESOURCES.pipelineRuns, ns(), { labelSelector: `planasonix.io/correlation-id=${String(body.correlationId)}` });
    expect(runs.items).to.have.length(1);
    expect(runs.items[0]!.spec.params).to.include({ export_id: 'exp_8f3c21' });
  });

  it('never prints the signing secret', async () => {
    const res = await runCli(['sign', '--trigger', 'export-completed', '-n', ns(), '--data', PAYLOAD_FILE]);
    expect(res.code, res.stderr).to.equal(0);
    const secret = await secretValue(ns(), 'export-completed-webhook', 'signing-secret');
    expect(secret).to.match(/^pxs_/);
    expect(res.stdout + res.stderr).not.to.include(secret);
    // Without --url-override the command targets the URL the trigger publishes.
    expect(res.stdout).to.include(`'${await secretValue(ns(), 'export-completed-webhook', 'url')}'`);
  });

  it('signs a payload from standard input by putting the exact bytes in the command', async () => {
    const payload = `${JSON.stringify({ export_id: "exp_it's-stdin", location: 's3://b/x/' })}\n`;
    const res = await runCli(['sign', '--trigger', 'export-completed', '-n', ns(), '--data', '-', '--url-override', operator.receiverUrl], { input: payload });
    expect(res.code, res.stderr).to.equal(0);
    const { status, body } = await curl(res.stdout.trim());
    expect(status, JSON.stringify(body)).to.equal(202);
    const run = await adminClient().get<PipelineRun>(RESOURCES.pipelineRuns, ns(), String((body.pipelineRun as { name: string }).name));
    expect(run.spec.params).to.include({ export_id: "exp_it's-stdin" });
  });

  it('reads a bearer token from its Secret when the command runs, instead of printing it', async () => {
    const res = await runCli(['sign', '--trigger', 'bearer-hook', '-n', ns(), '--data', PAYLOAD_FILE, '--url-override', operator.receiverUrl]);
    expect(res.code, res.stderr).to.equal(0);
    const token = await secretValue(ns(), 'bearer-hook-webhook', 'signing-secret');
    expect(token.length).to.be.greaterThan(20);
    expect(res.stdout).not.to.include(token);
    expect(res.stdout).to.include('$(kubectl get secret bearer-hook-webhook');

    const kubectlPath = controlPlane().kubectl;
    const env = { KUBECONFIG: controlPlane().kubeconfig, ...(path.isAbsolute(kubectlPath) ? { PATH: `${path.dirname(kubectlPath)}:${process.env.PATH}` } : {}) };
    const { status, body } = await curl(res.stdout.trim(), env);
    expect(status, JSON.stringify(body)).to.equal(202);
  });

  it('prints its usage with --help', async () => {
    const res = await runCli(['sign', '--help']);
    expect(res.code).to.equal(0);
    expect(res.stdout).to.include('Usage: planasonix sign --trigger NAME');
    expect(res.stdout).to.include('--url-override BASE');
  });

  it('names an unknown flag and exits 2', async () => {
    const res = await runCli(['sign', '--trigger', 'export-completed', '--data', PAYLOAD_FILE, '--sekret', 'x']);
    expect(res.code).to.equal(2);
    expect(res.stderr.trim()).to.equal("planasonix sign: unknown flag --sekret (see 'planasonix sign --help')");
    expect(res.stdout).to.equal('');
  });

  it('exits 2 when a required flag is missing, and 1 with one line when the trigger does not exist', async () => {
    const missing = await runCli(['sign', '--trigger', 'export-completed']);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.include('--data is required');

    const absent = await runCli(['sign', '--trigger', 'no-such-trigger', '-n', ns(), '--data', PAYLOAD_FILE]);
    expect(absent.code).to.equal(1);
    expect(absent.stderr).to.equal(`planasonix sign: WebhookTrigger "no-such-trigger" not found in namespace "${ns()}"\n`);
  });
});
