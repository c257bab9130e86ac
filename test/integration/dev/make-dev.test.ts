// `make dev` as a newcomer uses it: start tools/dev.ts, wait for its ready banner, `source` the env
// file it wrote, paste the printed curl and send lines, look with kubectl — then Ctrl-C, which must
// leave no control plane behind. It starts its own control plane, separate from the tests' one.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { PipelineRun } from '../../../src/api/types.ts';
import { KubeClient } from '../../../src/kube/client.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { repoRoot } from '../../harness/control-plane.ts';
import { machinePath, readmeBlock } from '../../harness/readme.ts';
import { eventually } from '../../harness/fixtures.ts';
import { runProgram, type ProgramResult } from '../../harness/programs.ts';

const NS = 'planasonix-dev';

function sh(line: string, cwd = repoRoot): Promise<ProgramResult> {
  return runProgram('bash', ['-c', line], { cwd, env: { ...process.env, PATH: machinePath() } });
}

describe('make dev (tools/dev.ts)', function () {
  this.timeout(120_000);
  const existing = process.env.PLANASONIX_USE_EXISTING_CLUSTER === 'true';
  let dir = '';
  let child: ChildProcess;
  let exited: Promise<number | null>;
  const output: string[] = [];
  let envFile = '';

  before(async function () {
    this.timeout(15 * 60_000); // a first run builds the control plane
    dir = mkdtempSync(path.join(tmpdir(), 'planasonix-dev-test-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PLANASONIX_DEV_DIR: path.join(dir, '.dev'),
      PLANASONIX_DEV_WEBHOOK_PORT: '0',
      PLANASONIX_DEV_METRICS_PORT: '0',
      PLANASONIX_DEV_HEALTH_PORT: '0',
    };
    // The test run's own control plane is not the one dev must start.
    if (!existing) delete env.KUBECONFIG;
    child = spawn(process.execPath, ['tools/dev.ts'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.stderr!.on('data', (d: Buffer) => output.push(...d.toString().split('\n')));
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      let ready = false;
      lines.on('line', (line) => {
        output.push(line);
        if (line.startsWith('planasonix dev: ready')) ready = true;
        if (ready && line.trim().startsWith('kubectl get webhooktriggers,pipelineruns.planasonix.io')) resolve();
      });
      void exited.then((code) => reject(new Error(`tools/dev.ts exited with ${code} before it was ready:\n${output.join('\n')}`)));
    });
    envFile = path.join(dir, '.dev', 'env');
  });

  after(async () => {
    // Only if a test failed before stopping it: our own child, by its id.
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const printed = (prefix: string): string => {
    const line = output.map((l) => l.trim()).find((l) => l.startsWith(prefix));
    if (!line) throw new Error(`no line starting with "${prefix}" in:\n${output.join('\n')}`);
    return line;
  };

  it('writes .dev/env with KUBECONFIG, RECEIVER_URL, METRICS_URL and a PATH with kubectl', async () => {
    const text = readFileSync(envFile, 'utf8');
    expect(text).to.match(new RegExp(`^export KUBECONFIG='${path.join(dir, '.dev', 'kubeconfig')}'$`, 'm'));
    expect(text).to.match(/^export RECEIVER_URL='http:\/\/127\.0\.0\.1:\d+'$/m);
    expect(text).to.match(/^export METRICS_URL='http:\/\/127\.0\.0\.1:\d+\/metrics'$/m);
    const res = await sh(`source '${envFile}' && kubectl get namespace ${NS} -o name && curl -sS "$METRICS_URL"`);
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout).to.include(`namespace/${NS}\n`);
    expect(res.stdout).to.include('# TYPE planasonix_webhook_requests_total counter');
  });

  it('prints curl and send lines that, pasted after `source .dev/env`, are accepted and create PipelineRuns', async () => {
    const curl = await sh(`source '${envFile}' && ${printed('curl ')} -w '\\n%{http_code}'`);
    expect(curl.code, curl.stderr).to.equal(0);
    const [body = '', status] = curl.stdout.trimEnd().split('\n');
    expect(status, curl.stdout).to.equal('202');
    const fromCurl = (JSON.parse(body) as { correlationId: string }).correlationId;

    const sendLine = printed('planasonix send ');
    expect(sendLine).to.include('--url-override http://127.0.0.1:');
    // send signs the same payload afresh: in the second the curl line was signed it would be the very
    // same signed request, rightly answered as a replay (200, the curl line's run), not a new one.
    const curlSignedAt = Number(/\bt=(\d+)/.exec(printed('curl '))![1]) * 1000;
    await eventually(async () => Date.now() >= curlSignedAt + 1_000, 5_000, 50);
    const send = await sh(`source '${envFile}' && ${sendLine}`);
    expect(send.code, send.stderr).to.equal(0);
    expect(send.stdout).to.match(/^HTTP 202 Accepted\n/);
    const fromSend = /^correlation ID: (\S+)$/m.exec(send.stdout)?.[1];

    const kubeconfig = /^export KUBECONFIG='(.*)'$/m.exec(readFileSync(envFile, 'utf8'))![1]!;
    const client = KubeClient.fromDefault({ kubeconfig });
    for (const id of [fromCurl, fromSend]) {
      const runs = await client.list<PipelineRun>(RESOURCES.pipelineRuns, NS, { labelSelector: `planasonix.io/correlation-id=${id}` });
      expect(runs.items, `run with correlation ID ${id}`).to.have.length(1);
    }
    const listed = await sh(`source '${envFile}' && ${printed('kubectl get webhooktriggers,pipelineruns.planasonix.io')}`);
    expect(listed.code, listed.stderr).to.equal(0);
    expect(listed.stdout).to.match(/webhooktrigger\.planasonix\.io\/export-completed +export-loader +planasonix +True/);
    expect(listed.stdout).to.include(fromCurl);
  });

  it("runs the README's quick start verbatim, after make dev, in a shell with the machine's own PATH", async function () {
    this.timeout(240_000); // the runs of the deliveries above go first (the sample Pipeline queues)
    const lines = readmeBlock('## Quick start');
    // The two lines this test stands in for: the checkout it runs in, and the make dev it started.
    expect(lines[0]).to.match(/^git clone /);
    expect(lines[1]).to.match(/^make dev\b/);
    const rest = lines.slice(2);
    expect(rest[0], 'the quick start goes on with `source .dev/env`').to.match(/^source \.dev\/env\b/);
    // A checkout as the reader has it, whose .dev is the one this test's make dev wrote.
    const cwd = mkdtempSync(path.join(tmpdir(), 'planasonix-readme-'));
    try {
      symlinkSync(path.join(dir, '.dev'), path.join(cwd, '.dev'));
      symlinkSync(path.join(repoRoot, 'deploy'), path.join(cwd, 'deploy'));
      const res = await sh(['set -euo pipefail', ...rest].join('\n'), cwd);
      expect(res.code, `${res.stdout}\n${res.stderr}`).to.equal(0);
      // 200 when the test above already delivered this payload: the same delivery, the same run.
      expect(res.stdout).to.match(/^HTTP (202 Accepted|200 OK)$/m);
      expect(res.stdout).to.match(/^correlation ID: \S+$/m);
      expect(res.stdout).to.match(/webhooktrigger\.planasonix\.io\/export-completed +export-loader +planasonix +True/);
      // The local node ran the sample Pipeline (deploy/examples-local): the run Succeeded, and its
      // Pod printed the params mapped from the payload.
      expect(res.stdout).to.match(/pipelinerun\.planasonix\.io\/export-completed-\S+ +export-loader +export-completed +Succeeded/);
      expect(res.stdout).to.include('PARAM_EXPORT_ID=exp_8f3c21\n');
      expect(res.stdout).to.include('PARAM_LOCATION=s3://exports-bucket/exp_8f3c21/\n');
      expect(res.stdout).to.include('PARAM_RECORD_COUNT=482910\n');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('stops on Ctrl-C (SIGINT) within 20 s with exit code 0, leaving no control plane process', async () => {
    const started = Date.now();
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000))]);
    expect(code, output.slice(-10).join('\n')).to.equal(0);
    expect(Date.now() - started).to.be.lessThan(20_000);
    // Every process of the control plane names the data directory on its command line.
    const left = await sh(`pgrep -af -- '${dir}' || true`);
    expect(left.stdout.split('\n').filter((l) => l && !l.includes('pgrep'))).to.deep.equal([]);
  });
});
