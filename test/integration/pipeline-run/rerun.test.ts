// Reruns through the real API server: annotating a run with planasonix.io/rerun-requested-at makes
// the run controller create one new run with the same params and a copy of the sensitive params,
// labelled with the original's correlation ID and pointing at it; an active run is refused unless
// forced; each request is acted on once, also after a crash between creating the rerun and
// recording it.
import { expect } from 'chai';
import type { V1Secret } from '@kubernetes/client-node';
import type { PipelineRun } from '../../../src/api/types.ts';
import { ANNOTATIONS, LABELS } from '../../../src/api/constants.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { buildSensitiveParamsSecret } from '../../../src/receiver/build-pipeline-run.ts';
import { buildRerun, rerunNameFor } from '../../../src/controllers/pipeline-run/rerun.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { createPipeline, createRun, getRun, runJobToSuccess, settle, waitEvent, waitJob, waitPhase } from './run-fixtures.ts';

const PIPELINE = 'rerun-loader';
const TOKEN = 'tok_sensitive_value_1234';

describe('rerun: a run annotated planasonix.io/rerun-requested-at (real API server)', function () {
  this.timeout(60_000);
  const ns = useNamespace('rerun');
  let operator: TestOperator;

  before(async () => {
    operator = await startTestOperator({ namespaces: [ns()] });
    await createPipeline(ns(), PIPELINE, { params: [{ name: 'export_id', type: 'string', required: true }, { name: 'api_token', type: 'string', default: '' }] });
  });
  after(async () => operator?.stop());

  /** A run with a sensitive param, as the receiver makes it, taken to Succeeded. */
  async function finishedRun(name: string): Promise<PipelineRun> {
    const run = await createRun(ns(), name, PIPELINE, { params: { export_id: `exp_${name}` }, spec: { sensitiveParams: ['api_token'] } });
    await adminClient().create(RESOURCES.secrets, buildSensitiveParamsSecret(run, { api_token: TOKEN }));
    await waitJob(ns(), name);
    await runJobToSuccess(ns(), name);
    return waitPhase(ns(), name, 'Succeeded');
  }

  const annotate = (name: string, annotations: Record<string, string | null>) =>
    adminClient().mergePatch<PipelineRun>(RESOURCES.pipelineRuns, ns(), name, { metadata: { annotations } });

  const handled = (name: string, request: string) => eventually(async () => {
    const run = await getRun(ns(), name);
    return run.metadata.annotations?.[ANNOTATIONS.rerunHandled] === request ? run : undefined;
  }, 20_000);

  const rerunsOf = async (name: string) =>
    (await adminClient().list<PipelineRun>(RESOURCES.pipelineRuns, ns(), { labelSelector: `${LABELS.rerunOf}=${name}` })).items;

  it('creates one run with the same params, a copy of the sensitive params, the same correlation ID, pointing at the original', async () => {
    const original = await finishedRun('finished');
    await annotate('finished', { [ANNOTATIONS.rerunRequestedAt]: '2026-12-02T17:00:00Z' });
    const after = await handled('finished', '2026-12-02T17:00:00Z');
    const rerunName = after.metadata.annotations?.[ANNOTATIONS.lastRerun];
    expect(rerunName).to.equal(rerunNameFor(original, '2026-12-02T17:00:00Z'));
    expect(after.metadata.annotations).to.not.have.property(ANNOTATIONS.rerunRefused);

    const rerun = await getRun(ns(), rerunName!);
    expect(rerun.spec.params).to.deep.equal(original.spec.params);
    expect(rerun.spec.sensitiveParams).to.deep.equal(['api_token']);
    expect(rerun.spec.correlationId).to.equal(original.spec.correlationId);
    expect(rerun.spec.rerunOf).to.equal('finished');
    expect(rerun.spec.trigger?.deliveryId).to.equal(original.spec.trigger?.deliveryId);
    expect(rerun.metadata.labels).to.include({ [LABELS.correlationId]: original.spec.correlationId, [LABELS.rerunOf]: 'finished', [LABELS.pipeline]: PIPELINE });

    // The sensitive value reaches the rerun's Job through the rerun's own Secret, owned by the rerun.
    const secret = await adminClient().get<V1Secret>(RESOURCES.secrets, ns(), `${rerunName}-params`);
    expect(Buffer.from(secret.data!.api_token!, 'base64').toString()).to.equal(TOKEN);
    expect(secret.metadata!.ownerReferences?.map((o) => [o.kind, o.name, o.uid])).to.deep.equal([['PipelineRun', rerunName, rerun.metadata.uid]]);
    const job = await waitJob(ns(), rerunName!);
    const env = job.spec.template.spec!.containers![0]!.env!;
    expect(env).to.deep.include({ name: 'PARAM_API_TOKEN', valueFrom: { secretKeyRef: { name: `${rerunName}-params`, key: 'api_token' } } });
    expect(env).to.deep.include({ name: 'PLANASONIX_RERUN_OF', value: 'finished' });
    expect(JSON.stringify(rerun)).to.not.include(TOKEN);
    await waitEvent(ns(), 'finished', 'RerunCreated');

    // Handled once: later reconciles of the original (an unrelated annotation, a resync) create nothing more.
    await annotate('finished', { 'example.com/touched': 'yes' });
    await settle(operator);
    expect((await rerunsOf('finished')).map((r) => r.metadata.name)).to.deep.equal([rerunName]);

    // A new value is a new request.
    await annotate('finished', { [ANNOTATIONS.rerunRequestedAt]: '2026-12-02T17:05:00Z' });
    await handled('finished', '2026-12-02T17:05:00Z');
    expect(await rerunsOf('finished')).to.have.length(2);
  });

  it('refuses while the run is active, and reruns it when forced', async () => {
    await createRun(ns(), 'active', PIPELINE);
    await waitPhase(ns(), 'active', 'Pending', 'JobPending');
    await annotate('active', { [ANNOTATIONS.rerunRequestedAt]: 'a1' });
    const refused = await handled('active', 'a1');
    expect(refused.metadata.annotations?.[ANNOTATIONS.rerunRefused]).to.match(/still Pending.*--force/);
    expect(refused.metadata.annotations).to.not.have.property(ANNOTATIONS.lastRerun);
    expect(await rerunsOf('active')).to.deep.equal([]);
    await waitEvent(ns(), 'active', 'RerunRefused');

    await annotate('active', { [ANNOTATIONS.rerunRequestedAt]: 'a2', [ANNOTATIONS.rerunForce]: 'true' });
    const forced = await handled('active', 'a2');
    expect(forced.metadata.annotations).to.not.have.property(ANNOTATIONS.rerunRefused);
    expect((await rerunsOf('active')).map((r) => r.metadata.name)).to.deep.equal([forced.metadata.annotations?.[ANNOTATIONS.lastRerun]]);
  });

  it('refuses when the sensitive params are gone, creating nothing', async () => {
    await finishedRun('lost-secret');
    await adminClient().delete(RESOURCES.secrets, ns(), 'lost-secret-params');
    await eventually(async () => !operator.manager.informer<V1Secret>(RESOURCES.secrets).get(`${ns()}/lost-secret-params`));
    await annotate('lost-secret', { [ANNOTATIONS.rerunRequestedAt]: 'l1' });
    const refused = await handled('lost-secret', 'l1');
    expect(refused.metadata.annotations?.[ANNOTATIONS.rerunRefused]).to.include('lost-secret-params');
    expect(await rerunsOf('lost-secret')).to.deep.equal([]);
  });

  it('adopts a rerun created before a crash instead of creating a second one', async () => {
    const original = await finishedRun('crashed');
    // What a controller that crashed right after creating the rerun left behind (no Secret, no record).
    const name = rerunNameFor(original, 'c1');
    await adminClient().create(RESOURCES.pipelineRuns, buildRerun(original, name, new Date()));
    await annotate('crashed', { [ANNOTATIONS.rerunRequestedAt]: 'c1' });
    const after = await handled('crashed', 'c1');
    expect(after.metadata.annotations?.[ANNOTATIONS.lastRerun]).to.equal(name);
    expect((await rerunsOf('crashed')).map((r) => r.metadata.name)).to.deep.equal([name]);
    await adminClient().get(RESOURCES.secrets, ns(), `${name}-params`);
  });
});
