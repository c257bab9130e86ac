// A trigger's delivery counts reach its status in batches: after N deliveries the counts are right
// within about two flush intervals, and the API server saw far fewer than N status writes.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { WebhookTrigger } from '../../../src/api/types.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { createPipeline, createTrigger, deliver, getTrigger, planasonixHeaders, send } from './receiver-fixtures.ts';

const FLUSH_MS = 1_000;

describe('receiver: delivery status is written in batches', function () {
  this.timeout(60_000);
  const ns = useNamespace('rx-status');
  let operator: TestOperator;

  before(async () => {
    operator = await startTestOperator({ statusFlushIntervalMs: FLUSH_MS });
    await createPipeline(ns());
  });
  after(async () => operator?.stop());

  it('counts N deliveries within two flush intervals, with far fewer than N writes', async () => {
    const trigger = await createTrigger(operator, ns(), 'counted');
    const before = (await getTrigger(ns(), 'counted')).status?.deliveries ?? { accepted: 0, rejected: 0 };

    // Every change of status.deliveries the API server records, as `kubectl get -w` would show.
    const writes: { accepted: number; rejected: number }[] = [];
    const abort = new AbortController();
    let last = JSON.stringify(before);
    const watching = adminClient().watch<WebhookTrigger>(
      RESOURCES.webhookTriggers,
      ns(),
      { fieldSelector: 'metadata.name=counted', signal: abort.signal },
      (type, t) => {
        const now = JSON.stringify(t.status?.deliveries ?? { accepted: 0, rejected: 0 });
        if (type === 'MODIFIED' && now !== last) writes.push(t.status!.deliveries!);
        last = now;
      },
    );

    try {
      const accepted = 60;
      let rejectedSent = 0;
      const started = Date.now();
      const correlationIds: string[] = [];
      // Spread over about three seconds, a few at a time, as a busy sender would.
      for (let i = 0; i < accepted; i += 4) {
        if (i % 8 === 0) {
          const body = JSON.stringify({ export_id: 'bad' });
          const bad = await send(operator.receiverUrl, trigger.path, { body, headers: planasonixHeaders(`pxs_${randomUUID()}`, body) });
          expect(bad.status).to.equal(401);
          rejectedSent++;
        }
        const replies = await Promise.all(Array.from({ length: 4 }, (_, j) => deliver(trigger, { export_id: `n-${i + j}` })));
        for (const r of replies) {
          expect(r.status, r.text).to.equal(202);
          correlationIds.push(r.json().correlationId as string);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      const sentFor = Date.now() - started;
      const lastSent = Date.now();

      const status = await eventually(async () => {
        const t = await getTrigger(ns(), 'counted');
        const d = t.status?.deliveries;
        return d && d.accepted === before.accepted + accepted && d.rejected === before.rejected + rejectedSent ? t.status : undefined;
      }, 10_000, 50);
      const settledAfter = Date.now() - lastSent;
      expect(settledAfter, 'counts settle within about two flush intervals').to.be.below(2 * FLUSH_MS + 500);
      expect(status!.lastDelivery?.outcome).to.equal('accepted');
      expect(correlationIds).to.include(status!.lastDelivery?.correlationId);

      await new Promise((r) => setTimeout(r, 300)); // let the watch catch up with the last write
      const total = accepted + rejectedSent;
      const maxWrites = Math.ceil((sentFor + settledAfter) / FLUSH_MS) + 2;
      expect(writes.length, `${writes.length} status writes for ${total} deliveries in ${sentFor} ms`).to.be.at.most(maxWrites);
      expect(writes.length).to.be.below(total / 5);
      // Counts only grow, write after write.
      for (let i = 1; i < writes.length; i++) {
        expect(writes[i]!.accepted).to.be.at.least(writes[i - 1]!.accepted);
        expect(writes[i]!.rejected).to.be.at.least(writes[i - 1]!.rejected);
      }
    } finally {
      abort.abort();
      await watching.catch(() => {});
    }
  });
});
