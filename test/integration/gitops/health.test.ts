// Health as the GitOps tools read it, on the status the controllers really write: for each kind and
// each state, `kubectl wait --for=condition=Ready`, Flux's kstatus (sigs.k8s.io/cli-utils, as Flux
// computes it) and Argo CD's health script (deploy/argocd/health.lua, run by gopher-lua as Argo CD
// does) must agree with what a user would say about the object.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Pipeline, PipelineRun, WebhookTrigger } from '../../../src/api/types.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, kubectl, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { gitopsToolsDir, readHealth } from '../../harness/gitops-tools.ts';
import { repoRoot } from '../../harness/control-plane.ts';
import { pipelineObject, triggerEvents, triggerObject } from '../webhook-trigger/trigger-fixtures.ts';
import { createRun, failJob, runJobToSuccess, startJob, waitJob } from '../pipeline-run/run-fixtures.ts';
import { STATUS_WRITTEN_BY_TEST } from '../../harness/job-status-writer.ts';

type Kind = 'Pipeline' | 'WebhookTrigger' | 'PipelineRun';
const RESOURCE = { Pipeline: RESOURCES.pipelines, WebhookTrigger: RESOURCES.webhookTriggers, PipelineRun: RESOURCES.pipelineRuns } as const;
const KUBECTL_KIND = { Pipeline: 'pipeline.planasonix.io', WebhookTrigger: 'webhooktrigger.planasonix.io', PipelineRun: 'pipelinerun.planasonix.io' } as const;

interface Case {
  kind: Kind;
  name: string;
  state: string;
  /** What Flux's kstatus must conclude. */
  kstatus: 'Current' | 'InProgress' | 'Failed';
  /** What Argo CD's health script must conclude. */
  argocd: 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended';
}

const CASES: Case[] = [
  { kind: 'Pipeline', name: 'loader', state: 'valid', kstatus: 'Current', argocd: 'Healthy' },
  { kind: 'Pipeline', name: 'broken', state: 'a template references an undeclared param', kstatus: 'Failed', argocd: 'Degraded' },
  { kind: 'WebhookTrigger', name: 'serving', state: 'serving', kstatus: 'Current', argocd: 'Healthy' },
  { kind: 'WebhookTrigger', name: 'waiting', state: 'its Pipeline does not exist yet', kstatus: 'InProgress', argocd: 'Progressing' },
  { kind: 'WebhookTrigger', name: 'mismatched', state: 'maps a param its Pipeline does not declare', kstatus: 'Failed', argocd: 'Degraded' },
  { kind: 'WebhookTrigger', name: 'paused', state: 'suspended', kstatus: 'InProgress', argocd: 'Suspended' },
  { kind: 'PipelineRun', name: 'pending', state: 'its Job has not started', kstatus: 'InProgress', argocd: 'Progressing' },
  { kind: 'PipelineRun', name: 'done', state: 'its Job succeeded', kstatus: 'Current', argocd: 'Healthy' },
  { kind: 'PipelineRun', name: 'failed', state: 'its Job failed', kstatus: 'Failed', argocd: 'Degraded' },
];

