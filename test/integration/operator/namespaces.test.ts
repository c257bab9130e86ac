// `--namespaces A,B` against a real API server: the operator watches exactly those namespaces (one
// informer each per resource, read as one cache). The samples in A and B become Ready and accept
// signed deliveries; the same sample in C, outside the set, is never reconciled and never routed.
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { PipelineRun, WebhookTrigger } from '../../../src/api/types.ts';
import { buildWebhookSecret, generateWebhookPath, readWebhookSecret, webhookSecretName, webhookUrl } from '../../../src/api/webhook-secret.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { isNotFound } from '../../../src/kube/errors.ts';
import { generateSigningSecret } from '../../../src/signing/secret-format.ts';
import { adminClient, eventually, kubectl, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';

const TRIGGER = 'export-completed';
const payload = (exportId: string) => Buffer.from(JSON.stringify({ event: 'export.completed', export_id: exportId, location: `s3://exports-bucket/${exportId}/`, record_count: 7 }));

interface Credentials {
  path: string;
  signingSecret: string;
}

async function readCredentials(namespace: string): Promise<Credentials> {
  const secret = await adminClient().get<V1Secret>(RESOURCES.secrets, namespace, webhookSecretName(TRIGGER));
  const state = readWebhookSecret(secret);
  if (!state?.signingSecret) throw new Error(`no webhook credentials in ${namespace}`);
  return { path: state.path, signingSecret: state.signingSecret };
}

function sendSigned(operator: TestOperator, creds: Credentials, body: Buffer): Promise<Response> {
  const t = Math.floor(Date.now() / 1000);
  const signature = createHmac('sha256', creds.signingSecret).update(`${t}.`).update(body).digest('hex');
  return fetch(operator.receiverUrl + creds.path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-planasonix-signature': `t=${t},v1=${signature}` },
    body,
  });
}

const isReady = (t: WebhookTrigger) => Boolean(t.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));

