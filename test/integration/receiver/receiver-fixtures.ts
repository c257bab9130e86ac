// Shared pieces of the receiver's end-to-end tests: a Pipeline and triggers in the API server, the
// trigger's URL and secret read the way a user reads them (from the generated Secret), and a plain
// node:http client that sends exactly the bytes, path and headers a test asks for.
import http from 'node:http';
import net from 'node:net';
import { createHmac, randomUUID } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { Pipeline, PipelineRun, WebhookTrigger, WebhookTriggerSpec } from '../../../src/api/types.ts';
import { API_VERSION, LABELS } from '../../../src/api/constants.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import type { RouteState } from '../../../src/receiver/compile-route.ts';
import { adminClient, eventually } from '../../harness/fixtures.ts';
import type { TestOperator } from '../../harness/operator.ts';
import { STATUS_WRITTEN_BY_TEST } from '../../harness/job-status-writer.ts';

export const PIPELINE = 'loader';

/** A Pipeline every test trigger can target: export_id is required, the rest optional. */
export async function createPipeline(namespace: string, name = PIPELINE): Promise<void> {
  const pipeline: Pipeline = {
    apiVersion: API_VERSION,
    kind: 'Pipeline',
    metadata: { name, namespace },
    spec: {
      params: [
        { name: 'export_id', type: 'string', required: true },
        { name: 'record_count', type: 'number', default: '0' },
        { name: 'requested_by', type: 'string', default: '' },
        { name: 'api_token', type: 'string', default: '' },
      ],
      jobTemplate: {
        spec: {
          ...STATUS_WRITTEN_BY_TEST,
          template: {
            spec: { restartPolicy: 'Never', containers: [{ name: 'load', image: 'registry.example/loader:1', args: ['--export', '$(params.export_id)'] }] },
          },
        },
      },
    },
  };
  await adminClient().create(RESOURCES.pipelines, pipeline);
}

export const DEFAULT_PARAMS: WebhookTriggerSpec['params'] = [
  { name: 'export_id', from: 'body', path: '/export_id', required: true },
  { name: 'record_count', from: 'body', path: '/record_count', type: 'number' },
  { name: 'requested_by', from: 'header', header: 'X-Requested-By' },
];

export interface TriggerHandle {
  name: string;
  namespace: string;
  uid: string;
  /** The capability path, read from the generated Secret. */
  path: string;
  /** The receiver URL of this trigger on the operator under test. */
  url: string;
  /** The current signing secret (or token), when the operator generated one. */
  secret: string;
}

/**
 * Creates a trigger (planasonix with the default params unless the spec says otherwise) and waits
 * until the operator's receiver serves its path in the wanted state.
 */
export async function createTrigger(
  operator: TestOperator,
  namespace: string,
  name: string,
  spec: Partial<WebhookTriggerSpec> = {},
  opts: { state?: RouteState } = {},
): Promise<TriggerHandle> {
  const trigger: WebhookTrigger = {
    apiVersion: API_VERSION,
    kind: 'WebhookTrigger',
    metadata: { name, namespace },
    spec: { pipelineRef: { name: PIPELINE }, params: DEFAULT_PARAMS, ...spec },
  };
  const created = await adminClient().create(RESOURCES.webhookTriggers, trigger);
  const handle = await eventually(async () => readTriggerSecret(namespace, name, operator), 20_000);
  const state = opts.state ?? 'serving';
  await eventually(async () => operator.routes?.lookup(handle.path)?.state === state, 20_000);
  return { ...handle, uid: created.metadata.uid! };
}

/** The trigger's path and signing secret, as a user reads them from `<trigger>-webhook`. */
export async function readTriggerSecret(namespace: string, name: string, operator: TestOperator): Promise<TriggerHandle | undefined> {
  const secret = await adminClient().get<V1Secret>(RESOURCES.secrets, namespace, `${name}-webhook`);
  const data = secret.data ?? {};
  const text = (key: string) => (data[key] === undefined ? '' : Buffer.from(data[key]!, 'base64').toString('utf8'));
  const path = text('path');
  if (!path) return undefined;
  return { name, namespace, uid: '', path, url: operator.receiverUrl + path, secret: text('signing-secret') };
}

