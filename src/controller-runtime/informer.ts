// A list-then-watch cache of one resource type that keeps itself correct through every failure the
// client-node informer stops on: it restarts after any error with capped, jittered backoff (one loop,
// so never two watches), relists on 410 Gone and periodically, diffing the new list against the
// cache so handlers see every change they missed, and reconnects when the stream goes silent.
import type { KubeClient, KubeObject, WatchEventType } from '../kube/client.ts';
import { toKubeError } from '../kube/errors.ts';
import { apiVersionOf, type ResourceType } from '../kube/resources.ts';
import { objectKey } from './keys.ts';
import { describeError, silentLogger, type Logger } from '../observability/logger.ts';
import { jitter, jitteredBackoff, sleep, untilAborted } from './timing.ts';
import type { IndexFunc, InformerStats, SharedInformer } from './shared-informer.ts';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** The calls an informer makes; a KubeClient, or a wrapper around one in tests. */
export type InformerClient = Pick<KubeClient, 'listPages' | 'watch'>;

/** Maps an object to the index values it is found under (for example the Secrets it references). */

export interface InformerOptions<T extends KubeObject = KubeObject> {
  /** Watch one namespace; all namespaces when omitted. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Full relist (diffed against the cache) this often; 0 turns it off. */
  relistIntervalMs?: number;
  /** Asks the server to end each watch after about this long, so connections are recycled. */
  watchTimeoutSeconds?: number;
  /** Reconnects when no event or bookmark arrived for this long (bookmarks come about once a minute). */
  inactivityTimeoutMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  logger?: Logger;
  /** Names the informer in logs; defaults to the resource's plural. */
  name?: string;
  /**
   * What the cache keeps of each object (controller-runtime's cache TransformFunc): applied to every
   * listed and watched object before it is stored or handed to a handler. It must keep the name,
   * namespace and resourceVersion, which the cache is keyed and diffed by.
   */
  transform?: (obj: T) => T;
}


export const INFORMER_DEFAULTS = {
  relistIntervalMs: 10 * 60_000,
  watchTimeoutSeconds: 5 * 60,
  inactivityTimeoutMs: 90_000,
  minBackoffMs: 200,
  maxBackoffMs: 30_000,
} as const;

/** A watch that ends normally sooner than this without any event counts as a failure (no hot loop). */
const MIN_HEALTHY_WATCH_MS = 1_000;

interface Index<T> {
  fn: IndexFunc<T>;
  keysByValue: Map<string, Set<string>>;
}

type AddHandler<T> = (obj: T) => void;
type UpdateHandler<T> = (oldObj: T, newObj: T) => void;
type DeleteHandler<T> = (obj: T) => void;

export class Informer<T extends KubeObject = KubeObject> implements SharedInformer<T> {
  readonly resource: ResourceType;
  readonly name: string;
  readonly stats: InformerStats = { lists: 0, connects: 0, restarts: 0, errors: 0, expired: 0, handlerErrors: 0 };
  private readonly client: InformerClient;
  private readonly opts: Required<Omit<InformerOptions<T>, 'namespace' | 'labelSelector' | 'fieldSelector' | 'logger' | 'name' | 'transform'>>;
  private readonly transform: ((obj: T) => T) | undefined;
  private readonly selectors: { namespace?: string; labelSelector?: string; fieldSelector?: string };
  private readonly log: Logger;
  private store = new Map<string, T>();
  private readonly indexes = new Map<string, Index<T>>();
  private readonly addHandlers = new Set<AddHandler<T>>();
  private readonly updateHandlers = new Set<UpdateHandler<T>>();
  private readonly deleteHandlers = new Set<DeleteHandler<T>>();
  private resourceVersion: string | undefined;
  private nextRelistAt = 0;
  private watchProgressed = false;
  private synced = false;
  private readonly syncWaiters = new Set<{ resolve: () => void; reject: (e: Error) => void }>();
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;