describe('--namespaces with several namespaces (real API server)', function () {
  this.timeout(180_000);
  const nsA = useNamespace('watched-a');
  const nsB = useNamespace('watched-b');
  const nsC = useNamespace('unwatched-c');
  let operator: TestOperator;

  before(async () => {
    operator = await startTestOperator({ namespaces: [nsA(), nsB()] });
    for (const ns of [nsA(), nsB(), nsC()]) {
      // The samples as make dev applies them: runs really run on the node, nothing is pulled.
      const res = await kubectl(['apply', '-n', ns, '-k', 'deploy/examples-local']);
      expect(res.code, res.stderr).to.equal(0);
    }
  });
  after(async () => operator?.stop());

  it('makes the triggers in both watched namespaces Ready, each with its own generated Secret', async () => {
    const paths = new Set<string>();
    for (const ns of [nsA(), nsB()]) {
      const trigger = await eventually(async () => {
        const t = await adminClient().get<WebhookTrigger>(RESOURCES.webhookTriggers, ns, TRIGGER);
        return isReady(t) ? t : undefined;
      }, 30_000);
      expect(trigger.status?.urlSecretRef).to.deep.equal({ name: webhookSecretName(TRIGGER), key: 'url' });
      const creds = await readCredentials(ns);
      expect(creds.signingSecret).to.match(/^pxs_/);
      paths.add(creds.path);
    }
    expect(paths.size).to.equal(2);
  });

  it('accepts a signed delivery in each watched namespace and starts the run there', async () => {
    for (const ns of [nsA(), nsB()]) {
      const creds = await readCredentials(ns);
      await eventually(async () => operator.routes?.lookup(creds.path)?.state === 'serving', 10_000);
      const exportId = `exp_${ns}`;
      const res = await sendSigned(operator, creds, payload(exportId));
      const body = (await res.json()) as { correlationId: string; pipelineRun: { namespace: string; name: string } };
      expect(res.status, JSON.stringify(body)).to.equal(202);
      expect(body.pipelineRun.namespace).to.equal(ns);
      const runs = await adminClient().list<PipelineRun>(RESOURCES.pipelineRuns, ns, { labelSelector: `planasonix.io/correlation-id=${body.correlationId}` });
      expect(runs.items).to.have.length(1);
      expect(runs.items[0]!.spec.params).to.deep.include({ export_id: exportId });
      // The run controller works in every watched namespace too.
      await eventually(() => adminClient().get(RESOURCES.jobs, ns, body.pipelineRun.name), 20_000);
    }
  });

  it('never reconciles the trigger in the unwatched namespace: no status, no generated Secret', async () => {
    // Both watched triggers were reconciled (previous tests). Deliberate negative check: a stray
    // reconcile of the unwatched one would show within this time.
    await new Promise((r) => setTimeout(r, 2_000));
    const trigger = await adminClient().get<WebhookTrigger>(RESOURCES.webhookTriggers, nsC(), TRIGGER);
    expect(trigger.status).to.equal(undefined);
    const error = await adminClient()
      .get<V1Secret>(RESOURCES.secrets, nsC(), webhookSecretName(TRIGGER))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isNotFound(error), String(error)).to.equal(true);

    // Nothing of C is even cached; each cache is one entry per resource, labelled by its plural.
    const caches = operator.manager.informers;
    expect(caches.map((c) => c.name).sort()).to.deep.equal(['deliveryrecords', 'jobs', 'pipelineruns', 'pipelines', 'secrets', 'webhooktriggers']);
    for (const cache of caches) {
      expect(cache.hasSynced(), cache.name).to.equal(true);
      for (const key of cache.keys()) expect(key.startsWith(`${nsA()}/`) || key.startsWith(`${nsB()}/`), `${cache.name}: ${key}`).to.equal(true);
    }
    const triggers = caches.find((c) => c.name === 'webhooktriggers')!;
    expect(triggers.keys().sort()).to.deep.equal([`${nsA()}/${TRIGGER}`, `${nsB()}/${TRIGGER}`].sort());
    expect(triggers.get(`${nsC()}/${TRIGGER}`)).to.equal(undefined);
    expect(operator.routes?.size).to.equal(2);
  });

  it('does not know the path of the trigger in the unwatched namespace, even when a generated Secret exists there', async () => {
    // As if an operator watching C had generated the Secret once: a valid path and signing secret.
    const trigger = await adminClient().get<WebhookTrigger>(RESOURCES.webhookTriggers, nsC(), TRIGGER);
    const path = generateWebhookPath();
    const creds: Credentials = { path, signingSecret: generateSigningSecret('planasonix') };
    const made = await adminClient().create<V1Secret>(
      RESOURCES.secrets,
      buildWebhookSecret(trigger, { path, url: webhookUrl(operator.config.externalUrl, path), signingSecret: creds.signingSecret, currentSince: new Date() }),
    );

    await new Promise((r) => setTimeout(r, 1_000)); // deliberate negative check: a watch would route it well within this
    expect(operator.routes?.lookup(path)).to.equal(undefined);
    const res = await sendSigned(operator, creds, payload('exp_c'));
    expect(res.status).to.equal(404);
    expect(((await res.json()) as { error?: string }).error).to.equal('not_found');
    const runs = await adminClient().list<PipelineRun>(RESOURCES.pipelineRuns, nsC());
    expect(runs.items).to.have.length(0);

    // Still untouched: no status, no rotation or repair of the Secret.
    expect((await adminClient().get<WebhookTrigger>(RESOURCES.webhookTriggers, nsC(), TRIGGER)).status).to.equal(undefined);
    const secret = await adminClient().get<V1Secret>(RESOURCES.secrets, nsC(), webhookSecretName(TRIGGER));
    expect(secret.metadata?.resourceVersion).to.equal(made.metadata?.resourceVersion);
  });
});
