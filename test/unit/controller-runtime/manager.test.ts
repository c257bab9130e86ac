import { expect } from 'chai';
import { Controller } from '../../../src/controller-runtime/controller.ts';
import { Manager, type ManagerClient } from '../../../src/controller-runtime/manager.ts';
import type { KubeObject, ObjectList, WatchOptions } from '../../../src/kube/client.ts';
import { KubeError } from '../../../src/kube/errors.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';

/** Lists `items` once the test opens the gate; watches stay open and quiet until aborted. */
class QuietClient implements ManagerClient {
  items: KubeObject[] = [];
  /** Lists asked for and held at the gate. */
  listsWaiting = 0;
  private openGate: () => void = () => {};
  private readonly gate = new Promise<void>((r) => (this.openGate = r));

  release(): void {
    this.openGate();
  }

  async *listPages<T extends KubeObject>(): AsyncGenerator<ObjectList<T>> {
    this.listsWaiting++;
    await this.gate;
    yield { items: structuredClone(this.items) as T[], metadata: { resourceVersion: '1' } };
  }

  watch(_r: unknown, _ns: unknown, opts: WatchOptions): Promise<void> {
    return new Promise((resolve) => opts.signal?.addEventListener('abort', () => resolve(), { once: true }));
  }

  async get<T extends KubeObject>(): Promise<T> {
    throw new KubeError(500, 'InternalError', 'not used');
  }
  create = this.get;
  replace = this.get;
}

/** Polls until the check holds: the test waits for the event, not for a guessed time. */
async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}

describe('Manager', () => {
  it('shares one informer per resource and selector, each with a distinct name for metrics', () => {
    const manager = new Manager(new QuietClient());
    const a = manager.informer(RESOURCES.secrets, { namespace: 'team-a' });
    expect(manager.informer(RESOURCES.secrets, { namespace: 'team-a' })).to.equal(a);
    expect(manager.informer(RESOURCES.secrets, { namespace: 'team-b' })).to.not.equal(a);
    expect(manager.informer(RESOURCES.secrets, { namespace: 'team-a', labelSelector: 'x=y' })).to.not.equal(a);
    expect(manager.informer(RESOURCES.jobs, { namespace: 'team-a' })).to.not.equal(a);
    expect(manager.informers.map((i) => i.name)).to.deep.equal(['secrets', 'secrets-2', 'secrets-3', 'jobs']);
  });

  it('gives a cache with a transform its own informer, shared only with callers of the same transform', () => {
    const manager = new Manager(new QuietClient());
    const whole = manager.informer(RESOURCES.secrets, { namespace: 'team-a' });
    const keepNames = (o: KubeObject): KubeObject => ({ metadata: { name: o.metadata?.name, namespace: o.metadata?.namespace, resourceVersion: o.metadata?.resourceVersion } });
    const named = manager.informer(RESOURCES.secrets, { namespace: 'team-a' }, { transform: keepNames });
    expect(named).to.not.equal(whole);
    expect(manager.informer(RESOURCES.secrets, { namespace: 'team-a' }, { transform: keepNames })).to.equal(named);
    expect(manager.informer(RESOURCES.secrets, { namespace: 'team-a' }, { transform: (o) => o })).to.not.equal(named);
    expect(manager.informer(RESOURCES.secrets, { namespace: 'team-a' })).to.equal(whole);
  });

  it('is ready only once every informer synced, and only then starts controllers with every primary key queued', async () => {
    const client = new QuietClient();
    client.items = [{ metadata: { namespace: 'ns', name: 'a' } }, { metadata: { namespace: 'ns', name: 'b' } }];
    const manager = new Manager(client);
    const secrets = manager.informer(RESOURCES.secrets, { namespace: 'ns' });
    manager.informer(RESOURCES.jobs, { namespace: 'ns' });
    const reconciled: string[] = [];
    const controller = new Controller({ name: 'test', reconcile: async (key) => void reconciled.push(key) });
    manager.addController(controller, secrets);

    const started = manager.start();
    // Both informers are listing, and their lists have not come back: not ready, no controller.
    await until(() => client.listsWaiting === 2);
    expect(manager.ready()).to.equal(false);
    expect(controller.running).to.equal(false);
    client.release();
    await started;
    expect(manager.ready()).to.equal(true);
    expect(manager.isLeader()).to.equal(true);
    await until(() => reconciled.length === 2);
    expect(reconciled.sort()).to.deep.equal(['ns/a', 'ns/b']);

    await manager.stop();
    expect(controller.running).to.equal(false);
    expect(manager.informers.every((i) => !i.running)).to.equal(true);
  });
});