/** Planasonix signature headers, computed here with node:crypto rather than with the product's signer. */
export function planasonixHeaders(secret: string, body: Buffer | string, opts: { t?: number; deliveryId?: string } = {}): Record<string, string> {
  const t = opts.t ?? Math.floor(Date.now() / 1000);
  const v1 = createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
  return {
    'x-planasonix-signature': `t=${t},v1=${v1}`,
    ...(opts.deliveryId ? { 'x-planasonix-delivery': opts.deliveryId } : {}),
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json(): Record<string, unknown>;
  durationMs: number;
}

export interface SendOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: Buffer | string;
  /** Connect from this local address (127.0.0.x), to look like another client. */
  localAddress?: string;
  timeoutMs?: number;
}

/**
 * Sends one request on a fresh connection (no keep-alive, so no socket outlives the test) to the
 * receiver at `baseUrl`, with `path` passed through unnormalised.
 */
export function send(baseUrl: string, path: string, opts: SendOptions = {}): Promise<Reply> {
  const base = new URL(baseUrl);
  const started = performance.now();
  const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        method: opts.method ?? 'POST',
        path,
        agent: false,
        headers: { 'content-type': 'application/json', ...(body ? { 'content-length': String(body.length) } : {}), ...opts.headers },
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: () => JSON.parse(text) as Record<string, unknown>,
            durationMs: performance.now() - started,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** POSTs a JSON body signed for the trigger (planasonix), with a fresh delivery ID unless given. */
export function deliver(trigger: TriggerHandle, body: unknown, opts: { deliveryId?: string; headers?: Record<string, string>; baseUrl?: string } = {}): Promise<Reply> {
  const raw = Buffer.from(JSON.stringify(body));
  const headers = { ...planasonixHeaders(trigger.secret, raw, { deliveryId: opts.deliveryId ?? randomUUID() }), ...opts.headers };
  return send(opts.baseUrl ?? new URL(trigger.url).origin, trigger.path, { headers, body: raw });
}

/** The PipelineRuns of one trigger, as `kubectl get pipelineruns -l planasonix.io/trigger=NAME` shows them. */
export async function runsOf(namespace: string, trigger: string): Promise<PipelineRun[]> {
  const list = await adminClient().list<PipelineRun>(RESOURCES.pipelineRuns, namespace, { labelSelector: `${LABELS.trigger}=${trigger}` });
  return list.items;
}

export async function getTrigger(namespace: string, name: string): Promise<WebhookTrigger> {
  return adminClient().get<WebhookTrigger>(RESOURCES.webhookTriggers, namespace, name);
}

/**
 * Writes raw bytes on a fresh connection and collects whatever comes back until the server closes
 * the connection or `timeoutMs` passes. For requests no HTTP client library would send.
 */
export function rawExchange(baseUrl: string, request: Buffer | string, timeoutMs = 5_000): Promise<{ response: string; closedByServer: boolean }> {
  const base = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = net.connect(Number(base.port), base.hostname);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ response: Buffer.concat(chunks).toString('latin1'), closedByServer });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.write(request);
  });
}

/** The status code of a raw HTTP/1.1 response, or 0 when there was none. */
export function statusOf(rawResponse: string): number {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(rawResponse);
  return m ? Number(m[1]) : 0;
}

/** The JSON body of a raw response with Content-Length (the receiver always sends one). */
export function jsonBodyOf(rawResponse: string): Record<string, unknown> | undefined {
  const at = rawResponse.indexOf('\r\n\r\n');
  if (at < 0) return undefined;
  try {
    return JSON.parse(rawResponse.slice(at + 4)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
