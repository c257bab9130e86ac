// Slow clients cannot hold the receiver's sockets: one that dribbles its headers is cut off at the
// header timeout, one that dribbles its body at the request timeout, and the request that was
// waiting for that body finishes (it is counted) instead of waiting forever.
import { expect } from 'chai';
import net from 'node:net';
import { eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { createPipeline, createTrigger, deliver, type TriggerHandle } from './receiver-fixtures.ts';

const HEADER_TIMEOUT_MS = 300;
const REQUEST_TIMEOUT_MS = 1_500;

/** Writes `head`, then one `drip` every intervalMs, until the server closes the connection. */
function dribble(baseUrl: string, head: string, drip: string, intervalMs: number, giveUpMs: number): Promise<{ closedAfterMs: number; response: string }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    const timer = setInterval(() => socket.write(drip), intervalMs);
    const giveUp = setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error(`the server still held the connection after ${giveUpMs} ms`));
    }, giveUpMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {}); // a reset while writing is one way of being cut off
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ closedAfterMs: Date.now() - started, response: Buffer.concat(chunks).toString('latin1') });
    });
    socket.write(head);
  });
}

describe('receiver: slow clients', function () {
  this.timeout(30_000);
  const ns = useNamespace('rx-slow');
  let operator: TestOperator;
  let trigger: TriggerHandle;

  before(async () => {
    operator = await startTestOperator({ headerTimeoutMs: HEADER_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS });
    await createPipeline(ns());
    trigger = await createTrigger(operator, ns(), 'slow');
  });
  after(async () => operator?.stop());

  it('disconnects a client that sends its headers slower than --header-timeout', async () => {
    const head = `POST ${trigger.path} HTTP/1.1\r\nHost: ${new URL(operator.receiverUrl).host}\r\n`;
    // One header every 100 ms would go on for a minute; the server must not wait for it.
    const { closedAfterMs, response } = await dribble(operator.receiverUrl, head, 'X-Slow: a\r\n', 100, 10_000);
    expect(closedAfterMs).to.be.below(HEADER_TIMEOUT_MS + 1_000);
    expect(response).to.match(/^HTTP\/1\.1 408 /);
    expect(response).to.match(/\r\n\r\n\{"error":"request_timeout",/);
  });

  it('disconnects a client that sends its body slower than --request-timeout, and the request ends', async () => {
    const requestsBefore = await countRequests(operator);
    const head = `POST ${trigger.path} HTTP/1.1\r\nHost: ${new URL(operator.receiverUrl).host}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"export_id":"`;
    const { closedAfterMs } = await dribble(operator.receiverUrl, head, 'x', 100, 10_000);
    expect(closedAfterMs).to.be.below(REQUEST_TIMEOUT_MS + 1_500);
    // The handler that was reading the body gave up too: it reported the request.
    await eventually(async () => (await countRequests(operator)) === requestsBefore + 1, 5_000, 20);
  });

  it('still serves a normal delivery', async () => {
    const reply = await deliver(trigger, { export_id: 'after-slow' });
    expect(reply.status, reply.text).to.equal(202);
  });
});

async function countRequests(operator: TestOperator): Promise<number> {
  const metric = await operator.metrics.registry.getSingleMetric('planasonix_webhook_requests_total')!.get();
  return metric.values.reduce((sum, v) => sum + v.value, 0);
}
