// The leading replica dies, or pauses, at the worst moments — right after it rotated a signing
// secret, right after it created a Job, in the middle of a rotation write — and another replica
// takes over. Rotation must happen exactly once per request and every run must have exactly one
// Job, whatever the old leader does when (if) it comes back.
import { expect } from 'chai';
import type { V1Secret } from '@kubernetes/client-node';
import type { PipelineRun, WebhookTrigger } from '../../../src/api/types.ts';
import { ANNOTATIONS } from '../../../src/api/constants.ts';
import { Informer } from '../../../src/controller-runtime/informer.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { createLogCapture, createLogger, type LogCapture } from '../../../src/observability/logger.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { runJobToSuccess } from '../pipeline-run/run-fixtures.ts';
import { createPipeline, createTrigger, PIPELINE, deliver, planasonixHeaders, send, type TriggerHandle } from '../receiver/receiver-fixtures.ts';
import { expectOneJobPerRun, FaultyClient, runsOfTrigger, sleep, type Call } from './fault-fixtures.ts';
import { STATUS_WRITTEN_BY_TEST } from '../../harness/job-status-writer.ts';

const LEASE_MS = 2_000;
const RENEW_MS = 1_500;
const RETRY_MS = 300;

interface Replica {
  identity: string;
  operator: TestOperator;
  client: FaultyClient;
}

const decode = (secret: V1Secret | undefined, key: string) => (secret?.data?.[key] === undefined ? undefined : Buffer.from(secret.data[key]!, 'base64').toString('utf8'));
const signingSecretOf = (call: Call) => decode(call.body as V1Secret, 'signing-secret') ?? (call.body as V1Secret).stringData?.['signing-secret'];