  constructor(client: InformerClient, resource: ResourceType, opts: InformerOptions<T> = {}) {
    this.client = client;
    this.resource = resource;
    this.name = opts.name ?? resource.plural;
    this.selectors = { namespace: opts.namespace, labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector };
    this.log = opts.logger ?? silentLogger;
    this.transform = opts.transform;
    this.opts = {
      relistIntervalMs: opts.relistIntervalMs ?? INFORMER_DEFAULTS.relistIntervalMs,
      watchTimeoutSeconds: opts.watchTimeoutSeconds ?? INFORMER_DEFAULTS.watchTimeoutSeconds,
      inactivityTimeoutMs: opts.inactivityTimeoutMs ?? INFORMER_DEFAULTS.inactivityTimeoutMs,
      minBackoffMs: opts.minBackoffMs ?? INFORMER_DEFAULTS.minBackoffMs,
      maxBackoffMs: opts.maxBackoffMs ?? INFORMER_DEFAULTS.maxBackoffMs,
    };
  }

  get namespace(): string | undefined {
    return this.selectors.namespace;
  }
  get labelSelector(): string | undefined {
    return this.selectors.labelSelector;
  }
  get fieldSelector(): string | undefined {
    return this.selectors.fieldSelector;
  }

  // ---------------------------------------------------------------- handlers and indexes

  /** Handlers run synchronously after the cache changed; they should only enqueue keys. Returns an unsubscribe. */
  onAdd(handler: AddHandler<T>): () => void {
    this.addHandlers.add(handler);
    return () => this.addHandlers.delete(handler);
  }

  onUpdate(handler: UpdateHandler<T>): () => void {
    this.updateHandlers.add(handler);
    return () => this.updateHandlers.delete(handler);
  }

  onDelete(handler: DeleteHandler<T>): () => void {
    this.deleteHandlers.add(handler);
    return () => this.deleteHandlers.delete(handler);
  }

