import { expect } from 'chai';
import { mock } from 'node:test';
import { WorkQueue } from '../../../src/controller-runtime/work-queue.ts';

/** Lets pending promise callbacks run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe('WorkQueue', () => {
  it('processes a key added five times before processing once', async () => {
    const q = new WorkQueue();
    for (let i = 0; i < 5; i++) q.add('ns/a');
    q.add('ns/b');
    expect(q.length).to.equal(2);
    expect(await q.get()).to.equal('ns/a');
    expect(await q.get()).to.equal('ns/b');
    q.done('ns/a');
    q.done('ns/b');
    expect(q.length).to.equal(0);
    expect(q.stats.adds).to.equal(2);
    await q.shutdown();
  });

  it('holds back a key added while it is processed and hands it out again once done', async () => {
    const q = new WorkQueue();
    q.add('ns/a');
    const key = await q.get();
    q.add('ns/a');
    q.add('ns/a');
    expect(q.length).to.equal(0);
    q.done(key!);
    expect(q.length).to.equal(1);
    expect(await q.get()).to.equal('ns/a');
    q.done('ns/a');
    expect(q.length).to.equal(0);
    await q.shutdown();
  });

  it('hands a waiting worker the next key as soon as it is added', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.add('ns/a');
    expect(await waiting).to.equal('ns/a');
    expect(q.inFlight).to.equal(1);
    q.done('ns/a');
    await q.shutdown();
  });

  it('never gives one key to two workers at once, and processes every key added after its last start', async () => {
    const q = new WorkQueue();
    const active = new Map<string, number>();
    const lastStart = new Map<string, number>();
    const lastAdd = new Map<string, number>();
    let maxConcurrentPerKey = 0;
    let tick = 0;
    const worker = async () => {
      for (;;) {
        const key = await q.get();
        if (key === undefined) return;
        const n = (active.get(key) ?? 0) + 1;
        active.set(key, n);
        maxConcurrentPerKey = Math.max(maxConcurrentPerKey, n);
        lastStart.set(key, ++tick);
        await new Promise((r) => setTimeout(r, Math.random() * 3)); // the work takes a little while
        active.set(key, n - 1);
        q.done(key);
      }
    };
    const workers = [worker(), worker(), worker(), worker()];
    const keys = ['ns/a', 'ns/b', 'ns/c'];
    for (let i = 0; i < 200; i++) {
      const key = keys[i % keys.length]!;
      q.add(key);
      lastAdd.set(key, ++tick);
      if (i % 7 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    while (q.length > 0 || q.inFlight > 0) await new Promise((r) => setTimeout(r, 2));
    await q.shutdown();
    await Promise.all(workers);
    expect(maxConcurrentPerKey).to.equal(1);
    for (const key of keys) expect(lastStart.get(key)).to.be.greaterThan(lastAdd.get(key)!);
  });

  describe('with fake timers', () => {
    beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'] }));
    afterEach(() => mock.timers.reset());

    /** Advances fake time by `ms` and reports whether the key became ready exactly then. */
    async function readyAfter(q: WorkQueue, ms: number): Promise<boolean> {
      mock.timers.tick(ms - 1);
      await flush();
      const early = q.length;
      mock.timers.tick(1);
      await flush();
      return early === 0 && q.length === 1;
    }

    async function process(q: WorkQueue): Promise<void> {
      const key = await q.get();
      q.done(key!);
    }

    it('retries a failing key after 5 ms, doubling each time, up to the maximum', async () => {
      const q = new WorkQueue({ maxDelayMs: 40 });
      for (const expected of [5, 10, 20, 40, 40, 40]) {
        q.addRateLimited('ns/a');
        expect(await readyAfter(q, expected), `retry after ${expected} ms`).to.equal(true);
        await process(q);
      }
      expect(q.numRequeues('ns/a')).to.equal(6);
      expect(q.stats.retries).to.equal(6);
      await q.shutdown();
    });

    it('keeps a separate backoff for each key', async () => {
      const q = new WorkQueue();
      q.addRateLimited('ns/a');
      mock.timers.tick(5);
      await flush();
      await process(q);
      // a now waits 10 ms (its second failure) and b 5 ms (its first).
      q.addRateLimited('ns/a');
      q.addRateLimited('ns/b');
      mock.timers.tick(5);
      await flush();
      expect(q.length).to.equal(1);
      expect(await q.get()).to.equal('ns/b');
      q.done('ns/b');
      mock.timers.tick(5);
      await flush();
      expect(await q.get()).to.equal('ns/a');
      q.done('ns/a');
      await q.shutdown();
    });

    it('forget resets the backoff after a success', async () => {
      const q = new WorkQueue();
      for (let i = 0; i < 4; i++) q.addRateLimited('ns/a');
      mock.timers.tick(100);
      await flush();
      await process(q);
      q.forget('ns/a');
      expect(q.numRequeues('ns/a')).to.equal(0);
      q.addRateLimited('ns/a');
      expect(await readyAfter(q, 5)).to.equal(true);
      await q.shutdown();
    });

    it('waits at least as long as the server asked when retrying', async () => {
      const q = new WorkQueue();
      q.addRateLimited('ns/a', 1000);
      expect(await readyAfter(q, 1000)).to.equal(true);
      await q.shutdown();
    });

    it('waits no longer than the cap a caller gives, however often the key failed', async () => {
      const q = new WorkQueue();
      for (let i = 0; i < 12; i++) q.addRateLimited('ns/a'); // the backoff is now 5 ms × 2^12 ≈ 20 s
      mock.timers.tick(30_000);
      await flush();
      await process(q);
      q.addRateLimited('ns/a', 0, 1_000);
      expect(await readyAfter(q, 1_000)).to.equal(true);
      await q.shutdown();
    });

    it('addAfter adds the key once the delay passed', async () => {
      const q = new WorkQueue();
      q.addAfter('ns/a', 300);
      expect(q.delayedCount).to.equal(1);
      expect(await readyAfter(q, 300)).to.equal(true);
      expect(q.delayedCount).to.equal(0);
      await q.shutdown();
    });

    it('addAfter twice keeps the earlier time and adds the key only once', async () => {
      const q = new WorkQueue();
      q.addAfter('ns/a', 100);
      q.addAfter('ns/a', 50);
      q.addAfter('ns/b', 50);
      q.addAfter('ns/b', 100);
      mock.timers.tick(50);
      await flush();
      expect(q.length).to.equal(2);
      await process(q);
      await process(q);
      mock.timers.tick(100);
      await flush();
      expect(q.length).to.equal(0);
      await q.shutdown();
    });

    it('shutdown drops delayed keys, so no timer outlives the queue', async () => {
      const q = new WorkQueue();
      q.addAfter('ns/a', 1000);
      q.addRateLimited('ns/b');
      await q.shutdown();
      expect(q.delayedCount).to.equal(0);
      mock.timers.tick(2000);
      await flush();
      expect(q.length).to.equal(0);
    });
  });

  describe('shutdown', () => {
    it('wakes idle workers with undefined and ignores later adds', async () => {
      const q = new WorkQueue();
      const waiting = [q.get(), q.get()];
      await q.shutdown();
      expect(await Promise.all(waiting)).to.deep.equal([undefined, undefined]);
      q.add('ns/a');
      expect(q.length).to.equal(0);
      expect(await q.get()).to.equal(undefined);
    });

    it('resolves only after every key handed out is done, and drops keys not yet handed out', async () => {
      const q = new WorkQueue();
      q.add('ns/a');
      q.add('ns/b');
      const key = await q.get();
      let drained = false;
      const shutdown = q.shutdown().then(() => (drained = true));
      await new Promise((r) => setTimeout(r, 10)); // deliberate negative check: not drained while a key is out
      expect(drained).to.equal(false);
      expect(await q.get()).to.equal(undefined);
      q.done(key!);
      await shutdown;
      expect(drained).to.equal(true);
    });
  });
});
