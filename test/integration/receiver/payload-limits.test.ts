// Operator-wide limits a trigger author cannot raise: payload.maxBytes above --max-body-bytes makes
// the trigger not Ready (PayloadLimitTooHigh) instead of letting any author have the receiver hold
// 64 MiB per request; and the params one delivery maps are capped in total (--max-params-bytes), so
// that a run is never larger than the API server stores: 400 in strict mode, a Failed run otherwise.
// And a trigger may refuse params that no signature covers (spec.auth.signedParamsOnly).
import { expect } from 'chai';
import type { Pipeline, PipelineRun } from '../../../src/api/types.ts';
import { API_VERSION } from '../../../src/api/constants.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { createPipeline, createTrigger, deliver, getTrigger, runsOf } from './receiver-fixtures.ts';
import { STATUS_WRITTEN_BY_TEST } from '../../harness/job-status-writer.ts';

const CEILING = 2 * 1024 * 1024;
const MAX_PARAMS_BYTES = 100 * 1024;

describe('receiver: operator-wide payload and param limits (real API server)', function () {
  this.timeout(60_000);
  const ns = useNamespace('payload-limits');
  let operator: TestOperator;

  before(async () => {
    operator = await startTestOperator({ maxBodyBytes: CEILING, maxInflightBodyBytes: 4 * CEILING, maxParamsBytes: MAX_PARAMS_BYTES });
    await createPipeline(ns());
    const wide: Pipeline = {
      apiVersion: API_VERSION,
      kind: 'Pipeline',
      metadata: { name: 'wide', namespace: ns() },
      spec: {
        params: [
          { name: 'a', type: 'string', default: '' },
          { name: 'b', type: 'string', default: '' },
        ],
        jobTemplate: { spec: { ...STATUS_WRITTEN_BY_TEST, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'registry.example/c:1' }] } } } },
      },
    };
    await adminClient().create(RESOURCES.pipelines, wide);
  });
  after(() => operator?.stop());

  it('a trigger asking for more than --max-body-bytes is not Ready, and says so; at the ceiling it is Ready', async () => {
    await createTrigger(operator, ns(), 'greedy', { payload: { maxBytes: '64Mi' } }, { state: 'not-ready' });
    const ready = await eventually(async () => {
      const c = (await getTrigger(ns(), 'greedy')).status?.conditions?.find((x) => x.type === 'Ready');
      return c?.reason === 'PayloadLimitTooHigh' ? c : undefined;
    });
    expect(ready.status).to.equal('False');
    expect(ready.message).to.include('64Mi').and.include('2Mi').and.include('--max-body-bytes');
    await createTrigger(operator, ns(), 'modest', { payload: { maxBytes: '2Mi' } });
  });

  for (const strict of [true, false]) {
    it(`${strict ? 'strict: answers 400' : 'lenient: records a Failed run without params'} when the mapped params together exceed --max-params-bytes`, async () => {
      const name = strict ? 'wide-strict' : 'wide-lenient';
      const trigger = await createTrigger(operator, ns(), name, {
        pipelineRef: { name: 'wide' },
        params: [
          { name: 'a', from: 'body', path: '/a' },
          { name: 'b', from: 'body', path: '/b' },
        ],
        payload: { strict },
      });
      // Each value is under the 64 KiB a single param may hold; together they are over the cap.
      const value = 'v'.repeat(60 * 1024);
      const reply = await deliver(trigger, { a: value, b: value });
      if (strict) {
        expect(reply.status, reply.text).to.equal(400);
        expect(reply.json().error).to.equal('invalid_params');
        expect(reply.text).to.include(`longer than ${MAX_PARAMS_BYTES} bytes`).and.not.include(value);
        expect(await runsOf(ns(), name)).to.have.length(0);
      } else {
        expect(reply.status, reply.text).to.equal(202);
        const runName = (reply.json().pipelineRun as { name: string }).name;
        const run = await eventually(async () => {
          const r = await adminClient().get<PipelineRun>(RESOURCES.pipelineRuns, ns(), runName);
          return r.status?.phase === 'Failed' ? r : undefined;
        }, 20_000);
        expect(run.spec.params).to.deep.equal({});
        expect(run.status?.conditions?.find((c) => c.type === 'Succeeded')?.reason).to.equal('InvalidPayload');
      }
      // Under the cap, the same trigger takes them.
      const small = await deliver(trigger, { a: 'x', b: 'y' });
      expect(small.status, small.text).to.equal(202);
    });
  }

  it('spec.auth.signedParamsOnly refuses params from headers or query values, which no signature covers', async () => {
    // DEFAULT_PARAMS maps requested_by from the X-Requested-By header.
    await createTrigger(operator, ns(), 'signed-only', { auth: { scheme: 'planasonix', signedParamsOnly: true } }, { state: 'not-ready' });
    const ready = await eventually(async () => {
      const c = (await getTrigger(ns(), 'signed-only')).status?.conditions?.find((x) => x.type === 'Ready');
      return c?.status === 'False' && c.reason === 'InvalidSpec' ? c : undefined;
    });
    expect(ready.message).to.include('requested_by').and.include('signedParamsOnly');
    await createTrigger(operator, ns(), 'signed-only-body', {
      auth: { scheme: 'planasonix', signedParamsOnly: true },
      params: [{ name: 'export_id', from: 'body', path: '/export_id', required: true }],
    });
  });
});
