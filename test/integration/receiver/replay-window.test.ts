// Replay protection that lasts as long as the signature does, whether or not the original run is
// still in history, across replicas, and whatever idempotency.from says. Two receiver replicas
// (receiver-only operators, as the Deployment runs them) share nothing but the API server.
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import type { DeliveryRecord, Pipeline, PipelineRun } from '../../../src/api/types.ts';
import { API_VERSION } from '../../../src/api/constants.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { isKubeError } from '../../../src/kube/errors.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { createPipeline, createTrigger, readTriggerSecret, runsOf, send, type Reply, type TriggerHandle } from './receiver-fixtures.ts';
import { runJobToSuccess } from '../pipeline-run/run-fixtures.ts';
import { STATUS_WRITTEN_BY_TEST } from '../../harness/job-status-writer.ts';

/** One captured signed request (planasonix), to be sent again as an attacker would. */
function capture(trigger: TriggerHandle, body: unknown): (receiverUrl: string, headers?: Record<string, string>) => Promise<Reply> {
  const raw = Buffer.from(JSON.stringify(body));
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac('sha256', trigger.secret).update(`${t}.`).update(raw).digest('hex');
  return (receiverUrl, headers = {}) => send(receiverUrl, trigger.path, { body: raw, headers: { 'x-planasonix-signature': `t=${t},v1=${v1}`, ...headers } });
}

const gone = (namespace: string, name: string) =>
  adminClient()
    .get(RESOURCES.pipelineRuns, namespace, name)
    .then(
      () => false,
      (e: unknown) => isKubeError(e) && e.notFound,
    );

