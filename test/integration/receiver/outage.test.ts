// The API server goes away while deliveries keep arriving: every delivery is answered quickly with
// either a 2xx (and then its run exists) or a 503 with Retry-After (and then a retry succeeds), so
// nothing a sender was told is accepted is ever lost.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { controlPlane } from '../../harness/root-hooks.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { createPipeline, createTrigger, deliver, runsOf, type Reply, type TriggerHandle } from './receiver-fixtures.ts';

const REQUEST_TIMEOUT_MS = 5_000;

describe('receiver: API server outage', function () {
  this.timeout(120_000);
  const ns = useNamespace('rx-outage');
  let operator: TestOperator;
  let trigger: TriggerHandle;

  before(async () => {
    operator = await startTestOperator({ kubeApiTimeoutMs: 2_000, requestTimeoutMs: REQUEST_TIMEOUT_MS, headerTimeoutMs: 2_000 });
    await createPipeline(ns());
    trigger = await createTrigger(operator, ns(), 'outage');
  });
  after(async () => {
    await controlPlane().command('start-apiserver'); // idempotent: never leave the next file without an API server
    await operator?.stop();
  });

  interface Attempt {
    deliveryId: string;
    exportId: string;
    reply?: Reply;
    error?: unknown;
  }

  const attempt = async (label: string): Promise<Attempt> => {
    const a: Attempt = { deliveryId: `evt_${randomUUID()}`, exportId: `${label}-${randomUUID().slice(0, 8)}` };
    try {
      a.reply = await deliver(trigger, { export_id: a.exportId }, { deliveryId: a.deliveryId });
    } catch (e) {
      a.error = e;
    }
    return a;
  };

  it('answers 503 with Retry-After while the API server is down, and loses no acknowledged delivery', async () => {
    const attempts: Attempt[] = [];
    let sending = true;
    // A steady stream of deliveries from before the outage until after it, so that the edges
    // (the API server dying mid-request, coming back mid-request) are exercised too.
    const stream = (async () => {
      while (sending) {
        attempts.push(await attempt('stream'));
        await new Promise((r) => setTimeout(r, 150)); // the sender's pace, not a synchronisation
      }
    })();
    /** Waits until the stream has made `n` more attempts. */
    const streamed = async (n: number) => {
      const from = attempts.length;
      await eventually(async () => attempts.length >= from + n, 30_000, 20);
    };
    try {
      await streamed(3);
      await controlPlane().command('stop-apiserver');
      const during = await Promise.all(Array.from({ length: 10 }, () => attempt('down')));
      attempts.push(...during);
      for (const a of during) {
        expect(a.error).to.equal(undefined);
        expect(a.reply!.status, a.reply!.text).to.equal(503);
        expect(a.reply!.json()).to.include({ error: 'api_unavailable' });
        expect(Number(a.reply!.headers['retry-after'])).to.be.greaterThan(0);
        expect(a.reply!.durationMs).to.be.below(REQUEST_TIMEOUT_MS);
        expect(a.reply!.headers['x-correlation-id']).to.equal(undefined);
      }
      await streamed(2); // the stream too meets the outage
    } finally {
      await controlPlane().command('start-apiserver');
    }
    await eventually(() => adminClient().list(RESOURCES.namespaces, undefined, { limit: 1 }), 60_000, 250);
    await streamed(3); // and its return
    sending = false;
    await stream;

    // Every answer was a 2xx or a 503 with Retry-After, within the request timeout.
    for (const a of attempts) {
      expect(a.error, String(a.error)).to.equal(undefined);
      const r = a.reply!;
      expect([200, 202, 503], r.text).to.include(r.status);
      if (r.status === 503) expect(Number(r.headers['retry-after'])).to.be.greaterThan(0);
      expect(r.durationMs).to.be.below(REQUEST_TIMEOUT_MS);
    }
    const refused = attempts.filter((a) => a.reply!.status === 503);
    expect(refused.length).to.be.at.least(10);

    // Every delivery that got a 2xx has its run, with the correlation ID it was given.
    const runs = await runsOf(ns(), 'outage');
    const byExport = new Map(runs.map((r) => [r.spec.params?.export_id, r]));
    for (const a of attempts.filter((x) => x.reply!.status < 300)) {
      const run = byExport.get(a.exportId);
      expect(run, `run of acknowledged delivery ${a.exportId}`).not.to.equal(undefined);
      expect(run!.spec.correlationId).to.equal(a.reply!.json().correlationId);
    }

    // The sender retries every 503: each succeeds now, 202 — or 200 if the run was stored but the
    // answer was lost with the API server.
    for (let i = 0; i < refused.length; i += 10) {
      await Promise.all(
        refused.slice(i, i + 10).map(async (a) => {
          const retry = await eventually(async () => {
            const r = await deliver(trigger, { export_id: a.exportId }, { deliveryId: a.deliveryId });
            return r.status === 503 ? undefined : r;
          }, 20_000);
          expect([200, 202], retry.text).to.include(retry.status);
        }),
      );
    }
    const after = await runsOf(ns(), 'outage');
    expect(after.length).to.equal(new Set(attempts.map((a) => a.exportId)).size);
  });
});
