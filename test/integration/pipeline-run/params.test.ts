// Param substitution end to end: values that try to inject shell, environment references, other
// params' references, YAML or JSON arrive in the Job the API server stored as exactly the strings
// sent (with `$` doubled where Kubernetes would expand `$(VAR)`: command, args and env values), add
// no structure to the Job, and sensitive params reach it only as secretKeyRefs into `<run>-params`.
import { expect } from 'chai';
import type { PipelineRun } from '../../../src/api/types.ts';
import { ANNOTATIONS } from '../../../src/api/constants.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { buildSensitiveParamsSecret } from '../../../src/receiver/build-pipeline-run.ts';
import type { EnvVar } from '../../../src/controllers/pipeline-run/job.ts';
import { adminClient, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { IMAGE, createPipeline, createRun, getRun, waitJob, waitPhase, type Job } from './run-fixtures.ts';
import { STATUS_WRITTEN_BY_TEST } from '../../harness/job-status-writer.ts';

const PIPELINE = 'inject';

/** What a webhook might send to break out of its place. */
const HOSTILE = {
  export_id: 'exp_42',
  shell: '"; rm -rf /',
  ref: '$(PARAM_API_TOKEN)',
  other: '$(params.export_id)',
  yaml: '"\n  hostPath: /"\nvolumes:\n- name: root\n  hostPath: {path: /}',
  obj: '{"a":1}',
  dollars: '$$ and $ and $$(X)',
};
const BENIGN = { export_id: 'exp_1', shell: 'a', ref: 'b', other: 'c', yaml: 'd', obj: '{}', dollars: 'e' };
const TOKEN = 'tok_do-not-leak-8c1e2f';

/** Doubles every `$`, as Kubernetes needs to hand `$(X)` to the process unexpanded. */
const esc = (s: string) => s.replaceAll('$', () => '$$');

/** The object with every string replaced by one placeholder: its structure alone. */
function shape(value: unknown): unknown {
  if (typeof value === 'string') return '<string>';
  if (Array.isArray(value)) return value.map(shape);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]));
  return value;
}