describe('fault: the leader dies during a rotation and during Job creation', function () {
  this.timeout(120_000);
  const ns = useNamespace('fault-leader');
  const replicas: Replica[] = [];
  let capture: LogCapture;
  let trigger: TriggerHandle;
  let history: Informer<V1Secret>;
  /** Every signing secret the trigger's Secret has held, in order. */
  const signingSecrets: string[] = [];

  const startReplica = async (identity: string): Promise<Replica> => {
    const client = FaultyClient.connect({ timeoutMs: 3_000 });
    const operator = await startTestOperator(
      {
        leaderElect: true,
        leaseDurationMs: LEASE_MS,
        renewDeadlineMs: RENEW_MS,
        retryPeriodMs: RETRY_MS,
        leaderElectionNamespace: ns(),
        namespaces: [ns()],
        kubeApiTimeoutMs: 3_000,
        requestTimeoutMs: 5_000,
        headerTimeoutMs: 2_000,
      },
      { identity, client, logger: createLogger({ level: 'debug', destination: capture.destination }).child({ replica: identity }) },
    );
    const replica = { identity, operator, client };
    replicas.push(replica);
    return replica;
  };
  const leaders = () => replicas.filter((r) => r.client.state === 'up' && r.operator.manager.isLeader());
  const theLeader = async () => (await eventually(async () => (leaders().length === 1 ? leaders() : undefined), 10_000, 20))[0]!;
  /** Ends a replica for good: whatever it still waits for fails, as in a process that is gone. */
  const bury = async (r: Replica) => {
    r.client.kill();
    await r.operator.stop();
    replicas.splice(replicas.indexOf(r), 1);
  };
  const requestRotation = (value: string) =>
    adminClient().mergePatch(RESOURCES.webhookTriggers, ns(), trigger.name, { metadata: { annotations: { [ANNOTATIONS.rotateRequestedAt]: value } } });
  const handledRequest = async () => (await adminClient().get<WebhookTrigger>(RESOURCES.webhookTriggers, ns(), trigger.name)).status?.rotation?.lastHandledRequest;
  const webhookSecret = () => adminClient().get<V1Secret>(RESOURCES.secrets, ns(), `${trigger.name}-webhook`);
  const webhookSecretOf = async (name: string) => decode(await adminClient().get<V1Secret>(RESOURCES.secrets, ns(), `${name}-webhook`), 'path') ?? '';
  const accepts = async (receiverUrl: string, secret: string) => {
    const body = JSON.stringify({ export_id: `rot-${Date.now()}` });
    const reply = await send(receiverUrl, trigger.path, { headers: planasonixHeaders(secret, body), body });
    return reply.status;
  };

  before(async () => {
    capture = createLogCapture();
    await createPipeline(ns());
    // Keep every finished run: the default history (10) would delete the oldest during the test.
    await adminClient().mergePatch(RESOURCES.pipelines, ns(), PIPELINE, { spec: { history: { succeeded: 100, failed: 100 } } });
    const a = await startReplica('replica-a');
    await startReplica('replica-b');
    trigger = await createTrigger(a.operator, ns(), 'rot', { auth: { scheme: 'planasonix', rotation: { every: '2160h', overlap: '1h' } } });
    // The Secret's history, seen by a watch of its own.
    history = new Informer<V1Secret>(adminClient(), RESOURCES.secrets, { namespace: ns(), fieldSelector: `metadata.name=${trigger.name}-webhook` });
    const note = (s: V1Secret) => {
      const value = decode(s, 'signing-secret');
      if (value && value !== signingSecrets.at(-1)) signingSecrets.push(value);
    };
    history.onAdd(note);
    history.onUpdate((_, s) => note(s));
    history.start();
    await history.waitForSync();
    expect(signingSecrets).to.deep.equal([trigger.secret]);
  });
  after(async () => {
    await history?.stop();
    for (const r of [...replicas]) await bury(r);
    // Nothing any replica logged holds a signing secret or the capability path.
    const text = capture.text();
    for (const value of [...signingSecrets, ...(trigger ? [trigger.path] : [])]) expect(text.includes(value), 'a secret in the logs').to.equal(false);
  });

  it('rotates exactly once when the leader dies right after writing the rotated Secret', async () => {
    const leader = await theLeader();
    const successor = replicas.find((r) => r !== leader)!; // every replica serves webhooks
    leader.client.afterWrite = (call) => {
      if (call.verb === 'replace' && call.resource === 'secrets' && call.name === `${trigger.name}-webhook` && signingSecretOf(call) !== trigger.secret) leader.client.freeze();
    };
    await requestRotation('request-1');
    await eventually(async () => leader.client.state === 'frozen', 10_000, 20);
    const t0 = performance.now();
    await eventually(async () => leaders().length === 1, LEASE_MS + 10 * RETRY_MS, 20);
    console.log(`      takeover after the crash: ${Math.round(performance.now() - t0)} ms`);
    await eventually(async () => (await handledRequest()) === 'request-1', 10_000);

    await sleep(500); // deliberate negative check: a second rotation for the same request would land in this time
    expect(signingSecrets, 'the signing secrets the Secret has held').to.have.length(2);
    const secret = await webhookSecret();
    expect(decode(secret, 'signing-secret')).to.equal(signingSecrets[1]);
    expect(decode(secret, 'previous-signing-secret')).to.equal(trigger.secret);
    // Both verify during the overlap, on the replica that took over.
    expect(await accepts(successor.operator.receiverUrl, trigger.secret)).to.equal(202);
    expect(await accepts(successor.operator.receiverUrl, signingSecrets[1]!)).to.equal(202);
    await bury(leader);
  });

  it('creates no second Job when the leader dies right after creating one (acting as the Job controller to finish them)', async () => {
    const standby = await startReplica('replica-c');
    const leader = await theLeader();
    expect(leader).not.to.equal(standby);
    const created: string[] = [];
    leader.client.afterWrite = (call) => {
      if (call.verb === 'create' && call.resource === 'jobs') {
        created.push(call.name!);
        leader.client.freeze();
      }
    };
    // Deliveries go to the replica that stays up (every replica serves webhooks).
    const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => deliver({ ...trigger, secret: signingSecrets.at(-1)! }, { export_id: `job-${i}` }, { baseUrl: standby.operator.receiverUrl })));
    for (const r of replies) expect(r.status, r.text).to.equal(202);
    await eventually(async () => leader.client.state === 'frozen', 10_000, 20);
    await eventually(async () => leaders().length === 1, LEASE_MS + 10 * RETRY_MS, 20);

    const runs = (await runsOfTrigger(trigger)).filter((r) => r.spec.params?.export_id?.startsWith('job-'));
    expect(runs).to.have.length(12);
    const jobs = await expectOneJobPerRun(ns(), runs);
    // The Job the dead leader created is the one the run has: adopted, not replaced.
    for (const name of created) expect(jobs.get(name)).to.have.length(1);
    await eventually(async () => (await runsOfTrigger(trigger)).filter((r) => r.spec.params?.export_id?.startsWith('job-') && r.status?.jobRef?.name === r.metadata.name).length === 12, 15_000, 200);

    for (const run of runs) await runJobToSuccess(ns(), run.metadata.name!);
    await eventually(async () => (await runsOfTrigger(trigger)).filter((r) => r.spec.params?.export_id?.startsWith('job-') && r.status?.phase === 'Succeeded').length === 12, 15_000, 200);
    await bury(leader);
  });

  it('a leader paused right after creating a Job, resumed after the takeover, does not undo the new leader\'s work', async () => {
    const standby = await startReplica('replica-d');
    const leader = await theLeader();
    expect(leader).not.to.equal(standby);
    leader.client.afterWrite = (call) => {
      if (call.verb === 'create' && call.resource === 'jobs') leader.client.freeze();
    };
    const replies = await Promise.all(Array.from({ length: 4 }, (_, i) => deliver({ ...trigger, secret: signingSecrets.at(-1)! }, { export_id: `pause-${i}` }, { baseUrl: standby.operator.receiverUrl })));
    for (const r of replies) expect(r.status, r.text).to.equal(202);
    await eventually(async () => leader.client.state === 'frozen', 10_000, 20);
    await eventually(async () => leaders().length === 1, LEASE_MS + 10 * RETRY_MS, 20);
    const mine = async () => (await runsOfTrigger(trigger)).filter((r) => r.spec.params?.export_id?.startsWith('pause-'));
    const runs = await mine();
    await expectOneJobPerRun(ns(), runs);
    for (const run of runs) await runJobToSuccess(ns(), run.metadata.name!);
    await eventually(async () => (await mine()).every((r) => r.status?.phase === 'Succeeded'), 15_000, 200);

    // The pause ends: the old leader's reconciles go on from where they were, with what they had read.
    leader.client.afterWrite = undefined;
    leader.client.thaw();
    await eventually(async () => !leader.operator.controllers.some((c) => c.queue.inFlight > 0), 10_000, 50);
    await sleep(1_000); // deliberate negative check: the resumed leader's late writes would land in this time
    const after: PipelineRun[] = await mine();
    for (const run of after) expect(run.status?.phase, `${run.metadata.name} after the old leader resumed`).to.equal('Succeeded');
    await expectOneJobPerRun(ns(), after);
    expect(leader.operator.manager.isLeader()).to.equal(false);
    await bury(leader);
  });

  it('a leader paused while writing a trigger\'s status, resumed after the takeover, does not make a broken trigger Ready again', async () => {
    const standby = await startReplica('replica-f');
    const leader = await theLeader();
    expect(leader).not.to.equal(standby);
    const readyOf = async () => (await adminClient().get<WebhookTrigger>(RESOURCES.webhookTriggers, ns(), 'flip')).status?.conditions?.find((c) => c.type === 'Ready');
    await adminClient().create(RESOURCES.webhookTriggers, { apiVersion: 'planasonix.io/v1alpha1', kind: 'WebhookTrigger', metadata: { name: 'flip', namespace: ns() }, spec: { pipelineRef: { name: 'later' } } });
    await eventually(async () => (await readyOf())?.reason === 'PipelineNotFound', 10_000);
    // The leader sees the Pipeline appear, decides Ready=True, and pauses just before writing it.
    leader.client.beforeWrite = (call) => {
      if (call.verb === 'patchStatus' && call.resource === 'webhooktriggers' && call.name === 'flip') leader.client.freeze();
    };
    await adminClient().create(RESOURCES.pipelines, { apiVersion: 'planasonix.io/v1alpha1', kind: 'Pipeline', metadata: { name: 'later', namespace: ns() }, spec: { jobTemplate: { spec: { ...STATUS_WRITTEN_BY_TEST, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'example.test/job:1' }] } } } } } });
    await eventually(async () => leader.client.state === 'frozen', 10_000, 20);
    // Meanwhile the Pipeline goes away again, and the new leader says so.
    await adminClient().delete(RESOURCES.pipelines, ns(), 'later');
    await eventually(async () => leaders().length === 1, LEASE_MS + 10 * RETRY_MS, 20);
    await eventually(async () => (await readyOf())?.reason === 'PipelineNotFound', 10_000);

    leader.client.beforeWrite = undefined;
    leader.client.thaw();
    await eventually(async () => leader.client.writes.some((w) => w.resource === 'webhooktriggers' && w.name === 'flip' && w.verb === 'patchStatus'), 10_000, 50);
    await sleep(1_000); // deliberate negative check: a status the resumed leader overwrote would show in this time
    const ready = await readyOf();
    expect(`${ready?.status} ${ready?.reason}`, 'the trigger\'s Ready condition after the old leader resumed').to.equal('False PipelineNotFound');
    const generated = await webhookSecretOf('flip');
    expect(standby.operator.routes?.lookup(generated)?.state ?? 'not served').not.to.equal('serving');
    await bury(leader);
  });

  it('rotates exactly once when a paused leader\'s rotation write lands after the takeover', async () => {
    const standby = await startReplica('replica-e');
    const leader = await theLeader();
    expect(leader).not.to.equal(standby);
    const before = signingSecrets.length;
    leader.client.beforeWrite = (call) => {
      if (call.verb === 'replace' && call.resource === 'secrets' && call.name === `${trigger.name}-webhook`) leader.client.freeze();
    };
    await requestRotation('request-2');
    await eventually(async () => leader.client.state === 'frozen', 10_000, 20);
    await eventually(async () => leaders().length === 1, LEASE_MS + 10 * RETRY_MS, 20);
    await eventually(async () => (await handledRequest()) === 'request-2', 10_000);
    expect(signingSecrets.length - before, 'rotations by the new leader').to.equal(1);

    // The old leader wakes up and sends the rotation it had prepared: refused, it was based on an old version.
    leader.client.beforeWrite = undefined;
    leader.client.thaw();
    await eventually(async () => leader.client.writes.some((w) => w.resource === 'secrets' && w.name === `${trigger.name}-webhook`), 10_000, 50);
    const late = leader.client.writes.filter((w) => w.resource === 'secrets' && w.name === `${trigger.name}-webhook`);
    expect(late.map((w) => `${w.outcome} ${w.reason ?? ''}`.trim())).to.deep.equal(['error Conflict']);
    await sleep(1_000); // deliberate negative check: a second rotation would land in this time
    expect(signingSecrets.length - before, 'rotations in all').to.equal(1);
    const secret = await webhookSecret();
    expect(decode(secret, 'signing-secret')).to.equal(signingSecrets.at(-1));
    expect(decode(secret, 'previous-signing-secret')).to.equal(signingSecrets.at(-2));
    await bury(leader);
  });
});
