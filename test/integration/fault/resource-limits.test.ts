// The receiver's memory is bounded before work is done. The operator runs here as its own process,
// with the Deployment's Node.js flags, so that its RSS is measured alone: Buffers live outside the
// V8 heap, which --max-old-space-size does not bound. Many maximum-size bodies at once, then a
// flood of slow bodies, against one trigger: the process stays alive, its RSS stays bounded, the
// requests beyond its budget are answered 503 with Retry-After before their bodies are read, and a
// well-formed delivery to another trigger is accepted meanwhile.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { V1Secret } from '@kubernetes/client-node';
import { API_VERSION } from '../../../src/api/constants.ts';
import type { WebhookTrigger } from '../../../src/api/types.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { repoRoot } from '../../harness/control-plane.ts';
import { controlPlane } from '../../harness/root-hooks.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { createPipeline, DEFAULT_PARAMS, planasonixHeaders, send, type Reply } from '../receiver/receiver-fixtures.ts';
import { mib } from './fault-fixtures.ts';

const MAX_BODY = 4 * 1024 * 1024;
const INFLIGHT_BYTES = 16 * 1024 * 1024;
const INFLIGHT_REQUESTS = 32;
/** What the process may grow by under attack, over its idle RSS. Without the budget, the 40 bodies below alone are 160 MiB raw and several times that parsed. */
const RSS_GROWTH_LIMIT = 128 * 1024 * 1024;

