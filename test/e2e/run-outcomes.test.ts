// Runs that really run: a signed delivery becomes a PipelineRun, its Job, a Pod on the local node
// that executes the image, and a run whose phase comes from the real Job controller's status —
// success, exhausted retries, a deadline, a cancellation. Nothing here writes a Job's status.
import { expect } from 'chai';
import type { PipelineRun } from '../../src/api/types.ts';
import { RESOURCES } from '../../src/kube/resources.ts';
import { adminClient, eventually } from '../harness/fixtures.ts';
import { PIPELINE, createTrigger, deliver, type TriggerHandle } from '../integration/receiver/receiver-fixtures.ts';
import { createRun, getRun, waitPhase } from '../integration/pipeline-run/run-fixtures.ts';
import { POD_TIMEOUT_MS, createScriptPipeline, localNode, podLog, podsOfJob, useNodeOperator } from './node-fixtures.ts';

// Prints what the pipeline received: its arguments, then its PARAM_ and PLANASONIX_ variables.
const PRINT_INPUTS = 'echo "args: $*"; env | grep -E "^(PARAM|PLANASONIX)_" | sort';

describe('pipelines run on a real node (kubelet, containerd, Job controller)', function () {
  this.timeout(4 * POD_TIMEOUT_MS);
  const { ns, operator } = useNodeOperator('e2e-run');
  let trigger: TriggerHandle;

  before(async () => {
    await createScriptPipeline(ns(), PIPELINE, PRINT_INPUTS, {
      params: [
        { name: 'export_id', type: 'string', required: true },
        { name: 'record_count', type: 'number', default: '0' },
        { name: 'requested_by', type: 'string', default: '' },
      ],
    }, ['--export', '$(params.export_id)']);
    trigger = await createTrigger(operator(), ns(), 'exports');
  });

  it('runs the image for a signed delivery: the Pod prints the args and variables, the run Succeeded with its times', async () => {
    const reply = await deliver(trigger, { export_id: 'exp_e2e', record_count: 7 }, { deliveryId: 'dlv-e2e-1', headers: { 'x-requested-by': 'billing' } });
    expect(reply.status, reply.text).to.equal(202);
    const { correlationId, pipelineRun } = reply.json() as { correlationId: string; pipelineRun: { name: string } };

    const run = await waitPhase(ns(), pipelineRun.name, 'Succeeded', undefined, POD_TIMEOUT_MS);
    expect(run.status?.reason).to.equal('Completed');
    expect(run.status?.startTime, 'startTime').to.be.a('string');
    expect(run.status?.completionTime, 'completionTime').to.be.a('string');
    expect(Date.parse(run.status!.completionTime!)).to.be.at.least(Date.parse(run.status!.startTime!));

    const [pod, ...more] = await podsOfJob(ns(), pipelineRun.name);
    expect(more, 'one Pod').to.have.length(0);
    // Placed by the scheduler on the local node, on the bridge network rather than the host's.
    expect(pod!.spec?.nodeName).to.equal(localNode().name);
    expect(pod!.spec?.hostNetwork ?? false).to.equal(false);
    expect(pod!.status?.podIP ?? '').to.match(new RegExp(`^${localNode().podSubnet.split('.').slice(0, 3).join('\\.')}\\.`));
    expect(pod!.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).to.equal(0);

    const output = (await podLog(ns(), pod!.metadata!.name!)).trim().split('\n');
    expect(output).to.deep.equal([
      'args: --export exp_e2e',
      'PARAM_EXPORT_ID=exp_e2e',
      'PARAM_RECORD_COUNT=7',
      'PARAM_REQUESTED_BY=billing',
      `PLANASONIX_CORRELATION_ID=${correlationId}`,
      'PLANASONIX_DELIVERY_ID=id:dlv-e2e-1',
      `PLANASONIX_PIPELINE=${PIPELINE}`,
      `PLANASONIX_PIPELINE_RUN=${pipelineRun.name}`,
      'PLANASONIX_TRIGGER=exports',
    ]);
  });

  it('retries a failing container: exit 1 with retries 2 makes three Pods and a run Failed for the backoff limit', async () => {
    await createScriptPipeline(ns(), 'failing', 'echo attempt; exit 1', { retries: 2 });
    await createRun(ns(), 'fails-thrice', 'failing');
    const run = await waitPhase(ns(), 'fails-thrice', 'Failed', undefined, 3 * POD_TIMEOUT_MS);
    expect(run.status?.reason).to.equal('BackoffLimitExceeded');
    expect(run.status?.message).to.match(/backoff limit/i);
    const pods = await podsOfJob(ns(), 'fails-thrice');
    expect(pods, 'one Pod per attempt').to.have.length(3);
    for (const pod of pods) {
      expect(pod.status?.phase).to.equal('Failed');
      expect(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).to.equal(1);
    }
    expect(run.status?.attempts).to.equal(3);
  });

  it('stops a run at its timeout: Failed for the deadline, and its Pod is gone', async () => {
    await createScriptPipeline(ns(), 'sleepy', 'echo started; exec sleep 600', { timeout: '5s' });
    await createRun(ns(), 'times-out', 'sleepy');
    const run = await waitPhase(ns(), 'times-out', 'Failed', undefined, POD_TIMEOUT_MS);
    expect(run.status?.reason).to.equal('DeadlineExceeded');
    expect(run.status?.message).to.match(/deadline/i);
    await eventually(async () => (await podsOfJob(ns(), 'times-out')).length === 0, POD_TIMEOUT_MS, 250);
  });

  it('cancels a running run: its Pod is terminated and the run Cancelled', async () => {
    await createScriptPipeline(ns(), 'long', 'echo started; exec sleep 600');
    await createRun(ns(), 'cancelled', 'long');
    // Running in the container's sense: the kubelet reports the container started.
    const pod = await eventually(async () => {
      const [p] = await podsOfJob(ns(), 'cancelled');
      return p?.status?.containerStatuses?.[0]?.state?.running ? p : undefined;
    }, POD_TIMEOUT_MS, 250);
    await adminClient().mergePatch<PipelineRun>(RESOURCES.pipelineRuns, ns(), 'cancelled', { spec: { cancelled: true } });
    const run = await waitPhase(ns(), 'cancelled', 'Cancelled', undefined, POD_TIMEOUT_MS);
    expect(run.status?.reason).to.equal('Cancelled');
    // The Pod is deleted with the Job and the kubelet stops its container: the Pod object goes away
    // only once the kubelet confirms.
    await eventually(async () => {
      const pods = await adminClient().list(RESOURCES.pods, ns(), { fieldSelector: `metadata.name=${pod.metadata!.name}` });
      return pods.items.length === 0;
    }, POD_TIMEOUT_MS, 250);
    expect((await getRun(ns(), 'cancelled')).status?.phase).to.equal('Cancelled');
  });
});