  /** Registers an index; objects already cached are indexed at once. */
  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.indexes.has(name)) throw new Error(`informer ${this.name} already has an index named ${name}`);
    const index: Index<T> = { fn, keysByValue: new Map() };
    this.indexes.set(name, index);
    for (const [key, obj] of this.store) this.indexObject(index, key, obj);
  }

  hasIndex(name: string): boolean {
    return this.indexes.has(name);
  }

  // ---------------------------------------------------------------- cache reads

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  keys(): string[] {
    return [...this.store.keys()];
  }

  get size(): number {
    return this.store.size;
  }

  /** Cached objects whose index function returned `value`. */
  byIndex(indexName: string, value: string): T[] {
    const index = this.indexes.get(indexName);
    if (!index) throw new Error(`informer ${this.name} has no index named ${indexName}`);
    const keys = index.keysByValue.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const key of keys) {
      const obj = this.store.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  // ---------------------------------------------------------------- lifecycle

  /** True once the first full list has been loaded into the cache. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once synced; rejects if the informer is stopped first or `signal` aborts. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(new Error(`waiting for informer ${this.name} was aborted`));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.syncWaiters.delete(waiter);
        reject(new Error(`waiting for informer ${this.name} was aborted`));
      };
      const waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (e: Error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      this.syncWaiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  get running(): boolean {
    return this.abort !== undefined;
  }

  start(): void {
    if (this.abort) return;
    this.abort = new AbortController();
    const signal = this.abort.signal;
    this.loop = this.run(signal).catch((e: unknown) => {
      // run() handles every error itself; reaching this is a bug worth shouting about.
      this.log.error({ informer: this.name, ...describeError(e) }, 'informer loop crashed');
    });
  }

  /** Aborts the list or watch in progress and any backoff wait, and resolves when the loop has ended. */
  async stop(): Promise<void> {
    const abort = this.abort;
    if (!abort) return;
    this.abort = undefined;
    abort.abort();
    await this.loop;
    this.loop = undefined;
    // The next start() relists and diffs against the cache, since events were missed meanwhile.
    this.resourceVersion = undefined;
    for (const waiter of this.syncWaiters) waiter.reject(new Error(`informer ${this.name} stopped before it synced`));
    this.syncWaiters.clear();
  }

  // ---------------------------------------------------------------- the list/watch loop

  private async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let lastWasGone = false;
    while (!signal.aborted) {
      this.watchProgressed = false;
      try {
        if (this.resourceVersion === undefined || Date.now() >= this.nextRelistAt) await this.relist(signal);
        if (signal.aborted) break;
        const watchStarted = Date.now();
        await this.watchOnce(signal);
        if (signal.aborted) break;
        lastWasGone = false;
        const relistDue = Date.now() >= this.nextRelistAt;
        if (relistDue || this.watchProgressed || Date.now() - watchStarted >= MIN_HEALTHY_WATCH_MS) {
          failures = 0;
          continue;
        }
        failures++;
        this.log.warn({ informer: this.name }, 'watch ended at once without events; backing off');
      } catch (e) {
        if (signal.aborted) break;
        const err = toKubeError(e);
        this.stats.errors++;
        this.stats.restarts++;
        if (this.watchProgressed) failures = 0;
        if (err.gone) {
          this.stats.expired++;
          this.resourceVersion = undefined;
          this.log.info({ informer: this.name, ...describeError(err) }, 'resource version expired; relisting');
          // One 410 is routine (compaction, an API server restart); back off only if they repeat.
          const repeated = lastWasGone && !this.watchProgressed;
          lastWasGone = true;
          if (!repeated) continue;
        } else if (err.reason === 'WatchSilent') {
          // The silent wait itself was the pause; reconnect from the same version at once.
          lastWasGone = false;
          this.log.warn({ informer: this.name, ...describeError(err) }, 'watch went silent; reconnecting');
          continue;
        } else {
          lastWasGone = false;
        }
        failures++;
        this.log.warn(
          { informer: this.name, attempt: failures, status: err.status, reason: err.reason, ...describeError(err) },
          'list/watch failed; retrying with backoff',
        );
      }
      await sleep(jitteredBackoff(failures, this.opts.minBackoffMs, this.opts.maxBackoffMs), signal);
    }
  }

  private async watchOnce(stop: AbortSignal): Promise<void> {
    const watchAbort = new AbortController();
    const onStop = () => watchAbort.abort();
    stop.addEventListener('abort', onStop, { once: true });
    // Ending the watch when the periodic relist is due lets the loop relist without a second stream.
    let relistTimer: NodeJS.Timeout | undefined;
    if (this.opts.relistIntervalMs > 0) {
      relistTimer = setTimeout(() => watchAbort.abort(), Math.max(0, this.nextRelistAt - Date.now()));
    }
    this.stats.connects++;
    try {
      await this.client.watch<T>(
        this.resource,
        this.selectors.namespace,
        {
          labelSelector: this.selectors.labelSelector,
          fieldSelector: this.selectors.fieldSelector,
          resourceVersion: this.resourceVersion,
          // Spread over +20% so that many informers do not reconnect in the same second.
          timeoutSeconds: Math.round(jitter(this.opts.watchTimeoutSeconds, 0.2)),
          inactivityTimeoutMs: this.opts.inactivityTimeoutMs,
          signal: watchAbort.signal,
        },
        (type, obj) => this.applyEvent(type, obj),
      );
    } finally {
      clearTimeout(relistTimer);
      stop.removeEventListener('abort', onStop);
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    // Each page is stripped into the new cache as it arrives. Holding every page until the last
    // one kept a whole list's managedFields alive long enough to reach V8's old space: a receiver
    // replica that had just loaded 10,000 triggers had 113 MiB of heap in use for 76 live, and an
    // RSS of 223 MiB that a minute of idleness did not lower (nothing allocates, so nothing
    // collects). Page by page: 75–77 MiB in use, 177–180 MiB of RSS.
    const fresh = new Map<string, T>();
    let resourceVersion: string | undefined;
    const pages = this.client.listPages<T>(this.resource, this.selectors.namespace, {
      labelSelector: this.selectors.labelSelector,
      fieldSelector: this.selectors.fieldSelector,
    });
    for (;;) {
      // A list cannot be cancelled, so stop() abandons it rather than wait up to the request timeout.
      const next = await untilAborted(pages.next(), signal);
      if (!next || signal.aborted) return;
      if (next.done) break;
      for (const item of next.value.items) {
        const obj = this.forCache(item);
        fresh.set(objectKey(obj), obj);
      }
      resourceVersion = next.value.metadata.resourceVersion;
    }
    this.stats.lists++;
    const previous = this.store;
    this.store = fresh;
    for (const index of this.indexes.values()) {
      index.keysByValue.clear();
      for (const [key, obj] of fresh) this.indexObject(index, key, obj);
    }
    this.resourceVersion = resourceVersion;
    this.nextRelistAt = this.opts.relistIntervalMs > 0 ? Date.now() + this.opts.relistIntervalMs : Number.POSITIVE_INFINITY;
    this.log.debug({ informer: this.name, objects: fresh.size }, 'listed');

    for (const [key, obj] of fresh) {
      const old = previous.get(key);
      if (!old) this.fireAdd(obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.fireUpdate(old, obj);
    }
    for (const [key, old] of previous) {
      if (!fresh.has(key)) this.fireDelete(old);
    }
    if (!this.synced) {
      this.synced = true;
      for (const waiter of this.syncWaiters) waiter.resolve();
      this.syncWaiters.clear();
    }
  }

  private applyEvent(type: WatchEventType, obj: T): void {
    this.watchProgressed = true;
    const rv = obj.metadata?.resourceVersion;
    if (type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    obj = this.forCache(obj);
    const key = objectKey(obj);
    const old = this.store.get(key);
    if (type === 'DELETED') {
      if (old) this.removeObject(key, old);
      if (rv) this.resourceVersion = rv;
      if (old) this.fireDelete(obj);
      return;
    }
    // ADDED or MODIFIED: the cache holds the latest state either way.
    this.setObject(key, obj, old);
    if (rv) this.resourceVersion = rv;
    if (!old) this.fireAdd(obj);
    else if (old.metadata?.resourceVersion !== rv) this.fireUpdate(old, obj);
  }

  // ---------------------------------------------------------------- cache and index maintenance

  private forCache(obj: T): T {
    // managedFields are server-side-apply bookkeeping nothing here reads, and more than half of a
    // cached trigger's memory (about 4 of 5.6 KB): kept out, as controller-runtime's transform does.
    // So is the copy of the whole object that a client-side `kubectl apply` keeps in an annotation.
    const metadata = obj.metadata as (KubeObject['metadata'] & { managedFields?: unknown }) | undefined;
    if (metadata?.managedFields !== undefined) {
      const { managedFields: _managedFields, ...rest } = metadata;
      obj = { ...obj, metadata: rest };
    }
    const annotations = obj.metadata?.annotations;
    if (annotations?.[LAST_APPLIED] !== undefined) {
      const { [LAST_APPLIED]: _lastApplied, ...kept } = annotations;
      obj = { ...obj, metadata: { ...obj.metadata, annotations: kept } };
    }
    // List items come without apiVersion and kind; controllers need them for owner references.
    if (!obj.apiVersion || !obj.kind) obj = { ...obj, apiVersion: apiVersionOf(this.resource), kind: this.resource.kind };
    return this.transform ? this.transform(obj) : obj;
  }

  private setObject(key: string, obj: T, old: T | undefined): void {
    for (const index of this.indexes.values()) {
      if (old) this.unindexObject(index, key, old);
      this.indexObject(index, key, obj);
    }
    this.store.set(key, obj);
  }

  private removeObject(key: string, old: T): void {
    for (const index of this.indexes.values()) this.unindexObject(index, key, old);
    this.store.delete(key);
  }

  private indexObject(index: Index<T>, key: string, obj: T): void {
    for (const value of this.indexValues(index, obj)) {
      let keys = index.keysByValue.get(value);
      if (!keys) index.keysByValue.set(value, (keys = new Set()));
      keys.add(key);
    }
  }

  private unindexObject(index: Index<T>, key: string, obj: T): void {
    for (const value of this.indexValues(index, obj)) {
      const keys = index.keysByValue.get(value);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size === 0) index.keysByValue.delete(value);
    }
  }

  private indexValues(index: Index<T>, obj: T): string[] {
    try {
      return index.fn(obj);
    } catch (e) {
      this.stats.handlerErrors++;
      this.log.error({ informer: this.name, key: objectKey(obj), ...describeError(e) }, 'index function threw');
      return [];
    }
  }

  // ---------------------------------------------------------------- handler dispatch

  private fireAdd(obj: T): void {
    for (const handler of this.addHandlers) this.callHandler('add', obj, () => handler(obj));
  }

  private fireUpdate(oldObj: T, newObj: T): void {
    for (const handler of this.updateHandlers) this.callHandler('update', newObj, () => handler(oldObj, newObj));
  }

  private fireDelete(obj: T): void {
    for (const handler of this.deleteHandlers) this.callHandler('delete', obj, () => handler(obj));
  }

  private callHandler(event: string, obj: T, call: () => void): void {
    // A throwing handler must not end the watch loop or skip the other handlers.
    try {
      call();
    } catch (e) {
      this.stats.handlerErrors++;
      this.log.error({ informer: this.name, event, key: objectKey(obj), ...describeError(e) }, 'event handler threw');
    }
  }
}
