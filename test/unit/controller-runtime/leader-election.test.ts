import { expect } from 'chai';
import {
  formatMicroTime,
  isLeaseHeld,
  LeaderElector,
  parseMicroTime,
  type Lease,
  type LeaseClient,
} from '../../../src/controller-runtime/leader-election.ts';
import type { KubeObject } from '../../../src/kube/client.ts';
import { KubeError } from '../../../src/kube/errors.ts';

/** One Lease in memory with the API server's optimistic concurrency; requests can be made to hang. */
class MemoryLeaseClient implements LeaseClient {
  lease: Lease | undefined;
  private version = 0;
  hang = false;
  writes = 0;

  private async gate(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    if (this.hang) await new Promise(() => {});
  }

  async get<T extends KubeObject>(): Promise<T> {
    await this.gate();
    if (!this.lease) throw new KubeError(404, 'NotFound', 'not found');
    return structuredClone(this.lease) as T;
  }

  async create<T extends KubeObject>(_r: unknown, obj: T): Promise<T> {
    await this.gate();
    if (this.lease) throw new KubeError(409, 'AlreadyExists', 'exists');
    this.lease = { ...structuredClone(obj), metadata: { ...obj.metadata, resourceVersion: String(++this.version) } };
    this.writes++;
    return structuredClone(this.lease) as T;
  }

  async replace<T extends KubeObject>(_r: unknown, obj: T): Promise<T> {
    await this.gate();
    if (obj.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw new KubeError(409, 'Conflict', 'modified');
    this.lease = { ...structuredClone(obj), metadata: { ...obj.metadata, resourceVersion: String(++this.version) } };
    this.writes++;
    return structuredClone(this.lease) as T;
  }
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('leader election', () => {
  describe('lease timestamps', () => {
    it('writes MicroTime with six fractional digits and reads it back', () => {
      const ms = Date.parse('2026-01-02T03:04:05.123Z');
      expect(formatMicroTime(ms)).to.equal('2026-01-02T03:04:05.123000Z');
      expect(parseMicroTime('2026-01-02T03:04:05.123456Z')).to.equal(ms);
      expect(parseMicroTime('2026-01-02T03:04:05Z')).to.equal(Date.parse('2026-01-02T03:04:05Z'));
      expect(parseMicroTime('2026-01-02T03:04:05.1Z')).to.equal(Date.parse('2026-01-02T03:04:05.100Z'));
      expect(parseMicroTime(undefined)).to.be.NaN;
    });

    it('considers a lease held until renewTime plus its duration, and never when it names no holder', () => {
      const renew = Date.parse('2026-01-02T03:04:05Z');
      const spec = { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: formatMicroTime(renew) };
      expect(isLeaseHeld(spec, renew + 14_999)).to.equal(true);
      expect(isLeaseHeld(spec, renew + 15_000)).to.equal(false);
      expect(isLeaseHeld({ ...spec, holderIdentity: '' }, renew)).to.equal(false);
      expect(isLeaseHeld(undefined, renew)).to.equal(false);
    });
  });

  describe('LeaderElector (in-memory lease)', () => {
    const electors: LeaderElector[] = [];
    afterEach(async () => {
      await Promise.all(electors.splice(0).map((e) => e.stop()));
    });

    function makeElector(client: LeaseClient, identity: string, log: string[]) {
      const elector = new LeaderElector(client, {
        namespace: 'ns',
        name: 'lock',
        identity,
        // A lease far longer than a retry, so a loaded machine's pauses never cost a leader its lease
        // here: these tests are about hand-over, not expiry.
        leaseDurationMs: 3000,
        renewDeadlineMs: 2000,
        retryPeriodMs: 50,
        onStartedLeading: () => {
          log.push(`${identity} started`);
        },
        onStoppedLeading: () => log.push(`${identity} stopped`),
      });
      electors.push(elector);
      return elector;
    }

    it('rejects timings where a leader could outlive its lease', () => {
      expect(() => new LeaderElector(new MemoryLeaseClient(), { namespace: 'ns', name: 'l', identity: 'a', leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).to.throw(
        /leaseDuration > renewDeadline > retryPeriod/,
      );
    });

    it('creates the lease, renews it, and records the holder in MicroTime', async () => {
      const client = new MemoryLeaseClient();
      const log: string[] = [];
      const a = makeElector(client, 'a', log);
      a.start();
      await until(() => a.isLeader());
      const writes = client.writes;
      await until(() => client.writes >= writes + 2);
      expect(client.lease!.spec).to.include({ holderIdentity: 'a', leaseDurationSeconds: 3, leaseTransitions: 0 });
      expect(client.lease!.spec!.renewTime).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(log).to.deep.equal(['a started']);
    });

    it('stops leading at the renew deadline even while a renewal hangs, and aborts the signal', async () => {
      const client = new MemoryLeaseClient();
      let signal: AbortSignal | undefined;
      let stoppedAt = 0;
      const a = new LeaderElector(client, {
        namespace: 'ns',
        name: 'lock',
        identity: 'a',
        leaseDurationMs: 1000,
        renewDeadlineMs: 300,
        retryPeriodMs: 50,
        onStartedLeading: (s) => {
          signal = s;
        },
        onStoppedLeading: () => (stoppedAt = Date.now()),
      });
      electors.push(a);
      a.start();
      await until(() => a.isLeader());
      const hungAt = Date.now();
      client.hang = true;
      await until(() => !a.isLeader(), 2000);
      expect(signal?.aborted).to.equal(true);
      // At most renewDeadline after the last renewal started, i.e. before the lease (1 s) runs out.
      expect(stoppedAt - hungAt).to.be.lessThan(400);
      client.hang = false;
    });

    it('stops leading at once when another replica holds the lease', async () => {
      const client = new MemoryLeaseClient();
      const log: string[] = [];
      const a = makeElector(client, 'a', log);
      a.start();
      await until(() => a.isLeader());
      // Someone with another identity took the lease (for example after a long pause of ours).
      client.lease = { ...client.lease!, spec: { ...client.lease!.spec, holderIdentity: 'b', renewTime: formatMicroTime(Date.now()) } };
      await until(() => !a.isLeader(), 500);
      expect(log).to.deep.equal(['a started', 'a stopped']);
    });

    it('lets exactly one of two replicas lead, and release hands over at once', async () => {
      const client = new MemoryLeaseClient();
      const log: string[] = [];
      const a = makeElector(client, 'a', log);
      const b = makeElector(client, 'b', log);
      a.start();
      await until(() => a.isLeader());
      b.start();
      // b has read the lease and found a holding it.
      await until(() => b.leader === 'a');
      expect(b.isLeader()).to.equal(false);
      const releasedAt = Date.now();
      await a.release();
      expect(client.lease!.spec!.holderIdentity).to.equal(undefined);
      await until(() => b.isLeader(), 2500);
      // Without the release b would wait for the lease to expire (3 s).
      expect(Date.now() - releasedAt).to.be.lessThan(3000);
      expect(client.lease!.spec).to.include({ holderIdentity: 'b', leaseTransitions: 1 });
      expect(log).to.deep.equal(['a started', 'a stopped', 'b started']);
    });
  });
});
