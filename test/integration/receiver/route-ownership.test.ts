// Routes are owned, not trusted: the receiver serves a path only from the generated Secret whose
// controller owner reference is the trigger it is named after (UID checked). A tenant who can write
// Secrets in their own namespace and has learnt another trigger's path cannot take that route over
// by writing the path into their trigger's Secret, however old their trigger: only the path whose
// digest the operator recorded in the trigger's status is served for it, the edited trigger is not
// Ready with a PathConflict condition, and deleting either never removes the other's route.
import { expect } from 'chai';
import type { V1Secret } from '@kubernetes/client-node';
import type { WebhookTrigger } from '../../../src/api/types.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { isKubeError } from '../../../src/kube/errors.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { createPipeline, createTrigger, deliver, getTrigger, runsOf, type TriggerHandle } from './receiver-fixtures.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

async function readyCondition(namespace: string, name: string) {
  return (await getTrigger(namespace, name)).status?.conditions?.find((c) => c.type === 'Ready');
}

describe('receiver: routes owned, not trusted (real API server)', function () {
  this.timeout(90_000);
  const victimNs = useNamespace('route-victim');
  const tenantNs = useNamespace('route-tenant');
  let operator: TestOperator;
  let victim: TriggerHandle;
  let elder: TriggerHandle;

  before(async () => {
    operator = await startTestOperator();
    await createPipeline(victimNs());
    await createPipeline(tenantNs());
    // A tenant's trigger older than the victim's, for the last test.
    elder = await createTrigger(operator, tenantNs(), 'elder');
    victim = await createTrigger(operator, victimNs(), 'victim');
  });
  after(() => operator?.stop());

  it("refuses a later trigger whose Secret was edited to hold an earlier trigger's path: not Ready, PathConflict", async () => {
    // "Later" is by creationTimestamp, which has whole seconds (a tie goes to the smaller UID): make
    // sure the tenant's trigger is created in a later second than the victim's.
    const victimCreated = Date.parse((await getTrigger(victimNs(), 'victim')).metadata.creationTimestamp!);
    await eventually(async () => Date.now() >= victimCreated + 1_000, 5_000, 50);
    const tenant = await createTrigger(operator, tenantNs(), 'hijack');
    // What the tenant may do with their own Secret: keep the owner reference, change the path.
    const secret = await adminClient().get<V1Secret>(RESOURCES.secrets, tenantNs(), 'hijack-webhook');
    await adminClient().replace(RESOURCES.secrets, { ...secret, data: { ...secret.data, path: b64(victim.path) } });

    const ready = await eventually(async () => {
      const c = await readyCondition(tenantNs(), 'hijack');
      return c?.status === 'False' && c.reason === 'PathConflict' ? c : undefined;
    }, 20_000);
    expect(ready.message).to.include(`${victimNs()}/victim`);
    expect(ready.message).to.not.include(victim.path);

    // The victim's path still serves the victim: its senders are accepted, the tenant's signature is not.
    await eventually(async () => operator.routes?.lookup(victim.path)?.namespace === victimNs() && operator.routes.lookup(tenant.path) === undefined, 10_000);
    const own = await deliver(victim, { export_id: 'exp_victim_1' });
    expect(own.status, own.text).to.equal(202);
    const forged = await deliver({ ...tenant, path: victim.path }, { export_id: 'exp_tenant_1' });
    expect(forged.status, forged.text).to.equal(401);
    expect(await runsOf(tenantNs(), 'hijack')).to.have.length(0);
  });

  it("deleting the refused trigger leaves the earlier trigger's route in place", async () => {
    await adminClient().delete(RESOURCES.webhookTriggers, tenantNs(), 'hijack');
    await eventually(async () => operator.routes?.lookup(victim.path) !== undefined && !(await exists(tenantNs(), 'hijack')), 20_000);
    const after = await deliver(victim, { export_id: 'exp_victim_2' });
    expect(after.status, after.text).to.equal(202);
  });

  it('serves nothing from a Secret named for a trigger but not owned by it (UID checked), and does not disturb the path it names', async () => {
    // Written before the trigger exists, owned by nothing, carrying the victim's path and a secret
    // the tenant knows; then the trigger of that name is created.
    await adminClient().create<V1Secret>(RESOURCES.secrets, {
      metadata: { name: 'squatter-webhook', namespace: tenantNs(), labels: { 'planasonix.io/trigger': 'squatter', 'app.kubernetes.io/managed-by': 'planasonix-webhook-operator' } },
      data: { path: b64(victim.path), url: b64(`https://hooks.example.test${victim.path}`), 'signing-secret': b64('pxs_known_to_the_tenant') },
    });
    await adminClient().create<WebhookTrigger>(RESOURCES.webhookTriggers, {
      apiVersion: 'planasonix.io/v1alpha1',
      kind: 'WebhookTrigger',
      metadata: { name: 'squatter', namespace: tenantNs() },
      spec: { pipelineRef: { name: 'loader' }, params: [{ name: 'export_id', from: 'body', path: '/export_id', required: true }] },
    });
    await eventually(async () => (await readyCondition(tenantNs(), 'squatter'))?.reason === 'SecretConflict', 20_000);
    expect(operator.routes?.lookup(victim.path)?.namespace).to.equal(victimNs());
    const forged = await deliver({ ...victim, secret: 'pxs_known_to_the_tenant' }, { export_id: 'exp_squat' });
    expect(forged.status, forged.text).to.equal(401);
    const own = await deliver(victim, { export_id: 'exp_victim_3' });
    expect(own.status, own.text).to.equal(202);
  });

  it('serves nothing from a Secret whose owner reference names another trigger', async () => {
    const other = await createTrigger(operator, tenantNs(), 'borrowed');
    const decoy = await createTrigger(operator, tenantNs(), 'decoy');
    // The Secret of "borrowed", re-pointed at another trigger of the namespace (which exists, so the
    // garbage collector keeps the Secret).
    const secret = await adminClient().get<V1Secret>(RESOURCES.secrets, tenantNs(), 'borrowed-webhook');
    await adminClient().replace(RESOURCES.secrets, {
      ...secret,
      metadata: { ...secret.metadata, ownerReferences: secret.metadata!.ownerReferences!.map((o) => ({ ...o, name: 'decoy', uid: decoy.uid })) },
    });
    await eventually(async () => operator.routes?.lookup(other.path) === undefined, 10_000);
    const res = await deliver(other, { export_id: 'exp_borrowed' });
    expect(res.status, res.text).to.equal(404);
    // The decoy keeps its own route.
    expect((await deliver(decoy, { export_id: 'exp_decoy' })).status).to.equal(202);
  });

  it("refuses an older trigger whose Secret was edited to hold a newer trigger's path: the path's digest in status decides, not age", async () => {
    const elderCreated = Date.parse((await getTrigger(tenantNs(), 'elder')).metadata.creationTimestamp!);
    await eventually(async () => Date.now() >= elderCreated + 1_000, 5_000, 50);
    const newcomer = await createTrigger(operator, victimNs(), 'newcomer');
    expect((await getTrigger(victimNs(), 'newcomer')).status?.pathDigest, 'the digest of the path it was given').to.match(/^[0-9a-f]{32}$/);
    const secret = await adminClient().get<V1Secret>(RESOURCES.secrets, tenantNs(), 'elder-webhook');
    await adminClient().replace(RESOURCES.secrets, { ...secret, data: { ...secret.data, path: b64(newcomer.path) } });

    const ready = await eventually(async () => {
      const c = await readyCondition(tenantNs(), 'elder');
      return c?.status === 'False' && c.reason === 'PathConflict' ? c : undefined;
    }, 20_000);
    expect(ready.message).to.include('was edited').and.include(`${victimNs()}/newcomer`);
    expect(operator.routes?.lookup(newcomer.path)?.namespace).to.equal(victimNs());
    await eventually(async () => operator.routes?.lookup(elder.path) === undefined, 10_000);
    expect((await deliver(newcomer, { export_id: 'exp_newcomer' })).status).to.equal(202);
    const forged = await deliver({ ...elder, path: newcomer.path }, { export_id: 'exp_elder' });
    expect(forged.status, forged.text).to.equal(401);
    expect(await runsOf(tenantNs(), 'elder')).to.have.length(0);
  });
});

async function exists(namespace: string, name: string): Promise<boolean> {
  return adminClient()
    .get(RESOURCES.webhookTriggers, namespace, name)
    .then(
      () => true,
      (e: unknown) => {
        if (isKubeError(e) && e.notFound) return false;
        throw e;
      },
    );
}
