// The one module that talks to the API server. Controllers, the receiver and tests use this, never
// @kubernetes/client-node directly: it loads credentials (kubeconfig, in-cluster, exec plugins) from
// the client library and sends plain REST requests, so every call states its patch content type and
// every failure arrives as one KubeError.
import { request as undiciRequest, type Dispatcher } from 'undici';
import { authenticate, KubeConfig, speakHttp1 } from './client-node-seam.ts';
import { createInterface } from 'node:readline';
import { errorFromStatus, toKubeError, KubeError } from './errors.ts';
import { resourcePath, apiVersionOf, type ResourceType } from './resources.ts';
import { FIELD_MANAGER } from '../api/constants.ts';
import { describeApiRequest, type ApiRequestListener } from './api-request.ts';
import type { ObjectMeta } from '../api/types.ts';

/**
 * Any object the API server returns: ours (plain JSON) or the library's models, whose timestamps
 * are Dates; so only the metadata fields both agree on.
 */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: Pick<ObjectMeta, 'name' | 'namespace' | 'uid' | 'resourceVersion' | 'generation' | 'labels' | 'annotations'>;
}

export interface ObjectList<T> {
  items: T[];
  metadata: { resourceVersion?: string; continue?: string };
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  /** Ask the server to close the watch after this long (it then reconnects from the last version). */
  timeoutSeconds?: number;
  /** Abort the watch when no line (event or bookmark) arrived for this long: a silently dead connection. */
  inactivityTimeoutMs?: number;
  signal?: AbortSignal;
}

interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

/**
 * How long one connection pool serves before a fresh one (with re-read TLS material, such as a
 * rotated client certificate) replaces it.
 */
const POOL_MAX_AGE_MS = 5 * 60_000;

/** How long the authentication headers (and the pooled dispatcher) from the kubeconfig are reused. */
const AUTH_MAX_AGE_MS = 10_000;

interface Authentication {
  headers: Record<string, string>;
  dispatcher: Dispatcher | undefined;
  at: number;
}

/** Objects per list request, as client-go's pager asks for. */
const LIST_PAGE_SIZE = 500;

const MERGE_PATCH = 'application/merge-patch+json';
const APPLY_PATCH = 'application/apply-patch+yaml';

export class KubeClient {
  readonly config: KubeConfig;
  readonly server: string;
  private readonly defaultTimeoutMs: number;
  private pool: { dispatcher: Dispatcher; createdAt: number } | undefined;
  private auth: Authentication | undefined;
  private authPending: Promise<Authentication> | undefined;
  private readonly requestListeners: ApiRequestListener[] = [];

