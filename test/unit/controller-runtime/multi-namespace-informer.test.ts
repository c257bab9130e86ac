// The multi-namespace cache (one informer per namespace, read as one) against a scripted client
// that answers per namespace; test/integration/operator/namespaces.test.ts runs the operator with
// it against a real API server.
import { expect } from 'chai';
import { Controller } from '../../../src/controller-runtime/controller.ts';
import { Informer } from '../../../src/controller-runtime/informer.ts';
import { objectKey } from '../../../src/controller-runtime/keys.ts';
import { Manager, type ManagerClient } from '../../../src/controller-runtime/manager.ts';
import { MultiNamespaceInformer } from '../../../src/controller-runtime/multi-namespace-informer.ts';
import type { KubeObject, ObjectList, WatchEventType, WatchOptions } from '../../../src/kube/client.ts';
import { KubeError } from '../../../src/kube/errors.ts';
import { RESOURCES, type ResourceType } from '../../../src/kube/resources.ts';

interface Obj extends KubeObject {
  spec?: { uses?: string[] };
}

interface WatchSession {
  namespace: string | undefined;
  emit(type: WatchEventType, obj: Obj): void;
}

/**
 * Objects of every namespace; a list or watch sees only the namespace it asked for (as the API
 * server does). Lists of a namespace wait until the test releases it.
 */
class NamespacedClient implements ManagerClient {
  objects: Obj[] = [];
  /** The namespace argument of every list and watch, `*` for all namespaces. */
  listed: string[] = [];
  watched: string[] = [];
  sessions: WatchSession[] = [];
  private readonly gates = new Map<string, { open: Promise<void>; release: () => void }>();
  gated = false;

  private gate(ns: string) {
    let gate = this.gates.get(ns);
    if (!gate) {
      let release = () => {};
      const open = new Promise<void>((r) => (release = r));
      gate = { open, release };
      this.gates.set(ns, gate);
    }
    return gate;
  }

  release(ns: string): void {
    this.gate(ns).release();
  }

  async *listPages<T extends KubeObject>(_r: ResourceType, ns?: string): AsyncGenerator<ObjectList<T>> {
    this.listed.push(ns ?? '*');
    if (this.gated) await this.gate(ns ?? '*').open;
    const items = this.objects.filter((o) => ns === undefined || o.metadata?.namespace === ns);
    yield { items: structuredClone(items) as T[], metadata: { resourceVersion: '1' } };
  }

  watch<T extends KubeObject>(_r: ResourceType, ns: string | undefined, opts: WatchOptions, onEvent: (type: WatchEventType, obj: T) => void): Promise<void> {
    this.watched.push(ns ?? '*');
    return new Promise<void>((resolve) => {
      let open = true;
      opts.signal?.addEventListener(
        'abort',
        () => {
          open = false;
          resolve();
        },
        { once: true },
      );
      this.sessions.push({
        namespace: ns,
        emit: (type, obj) => {
          if (open) onEvent(type, obj as T);
        },
      });
    });
  }

  /** Delivers an event to the open watch of the object's namespace (if any), as the server would. */
  emit(type: WatchEventType, obj: Obj): void {
    for (const s of this.sessions) if (s.namespace === undefined || s.namespace === obj.metadata?.namespace) s.emit(type, obj);
  }

  async get<T extends KubeObject>(): Promise<T> {
    throw new KubeError(500, 'InternalError', 'not used');
  }
  create = this.get;
  replace = this.get;
}

const obj = (namespace: string, name: string, rv: string, uses: string[] = []): Obj => ({
  metadata: { namespace, name, resourceVersion: rv },
  spec: { uses },
});

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A deliberate negative check: what has not happened in 10 ms (with every list answered at once) does not. */
const tick = () => new Promise((r) => setTimeout(r, 10));