describe('receiver: replay protection outlives run history, across replicas (real API server)', function () {
  this.timeout(120_000);
  const ns = useNamespace('replay-window');
  let controllers: TestOperator;
  let replicaA: TestOperator;
  let replicaB: TestOperator;
  let signed: TriggerHandle;

  before(async () => {
    controllers = await startTestOperator({ components: 'controllers' });
    // A short API timeout: for that long (and a second), a replay whose original run is missing is
    // answered 503, since the original may still be storing it.
    replicaA = await startTestOperator({ components: 'receiver', kubeApiTimeoutMs: 2_000 });
    replicaB = await startTestOperator({ components: 'receiver', kubeApiTimeoutMs: 2_000 });
    await createPipeline(ns());
    // History keeps no finished run at all, so only the replay window keeps anything.
    const brief: Pipeline = {
      apiVersion: API_VERSION,
      kind: 'Pipeline',
      metadata: { name: 'brief', namespace: ns() },
      spec: {
        params: [{ name: 'export_id', type: 'string', required: true }],
        history: { succeeded: 0, failed: 0 },
        jobTemplate: { spec: { ...STATUS_WRITTEN_BY_TEST, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'registry.example/c:1' }] } } } },
      },
    };
    await adminClient().create(RESOURCES.pipelines, brief);
    signed = await createTrigger(replicaA, ns(), 'signed', { auth: { scheme: 'planasonix', tolerance: '5m' } });
    await eventually(async () => replicaB.routes?.lookup(signed.path)?.state === 'serving', 20_000);
  });
  after(async () => {
    await replicaA?.stop();
    await replicaB?.stop();
    await controllers?.stop();
  });

  it('answers a captured request replayed under a new delivery ID with the original run, which history keeps through the window', async () => {
    // The Pipeline keeps no finished run in history: without the replay window, the run would be
    // pruned as soon as it succeeded, and the replay would start a second one.
    const finished = await createTrigger(replicaA, ns(), 'finished', { pipelineRef: { name: 'brief' }, params: [{ name: 'export_id', from: 'body', path: '/export_id', required: true }] });
    await eventually(async () => replicaB.routes?.lookup(finished.path)?.state === 'serving', 20_000);
    const replay = capture(finished, { export_id: 'exp_pruned' });
    const first = await replay(replicaA.receiverUrl, { 'x-planasonix-delivery': 'd-original' });
    expect(first.status, first.text).to.equal(202);
    const run = (first.json().pipelineRun as { name: string }).name;
    await eventually(() => adminClient().get(RESOURCES.jobs, ns(), run), 20_000);
    await runJobToSuccess(ns(), run);
    await eventually(async () => (await adminClient().get<PipelineRun>(RESOURCES.pipelineRuns, ns(), run)).status?.phase === 'Succeeded', 20_000);

    const again = await replay(replicaB.receiverUrl, { 'x-planasonix-delivery': 'd-attacker' });
    expect(again.status, again.text).to.equal(200);
    expect(again.json().correlationId).to.equal(first.json().correlationId);
    expect(again.json().duplicate).to.equal(true);
    const runs = (await runsOf(ns(), 'finished')).filter((r) => r.spec.params?.export_id === 'exp_pruned');
    expect(runs.map((r) => r.metadata.name)).to.deep.equal([run]);
    expect(runs[0]!.metadata.annotations?.['planasonix.io/keep-until']).to.be.a('string');
  });

  it('lets exactly one of the same signed request raced to two replicas under different delivery IDs start a run', async () => {
    for (let round = 0; round < 5; round++) {
      const replay = capture(signed, { export_id: `exp_race_${round}` });
      const a = () => replay(replicaA.receiverUrl, { 'x-planasonix-delivery': `a-${round}` });
      const b = () => replay(replicaB.receiverUrl, { 'x-planasonix-delivery': `b-${round}` });
      const replies = await Promise.all([a(), b()]);
      // One stores the run (202); the other, claiming the same replay key a moment later, is that
      // delivery again and finds the run (200).
      expect(replies.filter((r) => r.status === 202), replies.map((r) => r.text).join(' | ')).to.have.length(1);
      const loser = replies.findIndex((r) => r.status !== 202);
      expect([200, 503]).to.include(replies[loser]!.status);
      const settled = await eventually(async () => {
        const r = replies[loser]!.status === 200 ? replies[loser]! : await (loser === 0 ? a() : b());
        return r.status === 200 ? r : undefined;
      }, 20_000, 250);
      expect(settled.json().correlationId).to.equal(replies[1 - loser]!.json().correlationId);
      const runs = (await runsOf(ns(), 'signed')).filter((r) => r.spec.params?.export_id === `exp_race_${round}`);
      expect(runs).to.have.length(1);
    }
  });

  it('checks the replay key of a signed scheme even with idempotency.from: header', async () => {
    const keyed = await createTrigger(replicaA, ns(), 'keyed', { idempotency: { from: 'header', header: 'Idempotency-Key' } });
    await eventually(async () => replicaB.routes?.lookup(keyed.path)?.state === 'serving', 20_000);
    const replay = capture(keyed, { export_id: 'exp_keyed' });
    const first = await replay(replicaA.receiverUrl, { 'idempotency-key': 'k-1' });
    expect(first.status, first.text).to.equal(202);
    const again = await replay(replicaB.receiverUrl, { 'idempotency-key': 'k-2' });
    expect(again.status, again.text).to.equal(200);
    expect(again.json().correlationId).to.equal(first.json().correlationId);
    expect(await runsOf(ns(), 'keyed')).to.have.length(1);
  });

  it('keeps a finished run in history for its replay window, so a retry of its delivery key is still a duplicate', async () => {
    const token = 'tok_replay_window_bearer_0123456789';
    await adminClient().create(RESOURCES.secrets, { metadata: { name: 'bearer-token', namespace: ns() }, stringData: { 'signing-secret': token } });
    await createTrigger(replicaA, ns(), 'bearer', {
      pipelineRef: { name: 'brief' },
      auth: { scheme: 'bearer', secretRef: { name: 'bearer-token' } },
      params: [{ name: 'export_id', from: 'body', path: '/export_id', required: true }],
    });
    const { path } = (await readTriggerSecret(ns(), 'bearer', replicaA))!;
    await eventually(async () => replicaB.routes?.lookup(path)?.state === 'serving', 20_000);
    const post = (url: string) =>
      send(url, path, { body: JSON.stringify({ export_id: 'exp_kept' }), headers: { authorization: `Bearer ${token}`, 'idempotency-key': 'kept-1' } });
    const first = await post(replicaA.receiverUrl);
    expect(first.status, first.text).to.equal(202);
    const name = (first.json().pipelineRun as { name: string }).name;
    await eventually(() => adminClient().get(RESOURCES.jobs, ns(), name), 20_000);
    await runJobToSuccess(ns(), name);
    const finished = await eventually(async () => {
      const r = await adminClient().get<PipelineRun>(RESOURCES.pipelineRuns, ns(), name);
      return r.status?.phase === 'Succeeded' ? r : undefined;
    }, 20_000);
    // History keeps no succeeded run, yet this one stays: its key deduplicates for --replay-window.
    expect(finished.metadata.annotations?.['planasonix.io/keep-until']).to.be.a('string');
    const again = await post(replicaB.receiverUrl);
    expect(again.status, again.text).to.equal(200);
    expect(again.json().correlationId).to.equal(first.json().correlationId);
    expect(await gone(ns(), name)).to.equal(false);
  });

  it('deletes a replay record once it expires (twice the tolerance after it was written)', async () => {
    const short = await createTrigger(replicaA, ns(), 'short', { auth: { scheme: 'planasonix', tolerance: '2s' } });
    const replay = capture(short, { export_id: 'exp_short' });
    const first = await replay(replicaA.receiverUrl, { 'x-planasonix-delivery': 'short-1' });
    expect(first.status, first.text).to.equal(202);
    const records = await adminClient().list<DeliveryRecord>(RESOURCES.deliveryRecords, ns());
    const record = records.items.find((r) => r.spec.deliveryKey === 'id:short-1');
    expect(record, 'a record for the replay key').to.not.equal(undefined);
    expect(Date.parse(record!.spec.expiresAt) - Date.parse(record!.metadata.creationTimestamp!)).to.be.within(3_000, 5_000);
    await eventually(
      () =>
        adminClient()
          .get(RESOURCES.deliveryRecords, ns(), record!.metadata.name!)
          .then(
            () => false,
            (e: unknown) => isKubeError(e) && e.notFound,
          ),
      20_000,
    );
  });
});
