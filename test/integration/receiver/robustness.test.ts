// Property-based abuse of the live receiver: random bytes, random headers, bodies at the size limit,
// deep nesting, invalid UTF-8 and path tricks. Whatever arrives, the answer is never a 5xx other
// than 503, the process does not crash, and a valid delivery is still accepted afterwards.
import { expect } from 'chai';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import {
  createPipeline,
  createTrigger,
  deliver,
  planasonixHeaders,
  rawExchange,
  send,
  statusOf,
  jsonBodyOf,
  type TriggerHandle,
} from './receiver-fixtures.ts';

const LIMIT = 64 * 1024;

describe('receiver: hostile input (property-based)', function () {
  this.timeout(120_000);
  const ns = useNamespace('rx-fuzz');
  let operator: TestOperator;
  let trigger: TriggerHandle;

  before(async () => {
    operator = await startTestOperator();
    await createPipeline(ns());
    trigger = await createTrigger(operator, ns(), 'fuzz', { payload: { maxBytes: LIMIT } });
  });
  after(async () => operator?.stop());

  /** A 5xx other than 503 would tell the sender "give up"; 503 says "retry". */
  const acceptable = (status: number) => status > 0 && (status < 500 || status === 503);

  it('random bytes as the body, signed or not, with any content type', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2048 }),
        fc.boolean(),
        fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', ''),
        async (bytes, signed, contentType) => {
          const body = Buffer.from(bytes);
          const headers: Record<string, string> = { 'content-type': contentType, ...(signed ? planasonixHeaders(trigger.secret, body) : {}) };
          const reply = await send(operator.receiverUrl, trigger.path, { headers, body });
          expect(acceptable(reply.status), `${reply.status} ${reply.text}`).to.equal(true);
          if (!signed) expect(reply.status).to.equal(401);
          else if (reply.status !== 202) expect(reply.status).to.equal(400);
          expect(reply.headers['content-type']).to.match(/^application\/json/);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('random header values on the signature, delivery and content-type headers', async () => {
    const value = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: 300 });
    const signatureLike = fc
      .tuple(fc.integer({ min: 0, max: 2 ** 40 }), fc.stringMatching(/^[0-9a-fA-F]{0,70}$/), fc.constantFrom(',', ', ', ',,', ' , '))
      .map(([t, v, sep]) => `t=${t}${sep}v1=${v}`);
    const names = fc.constantFrom('x-planasonix-signature', 'x-planasonix-delivery', 'content-type', 'x-forwarded-for', 'idempotency-key', 'x-requested-by', 'webhook-id', 'x-anything');
    await fc.assert(
      fc.asyncProperty(fc.dictionary(names, fc.oneof(value, signatureLike), { maxKeys: 6 }), async (headers) => {
        const body = JSON.stringify({ export_id: 'fuzz-headers' });
        const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v.trim()}\r\n`).join('');
        const url = new URL(operator.receiverUrl);
        const request = `POST ${trigger.path} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${lines}\r\n${body}`;
        const { response } = await rawExchange(operator.receiverUrl, Buffer.from(request, 'latin1'));
        const status = statusOf(response);
        expect(acceptable(status), response.slice(0, 300)).to.equal(true);
        // None of these headers carries a valid signature.
        expect([400, 401, 415, 431]).to.include(status);
        // Even what Node refuses before the app sees it is answered in JSON.
        expect(jsonBodyOf(response)?.error, response.slice(0, 300)).to.be.a('string');
      }),
      { numRuns: 80 },
    );
  });

  it('bodies around the size limit: accepted up to it, 413 past it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: LIMIT - 64, max: LIMIT + 64 }), async (size) => {
        const prefix = `{"export_id":"big-${randomUUID()}","pad":"`;
        const body = Buffer.from(prefix + 'x'.repeat(size - prefix.length - 2) + '"}');
        expect(body.length).to.equal(size);
        const reply = await send(operator.receiverUrl, trigger.path, { headers: planasonixHeaders(trigger.secret, body), body });
        expect(reply.status, reply.text).to.equal(size <= LIMIT ? 202 : 413);
      }),
      { numRuns: 20 },
    );
  });

  it('deeply nested JSON: accepted when shallow enough, 400 json_too_deep beyond, never a stack overflow', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 20_000 }), fc.boolean(), async (depth, objects) => {
        const open = objects ? '{"a":' : '[';
        const close = objects ? '}' : ']';
        const inner = `{"export_id":"deep-${randomUUID()}"}`;
        const text = open.repeat(depth) + inner + close.repeat(depth);
        if (text.length > LIMIT) return;
        const body = Buffer.from(text);
        const reply = await send(operator.receiverUrl, trigger.path, { headers: planasonixHeaders(trigger.secret, body), body });
        if (depth + 1 > 64) expect(reply.json().error, reply.text).to.equal('json_too_deep');
        else expect(reply.status, reply.text).to.equal(202);
      }),
      { numRuns: 40 },
    );
  });

  it('invalid UTF-8 inside a JSON string: 400 invalid_utf8', async () => {
    const invalid = fc.constantFrom([0xff], [0xc0, 0x80], [0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]);
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40 }), invalid, fc.string({ maxLength: 40 }), async (before, bad, after) => {
        const body = Buffer.concat([Buffer.from(`{"export_id":${JSON.stringify(before).slice(0, -1)}`), Buffer.from(bad), Buffer.from(`${JSON.stringify(after).slice(1)}}`)]);
        const reply = await send(operator.receiverUrl, trigger.path, { headers: planasonixHeaders(trigger.secret, body), body });
        expect(reply.status, reply.text).to.equal(400);
        expect(reply.json().error).to.equal('invalid_utf8');
      }),
      { numRuns: 40 },
    );
  });

  it('path tricks never reach the trigger: encoded slashes, dot segments, case, long paths', async () => {
    const token = trigger.path.slice('/hooks/'.length);
    const encodeOne = (s: string, i: number) => s.slice(0, i) + '%' + s.charCodeAt(i).toString(16).toUpperCase().padStart(2, '0') + s.slice(i + 1);
    const trick = fc.oneof(
      fc.constant(`/hooks%2F${token}`),
      fc.constant(`/hooks%2f${token}`),
      fc.constant(`/hooks/./${token}`),
      fc.constant(`/hooks/x/../${token}`),
      fc.constant(`/x/../hooks/${token}`),
      fc.constant(`//hooks/${token}`),
      fc.constant(`/hooks//${token}`),
      fc.constant(`/hooks/${token}/`),
      fc.constant(`/hooks/${token}/..`),
      fc.constant(`/hooks/${token}%00`),
      fc.constant(`/hooks/${token};x=1`),
      fc.constant(`/HOOKS/${token}`),
      fc.constant(`/hooks/${token.toUpperCase()}`),
      fc.constant(`/hooks\\${token}`),
      fc.constant(`http://evil.example/hooks/${token}x`),
      fc.integer({ min: 0, max: token.length - 1 }).map((i) => `/hooks/${encodeOne(token, i)}`),
      fc.integer({ min: 1, max: token.length - 1 }).map((n) => `/hooks/${token.slice(0, n)}`),
      fc.integer({ min: 1_000, max: 40_000 }).map((n) => `/hooks/${token}${'a'.repeat(n)}`),
      fc.integer({ min: 1_000, max: 40_000 }).map((n) => `/${'../'.repeat(Math.floor(n / 3))}hooks/${token}`),
      fc.stringMatching(/^\/[!-~]{0,200}$/).filter((p) => !p.includes(token)),
    );
    await fc.assert(
      fc.asyncProperty(trick, async (path) => {
        const url = new URL(operator.receiverUrl);
        const request = `POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`;
        const { response } = await rawExchange(operator.receiverUrl, Buffer.from(request, 'latin1'));
        const status = statusOf(response);
        expect(acceptable(status), `${path.slice(0, 120)} → ${response.slice(0, 200)}`).to.equal(true);
        expect([400, 404, 414, 431], `${path.slice(0, 120)} → ${status}`).to.include(status);
        if (status === 404) expect(jsonBodyOf(response)?.error).to.equal('not_found');
        else expect(jsonBodyOf(response)?.error, response.slice(0, 300)).to.be.a('string');
      }),
      { numRuns: 120 },
    );
    // The exact path with a query string does reach the trigger (and wants a signature).
    const withQuery = await send(operator.receiverUrl, `${trigger.path}?source=fuzz`, { body: '{}' });
    expect(withQuery.status).to.equal(401);
  });

  it('still accepts a valid delivery after all of that', async () => {
    const reply = await deliver(trigger, { export_id: 'after-fuzz' });
    expect(reply.status, reply.text).to.equal(202);
  });
});
