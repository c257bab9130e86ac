// The receiver app over HTTP with an in-memory trigger and a scripted API client: the failure paths
// that a real API server rarely produces on demand.
import { expect } from 'chai';
import net from 'node:net';
import { createHmac } from 'node:crypto';
import type { PipelineRun, WebhookTrigger } from '../../../src/api/types.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import { KubeError } from '../../../src/kube/errors.ts';
import { buildWebhookSecret } from '../../../src/api/webhook-secret.ts';
import { RoutingTable } from '../../../src/receiver/routing-table.ts';
import { createReceiverApp } from '../../../src/receiver/app.ts';
import { listen, type RunningServer } from '../../../src/receiver/server.ts';
import type { RequestReport } from '../../../src/receiver/middleware/respond-with-errors.ts';
import { serializeError } from '../../../src/observability/logger.ts';

const PATH = '/hooks/unit-test-path';
const SECRET = 'pxs_unit-test-secret';

const trigger: WebhookTrigger = {
  apiVersion: 'planasonix.io/v1alpha1',
  kind: 'WebhookTrigger',
  metadata: { name: 'unit', namespace: 'ns', uid: 'uid-1', generation: 1 },
  spec: { pipelineRef: { name: 'p' }, params: [{ name: 'export_id', from: 'body', path: '/export_id', required: true }] },
  status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Serving', message: '', lastTransitionTime: new Date().toISOString() }] },
};

describe('receiver app (scripted API client)', () => {
  let server: RunningServer;
  let create: (run: PipelineRun) => Promise<PipelineRun>;
  let observe: (report: RequestReport) => void;
  const reports: RequestReport[] = [];

  before(async () => {
    const secret = buildWebhookSecret(trigger, { path: PATH, url: `https://x${PATH}`, signingSecret: SECRET, currentSince: new Date() });
    const routes = new RoutingTable(
      { trigger: () => trigger, secret: (_ns, name) => (name === 'unit-webhook' ? secret : undefined) },
      { defaultMaxBytes: 1024 },
    );
    routes.refreshTrigger('ns', 'unit');
    const client = {
      create: (_r: unknown, run: PipelineRun) => create(run),
    } as unknown as KubeClient;
    const app = createReceiverApp({ routes, client, trustedProxies: () => false, createTimeoutMs: 1000, observe: (r) => observe(r) });
    server = await listen(app, { port: 0, host: '127.0.0.1', headersTimeoutMs: 1000, requestTimeoutMs: 5000 });
  });
  beforeEach(() => {
    reports.length = 0;
    observe = (r) => reports.push(r);
    create = async (run) => ({ ...run, metadata: { ...run.metadata, uid: 'run-uid' } });
  });
  after(async () => server?.close(100));

  const post = (body: string) => {
    const t = Math.floor(Date.now() / 1000);
    const v1 = createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex');
    return fetch(server.url + PATH, { method: 'POST', headers: { 'content-type': 'application/json', 'x-planasonix-signature': `t=${t},v1=${v1}` }, body });
  };

  it('records a run the API server refuses as a Failed run without params (lenient mode), logging its reason but not the values it quoted', async () => {
    const attempts: PipelineRun[] = [];
    create = async (run) => {
      attempts.push(run);
      if (attempts.length === 1) {
        throw new KubeError(422, 'Invalid', 'PipelineRun.planasonix.io "unit-x" is invalid: spec.params.export_id: Invalid value: "value-from-the-payload"');
      }
      return { ...run, metadata: { ...run.metadata, uid: 'run-uid' } };
    };
    const reply = await post(JSON.stringify({ export_id: 'value-from-the-payload' }));
    expect(reply.status).to.equal(202);
    expect(attempts).to.have.length(2);
    expect(attempts[1]!.metadata.name).to.equal(attempts[0]!.metadata.name);
    expect(attempts[1]!.spec.params).to.deep.equal({});
    expect(attempts[1]!.spec.payloadErrors).to.deep.equal([{ param: '(run)', message: 'the API server refused the run (422 Invalid); its params were dropped' }]);
    expect(JSON.stringify(attempts[1])).not.to.include('value-from-the-payload');
  });

  it('answers 400, without Retry-After, when the namespace is being deleted: retrying can never succeed', async () => {
    create = async () => {
      throw new KubeError(403, 'Forbidden', 'unable to create new content in namespace ns because it is being terminated', undefined, ['NamespaceTerminating']);
    };
    const reply = await post(JSON.stringify({ export_id: 'e' }));
    expect(reply.status).to.equal(400);
    expect(reply.headers.get('retry-after')).to.equal(null);
    expect(((await reply.json()) as { error: string }).error).to.equal('namespace_terminating');
  });

  it('answers 503 with Retry-After to a refusal that may pass later (RBAC, quota: 403 Forbidden)', async () => {
    create = async () => {
      throw new KubeError(403, 'Forbidden', 'pipelineruns.planasonix.io is forbidden: exceeded quota');
    };
    const reply = await post(JSON.stringify({ export_id: 'e' }));
    expect(reply.status).to.equal(503);
    expect(reply.headers.get('retry-after')).to.equal('5');
    expect(reports).to.have.length(1);
    expect(serializeError(reports[0]!.error)).to.include({ status: 403, reason: 'Forbidden' });
  });

  it('answers 503, never 500, when something unexpected is thrown', async () => {
    create = async () => {
      throw new TypeError('a bug');
    };
    const reply = await post(JSON.stringify({ export_id: 'e' }));
    expect(reply.status).to.equal(503);
    expect(reply.headers.get('retry-after')).to.be.a('string');
  });

  it('keeps its answer when reporting the request throws', async () => {
    observe = () => {
      throw new Error('metrics broke');
    };
    const reply = await post(JSON.stringify({ export_id: 'e' }));
    expect(reply.status).to.equal(202);
  });

  it('closes the connection instead of reading a body it does not need (404 while the body is still arriving)', async () => {
    const url = new URL(server.url);
    const socket = net.connect(Number(url.port), url.hostname);
    const result = await new Promise<{ response: string; closed: boolean }>((resolve) => {
      let response = '';
      const timer = setTimeout(() => resolve({ response, closed: false }), 3000);
      socket.on('data', (c: Buffer) => (response += c.toString()));
      socket.on('close', () => {
        clearTimeout(timer);
        resolve({ response, closed: true });
      });
      socket.on('error', () => {});
      socket.write(`POST /hooks/unknown HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{"a":`);
    });
    socket.destroy();
    expect(result.response).to.match(/^HTTP\/1\.1 404/);
    expect(result.response.toLowerCase()).to.include('connection: close');
    expect(result.closed).to.equal(true);
  });
});
