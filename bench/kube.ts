// What the benchmark needs from the API server beyond KubeClient: a pooled raw client (for
// deletecollection, and as the accept path's bare baseline), namespaces, the bench objects, and a
// watch that says when N WebhookTriggers are Ready.
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import type { Pipeline, WebhookTrigger } from '../src/api/types.ts';
import { API_VERSION, KINDS } from '../src/api/constants.ts';
import type { KubeClient } from '../src/kube/client.ts';
import { isAlreadyExists, isNotFound } from '../src/kube/errors.ts';
import { RESOURCES, resourcePath, type ResourceType } from '../src/kube/resources.ts';

export interface RawApi {
  server: string;
  send(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }>;
  close(): Promise<void>;
}

/** One keep-alive connection pool to the API server, authenticated as the kubeconfig's user. */
export async function createRawApi(kubeconfig: string): Promise<RawApi> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const server = kc.getCurrentCluster()!.server.replace(/\/$/, '');
  const tls: { ca?: Buffer | string; cert?: Buffer | string; key?: Buffer | string; headers?: Record<string, string> } = {};
  await kc.applyToHTTPSOptions(tls as never);
  const agent = new Agent({ connect: { ca: tls.ca, cert: tls.cert, key: tls.key }, keepAliveTimeout: 30_000 });
  const authHeaders = { ...(tls.headers ?? {}) };
  return {
    server,
    async send(method, path, body) {
      const res = await request(server + path, {
        method: method as 'GET',
        dispatcher: agent,
        headers: { accept: 'application/json', ...authHeaders, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.statusCode, text: await res.body.text() };
    },
    close: () => agent.close(),
  };
}

/** Deletes every object of a kind in a namespace in one request. */
export async function deleteCollection(api: RawApi, r: ResourceType, namespace: string): Promise<void> {
  const res = await api.send('DELETE', resourcePath(r, namespace), { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' });
  if (res.status >= 300 && res.status !== 404) throw new Error(`deletecollection ${r.plural} in ${namespace}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
}

export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Counts objects without reading them all: a list with limit=1 reports the remaining count. */
export async function countObjects(client: KubeClient, r: ResourceType, namespace: string, labelSelector?: string): Promise<number> {
  const page = await client.list(r, namespace, { limit: 1, ...(labelSelector ? { labelSelector } : {}) });
  const remaining = (page.metadata as { remainingItemCount?: number }).remainingItemCount ?? 0;
  return page.items.length + remaining;
}

export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.create(RESOURCES.namespaces, { metadata: { name } });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}

/** Deletes a namespace and waits until the namespace controller has emptied and removed it. */
export async function deleteNamespaceAndWait(client: KubeClient, name: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  await client.delete(RESOURCES.namespaces, undefined, name).catch((e: unknown) => {
    if (!isNotFound(e)) throw e;
  });
  await waitUntil(
    async () => {
      try {
        await client.get(RESOURCES.namespaces, undefined, name);
        return false;
      } catch (e) {
        if (isNotFound(e)) return true;
        throw e;
      }
    },
    timeoutMs,
    `namespace ${name} to be deleted`,
    500,
  );
  return performance.now() - started;
}

/** A Pipeline like deploy/examples' export-loader, but Allow: every accepted delivery gets its Job at once. */
export function benchPipeline(namespace: string, name = 'export-loader'): Pipeline {
  return {
    apiVersion: API_VERSION,
    kind: KINDS.pipeline.kind,
    metadata: { name, namespace },
    spec: {
      params: [
        { name: 'export_id', type: 'string', required: true },
        { name: 'location', type: 'string', required: true },
        { name: 'record_count', type: 'number', default: '0' },
      ],
      jobTemplate: {
        spec: {
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'load', image: 'ghcr.io/example/export-loader:3', args: ['--export', '$(params.export_id)', '--from', '$(params.location)'] }],
            },
          },
        },
      },
      concurrencyPolicy: 'Allow',
      timeout: '30m',
      retries: 2,
    },
  };
}

/** The deploy/examples trigger: planasonix signatures, body params, generated secret. */
export function benchTrigger(namespace: string, name: string, pipeline = 'export-loader'): WebhookTrigger {
  return {
    apiVersion: API_VERSION,
    kind: KINDS.webhookTrigger.kind,
    metadata: { name, namespace },
    spec: {
      pipelineRef: { name: pipeline },
      auth: { scheme: 'planasonix', tolerance: '5m' },
      params: [
        { name: 'export_id', from: 'body', path: '/export_id', required: true },
        { name: 'location', from: 'body', path: '/location', required: true },
        { name: 'record_count', from: 'body', path: '/record_count', type: 'number' },
      ],
      payload: { strict: false, maxBytes: '1Mi' },
    },
  };
}

function isReady(t: WebhookTrigger): boolean {
  return (t.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export interface ReadyWatch {
  /** Resolves with performance.now() at the moment the watch saw the expected number Ready. */
  allReady: Promise<number>;
  readyCount(): number;
  stop(): void;
}

/**
 * Lists, then watches, the namespace's triggers and resolves once `expected` of them have been
 * seen Ready. Started before the first create, so no transition is missed.
 */
export async function watchTriggersReady(client: KubeClient, namespace: string, expected: number, timeoutMs: number): Promise<ReadyWatch> {
  const ready = new Set<string>();
  const abort = new AbortController();
  let resolve!: (at: number) => void;
  let reject!: (e: Error) => void;
  const allReady = new Promise<number>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const note = (t: WebhookTrigger) => {
    if (isReady(t)) ready.add(t.metadata.name!);
    else ready.delete(t.metadata.name!);
    if (ready.size >= expected) resolve(performance.now());
  };
  const list = await client.listAll<WebhookTrigger>(RESOURCES.webhookTriggers, namespace);
  for (const t of list.items) note(t);
  let resourceVersion = list.metadata.resourceVersion;
  const timer = setTimeout(() => reject(new Error(`only ${ready.size} of ${expected} triggers Ready after ${timeoutMs} ms`)), timeoutMs);
  void (async () => {
    while (!abort.signal.aborted) {
      try {
        await client.watch<WebhookTrigger>(RESOURCES.webhookTriggers, namespace, { resourceVersion, signal: abort.signal }, (type, t) => {
          if (t.metadata?.resourceVersion) resourceVersion = t.metadata.resourceVersion;
          if (type === 'ADDED' || type === 'MODIFIED') note(t);
          else if (type === 'DELETED') ready.delete(t.metadata.name!);
        });
      } catch (e) {
        if (abort.signal.aborted) return;
        reject(e instanceof Error ? e : new Error(String(e)));
        return;
      }
    }
  })();
  void allReady.finally(() => clearTimeout(timer)).catch(() => {});
  return {
    allReady,
    readyCount: () => ready.size,
    stop: () => abort.abort(),
  };
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` in flight; rejects on the first failure. */
export async function runBounded(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** The kube-apiserver's version, and the etcd version pinned in the control plane's go.mod. */
export async function clusterVersions(client: KubeClient, goModPath: string): Promise<{ kubernetes: string; etcd: string }> {
  const v = await client.getPath<{ gitVersion: string }>('/version');
  let etcd = 'unknown';
  try {
    const m = /go\.etcd\.io\/etcd\/server\/v3 (v[0-9.]+)/.exec(readFileSync(goModPath, 'utf8'));
    if (m) etcd = `${m[1]} (embedded, pinned in tools/controlplane/go.mod)`;
  } catch {
    // Not the local control plane (an existing cluster): unknown.
  }
  return { kubernetes: v.gitVersion, etcd };
}
