// Two replicas of a manager with leader election: only the leader reconciles, and a graceful stop
// hands the work to the other replica at once.
import { expect } from 'chai';
import { Controller } from '../../../src/controller-runtime/controller.ts';
import { objectKey } from '../../../src/controller-runtime/keys.ts';
import { Manager } from '../../../src/controller-runtime/manager.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';

interface Replica {
  name: string;
  manager: Manager;
  reconciled: string[];
}

describe('Manager with leader election (real API server)', function () {
  this.timeout(60_000);
  const ns = useNamespace('manager');
  let client: KubeClient;
  let replicas: Replica[] = [];

  before(() => {
    client = adminClient();
  });
  afterEach(async () => {
    await Promise.all(replicas.map((r) => r.manager.stop()));
    replicas = [];
  });

  function startReplica(name: string): Replica {
    const manager = new Manager(client, {
      leaderElection: { namespace: ns(), name: 'manager-lock', identity: name, leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 300 },
    });
    const reconciled: string[] = [];
    const secrets = manager.informer(RESOURCES.secrets, { namespace: ns() });
    const controller = new Controller({ name: 'secrets', reconcile: async (key) => void reconciled.push(key) });
    secrets.onAdd((o) => controller.enqueue(objectKey(o)));
    manager.addController(controller, secrets);
    const replica = { name, manager, reconciled };
    replicas.push(replica);
    void manager.start();
    return replica;
  }

  it('reconciles only on the leader, and a stopped leader hands over at once', async () => {
    await client.create(RESOURCES.secrets, { metadata: { name: 'existing', namespace: ns() } });
    const a = startReplica('replica-a');
    await eventually(async () => a.manager.isLeader());
    const b = startReplica('replica-b');
    await eventually(async () => b.manager.ready());
    expect(b.manager.isLeader()).to.equal(false);

    await client.create(RESOURCES.secrets, { metadata: { name: 'new', namespace: ns() } });
    await eventually(async () => a.reconciled.includes(`${ns()}/new`));
    expect(a.reconciled).to.include(`${ns()}/existing`);
    expect(b.reconciled).to.deep.equal([]);

    const stoppedAt = Date.now();
    await a.manager.stop();
    const both = [`${ns()}/existing`, `${ns()}/new`];
    await eventually(async () => both.every((k) => b.reconciled.includes(k)), 5000, 20);
    // The released lease is taken at b's next attempt, well inside the 2 s lease duration.
    expect(Date.now() - stoppedAt).to.be.lessThan(1500);
  });
});