describe('MultiNamespaceInformer (scripted client)', () => {
  let client: NamespacedClient;
  let informer: MultiNamespaceInformer<Obj>;

  const make = (namespaces: string[]) => {
    // As the Manager builds one: an informer per namespace, merged.
    const members = [...new Set(namespaces)].map((namespace) => new Informer<Obj>(client, RESOURCES.webhookTriggers, { namespace, name: `webhooktriggers/${namespace}`, minBackoffMs: 5, maxBackoffMs: 20 }));
    informer = new MultiNamespaceInformer(RESOURCES.webhookTriggers, members);
    return informer;
  };

  beforeEach(() => {
    client = new NamespacedClient();
    client.objects = [obj('a', 'x', '1'), obj('a', 'y', '2'), obj('b', 'x', '3'), obj('c', 'x', '4')];
  });
  afterEach(async () => {
    await informer?.stop();
  });

  it('lists and watches each namespace, never all, and reads them as one cache keyed namespace/name', async () => {
    make(['a', 'b', 'a']);
    informer.start();
    await informer.waitForSync();
    await until(() => client.watched.length === 2);
    expect(client.listed.sort()).to.deep.equal(['a', 'b']);
    expect(client.watched.sort()).to.deep.equal(['a', 'b']);
    expect(informer.namespaces).to.deep.equal(['a', 'b']);
    expect(informer.informers.map((i) => i.name)).to.deep.equal(['webhooktriggers/a', 'webhooktriggers/b']);
    expect(informer.keys().sort()).to.deep.equal(['a/x', 'a/y', 'b/x']);
    expect(informer.list().map(objectKey).sort()).to.deep.equal(['a/x', 'a/y', 'b/x']);
    expect(informer.size).to.equal(3);
    expect(informer.get('a/x')?.metadata?.resourceVersion).to.equal('1');
    expect(informer.get('b/x')?.metadata?.resourceVersion).to.equal('3');
    // Same name, unwatched namespace; a key without a namespace; an unknown namespace.
    expect(informer.get('c/x')).to.equal(undefined);
    expect(informer.get('x')).to.equal(undefined);
    expect(informer.get('b/y')).to.equal(undefined);
  });

  it('is synced only when every namespace synced, and waitForSync waits for the last', async () => {
    client.gated = true;
    make(['a', 'b']);
    informer.start();
    let synced = false;
    const waiting = informer.waitForSync().then(() => (synced = true));
    client.release('a');
    await until(() => informer.informers[0]!.hasSynced());
    await tick();
    expect(informer.hasSynced()).to.equal(false);
    expect(synced).to.equal(false);
    client.release('b');
    await waiting;
    expect(informer.hasSynced()).to.equal(true);
    expect(informer.running).to.equal(true);
  });

  it('rejects waitForSync when stopped before every namespace synced', async () => {
    client.gated = true;
    make(['a', 'b']);
    informer.start();
    client.release('a');
    const waiting = informer.waitForSync();
    await until(() => informer.informers[0]!.hasSynced());
    await informer.stop();
    expect(informer.running).to.equal(false);
    const error = await waiting.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as Error).message).to.match(/webhooktriggers\/b stopped before it synced/);
  });

  it('fires handlers for changes in every namespace, and one unsubscribe removes them from all', async () => {
    make(['a', 'b']);
    const events: string[] = [];
    informer.onAdd((o) => events.push(`add ${objectKey(o)}`));
    const offUpdate = informer.onUpdate((old, o) => events.push(`update ${objectKey(o)} ${old.metadata!.resourceVersion}->${o.metadata!.resourceVersion}`));
    informer.onDelete((o) => events.push(`delete ${objectKey(o)}`));
    informer.start();
    await informer.waitForSync();
    await until(() => client.sessions.length === 2);
    expect(events.sort()).to.deep.equal(['add a/x', 'add a/y', 'add b/x']);
    events.length = 0;

    client.emit('MODIFIED', obj('a', 'x', '10'));
    client.emit('ADDED', obj('b', 'z', '11'));
    client.emit('DELETED', obj('a', 'y', '12'));
    client.emit('ADDED', obj('c', 'z', '13')); // nobody watches c
    expect(events).to.deep.equal(['update a/x 1->10', 'add b/z', 'delete a/y']);

    offUpdate();
    events.length = 0;
    client.emit('MODIFIED', obj('a', 'x', '20'));
    client.emit('MODIFIED', obj('b', 'x', '21'));
    expect(events).to.deep.equal([]);
    expect(informer.get('b/x')?.metadata?.resourceVersion).to.equal('21');
  });

  it('registers an index on every namespace, including objects cached before, and byIndex merges them', async () => {
    client.objects = [obj('a', 't1', '1', ['a/s1']), obj('b', 't2', '2', ['b/s1']), obj('b', 't3', '3', ['a/s1'])];
    make(['a', 'b']);
    informer.start();
    await informer.waitForSync();
    expect(informer.hasIndex('uses')).to.equal(false);
    informer.addIndex('uses', (o) => o.spec?.uses ?? []);
    expect(informer.hasIndex('uses')).to.equal(true);
    expect(informer.informers.every((m) => m.hasIndex('uses'))).to.equal(true);
    // An index value may name another namespace; every member is asked.
    expect(informer.byIndex('uses', 'a/s1').map(objectKey).sort()).to.deep.equal(['a/t1', 'b/t3']);
    expect(informer.byIndex('uses', 'b/s1').map(objectKey)).to.deep.equal(['b/t2']);
    expect(informer.byIndex('uses', 'c/s1')).to.deep.equal([]);

    await until(() => client.sessions.length === 2);
    client.emit('ADDED', obj('a', 't4', '4', ['b/s1']));
    client.emit('MODIFIED', obj('b', 't2', '5', []));
    expect(informer.byIndex('uses', 'b/s1').map(objectKey)).to.deep.equal(['a/t4']);

    expect(() => informer.addIndex('uses', () => [])).to.throw(/already has an index named uses/);
    expect(() => informer.byIndex('nope', 'x')).to.throw(/has no index named nope/);
  });

  it('adds an index nowhere when one namespace already has an index by that name', () => {
    const a = new Informer<Obj>(client, RESOURCES.webhookTriggers, { namespace: 'a' });
    const b = new Informer<Obj>(client, RESOURCES.webhookTriggers, { namespace: 'b' });
    b.addIndex('uses', () => []);
    informer = new MultiNamespaceInformer(RESOURCES.webhookTriggers, [a, b]);
    expect(informer.hasIndex('uses')).to.equal(false);
    expect(() => informer.addIndex('uses', () => [])).to.throw(/already has an index named uses \(in namespace b\)/);
    expect(a.hasIndex('uses')).to.equal(false);
  });

  it('sums the stats of its namespaces', async () => {
    make(['a', 'b', 'c']);
    informer.start();
    await informer.waitForSync();
    await until(() => client.sessions.length === 3);
    expect(informer.stats).to.deep.include({ lists: 3, connects: 3, errors: 0 });
    informer.addIndex('throws', (o) => {
      if (o.metadata?.name === 'y') throw new Error('boom');
      return [];
    });
    expect(informer.stats.handlerErrors).to.equal(1);
    expect(informer.informers.map((m) => m.stats.handlerErrors)).to.deep.equal([1, 0, 0]);
  });

  it('refuses members that are not one distinct namespace each of its resource', () => {
    const a = new Informer(client, RESOURCES.webhookTriggers, { namespace: 'a' });
    expect(() => new MultiNamespaceInformer(RESOURCES.webhookTriggers, [])).to.throw(/at least one namespace/);
    expect(() => new MultiNamespaceInformer(RESOURCES.webhookTriggers, [a, new Informer(client, RESOURCES.webhookTriggers)])).to.throw(/watches every namespace/);
    expect(() => new MultiNamespaceInformer(RESOURCES.webhookTriggers, [a, new Informer(client, RESOURCES.webhookTriggers, { namespace: 'a' })])).to.throw(/two informers .* namespace a/);
    expect(() => new MultiNamespaceInformer(RESOURCES.webhookTriggers, [a, new Informer(client, RESOURCES.secrets, { namespace: 'b' })])).to.throw(/caches secrets/);
  });
});

