// Errors that tell senders the truth: when the API server refuses a PipelineRun for good (here a
// ValidatingAdmissionPolicy, as a cluster's own policy would; also a CRD rule or an object too
// large), a 503 would make the sender retry forever. A strict trigger answers 400 without
// Retry-After; a lenient one records a Failed run without the refused params and answers 202.
import { expect } from 'chai';
import type { PipelineRun } from '../../../src/api/types.ts';
import { isKubeError } from '../../../src/kube/errors.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, kubectl, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { createPipeline, createTrigger, deliver, runsOf, type TriggerHandle } from './receiver-fixtures.ts';

const POLICY = 'planasonix-test-refuse-exports';

describe('receiver: permanent API refusals are 400 or a Failed run, never 503 (real API server)', function () {
  this.timeout(90_000);
  const ns = useNamespace('api-refusals');
  let operator: TestOperator;
  let strict: TriggerHandle;
  let lenient: TriggerHandle;

  before(async () => {
    operator = await startTestOperator();
    await createPipeline(ns());
    const applied = await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind: 'ValidatingAdmissionPolicy',
            metadata: { name: POLICY },
            spec: {
              failurePolicy: 'Fail',
              matchConstraints: { resourceRules: [{ apiGroups: ['planasonix.io'], apiVersions: ['*'], operations: ['CREATE'], resources: ['pipelineruns'] }] },
              validations: [
                {
                  expression: "!has(object.spec.params) || !('export_id' in object.spec.params) || !object.spec.params['export_id'].startsWith('refused-')",
                  reason: 'Invalid',
                  message: 'this export may not be loaded',
                },
              ],
            },
          },
          {
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind: 'ValidatingAdmissionPolicyBinding',
            metadata: { name: POLICY },
            spec: { policyName: POLICY, validationActions: ['Deny'], matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns() } } } },
          },
        ],
      }),
    );
    expect(applied.code, applied.stderr).to.equal(0);
    // The API server loads policies asynchronously: wait until it refuses a dry run for the policy's reason.
    const probe: PipelineRun = {
      apiVersion: 'planasonix.io/v1alpha1',
      kind: 'PipelineRun',
      metadata: { name: 'probe', namespace: ns() },
      spec: {
        pipelineRef: { name: 'loader' },
        params: { export_id: 'refused-probe' },
        trigger: { name: 'strict', deliveryId: 'probe', receivedTime: new Date().toISOString() },
        correlationId: '0193f6c2-7b1e-7c3a-9f1d-2b8e4a6c0d99',
      },
    };
    await eventually(async () =>
      adminClient()
        .create(RESOURCES.pipelineRuns, probe, { dryRun: true })
        .then(
          () => false,
          (e: unknown) => isKubeError(e) && e.message.includes('this export may not be loaded'),
        ),
    20_000);
    strict = await createTrigger(operator, ns(), 'strict', { payload: { strict: true } });
    lenient = await createTrigger(operator, ns(), 'lenient', { payload: { strict: false } });
  });
  after(async () => {
    await kubectl(['delete', '--ignore-not-found', `validatingadmissionpolicybinding/${POLICY}`, `validatingadmissionpolicy/${POLICY}`]);
    await operator?.stop();
  });

  it('strict: answers 400 run_refused without Retry-After, and stores nothing', async () => {
    const reply = await deliver(strict, { export_id: 'refused-1' });
    expect(reply.status, reply.text).to.equal(400);
    expect(reply.headers['retry-after']).to.equal(undefined);
    expect(reply.json().error).to.equal('run_refused');
    expect(reply.text).to.not.include('this export may not be loaded');
    expect(await runsOf(ns(), 'strict')).to.have.length(0);
  });

  it('lenient: answers 202 with a run that ends Failed (InvalidPayload) without the refused params; a retry is a duplicate', async () => {
    const deliveryId = 'lenient-refused-1';
    const reply = await deliver(lenient, { export_id: 'refused-2' }, { deliveryId });
    expect(reply.status, reply.text).to.equal(202);
    const name = (reply.json().pipelineRun as { name: string }).name;
    const run = await eventually(async () => {
      const r = await adminClient().get<PipelineRun>(RESOURCES.pipelineRuns, ns(), name);
      return r.status?.phase === 'Failed' ? r : undefined;
    }, 20_000);
    expect(run.spec.params).to.deep.equal({});
    expect(run.status?.conditions?.find((c) => c.type === 'Succeeded')?.reason).to.equal('InvalidPayload');
    const again = await deliver(lenient, { export_id: 'refused-2' }, { deliveryId });
    expect(again.status, again.text).to.equal(200);
    expect(again.json().correlationId).to.equal(reply.json().correlationId);
  });

  it('still accepts what the policy allows', async () => {
    expect((await deliver(strict, { export_id: 'allowed-1' })).status).to.equal(202);
  });
});
