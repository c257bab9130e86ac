// Signatures made by implementations other than ours — the standardwebhooks package, Octokit's
// GitHub signer, node:crypto and the openssl command line — are accepted over real HTTP; tampered,
// foreign and stale ones are refused with the right reason; and after a rotation both the previous
// and the new secret work during the overlap.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { sign as signGithub } from '@octokit/webhooks-methods';
import type { V1Secret } from '@kubernetes/client-node';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, kubectl, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { createPipeline, createTrigger, planasonixHeaders, runsOf, send, type Reply, type TriggerHandle } from './receiver-fixtures.ts';

const UNAUTHORIZED_MESSAGE = 'the request is not signed or authenticated as this webhook requires';

describe('receiver: signatures from independent implementations', function () {
  this.timeout(60_000);
  const ns = useNamespace('rx-signatures');
  let operator: TestOperator;

  before(async () => {
    operator = await startTestOperator();
    await createPipeline(ns());
  });
  after(async () => operator?.stop());

  const payload = () => JSON.stringify({ export_id: `exp-${randomUUID().slice(0, 8)}`, record_count: 12 });
  const post = (trigger: TriggerHandle, body: string | Buffer, headers: Record<string, string>) => send(operator.receiverUrl, trigger.path, { body, headers });

  function expectUnauthorized(reply: Reply, code: string): void {
    expect(reply.status, reply.text).to.equal(401);
    expect(reply.json()).to.deep.equal({ error: code, message: UNAUTHORIZED_MESSAGE });
  }

  describe('standard-webhooks, signed by the standardwebhooks package', () => {
    let trigger: TriggerHandle;
    before(async () => {
      trigger = await createTrigger(operator, ns(), 'std', { auth: { scheme: 'standard-webhooks' } });
      expect(trigger.secret).to.match(/^whsec_/);
    });
    const headersFor = (body: string, opts: { id?: string; date?: Date; secret?: string } = {}) => {
      const id = opts.id ?? `msg_${randomUUID()}`;
      const date = opts.date ?? new Date();
      return {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(date.getTime() / 1000)),
        'webhook-signature': new Webhook(opts.secret ?? trigger.secret).sign(id, date, body),
      };
    };

    it('accepts a valid delivery, and its redelivery (same webhook-id, new signature) as a duplicate', async () => {
      const body = payload();
      const id = `msg_${randomUUID()}`;
      const first = await post(trigger, body, headersFor(body, { id }));
      expect(first.status, first.text).to.equal(202);
      const again = await post(trigger, body, headersFor(body, { id, date: new Date(Date.now() + 2000) }));
      expect(again.status, again.text).to.equal(200);
      expect(again.json().correlationId).to.equal(first.json().correlationId);
    });

    it('refuses a tampered body and a stale timestamp', async () => {
      const body = payload();
      expectUnauthorized(await post(trigger, body.replace('12', '13'), headersFor(body)), 'invalid_signature');
      expectUnauthorized(await post(trigger, body, headersFor(body, { date: new Date(Date.now() - 10 * 60_000) })), 'stale_timestamp');
    });
  });

  describe('github, signed by @octokit/webhooks-methods', () => {
    let trigger: TriggerHandle;
    before(async () => {
      trigger = await createTrigger(operator, ns(), 'gh', { auth: { scheme: 'github' } });
    });

    it('accepts a valid delivery and refuses one signed with another secret', async () => {
      const body = payload();
      const headers = { 'x-github-event': 'push', 'x-github-delivery': randomUUID() };
      const ok = await post(trigger, body, { ...headers, 'x-hub-signature-256': await signGithub(trigger.secret, body) });
      expect(ok.status, ok.text).to.equal(202);
      const wrong = await post(trigger, body, { ...headers, 'x-github-delivery': randomUUID(), 'x-hub-signature-256': await signGithub(randomBytes(32).toString('hex'), body) });
      expectUnauthorized(wrong, 'invalid_signature');
    });
  });

  describe('planasonix', () => {
    let trigger: TriggerHandle;
    let other: TriggerHandle;
    before(async () => {
      [trigger, other] = await Promise.all([createTrigger(operator, ns(), 'px'), createTrigger(operator, ns(), 'px-other')]);
    });

    it('accepts a signature computed with node:crypto', async () => {
      const body = payload();
      const t = Math.floor(Date.now() / 1000);
      const v1 = createHmac('sha256', trigger.secret).update(`${t}.${body}`).digest('hex');
      const reply = await post(trigger, body, { 'x-planasonix-signature': `t=${t},v1=${v1}` });
      expect(reply.status, reply.text).to.equal(202);
    });

    it('accepts a signature computed by openssl dgst -sha256 -hmac, as a shell script would', async () => {
      const body = payload();
      const t = String(Math.floor(Date.now() / 1000));
      const out = await new Promise<string>((resolve, reject) =>
        execFile('sh', ['-c', 'printf "%s.%s" "$T" "$BODY" | openssl dgst -sha256 -hmac "$SECRET"'], { env: { ...process.env, T: t, BODY: body, SECRET: trigger.secret } }, (err, stdout) =>
          err ? reject(err) : resolve(stdout),
        ),
      );
      const v1 = /([0-9a-f]{64})\s*$/.exec(out)?.[1];
      expect(v1, out).to.be.a('string');
      const reply = await post(trigger, body, { 'x-planasonix-signature': `t=${t},v1=${v1}` });
      expect(reply.status, reply.text).to.equal(202);
    });

    it('refuses a tampered body, a tampered timestamp and another trigger\'s secret alike', async () => {
      const body = payload();
      const headers = planasonixHeaders(trigger.secret, body);
      expectUnauthorized(await post(trigger, body.replace('"record_count":12', '"record_count":99'), headers), 'invalid_signature');
      const header = headers['x-planasonix-signature']!;
      const t = Number(/t=(\d+)/.exec(header)![1]);
      expectUnauthorized(await post(trigger, body, { 'x-planasonix-signature': header.replace(`t=${t}`, `t=${t + 1}`) }), 'invalid_signature');
      expectUnauthorized(await post(trigger, body, planasonixHeaders(other.secret, body)), 'invalid_signature');
      expect(await runsOf(ns(), 'px').then((runs) => runs.filter((r) => r.spec.params?.export_id === JSON.parse(body).export_id))).to.have.length(0);
    });

    it('refuses a validly signed delivery whose timestamp is past or future beyond the tolerance', async () => {
      const now = Math.floor(Date.now() / 1000);
      for (const t of [now - 6 * 60, now + 6 * 60]) {
        const body = payload();
        expectUnauthorized(await post(trigger, body, planasonixHeaders(trigger.secret, body, { t })), 'stale_timestamp');
      }
      // Just inside the tolerance (5m) is fine both ways.
      for (const t of [now - 4 * 60, now + 4 * 60]) {
        const body = payload();
        const reply = await post(trigger, body, planasonixHeaders(trigger.secret, body, { t }));
        expect(reply.status, reply.text).to.equal(202);
      }
    });
  });

  describe('bearer', () => {
    let trigger: TriggerHandle;
    before(async () => {
      trigger = await createTrigger(operator, ns(), 'bearer', { auth: { scheme: 'bearer' } });
    });

    it('accepts the token (the scheme name in any case) and refuses a missing or wrong one', async () => {
      const body = payload();
      const ok = await post(trigger, body, { authorization: `Bearer ${trigger.secret}` });
      expect(ok.status, ok.text).to.equal(202);
      const lower = await post(trigger, payload(), { authorization: `bearer ${trigger.secret}` });
      expect(lower.status, lower.text).to.equal(202);
      expectUnauthorized(await post(trigger, payload(), {}), 'missing_token');
      expectUnauthorized(await post(trigger, payload(), { authorization: `Bearer ${trigger.secret}x` }), 'invalid_token');
    });
  });

  describe('rotation overlap', () => {
    it('accepts both the previous and the new secret after a requested rotation, and nothing else', async () => {
      const trigger = await createTrigger(operator, ns(), 'rotating', { auth: { scheme: 'planasonix', rotation: { every: '2160h', overlap: '1h' } } });
      const previous = trigger.secret;
      const res = await kubectl(['annotate', '-n', ns(), 'webhooktrigger', 'rotating', 'planasonix.io/rotate-requested-at=1']);
      expect(res.code, res.stderr).to.equal(0);

      const secret = await eventually(async () => {
        const s = await adminClient().get<V1Secret>(RESOURCES.secrets, ns(), 'rotating-webhook');
        const text = (k: string) => (s.data?.[k] ? Buffer.from(s.data[k], 'base64').toString() : undefined);
        const current = text('signing-secret');
        return current && current !== previous ? { current, previous: text('previous-signing-secret'), expiresAt: text('previous-expires-at') } : undefined;
      }, 20_000);
      expect(secret.previous).to.equal(previous);
      const expiresIn = Date.parse(secret.expiresAt ?? '') - Date.now();
      expect(expiresIn).to.be.within(50 * 60_000, 61 * 60_000);

      const sendWith = (key: string) => {
        const body = payload();
        return post(trigger, body, planasonixHeaders(key, body, { deliveryId: randomUUID() }));
      };
      // The receiver learns the new secret from its informer: wait until it is in use.
      await eventually(async () => (await sendWith(secret.current)).status === 202, 10_000);
      const withPrevious = await sendWith(previous);
      expect(withPrevious.status, withPrevious.text).to.equal(202);
      const withCurrent = await sendWith(secret.current);
      expect(withCurrent.status, withCurrent.text).to.equal(202);
      expectUnauthorized(await sendWith(`pxs_${randomBytes(32).toString('base64url')}`), 'invalid_signature');
    });
  });
});
