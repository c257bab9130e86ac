// What the operator logs while it receives deliveries: one request line each (trigger, outcome,
// status, correlation ID, duration) — and never a signing secret, a signature, a token, a body,
// a sensitive param or the capability path, not even when the API server fails mid-delivery.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { createLogCapture, createLogger, type LogCapture } from '../../../src/observability/logger.ts';
import { useNamespace } from '../../harness/fixtures.ts';
import { controlPlane } from '../../harness/root-hooks.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { createPipeline, createTrigger, planasonixHeaders, send, type Reply, type TriggerHandle } from './receiver-fixtures.ts';

describe('receiver: logs', function () {
  this.timeout(60_000);
  const ns = useNamespace('rx-logs');
  let operator: TestOperator;
  let capture: LogCapture;

  before(async () => {
    capture = createLogCapture();
    operator = await startTestOperator({ kubeApiTimeoutMs: 2_000 }, { logger: createLogger({ level: 'debug', destination: capture.destination }) });
    await createPipeline(ns());
  });
  after(async () => {
    await controlPlane().command('start-apiserver');
    await operator?.stop();
  });

  it('logs every request once with its outcome, and no secret, signature, body or sensitive value', async () => {
    const params = [
      { name: 'export_id', from: 'body' as const, path: '/export_id', required: true },
      { name: 'api_token', from: 'body' as const, path: '/token', sensitive: true },
      { name: 'requested_by', from: 'header' as const, header: 'X-Requested-By' },
    ];
    const signed = await createTrigger(operator, ns(), 'logged', { params });
    const strict = await createTrigger(operator, ns(), 'logged-strict', { params, payload: { strict: true, maxBytes: '2Ki', schema: { type: 'object', properties: { export_id: { type: 'string', maxLength: 8 } } } } });
    const bearer = await createTrigger(operator, ns(), 'logged-bearer', { params, auth: { scheme: 'bearer' } });

    const forbidden: string[] = [signed.secret, strict.secret, bearer.secret, signed.path, strict.path, bearer.path];
    const sent: { reply: Reply; trigger?: TriggerHandle }[] = [];
    const post = async (trigger: TriggerHandle | undefined, path: string, body: string, headers: Record<string, string>) => {
      for (const value of Object.values(headers)) forbidden.push(value);
      const reply = await send(operator.receiverUrl, path, { body, headers });
      sent.push({ reply, ...(trigger ? { trigger } : {}) });
      return reply;
    };
    const marked = () => {
      const marker = `body-marker-${randomUUID()}`;
      const token = `sensitive-token-${randomUUID()}`;
      forbidden.push(marker, token);
      return { marker, token, body: JSON.stringify({ export_id: 'e1', token, note: marker }) };
    };

    // Accepted, then its duplicate.
    const a = marked();
    const deliveryId = `evt_${randomUUID()}`;
    const sig = planasonixHeaders(signed.secret, a.body, { deliveryId });
    expect((await post(signed, signed.path, a.body, { ...sig, 'x-requested-by': 'requester-header-value' })).status).to.equal(202);
    expect((await post(signed, signed.path, a.body, sig)).status).to.equal(200);
    // A wrong signature, a malformed body, a schema violation, a body too large, a wrong token, an unknown path.
    const b = marked();
    expect((await post(signed, signed.path, b.body, planasonixHeaders(`pxs_${randomUUID()}`, b.body))).status).to.equal(401);
    const c = marked();
    const broken = c.body.slice(0, -3);
    expect((await post(signed, signed.path, broken, planasonixHeaders(signed.secret, broken))).status).to.equal(400);
    const d = marked();
    const violating = JSON.stringify({ export_id: `too-long-${d.marker}`, token: d.token });
    expect((await post(strict, strict.path, violating, planasonixHeaders(strict.secret, violating))).status).to.equal(400);
    const e = marked();
    const large = JSON.stringify({ export_id: 'e', token: e.token, pad: e.marker.repeat(100) });
    expect((await post(strict, strict.path, large, planasonixHeaders(strict.secret, large))).status).to.equal(413);
    const f = marked();
    expect((await post(bearer, bearer.path, f.body, { authorization: `Bearer wrong-${f.token}` })).status).to.equal(401);
    expect((await post(bearer, bearer.path, f.body, { authorization: `Bearer ${bearer.secret}` })).status).to.equal(202);
    const g = marked();
    expect((await post(undefined, `/hooks/${randomUUID()}`, g.body, { authorization: `Bearer ${g.token}` })).status).to.equal(404);
    // The API server fails while a delivery with a sensitive param is being stored: a warning with the error.
    await controlPlane().command('stop-apiserver');
    try {
      const h = marked();
      expect((await post(signed, signed.path, h.body, planasonixHeaders(signed.secret, h.body, { deliveryId: `evt_${randomUUID()}` }))).status).to.equal(503);
    } finally {
      await controlPlane().command('start-apiserver');
    }

    const text = capture.text();
    for (const value of forbidden) {
      expect(text.includes(value), `the logs contain ${value.slice(0, 24)}…`).to.equal(false);
    }
    // The signature values themselves, in case a header were logged after parsing.
    for (const hex of text.match(/[0-9a-f]{64}/g) ?? []) expect(forbidden.some((v) => v.includes(hex))).to.equal(false);

    const lines = capture.records().filter((r) => r.msg === 'webhook request' || r.msg === 'webhook request failed');
    expect(lines).to.have.length(sent.length);
    for (const [i, { reply, trigger }] of sent.entries()) {
      const line = lines[i]!;
      expect(line).to.include({ status: reply.status, method: 'POST' });
      expect(line.outcome).to.be.a('string');
      expect(line.durationMs).to.be.a('number');
      if (trigger) expect(line).to.include({ trigger: trigger.name, namespace: ns() });
      if (reply.status < 300) expect(line.correlationId).to.equal(reply.json().correlationId);
      else expect(line.correlationId).to.equal(undefined);
    }
    expect(lines.map((l) => l.outcome)).to.deep.equal([
      'accepted',
      'duplicate',
      'unauthorized',
      'bad_request',
      'bad_request',
      'too_large',
      'unauthorized',
      'accepted',
      'not_found',
      'unavailable',
    ]);
    const failed = lines.at(-1)!;
    expect(failed.level).to.equal('warn');
    expect(failed.error).to.be.an('object');
    expect((failed.error as { message: string }).message).to.match(/API server/);
  });
});
