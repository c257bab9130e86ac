// The informer against a real API server, including the failures it must survive: a compacted
// history (410 Gone), an API server restart, and a watch that goes silent.
import { expect } from 'chai';
import { Informer, type InformerClient, type InformerOptions } from '../../../src/controller-runtime/informer.ts';
import type { KubeClient, KubeObject, ListOptions, ObjectList, WatchEventType, WatchOptions } from '../../../src/kube/client.ts';
import { KubeError } from '../../../src/kube/errors.ts';
import { RESOURCES, type ResourceType } from '../../../src/kube/resources.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { controlPlane } from '../../harness/root-hooks.ts';

interface Secret extends KubeObject {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/**
 * Passes calls to a real client, counts concurrent watches, and can cut the informer off from the
 * API server (like a network partition) while the test keeps changing objects.
 */
class PartitionableClient implements InformerClient {
  private readonly inner: KubeClient;
  private readonly open = new Set<AbortController>();
  partitioned = false;
  activeWatches = 0;
  maxActiveWatches = 0;

  constructor(inner: KubeClient) {
    this.inner = inner;
  }

  partition(): void {
    this.partitioned = true;
    for (const watch of this.open) watch.abort();
  }

  heal(): void {
    this.partitioned = false;
  }

  async *listPages<T extends KubeObject>(r: ResourceType, namespace?: string, opts?: ListOptions): AsyncGenerator<ObjectList<T>> {
    if (this.partitioned) throw new KubeError(0, 'ECONNREFUSED', 'partitioned by the test');
    yield* this.inner.listPages<T>(r, namespace, opts);
  }

