// Two replicas racing for one real Lease, with short timings: lease 2 s, renew deadline 1.5 s, retry 0.3 s.
import { expect } from 'chai';
import { LeaderElector, type Lease } from '../../../src/controller-runtime/leader-election.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { controlPlane } from '../../harness/root-hooks.ts';

const LEASE_MS = 2000;
const RENEW_DEADLINE_MS = 1500;
const RETRY_MS = 300;

describe('LeaderElector (real API server)', function () {
  this.timeout(60_000);
  const ns = useNamespace('leader');
  let client: KubeClient;
  let electors: LeaderElector[] = [];
  let leaseName: string;
  let log: string[];
  let testIndex = 0;

  before(() => {
    client = adminClient();
  });
  beforeEach(() => {
    leaseName = `lock-${++testIndex}`;
    log = [];
  });
  afterEach(async () => {
    await Promise.all(electors.map((e) => e.stop()));
    electors = [];
  });

  function makeElector(identity: string, onLeading?: (signal: AbortSignal) => void, onStopped?: () => void): LeaderElector {
    const elector = new LeaderElector(client, {
      namespace: ns(),
      name: leaseName,
      identity,
      leaseDurationMs: LEASE_MS,
      renewDeadlineMs: RENEW_DEADLINE_MS,
      retryPeriodMs: RETRY_MS,
      onStartedLeading: (signal) => {
        log.push(`${identity} started`);
        onLeading?.(signal);
      },
      onStoppedLeading: () => {
        log.push(`${identity} stopped`);
        onStopped?.();
      },
    });
    electors.push(elector);
    return elector;
  }

  /** Samples both electors until stopped and remembers whether they ever led together. */
  function watchForOverlap(a: LeaderElector, b: LeaderElector): { overlapped: () => boolean; stop: () => void } {
    let overlapped = false;
    const timer = setInterval(() => {
      if (a.isLeader() && b.isLeader()) overlapped = true;
    }, 10);
    return { overlapped: () => overlapped, stop: () => clearInterval(timer) };
  }

  const readLease = () => client.get<Lease>(RESOURCES.leases, ns(), leaseName);
  const leaderOf = (...electors: LeaderElector[]) => electors.filter((e) => e.isLeader());

  it('lets exactly one of two replicas lead, and writes the lease as client-go does', async () => {
    const a = makeElector('replica-a');
    const b = makeElector('replica-b');
    const overlap = watchForOverlap(a, b);
    a.start();
    b.start();
    await eventually(async () => leaderOf(a, b).length === 1);
    // Deliberate negative check: over a whole lease duration, two leaders never overlap.
    await new Promise((r) => setTimeout(r, LEASE_MS + 500));
    overlap.stop();
    expect(overlap.overlapped()).to.equal(false);
    const leaders = leaderOf(a, b);
    expect(leaders).to.have.length(1);
    const lease = await readLease();
    expect(lease.spec).to.include({ holderIdentity: leaders[0]!.identity, leaseDurationSeconds: 2, leaseTransitions: 0 });
    expect(lease.spec!.renewTime).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    // The leader renews every retry period.
    expect(Date.now() - Date.parse(lease.spec!.renewTime!.replace(/(\.\d{3})\d{3}Z$/, '$1Z'))).to.be.lessThan(RETRY_MS + 1000);
  });

  it('hands over within the lease duration when the leader stops without releasing', async () => {
    const a = makeElector('replica-a');
    a.start();
    await eventually(async () => a.isLeader());
    const b = makeElector('replica-b');
    b.start();
    // b has read the lease and found a holding it.
    await eventually(async () => b.leader === 'replica-a', 5000, 20);
    expect(b.isLeader()).to.equal(false);

    const stoppedAt = Date.now();
    await a.stop();
    await eventually(async () => b.isLeader(), 5000, 20);
    const handover = Date.now() - stoppedAt;
    // Not before the lease (renewed at most one retry period before the stop) expired...
    expect(handover).to.be.greaterThan(LEASE_MS - RETRY_MS - 100);
    // ...and soon after: lease duration plus one observation delay and one retry period.
    expect(handover).to.be.lessThan(LEASE_MS + 2 * RETRY_MS * 1.2 + 700);
    expect((await readLease()).spec).to.include({ holderIdentity: 'replica-b', leaseTransitions: 1 });
    expect(log).to.deep.equal(['replica-a started', 'replica-a stopped', 'replica-b started']);
  });

  it('hands over at once when the leader releases the lease', async () => {
    const a = makeElector('replica-a');
    a.start();
    await eventually(async () => a.isLeader());
    const b = makeElector('replica-b');
    b.start();
    await eventually(async () => b.leader === 'replica-a', 5000, 20);

    const releasedAt = Date.now();
    await a.release();
    expect((await readLease()).spec?.holderIdentity ?? '').to.satisfy((h: string) => h === '' || h === 'replica-b');
    await eventually(async () => b.isLeader(), 5000, 20);
    // One retry period (plus jitter), far below the 2 s lease duration.
    expect(Date.now() - releasedAt).to.be.lessThan(RETRY_MS * 1.2 + 500);
    expect(a.isLeader()).to.equal(false);
  });

  it('stops leading within the renew deadline when renewals fail, and leads again once the API server is back', async () => {
    let signal: AbortSignal | undefined;
    let lostAfter = 0;
    // The API server answers some requests while it shuts down (so the elector may lose and regain
    // the lease meanwhile); the deadline counts from the last renewal that succeeded.
    const a = makeElector(
      'replica-a',
      (s) => (signal = s),
      () => (lostAfter ||= Date.now() - a.lastRenewedAt!),
    );
    a.start();
    await eventually(async () => a.isLeader());
    try {
      await controlPlane().command('stop-apiserver');
      await eventually(async () => !a.isLeader(), 5000, 20);
      expect(signal?.aborted).to.equal(true);
      // Stays a follower while the API server is away (deliberate negative check).
      await new Promise((r) => setTimeout(r, 1000));
      expect(a.isLeader()).to.equal(false);
    } finally {
      await controlPlane().command('start-apiserver');
    }
    expect(lostAfter).to.be.within(RENEW_DEADLINE_MS - 50, RENEW_DEADLINE_MS + 300);
    expect(a.stats.errors).to.be.greaterThan(0);
    await eventually(async () => a.isLeader(), 15_000);
    expect(log.slice(0, 2)).to.deep.equal(['replica-a started', 'replica-a stopped']);
    expect(log.at(-1)).to.equal('replica-a started');
  });
});
