import { expect } from 'chai';
import { jitter, jitteredBackoff, sleep, untilAborted } from '../../../src/controller-runtime/timing.ts';

describe('timing helpers', () => {
  it('jitteredBackoff doubles from the minimum, caps at the maximum and spreads over the upper half', () => {
    const low = () => 0;
    const high = () => 1;
    expect(jitteredBackoff(1, 200, 30_000, low)).to.equal(100);
    expect(jitteredBackoff(1, 200, 30_000, high)).to.be.closeTo(200, 0.01);
    expect(jitteredBackoff(4, 200, 30_000, high)).to.be.closeTo(1600, 0.01);
    expect(jitteredBackoff(50, 200, 30_000, high)).to.be.closeTo(30_000, 0.01);
    expect(jitteredBackoff(5000, 200, 30_000, low)).to.equal(15_000);
  });

  it('jitter stretches a period by up to the factor', () => {
    expect(jitter(2000, 0.2, () => 0)).to.equal(2000);
    expect(jitter(2000, 0.2, () => 1)).to.equal(2400);
  });

  it('sleep ends as soon as its signal aborts', async () => {
    const abort = new AbortController();
    const started = Date.now();
    setTimeout(() => abort.abort(), 10);
    await sleep(10_000, abort.signal);
    expect(Date.now() - started).to.be.lessThan(1000);
  });

  it('untilAborted gives up on a request that outlives the signal, and passes through results', async () => {
    const abort = new AbortController();
    const never = new Promise<string>(() => {});
    setTimeout(() => abort.abort(), 5);
    expect(await untilAborted(never, abort.signal)).to.equal(undefined);
    expect(await untilAborted(Promise.resolve('list'), new AbortController().signal)).to.equal('list');
    let rejected: unknown;
    await untilAborted(Promise.reject(new Error('boom')), new AbortController().signal).catch((e: unknown) => (rejected = e));
    expect((rejected as Error).message).to.equal('boom');
  });
});