  constructor(config: KubeConfig, opts: { timeoutMs?: number } = {}) {
    this.config = config;
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/$/, '');
    this.defaultTimeoutMs = opts.timeoutMs ?? 30_000;
    speakHttp1(config);
  }

  /** Loads $KUBECONFIG, ~/.kube/config or the in-cluster service account, in that order. */
  static fromDefault(opts: { timeoutMs?: number; kubeconfig?: string; context?: string } = {}): KubeClient {
    const kc = new KubeConfig();
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
    // As kubectl's --context: another context of the same kubeconfig, which must exist.
    if (opts.context !== undefined) {
      if (!kc.getContextObject(opts.context)) throw new Error(`context "${opts.context}" does not exist in the kubeconfig`);
      kc.setCurrentContext(opts.context);
    }
    return new KubeClient(kc, opts);
  }

  /** A client that authenticates with a bearer token (for example a ServiceAccount's) instead. */
  withToken(token: string): KubeClient {
    const cluster = this.config.getCurrentCluster()!;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: cluster.name, server: cluster.server, caData: cluster.caData, caFile: cluster.caFile, skipTLSVerify: cluster.skipTLSVerify }],
      users: [{ name: 'token', token }],
      contexts: [{ name: 'token', cluster: cluster.name, user: 'token' }],
      currentContext: 'token',
    });
    return new KubeClient(kc, { timeoutMs: this.defaultTimeoutMs });
  }

  /**
   * Calls listener once for every request sent, with its verb, resource and status code (never a
   * body or a name). Returns the function that removes it.
   */
  onRequest(listener: ApiRequestListener): () => void {
    this.requestListeners.push(listener);
    return () => {
      const at = this.requestListeners.indexOf(listener);
      if (at >= 0) this.requestListeners.splice(at, 1);
    };
  }

  async get<T extends KubeObject>(r: ResourceType, namespace: string | undefined, name: string): Promise<T> {
    return this.request<T>('GET', resourcePath(r, namespace, name));
  }

  async list<T extends KubeObject>(r: ResourceType, namespace?: string, opts: ListOptions = {}): Promise<ObjectList<T>> {
    return this.request<ObjectList<T>>('GET', resourcePath(r, namespace), { query: { ...opts } });
  }

  /**
   * Lists one page at a time (LIST_PAGE_SIZE objects unless opts.limit says otherwise), so that a
   * caller can be done with each page before the next arrives.
   */
  async *listPages<T extends KubeObject>(r: ResourceType, namespace?: string, opts: ListOptions = {}): AsyncGenerator<ObjectList<T>> {
    let cont: string | undefined;
    do {
      const page = await this.list<T>(r, namespace, { limit: LIST_PAGE_SIZE, ...opts, continue: cont });
      yield page;
      cont = page.metadata.continue || undefined;
    } while (cont);
  }

  /** Lists every page. */
  async listAll<T extends KubeObject>(r: ResourceType, namespace?: string, opts: ListOptions = {}): Promise<ObjectList<T>> {
    const items: T[] = [];
    let resourceVersion: string | undefined;
    for await (const page of this.listPages<T>(r, namespace, opts)) {
      items.push(...page.items);
      resourceVersion = page.metadata.resourceVersion;
    }
    return { items, metadata: { resourceVersion } };
  }

  async create<T extends KubeObject>(r: ResourceType, obj: T, opts: { dryRun?: boolean; timeoutMs?: number } = {}): Promise<T> {
    const namespace = obj.metadata?.namespace;
    const body = { apiVersion: apiVersionOf(r), kind: r.kind, ...obj };
    return this.request<T>('POST', resourcePath(r, namespace), {
      body,
      query: { fieldManager: FIELD_MANAGER, dryRun: opts.dryRun ? 'All' : undefined },
      timeoutMs: opts.timeoutMs,
    });
  }

  async replace<T extends KubeObject>(r: ResourceType, obj: T): Promise<T> {
    return this.request<T>('PUT', resourcePath(r, obj.metadata?.namespace, obj.metadata?.name), {
      body: { apiVersion: apiVersionOf(r), kind: r.kind, ...obj },
      query: { fieldManager: FIELD_MANAGER },
    });
  }

  /**
   * JSON merge patch (RFC 7386) of the object or of a subresource (`status`); include
   * metadata.resourceVersion in the patch for optimistic locking.
   */
  async mergePatch<T extends KubeObject>(r: ResourceType, namespace: string | undefined, name: string, patch: unknown, subresource?: string): Promise<T> {
    return this.request<T>('PATCH', resourcePath(r, namespace, name, subresource), {
      body: patch,
      contentType: MERGE_PATCH,
      query: { fieldManager: FIELD_MANAGER },
    });
  }

  /** Merge patch on the status subresource. */
  async patchStatus<T extends KubeObject>(r: ResourceType, namespace: string | undefined, name: string, status: unknown, opts: { resourceVersion?: string } = {}): Promise<T> {
    return this.request<T>('PATCH', resourcePath(r, namespace, name, 'status'), {
      // With a resourceVersion the patch applies only over that version (409 Conflict otherwise).
      body: opts.resourceVersion ? { metadata: { resourceVersion: opts.resourceVersion }, status } : { status },
      contentType: MERGE_PATCH,
      query: { fieldManager: FIELD_MANAGER },
    });
  }

  /** Server-side apply. */
  async apply<T extends KubeObject>(r: ResourceType, obj: T, opts: { force?: boolean; dryRun?: boolean; fieldManager?: string } = {}): Promise<T> {
    return this.request<T>('PATCH', resourcePath(r, obj.metadata?.namespace, obj.metadata?.name), {
      body: { apiVersion: apiVersionOf(r), kind: r.kind, ...obj },
      contentType: APPLY_PATCH,
      query: {
        fieldManager: opts.fieldManager ?? FIELD_MANAGER,
        force: opts.force ?? true,
        dryRun: opts.dryRun ? 'All' : undefined,
      },
    });
  }

  async delete(
    r: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan'; uid?: string; resourceVersion?: string; gracePeriodSeconds?: number } = {},
  ): Promise<void> {
    const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions' };
    if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts.uid || opts.resourceVersion) body.preconditions = { ...(opts.uid ? { uid: opts.uid } : {}), ...(opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {}) };
    if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    await this.request('DELETE', resourcePath(r, namespace, name), { body });
  }

  /** POST to a subresource, for example serviceaccounts/NAME/token. */
  async createSubresource<T>(r: ResourceType, namespace: string, name: string, sub: string, body: unknown): Promise<T> {
    return this.request<T>('POST', resourcePath(r, namespace, name, sub), { body });
  }

  /** A raw GET of any API path, for discovery and health checks. */
  async getPath<T>(p: string): Promise<T> {
    return this.request<T>('GET', p);
  }

  /**
   * Opens one watch stream and calls onEvent for each event until the stream ends. Resolves when the
   * server closes the stream normally; rejects with a KubeError on any failure (including a 410 Gone
   * sent as an ERROR event, and silence longer than inactivityTimeoutMs).
   */
  async watch<T extends KubeObject>(
    r: ResourceType,
    namespace: string | undefined,
    opts: WatchOptions,
    onEvent: (type: WatchEventType, obj: T) => void,
  ): Promise<void> {
    const query = {
      watch: 'true',
      allowWatchBookmarks: 'true',
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      resourceVersion: opts.resourceVersion,
      timeoutSeconds: opts.timeoutSeconds,
    };
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const used: { dispatcher?: Dispatcher } = {};
    let silent = false;
    let timer: NodeJS.Timeout | undefined;
    const inactivity = opts.inactivityTimeoutMs ?? 0;
    const resetTimer = () => {
      if (!inactivity) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        silent = true;
        controller.abort();
      }, inactivity);
      timer.unref();
    };
    try {
      resetTimer();
      const response = await this.send('GET', resourcePath(r, namespace), { query }, controller.signal, used);
      if (response.statusCode !== 200) {
        throw errorFromStatus(response.statusCode, await response.body.text(), retryAfterOf(response));
      }
      resetTimer();
      const lines = createInterface({ input: response.body, crlfDelay: Infinity });
      // The abort in `finally` errors the stream after we stopped reading it, and readline re-emits
      // that as an 'error' event; without a listener it is uncaught and ends the process (seen on
      // every in-stream 410). Errors while reading still reach the loop below.
      lines.on('error', () => {});
      for await (const line of lines) {
        resetTimer();
        if (!line) continue;
        const event = JSON.parse(line) as { type: WatchEventType; object: T & { code?: number; reason?: string; message?: string } };
        if (event.type === 'ERROR') {
          const status = event.object.code ?? 500;
          throw new KubeError(status, event.object.reason ?? 'WatchError', event.object.message ?? 'watch error');
        }
        onEvent(event.type, event.object);
      }
    } catch (e) {
      if (opts.signal?.aborted) return;
      if (silent) {
        this.dropPool(used.dispatcher);
        throw new KubeError(0, 'WatchSilent', `no watch event or bookmark for ${inactivity} ms`);
      }
      throw toKubeError(e);
    } finally {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      controller.abort();
    }
  }

  private async request<T>(method: string, p: string, opts: RequestOptions = {}): Promise<T> {
    const signal = AbortSignal.timeout(opts.timeoutMs ?? this.defaultTimeoutMs);
    const used: { dispatcher?: Dispatcher } = {};
    let response;
    let text: string;
    try {
      response = await this.send(method, p, opts, signal, used);
      text = await response.body.text();
    } catch (e) {
      if (signal.aborted) this.dropPool(used.dispatcher);
      throw toKubeError(e);
    }
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw errorFromStatus(response.statusCode, text, retryAfterOf(response));
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  // undici's request(), not its fetch(): fetch's WHATWG streams and objects cost about 0.3 ms of CPU
  // per call, more than everything else the receiver does to accept a delivery.
  private async send(method: string, p: string, opts: RequestOptions, signal: AbortSignal, used: { dispatcher?: Dispatcher } = {}): Promise<Dispatcher.ResponseData> {
    const url = new URL(this.server + p);
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    }
    const auth = await this.authentication();
    const headers: Record<string, string> = { ...auth.headers, accept: 'application/json' };
    if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    used.dispatcher = auth.dispatcher;
    let code = 'error';
    try {
      const response = await undiciRequest(url, {
        method: method as Dispatcher.HttpMethod,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        dispatcher: used.dispatcher,
        signal,
      });
      code = String(response.statusCode);
      return response;
    } finally {
      if (this.requestListeners.length > 0) {
        const outcome = { ...describeApiRequest(method, p, opts.query?.watch === 'true'), code };
        for (const listener of this.requestListeners) {
          try {
            listener(outcome);
          } catch {
            // Counting a request must never fail it.
          }
        }
      }
    }
  }

  /**
   * Forgets the pool after a request timed out or a watch went silent: the connection under them
   * may be dead without being closed (a dropped NAT entry, a vanished load balancer), and its idle
   * keep-alive siblings with it; reused, each would cost a later request its whole timeout. Only the
   * pool the failed request used, and gracefully: requests still running on a healthy connection finish.
   */
  private dropPool(dispatcher: Dispatcher | undefined): void {
    if (!dispatcher || this.pool?.dispatcher !== dispatcher) return;
    this.pool = undefined;
    this.auth = undefined;
    void dispatcher.close().catch(() => {});
  }

  // Applying the kubeconfig's authentication reads its certificate files and builds a dispatcher that
  // pooled() then closes, creating an Error: at 10,000 triggers that was a tenth of the operator's CPU
  // and much of its garbage. So it is applied every few seconds (tokens from exec plugins and token
  // files still refresh), not for every request; concurrent requests share one application.
  private authentication(): Promise<Authentication> {
    if (this.auth && Date.now() - this.auth.at < AUTH_MAX_AGE_MS) return Promise.resolve(this.auth);
    this.authPending ??= (async () => {
      try {
        const fresh = await authenticate(this.config, this.server);
        this.auth = { headers: fresh.headers, dispatcher: this.pooled(fresh.dispatcher), at: Date.now() };
        return this.auth;
      } finally {
        this.authPending = undefined;
      }
    })();
    return this.authPending;
  }

  // The client library builds a new dispatcher for every request, so every request paid a TLS
  // handshake and left a keep-alive socket behind: reuse one pool, renewed now and then.
  private pooled(fresh: Dispatcher | undefined): Dispatcher | undefined {
    if (!fresh) return undefined;
    const now = Date.now();
    if (this.pool && now - this.pool.createdAt < POOL_MAX_AGE_MS) {
      void fresh.close().catch(() => {}); // never connected: closes at once
      return this.pool.dispatcher;
    }
    const old = this.pool?.dispatcher;
    this.pool = { dispatcher: fresh, createdAt: now };
    void old?.close().catch(() => {}); // lets its in-flight requests and watches finish
    return fresh;
  }
}

function retryAfterOf(response: Dispatcher.ResponseData): string | null {
  const value = response.headers['retry-after'];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}