/** The Deployment's NODE_OPTIONS, so that the heap is sized as in a cluster. */
function deployedNodeOptions(): string {
  for (const doc of parseAllDocuments(readFileSync(path.join(repoRoot, 'deploy/receiver-deployment.yaml'), 'utf8'))) {
    const spec = doc.toJS() as { spec?: { template?: { spec?: { containers?: { env?: { name: string; value?: string }[] }[] } } } };
    const value = spec.spec?.template?.spec?.containers?.[0]?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
    if (value) return value;
  }
  throw new Error('deploy/receiver-deployment.yaml sets no NODE_OPTIONS');
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

interface OperatorProcess {
  child: ChildProcess;
  url: string;
  exited: () => boolean;
}

async function startOperatorProcess(): Promise<OperatorProcess> {
  const child = spawn(
    process.execPath,
    [
      path.join(repoRoot, 'src/cli/main.ts'),
      'run',
      '--webhook-port=0',
      '--metrics-port=0',
      '--health-port=0',
      '--webhook-bind-address=127.0.0.1',
      '--leader-elect=false',
      '--external-url=https://hooks.example.test',
      '--log-level=info',
      `--max-body-bytes=${MAX_BODY}`,
      `--max-inflight-body-bytes=${INFLIGHT_BYTES}`,
      `--max-inflight-requests=${INFLIGHT_REQUESTS}`,
      '--request-timeout=10s',
      '--header-timeout=5s',
    ],
    { cwd: repoRoot, env: { ...process.env, KUBECONFIG: controlPlane().kubeconfig, NODE_OPTIONS: deployedNodeOptions() }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let exited = false;
  child.once('exit', () => (exited = true));
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    const onData = (d: Buffer) => {
      buffered += d.toString();
      for (const line of buffered.split('\n')) {
        if (!line.includes('"operator started"')) continue;
        child.stdout!.off('data', onData);
        child.stdout!.resume(); // keep draining its log
        resolve((JSON.parse(line) as { receiver: string }).receiver);
        return;
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the operator exited (${code}) before it started`)));
  });
  return { child, url, exited: () => exited };
}

/** Samples a process's RSS until stopped; returns the highest value seen. */
function sampleRss(pid: number): { stop: () => number } {
  let peak = rssOf(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(pid));
    } catch {
      // the process is gone: the test's own liveness check reports it
    }
  }, 20);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

/** Sends a body slowly: the declared length up front, then a few bytes at a time. */
function slowBody(baseUrl: string, path: string, declared: number): { done: Promise<number>; stop: () => void } {
  const base = new URL(baseUrl);
  let timer: NodeJS.Timeout | undefined;
  const req = http.request({ host: base.hostname, port: base.port, method: 'POST', path, agent: false, headers: { 'content-type': 'application/json', 'content-length': String(declared) } });
  const done = new Promise<number>((resolve) => {
    req.on('response', (res) => {
      clearInterval(timer);
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => {
      clearInterval(timer);
      resolve(0);
    });
  });
  req.flushHeaders();
  req.write('{"export_id":"slow","pad":"');
  timer = setInterval(() => req.write('a'.repeat(512)), 100);
  return {
    done,
    stop: () => {
      clearInterval(timer);
      req.destroy();
    },
  };
}

describe('fault: bounded resources under abusive bodies (the operator as its own process)', function () {
  this.timeout(180_000);
  const ns = useNamespace('resource-limits');
  let operator: OperatorProcess;
  let bigPath: string;
  let other: { path: string; secret: string };
  let idleRss: number;

  const triggerObject = (name: string, spec: Partial<WebhookTrigger['spec']>): WebhookTrigger => ({
    apiVersion: API_VERSION,
    kind: 'WebhookTrigger',
    metadata: { name, namespace: ns() },
    spec: { pipelineRef: { name: 'loader' }, params: DEFAULT_PARAMS, ...spec },
  });
  const readSecret = async (name: string) => {
    const s = await adminClient().get<V1Secret>(RESOURCES.secrets, ns(), `${name}-webhook`);
    const text = (k: string) => Buffer.from(s.data?.[k] ?? '', 'base64').toString();
    return { path: text('path'), secret: text('signing-secret') };
  };
  const deliverOther = (exportId: string): Promise<Reply> => {
    const body = Buffer.from(JSON.stringify({ export_id: exportId }));
    return send(operator.url, other.path, { body, headers: planasonixHeaders(other.secret, body, { deliveryId: exportId }) });
  };

  before(async () => {
    await createPipeline(ns());
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject('big', { auth: { scheme: 'none' }, payload: { maxBytes: MAX_BODY } }));
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject('other', {}));
    operator = await startOperatorProcess();
    bigPath = (await eventually(async () => ((await readSecret('big')).path ? readSecret('big') : undefined), 20_000)).path;
    other = await eventually(async () => ((await readSecret('other')).secret ? readSecret('other') : undefined), 20_000);
    await eventually(async () => (await deliverOther('warm-up')).status === 202, 20_000);
    await eventually(async () => (await send(operator.url, bigPath, { body: JSON.stringify({ export_id: 'warm' }), headers: { 'idempotency-key': 'warm' } })).status === 202, 20_000);
    idleRss = rssOf(operator.child.pid!);
  });
  after(() => {
    operator?.child.kill('SIGTERM');
  });

  it(`answers 40 concurrent ${MAX_BODY / 1024 / 1024} MiB bodies with 202 or 503 + Retry-After, keeps RSS within ${mib(RSS_GROWTH_LIMIT)} MiB of idle, and accepts another trigger's delivery meanwhile`, async () => {
    const pad = 'a'.repeat(MAX_BODY - 100);
    const rss = sampleRss(operator.child.pid!);
    const attacks = Array.from({ length: 40 }, (_, i) => send(operator.url, bigPath, { body: `{"export_id":"big-${i}","pad":"${pad}"}`, headers: { 'idempotency-key': `big-${i}` }, timeoutMs: 60_000 }).catch(() => undefined));
    const meanwhile = await deliverOther('during-big-bodies');
    const replies = await Promise.all(attacks);
    const peak = rss.stop();

    expect(meanwhile.status, meanwhile.text).to.equal(202);
    // 0: the connection was reset after a 503, while the rest of the refused body was still being sent.
    const statuses = replies.map((r) => r?.status ?? 0);
    expect(statuses.every((s) => s === 202 || s === 503 || s === 0), statuses.join(',')).to.equal(true);
    expect(statuses.filter((s) => s === 503).length, 'some refused for want of budget').to.be.greaterThan(0);
    expect(statuses.filter((s) => s === 202).length, 'some accepted').to.be.greaterThan(0);
    for (const r of replies.filter((x) => x?.status === 503)) {
      expect(r!.headers['retry-after']).to.equal('1');
      expect(r!.json().error).to.equal('receiver_busy');
    }
    expect(operator.exited(), 'the operator process is alive').to.equal(false);
    expect(peak - idleRss, `RSS grew from ${mib(idleRss)} to ${mib(peak)} MiB`).to.be.at.most(RSS_GROWTH_LIMIT);
  });

  it('answers a flood of slow bodies beyond the trigger\'s share 503 at once, and accepts another trigger\'s delivery meanwhile', async () => {
    const rss = sampleRss(operator.child.pid!);
    // Small declared bodies, so that the request count binds before the bytes do.
    const flood = Array.from({ length: 80 }, () => slowBody(operator.url, bigPath, 64 * 1024));
    try {
      // Those beyond the trigger's half of the request budget are refused without waiting for their bodies.
      const refused = await eventually(async () => {
        const settled = await Promise.all(flood.map((f) => Promise.race([f.done, Promise.resolve(-1)])));
        const busy = settled.filter((s) => s === 503).length;
        return busy >= flood.length - INFLIGHT_REQUESTS / 2 ? busy : undefined;
      }, 20_000);
      expect(refused).to.be.at.least(flood.length - INFLIGHT_REQUESTS / 2);
      const meanwhile = await deliverOther('during-slow-flood');
      expect(meanwhile.status, meanwhile.text).to.equal(202);
    } finally {
      for (const f of flood) f.stop();
    }
    const peak = rss.stop();
    expect(operator.exited(), 'the operator process is alive').to.equal(false);
    expect(peak - idleRss, `RSS grew from ${mib(idleRss)} to ${mib(peak)} MiB`).to.be.at.most(RSS_GROWTH_LIMIT);
    // And it serves normally once the flood is gone.
    expect((await deliverOther('after-the-flood')).status).to.equal(202);
  });
});