describe('GitOps health: kubectl wait, Flux kstatus and Argo CD on the status the controllers write', function () {
  this.timeout(120_000);
  const ns = useNamespace('gitops');
  let operator: TestOperator | undefined;
  const objects = new Map<string, object>();

  const get = (kind: Kind, name: string) => adminClient().get<Pipeline | WebhookTrigger | PipelineRun>(RESOURCE[kind], ns(), name);
  const hasConditions = (o: Pipeline | WebhookTrigger | PipelineRun, types: string[]) =>
    o.status?.observedGeneration === o.metadata.generation && types.every((t) => o.status?.conditions?.some((c) => c.type === t));

  before(async function () {
    this.timeout(20 * 60_000); // the first use may build helm, kstatus and argocd-health
    gitopsToolsDir();
    operator = await startTestOperator({ namespaces: [ns()] });
    const client = adminClient();
    const params = [{ name: 'export_id', type: 'string' as const, required: true }];
    const job = (args: string[]) => ({ spec: { ...STATUS_WRITTEN_BY_TEST, template: { spec: { restartPolicy: 'Never' as const, containers: [{ name: 'load', image: 'registry.example/loader:1', args }] } } } });
    await client.create(RESOURCES.pipelines, pipelineObject(ns(), 'loader', { params, jobTemplate: job(['--export', '$(params.export_id)']) }));
    await client.create(RESOURCES.pipelines, pipelineObject(ns(), 'broken', { params, jobTemplate: job(['--export', '$(params.exportid)']) }));
    const mapped = [{ name: 'export_id', from: 'body' as const, path: '/export_id' }];
    await client.create(RESOURCES.webhookTriggers, triggerObject(ns(), 'serving', { pipelineRef: { name: 'loader' }, params: mapped }));
    await client.create(RESOURCES.webhookTriggers, triggerObject(ns(), 'waiting', { pipelineRef: { name: 'not-yet' }, params: mapped }));
    await client.create(RESOURCES.webhookTriggers, triggerObject(ns(), 'mismatched', { pipelineRef: { name: 'loader' }, params: [...mapped, { name: 'region', from: 'body' as const, path: '/region' }] }));
    await client.create(RESOURCES.webhookTriggers, triggerObject(ns(), 'paused', { pipelineRef: { name: 'loader' }, params: mapped, suspend: true }));
    for (const name of ['pending', 'done', 'failed']) await createRun(ns(), name, 'loader');
    for (const name of ['done', 'failed']) await waitJob(ns(), name);
    // The test acts as the Job controller (the Pipelines' Jobs name it in spec.managedBy).
    await runJobToSuccess(ns(), 'done');
    await startJob(ns(), 'failed');
    await failJob(ns(), 'failed', 'BackoffLimitExceeded');
  });
  after(async () => operator?.stop());

  it('kubectl wait --for=condition=Ready returns for a Ready object of each kind', async () => {
    const res = await kubectl(['wait', '--for=condition=Ready', '--timeout=60s', '-n', ns(), `${KUBECTL_KIND.Pipeline}/loader`, `${KUBECTL_KIND.WebhookTrigger}/serving`, `${KUBECTL_KIND.PipelineRun}/done`]);
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout.trim().split('\n')).to.have.length(3);
    // ...and --for=condition=Stalled for one that cannot become Ready.
    const stalled = await kubectl(['wait', '--for=condition=Stalled', '--timeout=60s', '-n', ns(), `${KUBECTL_KIND.Pipeline}/broken`, `${KUBECTL_KIND.WebhookTrigger}/mismatched`, `${KUBECTL_KIND.PipelineRun}/failed`]);
    expect(stalled.code, stalled.stderr).to.equal(0);
  });

  it('writes a Pipeline status: Ready with the trigger count, or Stalled with the reason', async () => {
    const loader = (await eventually(async () => {
      const p = (await get('Pipeline', 'loader')) as Pipeline;
      return p.status?.triggers === 3 ? p : undefined;
    }, 30_000)) as Pipeline;
    const ready = loader.status!.conditions!.find((c) => c.type === 'Ready')!;
    expect(ready).to.deep.include({ status: 'True', reason: 'Valid', observedGeneration: loader.metadata.generation });
    expect(ready.message).to.include('3 triggers point at it');
    const broken = (await get('Pipeline', 'broken')) as Pipeline;
    expect(broken.status!.triggers).to.equal(0);
    expect(broken.status!.conditions!.find((c) => c.type === 'Ready')).to.deep.include({ status: 'False', reason: 'InvalidTemplate' });
    expect(broken.status!.conditions!.find((c) => c.type === 'Ready')!.message).to.include('undeclared param "exportid"');
    // kubectl shows both.
    const table = await kubectl(['get', KUBECTL_KIND.Pipeline, '-n', ns()]);
    expect(table.stdout).to.match(/^loader +True +3 /m);
    expect(table.stdout).to.match(/^broken +False +0 /m);
  });

  for (const c of CASES) {
    it(`${c.kind} ${c.state}: kstatus ${c.kstatus}, Argo CD ${c.argocd}`, async () => {
      // The conditions kstatus reads once the controller has seen this generation.
      const expected = c.kstatus === 'Current' ? ['Ready'] : c.kstatus === 'Failed' ? ['Ready', 'Stalled'] : c.argocd === 'Suspended' ? ['Ready'] : ['Ready', 'Reconciling'];
      const obj = await eventually(async () => {
        const o = await get(c.kind, c.name);
        return hasConditions(o, expected) ? o : undefined;
      }, 30_000);
      objects.set(`${c.kind}/${c.name}`, obj);
      const health = await readHealth([obj]);
      expect(health.kstatus[0]!.status, health.kstatus[0]!.message).to.equal(c.kstatus);
      expect(health.argocd[0]!.status, health.argocd[0]!.message).to.equal(c.argocd);
      // Neither says "Ready" of what is not, nor the other way round.
      const ready = (obj as Pipeline).status!.conditions!.find((x) => x.type === 'Ready')!;
      expect(ready.status).to.equal(c.kstatus === 'Current' ? 'True' : 'False');
    });
  }

  it('records a specific Event reason per case: Normal Suspended for a suspended trigger, the condition\'s reason as a Warning otherwise', async () => {
    const paused = await eventually(async () => {
      const found = await triggerEvents(ns(), 'paused');
      return found.length > 0 ? found : undefined;
    }, 10_000);
    expect(paused.map((e) => [e.type, e.reason])).to.deep.equal([['Normal', 'Suspended']]);
    const mismatched = await eventually(async () => {
      const found = await triggerEvents(ns(), 'mismatched');
      return found.length > 0 ? found : undefined;
    }, 10_000);
    expect(mismatched.map((e) => [e.type, e.reason])).to.deep.equal([['Warning', 'ParamsMismatch']]);
  });

  it('reports a new generation as in progress until the controller has seen it', async () => {
    const trigger = objects.get('WebhookTrigger/serving') as WebhookTrigger;
    const behind = { ...trigger, metadata: { ...trigger.metadata, generation: (trigger.metadata.generation ?? 1) + 1 } };
    const health = await readHealth([behind]);
    expect(health.kstatus[0]!.status).to.equal('InProgress');
    expect(health.argocd[0]!.status).to.equal('Progressing');
  });

  it('ships the health script to Argo CD under each kind\'s key of argocd-cm (deploy/argocd)', async () => {
    const res = await kubectl(['kustomize', path.join(repoRoot, 'test/integration/gitops/argocd-install')]);
    expect(res.code, res.stderr).to.equal(0);
    const [cm] = parseAllDocuments(res.stdout).map((d) => d.toJS() as { metadata: { name: string }; data: Record<string, string> });
    expect(cm!.metadata.name).to.equal('argocd-cm');
    const script = readFileSync(path.join(repoRoot, 'deploy/argocd/health.lua'), 'utf8');
    for (const kind of ['WebhookTrigger', 'Pipeline', 'PipelineRun']) expect(cm!.data[`resource.customizations.health.planasonix.io_${kind}`]).to.equal(script);
    expect(cm!.data.url, 'the install\'s own settings stay').to.equal('https://argocd.example.com');
  });
});
