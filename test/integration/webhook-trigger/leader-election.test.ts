// Two operator replicas with leader election: only the leader reconciles triggers (the follower
// makes no write but its Lease attempts), and when the leader stops — gracefully or by no longer
// renewing — the other takes over and serves new triggers.
import { expect } from 'chai';
import type { Config } from '../../../src/config/config.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { countingClient, pipelineObject, triggerEvents, triggerObject, waitReady, type CountingClient } from './trigger-fixtures.ts';

const LEASE_MS = 2_000;
const RETRY_MS = 300;

interface Replica {
  identity: string;
  operator: TestOperator;
  client: CountingClient;
}

describe('WebhookTrigger controller with leader election (real API server)', function () {
  this.timeout(60_000);
  const ns = useNamespace('wht-leader');
  const replicas: Replica[] = [];

  const startReplica = async (identity: string): Promise<Replica> => {
    const election: Partial<Config> = {
      leaderElect: true,
      leaseDurationMs: LEASE_MS,
      renewDeadlineMs: 1_500,
      retryPeriodMs: RETRY_MS,
      leaderElectionNamespace: ns(),
      namespaces: [ns()],
    };
    const client = countingClient();
    const operator = await startTestOperator(election, { identity, client });
    const replica = { identity, operator, client };
    replicas.push(replica);
    return replica;
  };
  const leaders = () => replicas.filter((r) => r.operator.manager.isLeader());
  /** Writes other than Lease attempts; with a trigger, those about it: itself, its Secret, its Events (`<trigger>.<suffix>`). */
  const writesOf = (r: Replica, trigger?: string) =>
    r.client.writesExceptLeases().filter((w) => trigger === undefined || w.name === trigger || w.name === `${trigger}-webhook` || w.name?.startsWith(`${trigger}.`));

  /** Writes about triggers (themselves, their Secrets, their Events): the Pipeline's status counts its triggers, so a new trigger rightly rewrites it. */
  const triggerWritesOf = (r: Replica) => writesOf(r).filter((w) => w.resource !== RESOURCES.pipelines.plural);

  before(async () => {
    await adminClient().create(RESOURCES.pipelines, pipelineObject(ns(), 'pipe'));
    await startReplica('replica-a');
    await startReplica('replica-b');
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.operator.stop()));
  });

  it('has exactly one leader, and only the leader writes', async () => {
    await eventually(async () => leaders().length === 1, 10_000, 50);
    const [leader] = leaders();
    const follower = replicas.find((r) => r !== leader)!;
    const names = ['one', 'two', 'three', 'four', 'five'];
    for (const name of names) await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), name));
    for (const name of names) await waitReady(ns(), name);

    expect(leaders(), 'still one leader').to.have.length(1);
    for (const name of names) expect(writesOf(leader!, name).length, `${leader!.identity} wrote ${name}`).to.be.at.least(2);
    expect(writesOf(follower), `${follower.identity} is a follower`).to.deep.equal([]);
  });

  it('hands over within the lease duration when the leader stops, and the new leader serves new triggers', async () => {
    const [old] = leaders();
    const successor = replicas.find((r) => r !== old)!;
    const t0 = performance.now();
    await old!.operator.stop();
    replicas.splice(replicas.indexOf(old!), 1);
    await eventually(async () => successor.operator.manager.isLeader(), LEASE_MS, 20);
    console.log(`      graceful handover took ${Math.round(performance.now() - t0)} ms`);

    const before = triggerWritesOf(successor).length;
    await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), 'after-handover'));
    await waitReady(ns(), 'after-handover');
    expect(writesOf(successor, 'after-handover').length).to.be.at.least(2);
    expect(triggerWritesOf(successor).length - before, 'the new leader rewrote nothing of the existing triggers').to.equal(writesOf(successor, 'after-handover').length);
    // Its Events name it too: a Secret that goes missing is recreated, and says so.
    await adminClient().delete(RESOURCES.secrets, ns(), 'after-handover-webhook');
    const event = await eventually(async () => (await triggerEvents(ns(), 'after-handover', 'SecretCreated'))[0], 10_000);
    expect(event.reportingInstance).to.equal(successor.identity);
  });

  it('takes over after the lease expires when the leader stops renewing without releasing it', async () => {
    const standby = await startReplica('replica-c');
    const [leader] = leaders();
    expect(leader).not.to.equal(standby);
    const t0 = performance.now();
    // Stops campaigning and leading but leaves the Lease as it is, as a crashed process would.
    await leader!.operator.manager.elector!.stop();
    expect(leader!.operator.manager.isLeader()).to.equal(false);
    await eventually(async () => standby.operator.manager.isLeader(), LEASE_MS + 4 * RETRY_MS, 20);
    const took = performance.now() - t0;
    console.log(`      takeover after an unreleased lease took ${Math.round(took)} ms`);
    expect(took, 'not before the lease expired').to.be.at.least(LEASE_MS - RETRY_MS);

    await adminClient().create(RESOURCES.webhookTriggers, triggerObject(ns(), 'after-crash'));
    await waitReady(ns(), 'after-crash');
    expect(writesOf(standby, 'after-crash').length).to.be.at.least(2);
    expect(writesOf(leader!, 'after-crash')).to.deep.equal([]);
  });
});
