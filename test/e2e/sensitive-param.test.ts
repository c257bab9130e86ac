// A sensitive param reaches the pipeline's process — and nothing else: not the PipelineRun, not
// the Events about it, not the operator's log, not even the container's own output (the pipeline
// prints a digest of the value to prove it received it).
import { expect } from 'chai';
import { createHash, randomUUID } from 'node:crypto';
import { createLogCapture, createLogger, type LogCapture } from '../../src/observability/logger.ts';
import { RESOURCES } from '../../src/kube/resources.ts';
import { adminClient } from '../harness/fixtures.ts';
import { PIPELINE, createTrigger, deliver } from '../integration/receiver/receiver-fixtures.ts';
import { getRun, waitPhase } from '../integration/pipeline-run/run-fixtures.ts';
import { POD_TIMEOUT_MS, createScriptPipeline, podLog, podsOfJob, useNodeOperator } from './node-fixtures.ts';

describe('a sensitive param on a real node', function () {
  this.timeout(2 * POD_TIMEOUT_MS);
  const capture: LogCapture = createLogCapture();
  const { ns, operator } = useNodeOperator('e2e-secret', { logger: createLogger({ level: 'debug', destination: capture.destination }) });

  before(async () => {
    await createScriptPipeline(
      ns(),
      PIPELINE,
      'echo "export $PARAM_EXPORT_ID"; printf %s "$PARAM_API_TOKEN" | sha256sum | sed "s/ .*//; s/^/token sha256 /"',
      { params: [{ name: 'export_id', type: 'string', required: true }, { name: 'api_token', type: 'string', required: true }] },
    );
  });

  it("is in the process's environment, and in neither the run, its Events, the operator's log nor the Pod's output", async () => {
    const trigger = await createTrigger(operator(), ns(), 'with-token', {
      params: [
        { name: 'export_id', from: 'body', path: '/export_id', required: true },
        { name: 'api_token', from: 'header', header: 'X-Api-Token', required: true, sensitive: true },
      ],
    });
    const token = `tok-${randomUUID()}`;
    const reply = await deliver(trigger, { export_id: 'exp_secret' }, { headers: { 'x-api-token': token } });
    expect(reply.status, reply.text).to.equal(202);
    const name = (reply.json() as { pipelineRun: { name: string } }).pipelineRun.name;
    await waitPhase(ns(), name, 'Succeeded', undefined, POD_TIMEOUT_MS);

    const [pod] = await podsOfJob(ns(), name);
    const output = await podLog(ns(), pod!.metadata!.name!);
    const digest = createHash('sha256').update(token).digest('hex');
    expect(output).to.equal(`export exp_secret\ntoken sha256 ${digest}\n`);

    const run = await getRun(ns(), name);
    expect(run.spec.sensitiveParams).to.deep.equal(['api_token']);
    expect(JSON.stringify(run)).to.not.include(token);
    const job = await adminClient().get(RESOURCES.jobs, ns(), name);
    expect(JSON.stringify(job)).to.not.include(token);
    expect(JSON.stringify(pod)).to.not.include(token);
    const events = await adminClient().list(RESOURCES.events, ns());
    expect(events.items.length, 'Events about the run').to.be.greaterThan(0);
    expect(JSON.stringify(events.items)).to.not.include(token);
    const coreEvents = await adminClient().getPath<{ items: unknown[] }>(`/api/v1/namespaces/${ns()}/events`);
    expect(JSON.stringify(coreEvents.items)).to.not.include(token);
    expect(capture.lines().length, 'operator log lines').to.be.greaterThan(0);
    expect(capture.text()).to.not.include(token);
  });
});
