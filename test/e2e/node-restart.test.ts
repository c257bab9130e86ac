// The node restarts mid-run — the kubelet and containerd are killed and started again, as after a
// crash of both — and the run still ends with the phase its container decides.
import { expect } from 'chai';
import { eventually } from '../harness/fixtures.ts';
import { controlPlane } from '../harness/root-hooks.ts';
import { createRun, waitPhase } from '../integration/pipeline-run/run-fixtures.ts';
import { POD_TIMEOUT_MS, createScriptPipeline, localNode, podLog, podsOfJob, useNodeOperator } from './node-fixtures.ts';

describe('a node restart in the middle of runs', function () {
  this.timeout(3 * POD_TIMEOUT_MS);
  const { ns } = useNodeOperator('e2e-restart');

  it('ends each run with the phase its container decided: Succeeded for exit 0, Failed for exit 3', async () => {
    // The containers wait until the node has restarted, so both outcomes are decided after it.
    await createScriptPipeline(ns(), 'passes', 'echo before; sleep 8; echo after');
    await createScriptPipeline(ns(), 'fails', 'echo before; sleep 8; exit 3');
    await createRun(ns(), 'survives', 'passes');
    await createRun(ns(), 'fails-anyway', 'fails');
    for (const job of ['survives', 'fails-anyway']) {
      await eventually(async () => (await podsOfJob(ns(), job))[0]?.status?.containerStatuses?.[0]?.state?.running, POD_TIMEOUT_MS, 250);
    }

    await controlPlane().command('restart-node');

    const passed = await waitPhase(ns(), 'survives', 'Succeeded', undefined, POD_TIMEOUT_MS);
    expect(passed.status?.reason).to.equal('Completed');
    const failed = await waitPhase(ns(), 'fails-anyway', 'Failed', undefined, POD_TIMEOUT_MS);
    expect(failed.status?.reason).to.equal('BackoffLimitExceeded');
    const [pod] = await podsOfJob(ns(), 'survives');
    expect(await podLog(ns(), pod!.metadata!.name!)).to.equal('before\nafter\n');
    expect(localNode().name).to.equal(pod!.spec?.nodeName);
  });
});
