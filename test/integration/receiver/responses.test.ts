// Every answer of the receiver's HTTP contract, over real HTTP against the running operator: its
// status, its JSON error code, its headers, that it never echoes the body, and — for every
// refusal — that no PipelineRun was created.
import { expect } from 'chai';
import { randomBytes, randomUUID } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { PipelineRun } from '../../../src/api/types.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import {
  createPipeline,
  createTrigger,
  deliver,
  planasonixHeaders,
  rawExchange,
  runsOf,
  send,
  statusOf,
  jsonBodyOf,
  type Reply,
  type TriggerHandle,
} from './receiver-fixtures.ts';

describe('receiver: every answer of the HTTP contract', function () {
  this.timeout(60_000);
  const ns = useNamespace('rx-answers');
  let operator: TestOperator;

  before(async () => {
    // 127.0.0.1 plays a trusted proxy; tests connect from 127.0.0.2 to be an ordinary client.
    operator = await startTestOperator({ trustedProxies: ['127.0.0.1/32'] });
    await createPipeline(ns());
  });
  after(async () => operator?.stop());

  /** A body carrying a marker that must never come back in an answer. */
  const markedBody = () => {
    const marker = `echo-marker-${randomUUID()}`;
    return { marker, body: { export_id: `exp-${randomUUID().slice(0, 8)}`, record_count: 3, note: marker } };
  };

  function expectRefusal(reply: Reply, status: number, code: string, marker: string): Record<string, unknown> {
    expect(reply.status, reply.text).to.equal(status);
    expect(reply.headers['content-type']).to.match(/^application\/json/);
    const body = reply.json();
    expect(body.error).to.equal(code);
    expect(body.message).to.be.a('string').and.not.be.empty;
    expect(reply.text).not.to.include(marker);
    expect(reply.headers['x-correlation-id'], 'no run, so no correlation ID').to.equal(undefined);
    return body;
  }

  async function expectNoRuns(trigger: string): Promise<void> {
    expect(await runsOf(ns(), trigger)).to.have.length(0);
  }

  it('202: answers with the correlation ID and the run once the run is stored', async () => {
    const trigger = await createTrigger(operator, ns(), 'accepts');
    const { marker, body } = markedBody();
    const reply = await deliver(trigger, body);
    expect(reply.status, reply.text).to.equal(202);
    expect(reply.headers['content-type']).to.match(/^application\/json/);
    const answer = reply.json() as { correlationId: string; pipelineRun: { namespace: string; name: string }; pipelineRuns: unknown[]; duplicate: boolean };
    expect(Object.keys(answer).sort()).to.deep.equal(['correlationId', 'duplicate', 'pipelineRun', 'pipelineRuns']);
    // One target (spec.pipelineRef): the list names the same run, with no target name.
    expect(answer.pipelineRuns).to.deep.equal([{ ...answer.pipelineRun, duplicate: false }]);
    expect(answer.duplicate).to.equal(false);
    expect(answer.correlationId).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(answer.pipelineRun.namespace).to.equal(ns());
    expect(reply.headers['x-correlation-id']).to.equal(answer.correlationId);
    expect(reply.text).not.to.include(marker);
    // Not eventually: the 202 promises the run is already in the API server.
    const run = await adminClient().get<PipelineRun>(RESOURCES.pipelineRuns, ns(), answer.pipelineRun.name);
    expect(run.spec.correlationId).to.equal(answer.correlationId);
    expect(run.spec.params).to.deep.include({ export_id: body.export_id, record_count: '3' });
    expect(JSON.stringify(run)).not.to.include(marker);
  });

  it('200: a second delivery with the same delivery ID returns the original run and creates nothing', async () => {
    const trigger = await createTrigger(operator, ns(), 'dedupes');
    const deliveryId = `evt_${randomUUID()}`;
    const first = await deliver(trigger, { export_id: 'first' }, { deliveryId });
    expect(first.status, first.text).to.equal(202);
    // The sender retries later: a new signature (a later timestamp), even a different body, same ID.
    const later = Buffer.from(JSON.stringify({ export_id: 'second' }));
    const headers = planasonixHeaders(trigger.secret, later, { t: Math.floor(Date.now() / 1000) + 1, deliveryId });
    const retry = await deliver(trigger, { export_id: 'second' }, { deliveryId, headers });
    expect(retry.status, retry.text).to.equal(200);
    const original = first.json() as { pipelineRun: { namespace: string; name: string } };
    expect(retry.json()).to.deep.equal({ ...original, duplicate: true, pipelineRuns: [{ ...original.pipelineRun, duplicate: true }] });
    expect(retry.headers['x-correlation-id']).to.equal(first.json().correlationId);
    const runs = await runsOf(ns(), 'dedupes');
    expect(runs).to.have.length(1);
    expect(runs[0]!.spec.params?.export_id).to.equal('first');
  });

  it('400: malformed JSON', async () => {
    const trigger = await createTrigger(operator, ns(), 'malformed');
    const marker = `echo-marker-${randomUUID()}`;
    const raw = Buffer.from(`{"export_id": "${marker}", `);
    const reply = await send(operator.receiverUrl, trigger.path, { headers: planasonixHeaders(trigger.secret, raw), body: raw });
    expectRefusal(reply, 400, 'malformed_json', marker);
    await expectNoRuns('malformed');
  });

  it('400 in strict mode: a missing required param, listed by path without values', async () => {
    const trigger = await createTrigger(operator, ns(), 'strict-params', { payload: { strict: true } });
    const marker = `echo-marker-${randomUUID()}`;
    const raw = Buffer.from(JSON.stringify({ record_count: 7, other: marker }));
    const reply = await send(operator.receiverUrl, trigger.path, { headers: planasonixHeaders(trigger.secret, raw), body: raw });
    const body = expectRefusal(reply, 400, 'invalid_params', marker);
    expect(body.problems).to.have.length(1);
    const [problem] = body.problems as { path: string; message: string }[];
    expect(problem!.path).to.equal('/export_id');
    expect(problem!.message).to.include('export_id').and.include('required');
    await expectNoRuns('strict-params');
  });

  it('400 in strict mode: a payload that fails the JSON Schema, with paths and messages but no values', async () => {
    const schema = {
      // An $id once made every recompile after the first fail (the shared ajv instance refused it again).
      $id: 'https://schemas.example/export-completed.json',
      type: 'object',
      required: ['export_id'],
      properties: { export_id: { type: 'string', maxLength: 16 }, record_count: { type: 'number' } },
    };
    const trigger = await createTrigger(operator, ns(), 'strict-schema', { payload: { strict: true, schema } });
    const marker = `echo-marker-${randomUUID()}`;
    const raw = Buffer.from(JSON.stringify({ export_id: marker, record_count: marker }));
    const reply = await send(operator.receiverUrl, trigger.path, { headers: planasonixHeaders(trigger.secret, raw), body: raw });
    const body = expectRefusal(reply, 400, 'schema_violation', marker);
    const problems = body.problems as { path: string; message: string }[];
    expect(problems.map((p) => p.path).sort()).to.deep.equal(['/export_id', '/record_count']);
    for (const p of problems) expect(p.message).to.be.a('string').and.not.be.empty;
    // Still checked after the trigger was recompiled (a spec change) and the status written again.
    await adminClient().mergePatch(RESOURCES.webhookTriggers, ns(), 'strict-schema', { spec: { rateLimit: { requestsPerMinute: 6000 } } });
    await eventually(async () => {
      const route = operator.routes?.lookup(trigger.path);
      return route?.state === 'serving' && route.rateLimit !== undefined;
    }, 10_000);
    const again = await send(operator.receiverUrl, trigger.path, { headers: planasonixHeaders(trigger.secret, raw), body: raw });
    expectRefusal(again, 400, 'schema_violation', marker);
    await expectNoRuns('strict-schema');
  });

  it('401: missing or wrong signature, with a reason code and one message for both', async () => {
    const trigger = await createTrigger(operator, ns(), 'unsigned');
    const { marker, body } = markedBody();
    const raw = Buffer.from(JSON.stringify(body));
    const missing = await send(operator.receiverUrl, trigger.path, { body: raw });
    expectRefusal(missing, 401, 'missing_signature', marker);
    const wrongSecret = await send(operator.receiverUrl, trigger.path, { headers: planasonixHeaders(`pxs_${randomBytes(32).toString('base64url')}`, raw), body: raw });
    const wrongSignature = await send(operator.receiverUrl, trigger.path, { headers: { 'x-planasonix-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'ab'.repeat(32)}` }, body: raw });
    const a = expectRefusal(wrongSecret, 401, 'invalid_signature', marker);
    const b = expectRefusal(wrongSignature, 401, 'invalid_signature', marker);
    expect(a).to.deep.equal(b);
    await expectNoRuns('unsigned');
  });

  describe('403: source address outside allowedSourceRanges', () => {
    let trigger: TriggerHandle;
    before(async () => {
      trigger = await createTrigger(operator, ns(), 'ranges', { allowedSourceRanges: ['203.0.113.0/24', '2001:db8::/32'] });
    });
    const signed = (body: unknown) => {
      const raw = Buffer.from(JSON.stringify(body));
      return { raw, headers: planasonixHeaders(trigger.secret, raw, { deliveryId: randomUUID() }) };
    };

    it('refuses a client whose socket address is outside the ranges', async () => {
      const { marker, body } = markedBody();
      const { raw, headers } = signed(body);
      const reply = await send(operator.receiverUrl, trigger.path, { headers, body: raw, localAddress: '127.0.0.2' });
      expectRefusal(reply, 403, 'source_address_not_allowed', marker);
      await expectNoRuns('ranges');
    });

    it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
      const { marker, body } = markedBody();
      const { raw, headers } = signed(body);
      const reply = await send(operator.receiverUrl, trigger.path, { headers: { ...headers, 'x-forwarded-for': '203.0.113.9' }, body: raw, localAddress: '127.0.0.2' });
      expectRefusal(reply, 403, 'source_address_not_allowed', marker);
      await expectNoRuns('ranges');
    });

    it('believes X-Forwarded-For from a trusted proxy, both ways', async () => {
      const outside = signed(markedBody().body);
      const refused = await send(operator.receiverUrl, trigger.path, { headers: { ...outside.headers, 'x-forwarded-for': '198.51.100.7' }, body: outside.raw, localAddress: '127.0.0.1' });
      expect(refused.status, refused.text).to.equal(403);
      const inside = signed(markedBody().body);
      const accepted = await send(operator.receiverUrl, trigger.path, { headers: { ...inside.headers, 'x-forwarded-for': '198.51.100.7, 203.0.113.9' }, body: inside.raw, localAddress: '127.0.0.1' });
      expect(accepted.status, accepted.text).to.equal(202);
      expect(await runsOf(ns(), 'ranges')).to.have.length(1);
    });
  });

  it('404: an unknown path and a deleted trigger\'s path get the very same answer', async () => {
    const trigger = await createTrigger(operator, ns(), 'deleted');
    const { marker, body } = markedBody();
    const raw = Buffer.from(JSON.stringify(body));
    const unknown = await send(operator.receiverUrl, `/hooks/${randomBytes(32).toString('base64url')}`, { headers: planasonixHeaders(trigger.secret, raw), body: raw });
    expectRefusal(unknown, 404, 'not_found', marker);

    await adminClient().delete(RESOURCES.webhookTriggers, ns(), 'deleted');
    await eventually(async () => operator.routes?.lookup(trigger.path) === undefined, 10_000);
    const gone = await send(operator.receiverUrl, trigger.path, { headers: planasonixHeaders(trigger.secret, raw), body: raw });
    expectRefusal(gone, 404, 'not_found', marker);
    expect(gone.text).to.equal(unknown.text);
    const { date: _a, ...goneHeaders } = gone.headers;
    const { date: _b, ...unknownHeaders } = unknown.headers;
    expect(goneHeaders).to.deep.equal(unknownHeaders);
    await expectNoRuns('deleted');
  });

  it('405: other methods on a live path, with Allow: POST', async () => {
    const trigger = await createTrigger(operator, ns(), 'methods');
    const { marker, body } = markedBody();
    const raw = Buffer.from(JSON.stringify(body));
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const reply = await send(operator.receiverUrl, trigger.path, { method, headers: planasonixHeaders(trigger.secret, raw), body: raw });
      expectRefusal(reply, 405, 'method_not_allowed', marker);
      expect(reply.headers.allow, method).to.equal('POST');
    }
    const head = await send(operator.receiverUrl, trigger.path, { method: 'HEAD' });
    expect(head.status).to.equal(405);
    expect(head.headers.allow).to.equal('POST');
    await expectNoRuns('methods');
  });

  describe('413: body over the trigger\'s limit', () => {
    let trigger: TriggerHandle;
    before(async () => {
      trigger = await createTrigger(operator, ns(), 'limited', { payload: { maxBytes: '1Ki' } });
    });

    it('refuses a declared Content-Length over the limit', async () => {
      const marker = `echo-marker-${randomUUID()}`;
      const raw = Buffer.from(JSON.stringify({ export_id: 'x', pad: marker.repeat(40) }));
      expect(raw.length).to.be.greaterThan(1024);
      const reply = await send(operator.receiverUrl, trigger.path, { headers: planasonixHeaders(trigger.secret, raw), body: raw });
      expectRefusal(reply, 413, 'payload_too_large', marker);
      expect(reply.headers.connection).to.equal('close');
      await expectNoRuns('limited');
    });

    it('detects a chunked body crossing the limit while it streams, without waiting for the rest', async () => {
      const url = new URL(operator.receiverUrl);
      const chunk = Buffer.alloc(2048, 'a');
      // 2 KiB of a body that claims nothing about its length; the client keeps the connection open
      // and would send a megabyte more, but the answer must come before any of it.
      const head = `POST ${trigger.path} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
      const started = Date.now();
      const { response, closedByServer } = await rawExchange(operator.receiverUrl, Buffer.concat([Buffer.from(head), Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]), 10_000);
      expect(statusOf(response), response.slice(0, 200)).to.equal(413);
      expect(jsonBodyOf(response)?.error).to.equal('payload_too_large');
      expect(closedByServer, 'the server closes instead of reading the excess').to.equal(true);
      expect(Date.now() - started).to.be.below(5_000);
      await expectNoRuns('limited');
    });
  });

  it('415: a body that is not JSON in strict mode', async () => {
    const trigger = await createTrigger(operator, ns(), 'media', { payload: { strict: true } });
    const marker = `echo-marker-${randomUUID()}`;
    const raw = Buffer.from(`export_id=${marker}`);
    const reply = await send(operator.receiverUrl, trigger.path, {
      headers: { ...planasonixHeaders(trigger.secret, raw), 'content-type': 'application/x-www-form-urlencoded' },
      body: raw,
    });
    expectRefusal(reply, 415, 'unsupported_media_type', marker);
    await expectNoRuns('media');
  });

  it('429: over the trigger\'s rate limit, with Retry-After', async () => {
    const trigger = await createTrigger(operator, ns(), 'throttled', { rateLimit: { requestsPerMinute: 1, burst: 1 } });
    const first = await deliver(trigger, { export_id: 'a' });
    expect(first.status, first.text).to.equal(202);
    const { marker, body } = markedBody();
    const second = await deliver(trigger, body);
    expectRefusal(second, 429, 'rate_limited', marker);
    const retryAfter = Number(second.headers['retry-after']);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${second.headers['retry-after']}`).to.equal(true);
    expect(await runsOf(ns(), 'throttled')).to.have.length(1);
  });

  it('503: a suspended trigger, with Retry-After', async () => {
    const trigger = await createTrigger(operator, ns(), 'suspended', { suspend: true }, { state: 'suspended' });
    const { marker, body } = markedBody();
    const reply = await deliver(trigger, body);
    expectRefusal(reply, 503, 'suspended', marker);
    expect(Number(reply.headers['retry-after'])).to.be.greaterThan(0);
    await expectNoRuns('suspended');
  });

  it('503: a trigger that is not Ready (its Pipeline is missing), with Retry-After', async () => {
    const trigger = await createTrigger(operator, ns(), 'not-ready', { pipelineRef: { name: 'no-such-pipeline' } }, { state: 'not-ready' });
    const { marker, body } = markedBody();
    const reply = await deliver(trigger, body);
    expectRefusal(reply, 503, 'not_ready', marker);
    expect(Number(reply.headers['retry-after'])).to.be.greaterThan(0);
    await expectNoRuns('not-ready');
  });

  it('lenient mode: a missing required key still answers 202, and the run fails with InvalidPayload naming it', async () => {
    const trigger = await createTrigger(operator, ns(), 'lenient');
    const reply = await deliver(trigger, { record_count: 'not a number' });
    expect(reply.status, reply.text).to.equal(202);
    const name = (reply.json().pipelineRun as { name: string }).name;
    const run = await eventually(async () => {
      const r = await adminClient().get<PipelineRun>(RESOURCES.pipelineRuns, ns(), name);
      return r.status?.phase === 'Failed' ? r : undefined;
    }, 20_000);
    expect(run.status?.reason).to.equal('InvalidPayload');
    expect(run.status?.message).to.include('export_id').and.include('record_count');
    expect(run.status?.message).not.to.include('not a number');
  });

  it('sensitive params go into a Secret owned by the run, not into the PipelineRun', async () => {
    const trigger = await createTrigger(operator, ns(), 'sensitive', {
      params: [
        { name: 'export_id', from: 'body', path: '/export_id', required: true },
        { name: 'api_token', from: 'body', path: '/token', sensitive: true },
      ],
    });
    const token = `tok-${randomUUID()}`;
    const reply = await deliver(trigger, { export_id: 'e1', token });
    expect(reply.status, reply.text).to.equal(202);
    expect(reply.text).not.to.include(token);
    const name = (reply.json().pipelineRun as { name: string }).name;
    const run = await adminClient().get<PipelineRun>(RESOURCES.pipelineRuns, ns(), name);
    expect(JSON.stringify(run)).not.to.include(token);
    expect(run.spec.sensitiveParams).to.deep.equal(['api_token']);
    const secret = await adminClient().get<V1Secret>(RESOURCES.secrets, ns(), `${name}-params`);
    expect(Buffer.from(secret.data!.api_token!, 'base64').toString()).to.equal(token);
    expect(secret.metadata?.ownerReferences).to.deep.include({
      apiVersion: 'planasonix.io/v1alpha1',
      kind: 'PipelineRun',
      name,
      uid: run.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    });
  });
});
