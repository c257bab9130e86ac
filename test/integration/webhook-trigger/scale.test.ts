// Many triggers at once: 200 applied in one `kubectl apply` all become Ready, each with exactly one
// Secret and one status write, their Pipeline's count is written about once a second (and wakes
// none of them), and reconciling them all again — in the running operator or after a
// restart — writes nothing.
import { expect } from 'chai';
import type { Pipeline, WebhookTrigger } from '../../../src/api/types.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, kubectl, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { TRIGGER_COUNT_DELAY_MS } from '../../../src/controllers/pipeline/pipeline-controller.ts';
import { changePipelineStatusOnly, countingClient, pipelineObject, triggersYaml, waitAllReady, waitIdle, type CountingClient } from './trigger-fixtures.ts';

const COUNT = 200;

function summarize(writes: CountingClient['writes']): Record<string, number> {
  const out: Record<string, number> = {};
  for (const w of writes) out[`${w.verb} ${w.resource}`] = (out[`${w.verb} ${w.resource}`] ?? 0) + 1;
  return out;
}

/** The writes made more than once and how each attempt ended (or, when none was, every write). */
function describeRepeats(writes: CountingClient['writes']): string {
  const byName = Map.groupBy(writes, (w) => `${w.verb} ${w.resource}/${w.name}`);
  const repeated = [...byName].filter(([, ws]) => ws.length > 1);
  return repeated.map(([name, ws]) => `${name}: ${ws.map((w) => w.failed ?? 'ok').join(', ')}`).join('; ') || writes.map((w) => `${w.verb} ${w.resource}/${w.name}: ${w.failed ?? 'ok'}`).join('; ');
}

describe('WebhookTrigger controller at scale (real API server)', function () {
  this.timeout(120_000);
  const ns = useNamespace('wht-scale');
  let operator: TestOperator | undefined;
  let client: CountingClient;

  before(async () => {
    client = countingClient();
    operator = await startTestOperator({ namespaces: [ns()] }, { client });
    await adminClient().create(RESOURCES.pipelines, pipelineObject(ns(), 'pipe'));
    // The Pipeline exists before the triggers, as in a repository applied in order: a trigger that
    // saw no Pipeline yet would rightly write PipelineNotFound first, and then Ready.
    const pipelines = operator.manager.informer<Pipeline>(RESOURCES.pipelines, { namespace: ns() });
    await eventually(async () => pipelines.get(`${ns()}/pipe`) !== undefined, 10_000, 20);
  });
  after(async () => operator?.stop());

  it(`makes ${COUNT} triggers applied at once Ready, with one Secret and one status write each`, async () => {
    const started = performance.now();
    const res = await kubectl(['apply', '--server-side', '-n', ns(), '-f', '-'], triggersYaml(ns(), COUNT, 'load'));
    expect(res.code, res.stderr).to.equal(0);
    const applied = performance.now();
    await waitAllReady(operator!, ns(), COUNT, 90_000);
    const ready = performance.now();
    console.log(`      ${COUNT} triggers: kubectl apply took ${Math.round(applied - started)} ms, all Ready ${Math.round(ready - started)} ms after the apply began`);
    await waitIdle(operator!, COUNT, ns());
    // The Pipeline counts them all, soon after the last one.
    await eventually(async () => (await adminClient().get<Pipeline>(RESOURCES.pipelines, ns(), 'pipe')).status?.triggers === COUNT, 10_000);
    const counts = summarize(client.writes);
    const statusWrites = client.writes.filter((w) => w.verb === 'patchStatus');
    console.log(`      writes while creating: ${JSON.stringify(counts)}; first Secret at +${Math.round(client.writes[0]!.at - started)} ms, last status at +${Math.round(statusWrites.at(-1)!.at - started)} ms`);
    const succeeded = (verb: string, resource: string) => client.writes.filter((w) => w.verb === verb && w.resource === resource && !w.failed).length;
    expect(succeeded('create', 'secrets'), describeRepeats(client.writes.filter((w) => w.resource === 'secrets'))).to.equal(COUNT);
    expect(counts['replace secrets'] ?? 0).to.equal(0);
    expect(succeeded('patchStatus', 'webhooktriggers'), describeRepeats(statusWrites)).to.equal(COUNT);
    // A request the API server refused changed nothing, but it is work. The controller waits for
    // the Secrets it created to reach its cache, so it never creates one twice; a status write from
    // a copy the API server has moved past may earn a Conflict, at most for 1% of the triggers.
    const refused = client.writes.filter((w) => w.failed);
    expect(refused.filter((w) => w.resource === 'secrets'), describeRepeats(refused)).to.deep.equal([]);
    expect(refused.length, describeRepeats(refused)).to.be.at.most(COUNT / 100);
    // A new trigger's status says it all: no Event, which would be one more write per trigger.
    expect(counts['create events'] ?? 0).to.equal(0);
    // The Pipeline counts them once they have gathered for a moment, not once per trigger: its
    // writes are at least TRIGGER_COUNT_DELAY_MS apart.
    const pipelineWrites = client.writes.filter((w) => w.verb === 'patchStatus' && w.resource === 'pipelines' && !w.failed && w.at >= started);
    const spanMs = pipelineWrites.at(-1)!.at - started;
    expect(pipelineWrites.length, `${pipelineWrites.length} Pipeline status writes in ${Math.round(spanMs)} ms`).to.be.at.most(Math.ceil(spanMs / TRIGGER_COUNT_DELAY_MS) + 1);
  });

  it('makes no write when every trigger is reconciled again', async () => {
    const before = client.writes.length;
    const controller = operator!.controllers.find((c) => c.name === 'webhooktrigger')!;
    const reconciles = controller.stats.reconciles;
    const list = await adminClient().listAll<WebhookTrigger>(RESOURCES.webhookTriggers, ns());
    for (const t of list.items) controller.enqueue(`${ns()}/${t.metadata.name}`);
    await waitIdle(operator!, reconciles + COUNT, ns());
    expect(summarize(client.writes.slice(before))).to.deep.equal({});
  });

  it('wakes no trigger when only the Pipeline\'s status changes, and all 200 when its spec does', async () => {
    const controller = operator!.controllers.find((c) => c.name === 'webhooktrigger')!;
    const reconciles = controller.stats.reconciles;
    await changePipelineStatusOnly(operator!, ns(), 'pipe');
    expect(controller.queue.length + controller.queue.inFlight, 'triggers queued by a status change').to.equal(0);
    expect(controller.stats.reconciles).to.equal(reconciles);

    await adminClient().mergePatch(RESOURCES.pipelines, ns(), 'pipe', { spec: { params: [{ name: 'optional_note' }] } });
    await waitIdle(operator!, reconciles + COUNT, ns());
  });

  it('makes no write when a restarted operator reconciles every trigger', async () => {
    await operator!.stop();
    client = countingClient();
    operator = await startTestOperator({ namespaces: [ns()] }, { client });
    await waitIdle(operator, COUNT, ns());
    expect(summarize(client.writes)).to.deep.equal({});
  });
});
