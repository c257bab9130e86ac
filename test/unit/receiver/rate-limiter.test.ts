import { expect } from 'chai';
import fc from 'fast-check';
import { TokenBucket } from '../../../src/receiver/rate-limiter.ts';

describe('token bucket', () => {
  it('allows the burst at once, then one request per 60/rpm seconds', () => {
    const bucket = new TokenBucket({ requestsPerMinute: 60, burst: 3 }, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0)]).to.deep.equal([0, 0, 0]);
    expect(bucket.take(0)).to.be.closeTo(1, 1e-9);
    expect(bucket.take(500)).to.be.closeTo(0.5, 1e-9);
    expect(bucket.take(1000)).to.equal(0);
    expect(bucket.take(1000)).to.be.closeTo(1, 1e-9);
  });

  it('never holds more than the burst, however long it was idle', () => {
    const bucket = new TokenBucket({ requestsPerMinute: 600, burst: 2 }, 0);
    const hour = 3_600_000;
    expect([bucket.take(hour), bucket.take(hour), bucket.take(hour)].map((w) => w > 0)).to.deep.equal([false, false, true]);
  });

  it('admits at most burst + rate × elapsed requests in any run (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 200 }),
        (rpm, burst, gaps) => {
          const bucket = new TokenBucket({ requestsPerMinute: rpm, burst }, 0);
          let now = 0;
          let admitted = 0;
          for (const gap of gaps) {
            now += gap;
            const wait = bucket.take(now);
            if (wait === 0) admitted++;
            else expect(wait).to.be.greaterThan(0).and.at.most(60 / rpm + 1e-9);
          }
          expect(admitted).to.be.at.most(burst + (rpm * now) / 60_000 + 1e-6);
        },
      ),
    );
  });
});