  async watch<T extends KubeObject>(r: ResourceType, namespace: string | undefined, opts: WatchOptions, onEvent: (type: WatchEventType, obj: T) => void): Promise<void> {
    if (this.partitioned) throw new KubeError(0, 'ECONNREFUSED', 'partitioned by the test');
    const cut = new AbortController();
    const onAbort = () => cut.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    this.open.add(cut);
    this.activeWatches++;
    this.maxActiveWatches = Math.max(this.maxActiveWatches, this.activeWatches);
    try {
      await this.inner.watch<T>(r, namespace, { ...opts, signal: cut.signal }, onEvent);
      if (cut.signal.aborted && !opts.signal?.aborted) throw new KubeError(0, 'ECONNRESET', 'partitioned by the test');
    } finally {
      this.activeWatches--;
      this.open.delete(cut);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }
}

describe('Informer (real API server)', function () {
  this.timeout(120_000);
  const ns = useNamespace('informer');
  let client: KubeClient;
  let informer: Informer<Secret> | undefined;
  let events: string[];

  before(() => {
    client = adminClient();
  });
  beforeEach(() => {
    events = [];
  });
  afterEach(async () => {
    await informer?.stop();
    informer = undefined;
  });

  function startInformer(via: InformerClient, opts: InformerOptions = {}): Informer<Secret> {
    informer = new Informer<Secret>(via, RESOURCES.secrets, { namespace: ns(), ...opts });
    informer.onAdd((o) => events.push(`add ${o.metadata!.name}`));
    informer.onUpdate((_old, o) => events.push(`update ${o.metadata!.name} ${o.data?.v ? Buffer.from(o.data.v, 'base64').toString() : ''}`));
    informer.onDelete((o) => events.push(`delete ${o.metadata!.name}`));
    informer.start();
    return informer;
  }

  const createSecret = (name: string, labels: Record<string, string> = {}) =>
    client.create<Secret>(RESOURCES.secrets, { metadata: { name, namespace: ns(), labels }, stringData: { v: '0' } });
  const updateSecret = (name: string, v: string) => client.mergePatch<Secret>(RESOURCES.secrets, ns(), name, { stringData: { v } });
  const deleteSecret = (name: string) => client.delete(RESOURCES.secrets, ns(), name);

  /** True when the cache holds exactly the Secrets the API server has, at the same versions. */
  async function cacheMatchesServer(inf: Informer<Secret>): Promise<boolean> {
    const list = await client.listAll<Secret>(RESOURCES.secrets, ns());
    const server = list.items.map((o) => `${o.metadata!.name}@${o.metadata!.resourceVersion}`).sort();
    const cached = inf.list().map((o) => `${o.metadata!.name}@${o.metadata!.resourceVersion}`).sort();
    return JSON.stringify(server) === JSON.stringify(cached);
  }

  async function deleteAllSecrets(): Promise<void> {
    const list = await client.listAll<Secret>(RESOURCES.secrets, ns());
    await Promise.all(list.items.map((o) => deleteSecret(o.metadata!.name!)));
  }

  afterEach(deleteAllSecrets);

  it('lists the Secrets of its namespace, then sees adds, updates and deletes, and indexes them', async () => {
    await createSecret('before', { uses: 'db' });
    const inf = startInformer(client);
    inf.addIndex('uses', (o) => (o.metadata?.labels?.uses ? [o.metadata.labels.uses] : []));
    expect(inf.hasSynced()).to.equal(false);
    await inf.waitForSync();
    expect(inf.get(`${ns()}/before`)?.kind).to.equal('Secret');
    expect(events).to.deep.equal(['add before']);

    await createSecret('after', { uses: 'db' });
    await updateSecret('after', '1');
    await deleteSecret('before');
    await eventually(async () => events.length === 4);
    expect(events).to.deep.equal(['add before', 'add after', 'update after 1', 'delete before']);
    expect(inf.byIndex('uses', 'db').map((o) => o.metadata!.name)).to.deep.equal(['after']);
    expect(await cacheMatchesServer(inf)).to.equal(true);
  });

  it('relists after 410 Gone and misses no change made while it was cut off', async () => {
    const via = new PartitionableClient(client);
    await Promise.all(['a', 'b', 'c'].map((n) => createSecret(n)));
    const inf = startInformer(via, { minBackoffMs: 100, maxBackoffMs: 400 });
    await inf.waitForSync();
    events = [];

    via.partition();
    await updateSecret('a', 'changed while cut off');
    await deleteSecret('b');
    await createSecret('d');
    // Compaction alone is not enough: the API server's watch cache still holds the old events. A
    // restarted API server starts its cache at the current revision, so the informer's last
    // resource version is then too old and only a relist can catch up.
    await controlPlane().command('compact');
    try {
      await controlPlane().command('stop-apiserver');
    } finally {
      await controlPlane().command('start-apiserver');
    }
    await createSecret('e');
    via.heal();

    await eventually(() => cacheMatchesServer(inf), 20_000);
    expect(events).to.have.members(['update a changed while cut off', 'delete b', 'add d', 'add e']);
    expect(inf.stats.expired).to.be.greaterThanOrEqual(1);
    expect(inf.stats.lists).to.be.greaterThanOrEqual(2);
    expect(via.maxActiveWatches).to.equal(1);
  });

  it('reconnects by itself after the API server restarts, and catches up', async () => {
    const via = new PartitionableClient(client);
    await createSecret('a');
    const inf = startInformer(via, { minBackoffMs: 200, maxBackoffMs: 1000 });
    await inf.waitForSync();
    try {
      await controlPlane().command('stop-apiserver');
      await eventually(async () => inf.stats.errors >= 2, 10_000);
    } finally {
      await controlPlane().command('start-apiserver');
    }
    await createSecret('b');
    await updateSecret('a', '2');
    await eventually(async () => inf.get(`${ns()}/b`) !== undefined && inf.get(`${ns()}/a`)?.data?.v === Buffer.from('2').toString('base64'), 20_000);
    expect(await cacheMatchesServer(inf)).to.equal(true);
    expect(inf.stats.restarts).to.be.greaterThanOrEqual(2);
    expect(via.maxActiveWatches).to.equal(1);
  });

  it('restarts a watch that stays silent longer than the inactivity timeout, keeping the cache correct', async () => {
    await createSecret('a');
    // Bookmarks come about once a minute, so a quiet namespace is silent for longer than 1.5 s.
    const inf = startInformer(client, { inactivityTimeoutMs: 1500, minBackoffMs: 10_000, maxBackoffMs: 10_000 });
    await inf.waitForSync();
    await eventually(async () => inf.stats.restarts >= 2, 10_000);
    await createSecret('b');
    await eventually(async () => inf.get(`${ns()}/b`) !== undefined, 5000);
    expect(await cacheMatchesServer(inf)).to.equal(true);
    // A silent watch resumes from its resource version: no relist, and no backoff wait.
    expect(inf.stats.lists).to.equal(1);
    expect(inf.stats.expired).to.equal(0);
  });

  it('stop() ends the watch so that nothing keeps running', async () => {
    const via = new PartitionableClient(client);
    const inf = startInformer(via);
    await inf.waitForSync();
    await eventually(async () => via.activeWatches === 1);
    await inf.stop();
    expect(via.activeWatches).to.equal(0);
    const connects = inf.stats.connects;
    await createSecret('late');
    await new Promise((r) => setTimeout(r, 300)); // deliberate negative check: a live watch would deliver it well within this
    expect(inf.get(`${ns()}/late`)).to.equal(undefined);
    expect(inf.stats.connects).to.equal(connects);
  });
});
