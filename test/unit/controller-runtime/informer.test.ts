// The informer's cache and event logic against a scripted client; test/integration/controller-runtime
// covers the same behaviour against a real API server.
import { expect } from 'chai';
import { Informer, type InformerClient, type InformerOptions } from '../../../src/controller-runtime/informer.ts';
import type { KubeObject, ListOptions, ObjectList, WatchEventType, WatchOptions } from '../../../src/kube/client.ts';
import { KubeError } from '../../../src/kube/errors.ts';
import { RESOURCES, type ResourceType } from '../../../src/kube/resources.ts';

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

interface WatchSession {
  opts: WatchOptions;
  emit(type: WatchEventType, obj: Secret): void;
  fail(e: Error): void;
  end(): void;
}

/** A client whose list answers from `objects`, `pageSize` at a time, and whose watches the test drives by hand. */
class ScriptedClient implements InformerClient {
  objects = new Map<string, Secret>();
  listResourceVersion = '1';
  /** One entry per coming list request: the error it fails with, or undefined to answer. */
  listFailures: (Error | undefined)[] = [];
  sessions: WatchSession[] = [];
  activeWatches = 0;
  maxActiveWatches = 0;

  pageSize = Infinity;
  /** Every page requested, with the continue token it would carry. */
  lists: ListOptions[] = [];

  async *listPages<T extends KubeObject>(_r: ResourceType, _ns?: string, opts: ListOptions = {}): AsyncGenerator<ObjectList<T>> {
    const all = [...this.objects.values()];
    for (let from = 0; ; from += this.pageSize) {
      this.lists.push({ ...opts, ...(from > 0 && { continue: String(from) }) });
      const failure = this.listFailures.shift();
      if (failure) throw failure;
      yield { items: all.slice(from, from + this.pageSize).map((o) => structuredClone(o)) as T[], metadata: { resourceVersion: this.listResourceVersion } };
      if (from + this.pageSize >= all.length) return;
    }
  }

  watch<T extends KubeObject>(_r: ResourceType, _ns: string | undefined, opts: WatchOptions, onEvent: (type: WatchEventType, obj: T) => void): Promise<void> {
    this.activeWatches++;
    this.maxActiveWatches = Math.max(this.maxActiveWatches, this.activeWatches);
    return new Promise<void>((resolve, reject) => {
      let open = true;
      const close = () => {
        if (!open) return false;
        open = false;
        this.activeWatches--;
        return true;
      };
      opts.signal?.addEventListener('abort', () => close() && resolve(), { once: true });
      this.sessions.push({
        opts,
        emit: (type, obj) => {
          if (open) onEvent(type, obj as T);
        },
        fail: (e) => close() && reject(e),
        end: () => close() && resolve(),
      });
    });
  }
}

