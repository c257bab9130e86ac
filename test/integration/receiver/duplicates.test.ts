// Exactly one run per delivery, whatever the sender does: 50 concurrent copies of one delivery
// spread over two replicas, a retry after a replica restart, and a captured request replayed with
// a new (unsigned) delivery-ID header.
import { expect } from 'chai';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { sign as signGithub } from '@octokit/webhooks-methods';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { signRequest } from '../../../src/signing/sign-request.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import type { DeliveryRecord, PipelineRun, WebhookTriggerSpec } from '../../../src/api/types.ts';
import { LABELS } from '../../../src/api/constants.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { createPipeline, createTrigger, planasonixHeaders, runsOf, send, type Reply, type TriggerHandle } from './receiver-fixtures.ts';

describe('receiver: one run per delivery', function () {
  this.timeout(60_000);
  const ns = useNamespace('rx-dupes');
  let leader: TestOperator;
  let replica: TestOperator | undefined;
  let trigger: TriggerHandle;

  before(async () => {
    leader = await startTestOperator();
    // A second replica that only receives, as when the receiver is scaled apart from the controllers.
    replica = await startTestOperator({ components: 'receiver' });
    await createPipeline(ns());
    trigger = await createTrigger(leader, ns(), 'dupes');
  });
  after(async () => {
    await replica?.stop();
    await leader?.stop();
  });

  // The look-up reads each replica's cache of PipelineRuns: a replay comes once the original is in it
  // (milliseconds later), not racing it.
  async function inCacheOf(operator: TestOperator, runName: string): Promise<void> {
    await eventually(async () => operator.manager.informer<PipelineRun>(RESOURCES.pipelineRuns).get(`${ns()}/${runName}`));
  }

  function summarize(replies: Reply[]) {
    const ids = new Set(replies.map((r) => r.json().correlationId));
    const byStatus = new Map<number, number>();
    for (const r of replies) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    return { ids, byStatus };
  }

  async function concurrentCopies(headers: Record<string, string>, body: Buffer, copies: number): Promise<Reply[]> {
    return Promise.all(
      Array.from({ length: copies }, (_, i) => send(i % 2 === 0 ? leader.receiverUrl : replica!.receiverUrl, trigger.path, { headers, body })),
    );
  }

  it('50 concurrent identical deliveries over two replicas: one run, one 202 and 49 × 200 with one correlation ID', async () => {
    const body = Buffer.from(JSON.stringify({ export_id: 'concurrent' }));
    const headers = planasonixHeaders(trigger.secret, body, { deliveryId: `evt_${randomUUID()}` });
    const replies = await concurrentCopies(headers, body, 50);
    const { ids, byStatus } = summarize(replies);
    expect(Object.fromEntries(byStatus)).to.deep.equal({ 202: 1, 200: 49 });
    expect(ids.size).to.equal(1);
    for (const r of replies) {
      expect(r.headers['x-correlation-id']).to.equal([...ids][0]);
      expect(r.json().duplicate).to.equal(r.status === 200);
    }
    const runs = (await runsOf(ns(), 'dupes')).filter((r) => r.spec.params?.export_id === 'concurrent');
    expect(runs).to.have.length(1);
    expect(runs[0]!.spec.correlationId).to.equal([...ids][0]);
  });

  it('without any delivery ID, identical signed copies are one delivery too (the replay key)', async () => {
    const body = Buffer.from(JSON.stringify({ export_id: 'no-id' }));
    const replies = await concurrentCopies(planasonixHeaders(trigger.secret, body), body, 20);
    const { ids, byStatus } = summarize(replies);
    expect(Object.fromEntries(byStatus)).to.deep.equal({ 202: 1, 200: 19 });
    expect(ids.size).to.equal(1);
    expect((await runsOf(ns(), 'dupes')).filter((r) => r.spec.params?.export_id === 'no-id')).to.have.length(1);
  });

  it('a retry reaching a restarted replica is still a duplicate of the original', async () => {
    const body = Buffer.from(JSON.stringify({ export_id: 'restart' }));
    const headers = planasonixHeaders(trigger.secret, body, { deliveryId: `evt_${randomUUID()}` });
    const first = await send(replica!.receiverUrl, trigger.path, { headers, body });
    expect(first.status, first.text).to.equal(202);
    await replica!.stop();
    replica = await startTestOperator({ components: 'receiver' });
    const retry = await send(replica.receiverUrl, trigger.path, { headers, body });
    expect(retry.status, retry.text).to.equal(200);
    expect(retry.json().correlationId).to.equal(first.json().correlationId);
    expect((await runsOf(ns(), 'dupes')).filter((r) => r.spec.params?.export_id === 'restart')).to.have.length(1);
  });

  it('a captured planasonix request replayed with a new delivery-ID header is a duplicate, not a new run', async () => {
    const body = Buffer.from(JSON.stringify({ export_id: 'replayed' }));
    const signed = planasonixHeaders(trigger.secret, body, { deliveryId: `evt_${randomUUID()}` });
    const first = await send(leader.receiverUrl, trigger.path, { headers: signed, body });
    expect(first.status, first.text).to.equal(202);
    await inCacheOf(replica!, (first.json().pipelineRun as { name: string }).name);
    // The delivery header is not covered by the signature: an attacker can change it freely.
    const replay = await send(replica!.receiverUrl, trigger.path, { headers: { ...signed, 'x-planasonix-delivery': `evt_${randomUUID()}` }, body });
    expect(replay.status, replay.text).to.equal(200);
    expect(replay.json()).to.include({ correlationId: first.json().correlationId, duplicate: true });
    expect((await runsOf(ns(), 'dupes')).filter((r) => r.spec.params?.export_id === 'replayed')).to.have.length(1);
  });

  /**
   * A signedDeliveryIdOnly trigger, signed by `sign` (which signs the ID when given one): a retry is
   * the same run on the other replica, a replay under a new ID or a signature without the ID is
   * refused, and the receiver keeps no DeliveryRecord for it.
   */
  async function expectSignedIdsOnly(name: string, auth: WebhookTriggerSpec['auth'], sign: (handle: TriggerHandle, body: Buffer, deliveryId?: string) => Record<string, string>) {
    const handle = await createTrigger(leader, ns(), name, { auth: { scheme: 'planasonix', signedDeliveryIdOnly: true, ...auth } });
    await eventually(async () => replica!.routes?.lookup(handle.path)?.state === 'serving', 20_000);
    const body = Buffer.from(JSON.stringify({ export_id: name }));
    const signed = sign(handle, body, `evt_${randomUUID()}`);
    const first = await send(replica!.receiverUrl, handle.path, { headers: signed, body });
    expect(first.status, first.text).to.equal(202);
    const retry = await send(leader.receiverUrl, handle.path, { headers: signed, body });
    expect(retry.status, retry.text).to.equal(200);
    expect(retry.json()).to.include({ correlationId: first.json().correlationId, duplicate: true });

    // The ID is signed: changing it breaks the signature, and a signature that leaves it out is refused.
    const replay = await send(replica!.receiverUrl, handle.path, { headers: { ...signed, 'x-planasonix-delivery': `evt_${randomUUID()}` }, body });
    expect(replay.status, replay.text).to.equal(401);
    const unsignedId = await send(replica!.receiverUrl, handle.path, { headers: { ...sign(handle, body), 'x-planasonix-delivery': `evt_${randomUUID()}` }, body });
    expect(unsignedId.status, unsignedId.text).to.equal(401);
    expect(unsignedId.json()).to.include({ error: 'missing_signature' });

    expect(await runsOf(ns(), name)).to.have.length(1);
    const records = await adminClient().list<DeliveryRecord>(RESOURCES.deliveryRecords, ns(), { labelSelector: `${LABELS.trigger}=${name}` });
    expect(records.items).to.deep.equal([]);
  }

  it('signedDeliveryIdOnly: a captured request replayed under a new ID is refused, and no DeliveryRecord is kept', async () => {
    await expectSignedIdsOnly('signed-ids', {}, ({ secret }, body, deliveryId) => signRequest('planasonix', { secret, body, ...(deliveryId && { deliveryId }) }));
    // The same selector finds the records of the v1 deliveries above.
    expect((await adminClient().list<DeliveryRecord>(RESOURCES.deliveryRecords, ns(), { labelSelector: `${LABELS.trigger}=dupes` })).items).not.to.deep.equal([]);
  });

  it('signedDeliveryIdOnly with a publicKey: v2a signatures cover the ID, so a replay under a new ID is refused and no record is kept', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    // The private key alone, as a sender holding no shared secret signs: v2a and v1a, or v1a alone without an ID.
    await expectSignedIdsOnly('signed-ids-ed25519', { publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() }, (_handle, body, deliveryId) =>
      signRequest('planasonix', { privateKey, body, ...(deliveryId && { deliveryId }) }),
    );
  });

  it('a captured GitHub request replayed with a new X-GitHub-Delivery is a duplicate (GitHub signs no timestamp)', async () => {
    const gh = await createTrigger(leader, ns(), 'gh-dupes', { auth: { scheme: 'github' } });
    const body = JSON.stringify({ export_id: 'gh-replayed' });
    const headers = { 'x-github-delivery': randomUUID(), 'x-hub-signature-256': await signGithub(gh.secret, body) };
    const first = await send(leader.receiverUrl, gh.path, { headers, body });
    expect(first.status, first.text).to.equal(202);
    await inCacheOf(leader, (first.json().pipelineRun as { name: string }).name);
    const replay = await send(leader.receiverUrl, gh.path, { headers: { ...headers, 'x-github-delivery': randomUUID() }, body });
    expect(replay.status, replay.text).to.equal(200);
    expect(replay.json().correlationId).to.equal(first.json().correlationId);
    expect(await runsOf(ns(), 'gh-dupes')).to.have.length(1);
  });
});
