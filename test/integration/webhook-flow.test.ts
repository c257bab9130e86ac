// The product's main path, end to end against a real API server: a trigger becomes Ready with a
// URL and a signing secret, a signed delivery becomes exactly one PipelineRun, and the run
// controller turns it into a Job carrying the params.
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { PipelineRun, WebhookTrigger } from '../../src/api/types.ts';
import { RESOURCES } from '../../src/kube/resources.ts';
import { adminClient, eventually, kubectl, useNamespace } from '../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../harness/operator.ts';

const payload = Buffer.from(JSON.stringify({ event: 'export.completed', export_id: 'exp_8f3c21', location: 's3://exports-bucket/exp_8f3c21/', record_count: 482910 }));

describe('webhook flow (real API server)', function () {
  this.timeout(120_000);
  const ns = useNamespace('flow');
  let operator: TestOperator;

  before(async () => {
    operator = await startTestOperator();
    // The samples as make dev applies them: runs really run on the test cluster's node, in its imported image (nothing is pulled).
    const res = await kubectl(['apply', '-n', ns(), '-k', 'deploy/examples-local']);
    expect(res.code, res.stderr).to.equal(0);
  });
  after(async () => operator?.stop());

  it('makes the sample trigger Ready with a URL Secret and a signing secret', async () => {
    const trigger = await eventually(async () => {
      const t = await adminClient().get<WebhookTrigger>(RESOURCES.webhookTriggers, ns(), 'export-completed');
      return t.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True') ? t : undefined;
    }, 20_000);
    expect(trigger.status?.urlSecretRef).to.deep.equal({ name: 'export-completed-webhook', key: 'url' });
    expect(JSON.stringify(trigger.status)).not.to.include('/hooks/');
    const secret = await adminClient().get<V1Secret>(RESOURCES.secrets, ns(), 'export-completed-webhook');
    const url = Buffer.from(secret.data!.url!, 'base64').toString();
    expect(url).to.match(/^https:\/\/hooks\.example\.test\/hooks\/[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(secret.data!['signing-secret']!, 'base64').toString()).to.match(/^pxs_/);
  });

  it('turns a signed delivery into one PipelineRun and a Job with the params', async () => {
    const secret = await adminClient().get<V1Secret>(RESOURCES.secrets, ns(), 'export-completed-webhook');
    const path = Buffer.from(secret.data!.path!, 'base64').toString();
    const signingSecret = Buffer.from(secret.data!['signing-secret']!, 'base64').toString();
    const t = Math.floor(Date.now() / 1000);
    const signature = createHmac('sha256', signingSecret).update(`${t}.`).update(payload).digest('hex');
    const send = () =>
      fetch(operator.receiverUrl + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-planasonix-signature': `t=${t},v1=${signature}`, 'x-requested-by': 'billing' },
        body: payload,
      });
    await eventually(async () => operator.routes?.lookup(path)?.state === 'serving', 10_000);
    const first = await send();
    const body = (await first.json()) as { correlationId: string; pipelineRun: { name: string }; duplicate: boolean };
    expect(first.status, JSON.stringify(body)).to.equal(202);
    expect(body.duplicate).to.equal(false);
    expect(first.headers.get('x-correlation-id')).to.equal(body.correlationId);

    const again = await send();
    const againBody = (await again.json()) as { correlationId: string; duplicate: boolean };
    expect(again.status).to.equal(200);
    expect(againBody).to.include({ correlationId: body.correlationId, duplicate: true });

    const runs = await adminClient().list<PipelineRun>(RESOURCES.pipelineRuns, ns(), { labelSelector: `planasonix.io/correlation-id=${body.correlationId}` });
    expect(runs.items).to.have.length(1);
    expect(runs.items[0]!.spec.params).to.deep.include({ export_id: 'exp_8f3c21', location: 's3://exports-bucket/exp_8f3c21/', record_count: '482910', requested_by: 'billing' });

    const job = await eventually(() => adminClient().get<{ metadata?: { name?: string }; spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } } }>(RESOURCES.jobs, ns(), body.pipelineRun.name), 20_000);
    const env = job.spec.template.spec.containers[0]!.env ?? [];
    expect(env).to.deep.include({ name: 'PARAM_EXPORT_ID', value: 'exp_8f3c21' });
    expect(env).to.deep.include({ name: 'PLANASONIX_CORRELATION_ID', value: body.correlationId });
    // No X-Planasonix-Delivery header: the delivery key is the signed request's fingerprint.
    expect(env).to.deep.include({ name: 'PLANASONIX_DELIVERY_ID', value: runs.items[0]!.spec.trigger!.deliveryId });
    expect(runs.items[0]!.spec.trigger!.deliveryId).to.match(/^replay:/);
  });
});