const secret = (name: string, rv: string, extra: Partial<Secret> = {}): Secret => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv },
  ...extra,
});

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('Informer (scripted client)', () => {
  let client: ScriptedClient;
  let informer: Informer<Secret>;
  let events: string[];

  function makeInformer(opts: InformerOptions<Secret> = {}): Informer<Secret> {
    informer = new Informer<Secret>(client, RESOURCES.secrets, { namespace: 'ns', minBackoffMs: 5, maxBackoffMs: 20, ...opts });
    informer.onAdd((o) => events.push(`add ${o.metadata!.name} ${o.metadata!.resourceVersion}`));
    informer.onUpdate((old, o) => events.push(`update ${o.metadata!.name} ${old.metadata!.resourceVersion}->${o.metadata!.resourceVersion}`));
    informer.onDelete((o) => events.push(`delete ${o.metadata!.name}`));
    return informer;
  }

  beforeEach(() => {
    client = new ScriptedClient();
    events = [];
  });
  afterEach(async () => {
    await informer?.stop();
  });

  it('is synced only after the first list, and caches listed objects with their kind', async () => {
    client.objects.set('a', secret('a', '1'));
    client.listFailures.push(new KubeError(0, 'ECONNREFUSED', 'down'));
    makeInformer();
    expect(informer.hasSynced()).to.equal(false);
    informer.start();
    await informer.waitForSync();
    expect(client.lists).to.have.length(2);
    expect(informer.get('ns/a')).to.deep.include({ apiVersion: 'v1', kind: 'Secret' });
    expect(events).to.deep.equal(['add a 1']);
    expect(informer.stats.errors).to.equal(1);
  });

  it('caches objects without managedFields and kubectl\'s last-applied copy, which nothing reads', async () => {
    const applied = secret('a', '1', { data: { k: 'dg==' } });
    applied.metadata!.annotations = { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(applied), 'planasonix.io/rotate-requested-at': 'now' };
    (applied.metadata as { managedFields?: unknown[] }).managedFields = [{ manager: 'kubectl' }];
    client.objects.set('a', applied);
    makeInformer();
    informer.start();
    await informer.waitForSync();
    const cached = informer.get('ns/a')!;
    expect(cached.metadata).to.deep.equal({ name: 'a', namespace: 'ns', resourceVersion: '1', annotations: { 'planasonix.io/rotate-requested-at': 'now' } });
    expect(cached.data).to.deep.equal({ k: 'dg==' });
  });

  it('stores and hands out what its transform keeps of each listed and watched object', async () => {
    client.objects.set('a', secret('a', '1', { data: { kept: 'dg==', dropped: 'dg==' } }));
    const calls: string[] = [];
    makeInformer({
      transform: (o) => {
        calls.push(`${o.metadata!.name} ${o.kind}`);
        return { ...o, data: { kept: o.data!.kept! } };
      },
    });
    const handed: Secret[] = [];
    informer.onAdd((o) => handed.push(o));
    informer.onUpdate((_, o) => handed.push(o));
    informer.start();
    await informer.waitForSync();
    await until(() => client.sessions.length === 1);
    client.sessions[0]!.emit('MODIFIED', secret('a', '2', { data: { kept: 'dw==', dropped: 'dw==' } }));
    // The transform sees objects with their kind, as every handler does.
    expect(calls).to.deep.equal(['a Secret', 'a Secret']);
    expect(handed.map((o) => o.data)).to.deep.equal([{ kept: 'dg==' }, { kept: 'dw==' }]);
    expect(informer.get('ns/a')).to.deep.include({ metadata: { name: 'a', namespace: 'ns', resourceVersion: '2' }, data: { kept: 'dw==' } });
  });

  it('follows watch events from the listed resource version, and bookmarks move it on', async () => {
    client.listResourceVersion = '7';
    makeInformer();
    informer.start();
    await until(() => client.sessions.length === 1);
    const watch = client.sessions[0]!;
    expect(watch.opts.resourceVersion).to.equal('7');
    watch.emit('ADDED', secret('a', '8'));
    watch.emit('MODIFIED', secret('a', '9', { data: { k: 'dg==' } }));
    watch.emit('MODIFIED', secret('a', '9', { data: { k: 'dg==' } }));
    watch.emit('DELETED', secret('a', '10'));
    watch.emit('BOOKMARK', { metadata: { resourceVersion: '12' } });
    expect(events).to.deep.equal(['add a 8', 'update a 8->9', 'delete a']);
    expect(informer.list()).to.deep.equal([]);
    watch.end();
    await until(() => client.sessions.length === 2);
    expect(client.sessions[1]!.opts.resourceVersion).to.equal('12');
    expect(client.lists).to.have.length(1);
  });

  it('relists after 410 Gone and reports what changed meanwhile', async () => {
    client.objects.set('a', secret('a', '1'));
    client.objects.set('b', secret('b', '1'));
    client.objects.set('c', secret('c', '1'));
    makeInformer();
    informer.start();
    await until(() => client.sessions.length === 1);
    client.objects.set('a', secret('a', '5'));
    client.objects.delete('b');
    client.objects.set('d', secret('d', '6'));
    client.listResourceVersion = '6';
    events = [];
    client.sessions[0]!.fail(new KubeError(410, 'Expired', 'too old resource version'));
    await until(() => client.sessions.length === 2);
    expect(events).to.have.members(['update a 1->5', 'add d 6', 'delete b']);
    expect(informer.keys().sort()).to.deep.equal(['ns/a', 'ns/c', 'ns/d']);
    expect(client.sessions[1]!.opts.resourceVersion).to.equal('6');
    expect(informer.stats).to.include({ expired: 1, lists: 2 });
  });

  it('caches a list page by page, and a relist that fails midway changes nothing and starts over', async () => {
    client.pageSize = 500;
    for (let i = 0; i < 1203; i++) client.objects.set(`o${i}`, secret(`o${i}`, '1'));
    makeInformer();
    informer.start();
    await until(() => client.sessions.length === 1);
    expect(client.lists).to.have.length(3);
    expect(informer.list()).to.have.length(1203);
    expect(events).to.have.length(1203);

    client.objects.set('o7', secret('o7', '2'));
    client.listFailures.push(undefined, new KubeError(500, 'InternalError', 'etcd timeout'));
    client.lists = [];
    events = [];
    client.sessions[0]!.fail(new KubeError(410, 'Expired', 'too old resource version'));
    await until(() => client.sessions.length === 2);
    // The failed attempt read one page and was dropped; the next started from the first page.
    expect(client.lists.map((o) => o.continue)).to.deep.equal([undefined, '500', undefined, '500', '1000']);
    expect(events).to.deep.equal(['update o7 1->2']);
    expect(informer.list()).to.have.length(1203);
  });

  it('restarts after any watch error with backoff, never running two watches at once', async () => {
    makeInformer();
    informer.start();
    for (let i = 1; i <= 4; i++) {
      await until(() => client.sessions.length === i);
      client.sessions[i - 1]!.fail(new KubeError(500, 'InternalError', 'etcd timeout'));
    }
    await until(() => client.sessions.length === 5);
    client.sessions[4]!.emit('ADDED', secret('a', '3'));
    expect(informer.get('ns/a')).to.not.equal(undefined);
    expect(client.maxActiveWatches).to.equal(1);
    expect(informer.stats).to.include({ restarts: 4, errors: 4, connects: 5 });
    // A plain watch error keeps the resource version, so it does not cost a relist.
    expect(client.lists).to.have.length(1);
  });

  it('reconnects at once from the same version when the watch went silent', async () => {
    client.listResourceVersion = '4';
    makeInformer({ minBackoffMs: 10_000, maxBackoffMs: 10_000 });
    informer.start();
    await until(() => client.sessions.length === 1);
    client.sessions[0]!.fail(new KubeError(0, 'WatchSilent', 'no watch event or bookmark'));
    await until(() => client.sessions.length === 2, 500);
    expect(client.sessions[1]!.opts.resourceVersion).to.equal('4');
    expect(informer.stats.restarts).to.equal(1);
  });

  it('relists periodically and fires updates the watch missed', async () => {
    client.objects.set('a', secret('a', '1'));
    makeInformer({ relistIntervalMs: 60 });
    informer.start();
    await until(() => client.sessions.length === 1);
    client.objects.set('a', secret('a', '2'));
    await until(() => client.lists.length === 2, 1000);
    expect(events).to.deep.equal(['add a 1', 'update a 1->2']);
    expect(client.maxActiveWatches).to.equal(1);
  });

  it('keeps going when a handler or an index function throws', async () => {
    makeInformer();
    informer.onAdd(() => {
      throw new Error('handler bug');
    });
    informer.addIndex('broken', (o) => {
      if (o.metadata?.name === 'bad') throw new Error('index bug');
      return [];
    });
    informer.start();
    await until(() => client.sessions.length === 1);
    client.sessions[0]!.emit('ADDED', secret('bad', '2'));
    client.sessions[0]!.emit('ADDED', secret('good', '3'));
    expect(events).to.deep.equal(['add bad 2', 'add good 3']);
    expect(informer.keys()).to.deep.equal(['ns/bad', 'ns/good']);
    expect(informer.stats.handlerErrors).to.equal(3);
    expect(client.sessions).to.have.length(1);
  });

  it('keeps indexes in step with adds, updates, deletes and relists', async () => {
    const refs = (o: Secret) => (o.metadata?.labels?.uses ? o.metadata.labels.uses.split(',') : []);
    client.objects.set('t1', secret('t1', '1', { metadata: { name: 't1', namespace: 'ns', resourceVersion: '1', labels: { uses: 's1' } } }));
    makeInformer();
    informer.addIndex('uses', refs);
    informer.start();
    await informer.waitForSync();
    const names = (value: string) => informer.byIndex('uses', value).map((o) => o.metadata!.name).sort();
    expect(names('s1')).to.deep.equal(['t1']);
    await until(() => client.sessions.length === 1);
    const watch = client.sessions[0]!;
    watch.emit('ADDED', { metadata: { name: 't2', namespace: 'ns', resourceVersion: '2', labels: { uses: 's1,s2' } } });
    watch.emit('MODIFIED', { metadata: { name: 't1', namespace: 'ns', resourceVersion: '3', labels: { uses: 's2' } } });
    expect(names('s1')).to.deep.equal(['t2']);
    expect(names('s2')).to.deep.equal(['t1', 't2']);
    watch.emit('DELETED', { metadata: { name: 't2', namespace: 'ns', resourceVersion: '4', labels: { uses: 's1,s2' } } });
    expect(names('s1')).to.deep.equal([]);
    expect(names('s2')).to.deep.equal(['t1']);
    client.objects.clear();
    client.objects.set('t3', secret('t3', '9', { metadata: { name: 't3', namespace: 'ns', resourceVersion: '9', labels: { uses: 's2' } } }));
    watch.fail(new KubeError(410, 'Expired', 'too old resource version'));
    await until(() => client.sessions.length === 2);
    expect(names('s2')).to.deep.equal(['t3']);
    expect(() => informer.byIndex('missing', 'x')).to.throw(/no index named missing/);
  });

  it('stop() ends the watch, and waitForSync rejects if it never synced', async () => {
    client.listFailures.push(...Array.from({ length: 100 }, () => new KubeError(503, 'ServiceUnavailable', 'starting')));
    makeInformer({ minBackoffMs: 50, maxBackoffMs: 50 });
    informer.start();
    const waiting = informer.waitForSync();
    await until(() => client.lists.length >= 1);
    await informer.stop();
    let error: unknown;
    await waiting.catch((e: unknown) => (error = e));
    expect((error as Error).message).to.match(/stopped before it synced/);
    const listsAtStop = client.lists.length;
    await new Promise((r) => setTimeout(r, 120)); // deliberate negative check: no list after stop
    expect(client.lists.length).to.equal(listsAtStop);
  });

  it('passes selectors to both list and watch', async () => {
    makeInformer({ labelSelector: 'app=x', fieldSelector: 'metadata.name=a' });
    informer.start();
    await until(() => client.sessions.length === 1);
    expect(client.lists[0]).to.include({ labelSelector: 'app=x', fieldSelector: 'metadata.name=a' });
    expect(client.sessions[0]!.opts).to.include({ labelSelector: 'app=x', fieldSelector: 'metadata.name=a' });
  });
});
