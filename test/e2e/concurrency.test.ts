// Queue and Forbid with real Pods: however quickly runs arrive, the node never runs two of a
// Pipeline's Pods at once, and every run still ends Succeeded. The runs are created all at once (a
// burst of deliveries), so the controller sees some of them before the others reach its cache: the
// order among such runs is whatever the controller saw first, but never two at a time.
import { expect } from 'chai';
import type { ConcurrencyPolicy } from '../../src/api/types.ts';
import { createRun, waitPhase } from '../integration/pipeline-run/run-fixtures.ts';
import { POD_TIMEOUT_MS, createScriptPipeline, podsOfJob, useNodeOperator, watchRunningPods } from './node-fixtures.ts';

const RUNS = 3;

for (const policy of ['Queue', 'Forbid'] as ConcurrencyPolicy[]) {
  describe(`concurrencyPolicy ${policy} with real Pods`, function () {
    this.timeout(RUNS * POD_TIMEOUT_MS);
    const { ns } = useNodeOperator(`e2e-${policy.toLowerCase()}`);

    it(`never has two runs' Pods running at once, and runs them all`, async () => {
      // Long enough that a second Pod started too early would be seen running beside the first.
      await createScriptPipeline(ns(), 'serial', 'echo "start $PLANASONIX_PIPELINE_RUN"; sleep 3; echo done', { concurrencyPolicy: policy });
      const pods = await watchRunningPods(ns());
      try {
        const t0 = Date.now();
        const names = Array.from({ length: RUNS }, (_, i) => `serial-${i}`);
        await Promise.all(names.map((name, i) => createRun(ns(), name, 'serial', { receivedAt: new Date(t0 + i) })));
        for (const name of names) await waitPhase(ns(), name, 'Succeeded', undefined, RUNS * POD_TIMEOUT_MS);

        expect(pods.maxRunning(), 'Pods running at the same time').to.equal(1);
        const podOf = async (run: string) => (await podsOfJob(ns(), run))[0]!.metadata!.name!;
        expect(pods.started().toSorted()).to.deep.equal((await Promise.all(names.map(podOf))).toSorted());
        // The container clocks agree: each run's container finished before the next one started.
        const spans = await Promise.all(
          names.map(async (name) => {
            const terminated = (await podsOfJob(ns(), name))[0]!.status!.containerStatuses![0]!.state!.terminated!;
            return { started: new Date(terminated.startedAt!).getTime(), finished: new Date(terminated.finishedAt!).getTime() };
          }),
        );
        spans.sort((a, b) => a.started - b.started);
        for (let i = 1; i < spans.length; i++) expect(spans[i]!.started).to.be.at.least(spans[i - 1]!.finished);
      } finally {
        pods.stop();
      }
    });
  });
}