describe('Manager with several namespaces', () => {
  let manager: Manager | undefined;
  afterEach(async () => {
    await manager?.stop();
    manager = undefined;
  });

  it('hands out one shared multi-namespace cache, named by the resource, over informers shared per namespace', () => {
    manager = new Manager(new NamespacedClient());
    const multi = manager.informer(RESOURCES.secrets, { namespaces: ['a', 'b'] });
    expect(multi).to.be.instanceOf(MultiNamespaceInformer);
    expect(manager.informer(RESOURCES.secrets, { namespaces: ['b', 'a', 'b'] })).to.equal(multi);
    const members = (multi as MultiNamespaceInformer).informers;
    expect(members.map((m) => m.name)).to.deep.equal(['secrets/a', 'secrets/b']);
    // A single namespace of the set is the same informer the multi-namespace cache reads.
    expect(manager.informer(RESOURCES.secrets, { namespace: 'b' })).to.equal(members[1]);
    expect(manager.informer(RESOURCES.secrets, { namespaces: ['a'] })).to.equal(members[0]);
    const jobs = manager.informer(RESOURCES.jobs, { namespaces: ['a', 'b'], labelSelector: 'x' });
    expect((jobs as MultiNamespaceInformer).informers.map((m) => m.labelSelector)).to.deep.equal(['x', 'x']);
    expect(manager.informer(RESOURCES.jobs, { namespaces: ['a', 'b'] })).to.not.equal(jobs);
    // Metric labels: the resource plural, not one per namespace.
    expect(manager.informers.map((i) => i.name)).to.deep.equal(['secrets', 'secrets/b', 'secrets/a', 'jobs', 'jobs-2']);
    expect(() => manager!.informer(RESOURCES.secrets, { namespace: 'a', namespaces: ['a', 'b'] })).to.throw(/namespace or namespaces, not both/);
    // No namespaces: all, as before.
    expect(manager.informer(RESOURCES.pipelines, { namespaces: [] }).name).to.equal('pipelines');
  });

  it('is ready when every namespace synced, and queues the primary keys of every namespace', async () => {
    const client = new NamespacedClient();
    client.gated = true;
    client.objects = [obj('a', 'x', '1'), obj('b', 'y', '2'), obj('c', 'z', '3')];
    manager = new Manager(client);
    const triggers = manager.informer<Obj>(RESOURCES.webhookTriggers, { namespaces: ['a', 'b'] });
    const reconciled: string[] = [];
    const controller = new Controller({ name: 'test', reconcile: async (key) => void reconciled.push(key) });
    manager.addController(controller, triggers);
    const started = manager.start();
    client.release('a');
    await tick();
    expect(manager.ready()).to.equal(false);
    expect(controller.running).to.equal(false);
    client.release('b');
    await started;
    expect(manager.ready()).to.equal(true);
    await until(() => reconciled.length === 2);
    expect(reconciled.sort()).to.deep.equal(['a/x', 'b/y']);
    expect(client.listed.sort()).to.deep.equal(['a', 'b']);

    // Informers asked for after the start are started too, and join the same per-namespace ones.
    const late = manager.informer<Obj>(RESOURCES.webhookTriggers, { namespaces: ['b', 'c'] });
    client.release('c');
    await late.waitForSync();
    expect(late.keys().sort()).to.deep.equal(['b/y', 'c/z']);
    expect(client.listed.sort()).to.deep.equal(['a', 'b', 'c']);

    await manager.stop();
    expect(manager.informers.every((i) => !i.running)).to.equal(true);
    manager = undefined;
  });
});
