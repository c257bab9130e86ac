// status.lastDelivery names the newest delivery's run, written by the trigger controller (the one
// writer of a trigger's status) at most once per interval: after N deliveries it is right within
// about two intervals, and the API server saw far fewer than N status writes.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { WebhookTrigger } from '../../../src/api/types.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { createPipeline, createTrigger, deliver, getTrigger, planasonixHeaders, send } from '../receiver/receiver-fixtures.ts';

const INTERVAL_MS = 1_000;

describe('trigger status: lastDelivery, written at a bounded rate', function () {
  this.timeout(60_000);
  const ns = useNamespace('wt-last-delivery');
  let operator: TestOperator;

  before(async () => {
    operator = await startTestOperator({ statusFlushIntervalMs: INTERVAL_MS });
    await createPipeline(ns());
  });
  after(async () => operator?.stop());

  /** Every change of a trigger's status.lastDelivery the API server records, as `kubectl get -w` would show. */
  function watchLastDeliveryWrites(name: string): { writes: string[]; stop: () => Promise<void> } {
    const writes: string[] = [];
    const abort = new AbortController();
    let last = '';
    const watching = adminClient().watch<WebhookTrigger>(RESOURCES.webhookTriggers, ns(), { fieldSelector: `metadata.name=${name}`, signal: abort.signal }, (type, t) => {
      const now = t.status?.lastDelivery?.correlationId ?? '';
      if (type === 'MODIFIED' && now !== last) writes.push(now);
      last = now;
    });
    return {
      writes,
      stop: async () => {
        abort.abort();
        await watching.catch(() => {});
      },
    };
  }

  it('names the newest delivery within two intervals, with far fewer writes than deliveries', async () => {
    const trigger = await createTrigger(operator, ns(), 'counted');
    const { writes, stop } = watchLastDeliveryWrites('counted');
    try {
      const accepted = 60;
      const started = Date.now();
      let newest = '';
      for (let i = 0; i < accepted; i += 4) {
        if (i % 8 === 0) {
          const body = JSON.stringify({ export_id: 'bad' });
          const bad = await send(operator.receiverUrl, trigger.path, { body, headers: planasonixHeaders(`pxs_${randomUUID()}`, body) });
          expect(bad.status).to.equal(401);
        }
        // Four at a time, then one more on its own: the newest delivery is known.
        const replies = await Promise.all(Array.from({ length: 3 }, (_, j) => deliver(trigger, { export_id: `n-${i + j}` })));
        for (const r of replies) expect(r.status, r.text).to.equal(202);
        const single = await deliver(trigger, { export_id: `n-${i + 3}` });
        expect(single.status, single.text).to.equal(202);
        newest = single.json().correlationId as string;
      }
      const sentFor = Date.now() - started;
      const lastSent = Date.now();

      const status = await eventually(async () => {
        const t = await getTrigger(ns(), 'counted');
        return t.status?.lastDelivery?.correlationId === newest ? t.status : undefined;
      }, 10_000, 50);
      const settledAfter = Date.now() - lastSent;
      expect(settledAfter, 'lastDelivery settles within about two intervals').to.be.below(2 * INTERVAL_MS + 1_000);
      expect(status.lastDelivery!.pipelineRun).to.match(/^counted-/);
      // The watch has seen the final write: every write is counted below.
      await eventually(async () => writes.at(-1) === newest, 10_000, 20);
      const total = accepted + accepted / 8;
      const maxWrites = Math.ceil((sentFor + settledAfter) / INTERVAL_MS) + 2;
      expect(writes.length, `${writes.length} status writes for ${total} deliveries in ${sentFor} ms`).to.be.at.most(maxWrites);
      expect(writes.length).to.be.below(total / 5);
    } finally {
      await stop();
    }
  });

  it('keeps to the interval while deliveries keep coming for longer than it', async () => {
    // Past the first interval the trigger is reconciled mid-stream; its own status write must not
    // wake it again at once, or, with a newer run always there, every write would make the next.
    const trigger = await createTrigger(operator, ns(), 'steady');
    const { writes, stop } = watchLastDeliveryWrites('steady');
    try {
      const streamMs = 5 * INTERVAL_MS + 500;
      const started = Date.now();
      let delivered = 0;
      const sender = async () => {
        while (Date.now() - started < streamMs) {
          const reply = await deliver(trigger, { export_id: `s-${delivered++}` });
          expect(reply.status, reply.text).to.equal(202);
        }
      };
      await Promise.all(Array.from({ length: 8 }, sender));
      // Then one on its own: the newest delivery is known.
      const last = await deliver(trigger, { export_id: 'last' });
      expect(last.status, last.text).to.equal(202);
      const newest = last.json().correlationId as string;
      const sentFor = Date.now() - started;
      await eventually(async () => writes.at(-1) === newest, 10_000, 20);
      const settledAfter = Date.now() - started - sentFor;
      const maxWrites = Math.ceil((sentFor + settledAfter) / INTERVAL_MS) + 2;
      expect(writes.length, `${writes.length} status writes for ${delivered} deliveries in ${sentFor} ms, settled ${settledAfter} ms later`).to.be.at.most(maxWrites);
    } finally {
      await stop();
    }
  });
});