describe('PipelineRun params in the Job (real API server)', function () {
  this.timeout(60_000);
  const ns = useNamespace('run-params');
  let operator: TestOperator;

  before(async () => {
    operator = await startTestOperator({ namespaces: [ns()] });
    await createPipeline(ns(), PIPELINE, {
      params: [
        { name: 'export_id', required: true },
        ...['shell', 'ref', 'other', 'yaml', 'dollars'].map((name) => ({ name, type: 'string' as const })),
        { name: 'obj', type: 'object' },
        { name: 'api_token', type: 'string' },
      ],
      jobTemplate: {
        metadata: { annotations: { 'example.com/ref': '$(params.ref)', 'example.com/yaml': '$(params.yaml)' } },
        spec: {
          ...STATUS_WRITTEN_BY_TEST,
          template: {
            metadata: { annotations: { 'example.com/shell': '$(params.shell)' } },
            spec: {
              restartPolicy: 'Never',
              containers: [
                {
                  name: 'load',
                  image: IMAGE,
                  command: ['/bin/loader', '--obj=$(params.obj)'],
                  args: ['--export', '$(params.export_id)', '--shell', '$(params.shell)', '$(params.ref)', '$(params.other)', '$(params.yaml)', '$(params.dollars)', '$$(params.export_id)', '--id=$(PARAM_EXPORT_ID)'],
                  env: [
                    { name: 'YAML', value: '$(params.yaml)' },
                    { name: 'REF', value: 'ref=$(params.ref)' },
                  ],
                },
              ],
            },
          },
        },
      },
    });
  });
  after(async () => operator?.stop());

  /** Creates a run with these params and api_token as a sensitive param, as the receiver does. */
  async function runWith(name: string, params: Record<string, string>): Promise<{ run: PipelineRun; job: Job }> {
    const run = await createRun(ns(), name, PIPELINE, { params, spec: { sensitiveParams: ['api_token'] } });
    await adminClient().create(RESOURCES.secrets, buildSensitiveParamsSecret(run, { api_token: TOKEN }));
    const job = await waitJob(ns(), name);
    await waitPhase(ns(), name, 'Pending', 'JobPending');
    return { run: await getRun(ns(), name), job };
  }

  // The run with hostile params, made by whichever test needs it first: each test can run alone.
  let hostile: Promise<{ run: PipelineRun; job: Job }> | undefined;
  const hostileRun = () => (hostile ??= runWith('hostile', HOSTILE));

  it('puts hostile values into args, command and env as exactly the strings sent, `$` doubled where Kubernetes expands', async () => {
    const { run, job } = await hostileRun();
    const container = job.spec.template.spec!.containers![0]!;
    expect(container.command).to.deep.equal(['/bin/loader', '--obj={"a":1}']);
    expect(container.args).to.deep.equal([
      '--export',
      'exp_42',
      '--shell',
      '"; rm -rf /',
      '$$(PARAM_API_TOKEN)',
      '$$(params.export_id)',
      HOSTILE.yaml,
      '$$$$ and $$ and $$$$(X)',
      // The author's escape: a literal reference, not substituted.
      '$(params.export_id)',
      // The author's own reference to our variable is left for Kubernetes to expand.
      '--id=$(PARAM_EXPORT_ID)',
    ]);
    const expectedEnv: EnvVar[] = [
      { name: 'PARAM_API_TOKEN', valueFrom: { secretKeyRef: { name: 'hostile-params', key: 'api_token' } } },
      ...Object.entries(HOSTILE)
        .map(([k, v]) => ({ name: `PARAM_${k.toUpperCase()}`, value: esc(v) }))
        .toSorted((a, b) => (a.name < b.name ? -1 : 1)),
      { name: 'PLANASONIX_CORRELATION_ID', value: run.spec.correlationId },
      { name: 'PLANASONIX_DELIVERY_ID', value: 'msg_hostile' },
      { name: 'PLANASONIX_PIPELINE', value: PIPELINE },
      { name: 'PLANASONIX_PIPELINE_RUN', value: 'hostile' },
      { name: 'PLANASONIX_TRIGGER', value: 'hook' },
      { name: 'YAML', value: esc(HOSTILE.yaml) },
      { name: 'REF', value: 'ref=$$(PARAM_API_TOKEN)' },
    ];
    expect(container.env).to.deep.equal(expectedEnv);
    // Annotations are never expanded by Kubernetes: the values as sent.
    expect(job.metadata.annotations).to.include({ 'example.com/ref': '$(PARAM_API_TOKEN)', 'example.com/yaml': HOSTILE.yaml, [ANNOTATIONS.deliveryId]: 'msg_hostile' });
    expect(job.spec.template.metadata!.annotations).to.include({ 'example.com/shell': '"; rm -rf /' });
  });

  it('gives the hostile run a Job of exactly the structure a benign run gets: no volume, key or list item added', async () => {
    const { job: hostile } = await hostileRun();
    const { job: benign } = await runWith('benign', BENIGN);
    expect(shape(hostile.spec)).to.deep.equal(shape(benign.spec));
    expect(shape(hostile.metadata.annotations)).to.deep.equal(shape(benign.metadata.annotations));
    expect(hostile.spec.template.spec).not.to.have.property('volumes');
    expect(hostile.spec.template.spec!.containers).to.have.length(1);
    expect(hostile.spec.template.spec!.containers![0]).not.to.have.property('volumeMounts');
  });

  it('passes a sensitive param only as a secretKeyRef to <run>-params: its value is in neither the run nor the Job', async () => {
    const { run, job } = await hostileRun();
    expect(run.spec.params).not.to.have.property('api_token');
    expect(JSON.stringify(run)).not.to.include(TOKEN);
    expect(JSON.stringify(job)).not.to.include(TOKEN);
    const refs = job.spec.template.spec!.containers!.flatMap((c) => (c.env ?? []).filter((e) => e.valueFrom));
    expect(refs).to.deep.equal([{ name: 'PARAM_API_TOKEN', valueFrom: { secretKeyRef: { name: 'hostile-params', key: 'api_token' } } }]);
    expect(job.metadata.ownerReferences).to.deep.equal([
      { apiVersion: 'planasonix.io/v1alpha1', kind: 'PipelineRun', name: 'hostile', uid: run.metadata.uid, controller: true, blockOwnerDeletion: true },
    ]);
  });
});
