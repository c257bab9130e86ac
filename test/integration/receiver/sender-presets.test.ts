// scheme hmac against the real API server, one sender at a time: each example manifest in
// deploy/examples/senders/ is applied as a user would (kubectl apply -n), and a delivery is signed
// the way that sender signs: with the vendor's SDK where one is on npm (Stripe's
// generateTestHeaderString, Octokit's webhooks-methods, the standardwebhooks package), else with
// node:crypto following the vendor's documentation (Slack, Shopify; GitLab sends its token as it
// is). Each is accepted, starts its run, is deduplicated on redelivery, and a tampered one is refused.
import { expect } from 'chai';
import { createHmac, randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { sign as signGithub } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import type { PipelineRun } from '../../../src/api/types.ts';
import { eventually, kubectl, readYamlObjects, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { readTriggerSecret, runsOf, send, type Reply } from './receiver-fixtures.ts';

const DIR = 'deploy/examples/senders';
const UNAUTHORIZED = 'the request is not signed or authenticated as this webhook requires';

/** The signing secret a sample's Secret holds, as the user pasted it. */
function sampleSecret(file: string): string {
  const secret = readYamlObjects(`${DIR}/${file}`).find((o) => o.kind === 'Secret') as { stringData: { 'signing-secret': string } };
  return secret.stringData['signing-secret'];
}

describe('receiver: any sender\'s signature (scheme hmac presets, from deploy/examples/senders)', function () {
  this.timeout(90_000);
  const ns = useNamespace('rx-senders');
  let operator: TestOperator;

  before(async () => {
    operator = await startTestOperator();
    const applied = await kubectl(['apply', '-n', ns(), '-f', `${DIR}/build-pipeline.yaml`]);
    expect(applied.code, applied.stderr).to.equal(0);
  });
  after(async () => operator?.stop());

  /** Applies a sample and waits until its trigger serves; returns the trigger's path. */
  async function applySample(file: string, trigger: string): Promise<string> {
    const res = await kubectl(['apply', '-n', ns(), '-f', `${DIR}/${file}`]);
    expect(res.code, res.stderr).to.equal(0);
    const handle = await eventually(async () => readTriggerSecret(ns(), trigger, operator), 20_000);
    await eventually(async () => operator.routes?.lookup(handle.path)?.state === 'serving', 20_000);
    return handle.path;
  }

  const post = (path: string, body: string, headers: Record<string, string>): Promise<Reply> => send(operator.receiverUrl, path, { body, headers });
  const runsWith = async (trigger: string, event: string): Promise<PipelineRun[]> => (await runsOf(ns(), trigger)).filter((r) => r.spec.params?.event === event);

  function expectRefused(reply: Reply, code: string): void {
    expect(reply.status, reply.text).to.equal(401);
    expect(reply.json()).to.deep.equal({ error: code, message: UNAUTHORIZED });
  }

  it('GitHub: signed by @octokit/webhooks-methods; X-GitHub-Delivery deduplicates', async () => {
    const path = await applySample('github.yaml', 'github-push');
    const secret = sampleSecret('github.yaml');
    const body = JSON.stringify({ ref: 'refs/heads/main', after: 'abc123' });
    const delivery = randomUUID();
    const headers = async (b: string) => ({ 'x-github-event': 'push', 'x-github-delivery': delivery, 'x-hub-signature-256': await signGithub(secret, b) });
    const ok = await post(path, body, await headers(body));
    expect(ok.status, ok.text).to.equal(202);
    expect((await runsWith('github-push', 'push')).map((r) => r.spec.params?.ref)).to.deep.equal(['refs/heads/main']);
    const redelivered = await post(path, body, await headers(body));
    expect(redelivered.status, redelivered.text).to.equal(200);
    expect(redelivered.json().correlationId).to.equal(ok.json().correlationId);
    expectRefused(await post(path, body.replace('main', 'evil'), await headers(body)), 'invalid_signature');
    expectRefused(await post(path, body, { 'x-github-event': 'push', 'x-hub-signature-256': await signGithub('another-secret', body) }), 'invalid_signature');
  });

  it('GitLab: X-Gitlab-Token as GitLab sends it; Idempotency-Key deduplicates; a wrong token is refused', async () => {
    const path = await applySample('gitlab.yaml', 'gitlab-push');
    const token = sampleSecret('gitlab.yaml');
    const body = JSON.stringify({ object_kind: 'push', ref: 'refs/heads/main' });
    const key = randomUUID();
    const headers = { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': token, 'idempotency-key': key };
    const ok = await post(path, body, headers);
    expect(ok.status, ok.text).to.equal(202);
    expect((await runsWith('gitlab-push', 'Push Hook')).map((r) => r.spec.params?.ref)).to.deep.equal(['refs/heads/main']);
    const retried = await post(path, body, headers);
    expect(retried.status, retried.text).to.equal(200);
    expectRefused(await post(path, body, { ...headers, 'x-gitlab-token': `${token}x` }), 'invalid_token');
    expectRefused(await post(path, body, { 'x-gitlab-event': 'Push Hook' }), 'missing_token');
  });

  it('Stripe: signed by the stripe SDK (generateTestHeaderString); the event id deduplicates; a stale signature is refused', async () => {
    const path = await applySample('stripe.yaml', 'stripe-events');
    const secret = sampleSecret('stripe.yaml');
    const stripe = new Stripe('sk_test_not_used');
    const id = `evt_${randomUUID().replaceAll('-', '')}`;
    const body = JSON.stringify({ id, object: 'event', type: 'invoice.paid', data: { object: { id: 'in_1' } } });
    const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret });
    // Stripe's own verifier accepts what we send: the test signs exactly as Stripe does.
    expect(stripe.webhooks.constructEvent(body, header, secret).id).to.equal(id);
    const ok = await post(path, body, { 'stripe-signature': header });
    expect(ok.status, ok.text).to.equal(202);
    expect(await runsWith('stripe-events', 'invoice.paid')).to.have.length(1);
    // Stripe retries sign again, with a new timestamp: the same event is still one run.
    const later = stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: Math.floor(Date.now() / 1000) + 2 });
    const retried = await post(path, body, { 'stripe-signature': later });
    expect(retried.status, retried.text).to.equal(200);
    expect(await runsWith('stripe-events', 'invoice.paid')).to.have.length(1);
    const stale = stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: Math.floor(Date.now() / 1000) - 600 });
    expectRefused(await post(path, body, { 'stripe-signature': stale }), 'stale_timestamp');
    expectRefused(await post(path, body.replace('invoice.paid', 'invoice.void'), { 'stripe-signature': header }), 'invalid_signature');
  });

  it('Slack: v0 signature over "v0:timestamp:body", written from Slack\'s documentation', async () => {
    const path = await applySample('slack.yaml', 'slack-events');
    const secret = sampleSecret('slack.yaml');
    // api.slack.com/authentication/verifying-requests-from-slack: basestring = "v0:" + timestamp + ":" + body,
    // signature = "v0=" + hex(HMAC-SHA256(signing secret, basestring)).
    const slackHeaders = (body: string, ts = Math.floor(Date.now() / 1000)) => ({
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`,
    });
    const body = JSON.stringify({ type: 'event_callback', event_id: `Ev${randomUUID().slice(0, 8)}`, event: { type: 'app_mention', text: 'deploy' } });
    const ok = await post(path, body, slackHeaders(body));
    expect(ok.status, ok.text).to.equal(202);
    expect(await runsWith('slack-events', 'app_mention')).to.have.length(1);
    const retried = await post(path, body, { ...slackHeaders(body, Math.floor(Date.now() / 1000) + 1), 'x-slack-retry-num': '1' });
    expect(retried.status, retried.text).to.equal(200);
    expectRefused(await post(path, body, slackHeaders(body, Math.floor(Date.now() / 1000) - 3600)), 'stale_timestamp');
    const tampered = slackHeaders(body);
    expectRefused(await post(path, body, { ...tampered, 'x-slack-request-timestamp': String(Number(tampered['x-slack-request-timestamp']) + 1) }), 'invalid_signature');
  });

  it('Shopify: base64 HMAC of the body, written from Shopify\'s documentation; X-Shopify-Webhook-Id deduplicates', async () => {
    const path = await applySample('shopify.yaml', 'shopify-orders');
    const secret = sampleSecret('shopify.yaml');
    // shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook:
    // X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(client secret, raw body)).
    const body = JSON.stringify({ id: 820982911946154500, email: 'jon@example.com', total_price: '10.00' });
    const headers = {
      'x-shopify-topic': 'orders/create',
      'x-shopify-webhook-id': randomUUID(),
      'x-shopify-hmac-sha256': createHmac('sha256', secret).update(body, 'utf8').digest('base64'),
    };
    const ok = await post(path, body, headers);
    expect(ok.status, ok.text).to.equal(202);
    expect(await runsWith('shopify-orders', 'orders/create')).to.have.length(1);
    expect((await post(path, body, headers)).status).to.equal(200);
    expectRefused(await post(path, body, { ...headers, 'x-shopify-hmac-sha256': createHmac('sha256', secret).update(body, 'utf8').digest('hex') }), 'malformed_signature');
  });

  it('Standard Webhooks and Svix: signed by the standardwebhooks package, rotation entries and svix-* headers', async () => {
    const path = await applySample('standard-webhooks.yaml', 'standard-webhooks-events');
    const svixPath = (await eventually(async () => readTriggerSecret(ns(), 'svix-events', operator), 20_000)).path;
    await eventually(async () => operator.routes?.lookup(svixPath)?.state === 'serving', 20_000);
    const secret = sampleSecret('standard-webhooks.yaml');
    const wh = new Webhook(secret);
    const body = JSON.stringify({ type: 'user.created', data: { id: 'u_1' } });
    const id = `msg_${randomUUID()}`;
    const now = new Date();
    const signature = wh.sign(id, now, body);
    const oldKey = new Webhook('whsec_' + Buffer.from('an-older-secret-of-the-sender').toString('base64'));
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      // A sender rotating its secret signs with both; one match is enough.
      'webhook-signature': `${oldKey.sign(id, now, body)} ${signature}`,
    };
    const ok = await post(path, body, headers);
    expect(ok.status, ok.text).to.equal(202);
    expect((await post(path, body, headers)).status).to.equal(200);
    expectRefused(await post(path, body, { ...headers, 'webhook-id': `msg_${randomUUID()}` }), 'invalid_signature');

    const svixId = `msg_${randomUUID()}`;
    const svix = await post(svixPath, body, {
      'svix-id': svixId,
      'svix-timestamp': String(Math.floor(now.getTime() / 1000)),
      'svix-signature': wh.sign(svixId, now, body),
    });
    expect(svix.status, svix.text).to.equal(202);
    expect(await runsWith('svix-events', 'user.created')).to.have.length(1);
  });

  it('a parameterised hmac (no preset): sha512, base64, a prefix, a timestamp header, signed with node:crypto', async () => {
    const res = await kubectl(['apply', '-n', ns(), '-f', '-'], JSON.stringify({
      apiVersion: 'planasonix.io/v1alpha1',
      kind: 'WebhookTrigger',
      metadata: { name: 'custom' },
      spec: {
        pipelineRef: { name: 'build' },
        auth: {
          scheme: 'hmac',
          hmac: { header: 'X-Acme-Signature', algorithm: 'sha512', encoding: 'base64', prefix: 'sha512=', signedContent: '{timestamp}:{id}:{body}', timestamp: { header: 'X-Acme-Time' }, deliveryIdHeader: 'X-Acme-Delivery' },
        },
        params: [{ name: 'event', from: 'body', path: '/event' }],
      },
    }));
    expect(res.code, res.stderr).to.equal(0);
    const handle = await eventually(async () => readTriggerSecret(ns(), 'custom', operator), 20_000);
    await eventually(async () => operator.routes?.lookup(handle.path)?.state === 'serving', 20_000);
    expect(handle.secret, 'a generated secret').to.match(/^whsec_/);
    const body = JSON.stringify({ event: 'custom.ping' });
    const t = String(Math.floor(Date.now() / 1000));
    const id = randomUUID();
    const sig = createHmac('sha512', handle.secret).update(`${t}:${id}:${body}`).digest('base64');
    const ok = await post(handle.path, body, { 'x-acme-signature': `sha512=${sig}`, 'x-acme-time': t, 'x-acme-delivery': id });
    expect(ok.status, ok.text).to.equal(202);
    // The delivery ID is signed: the same signature under another ID is refused.
    expectRefused(await post(handle.path, body, { 'x-acme-signature': `sha512=${sig}`, 'x-acme-time': t, 'x-acme-delivery': randomUUID() }), 'invalid_signature');
  });

  it('an hmac spec that cannot work keeps the trigger from being Ready, saying why', async () => {
    const res = await kubectl(['apply', '-n', ns(), '-f', '-'], JSON.stringify({
      apiVersion: 'planasonix.io/v1alpha1',
      kind: 'WebhookTrigger',
      metadata: { name: 'custom-bad' },
      spec: { pipelineRef: { name: 'build' }, auth: { scheme: 'hmac', hmac: { header: 'X-Sig', signedContent: '{timestamp}.{body}' } } },
    }));
    expect(res.code, res.stderr).to.equal(0);
    const { waitReason, readyCondition } = await import('../webhook-trigger/trigger-fixtures.ts');
    const t = await waitReason(ns(), 'custom-bad', 'False', 'InvalidSpec');
    expect(readyCondition(t)!.message).to.include('spec.auth.hmac.timestamp: signedContent uses {timestamp}, so timestamp must say where it comes from');
  });
});
