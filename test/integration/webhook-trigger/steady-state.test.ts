// At rest the operator leaves the API server alone: 50 Ready triggers (and two invalid ones), no
// traffic, and over 20 s not one write — no status refreshes, no Event spam, no retry loop.
import { expect } from 'chai';
import type { AuthSpec } from '../../../src/api/types.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { countingClient, inParallel, triggerEvents, pipelineCountsSeen, pipelineObject, secretObject, sleep, triggerObject, waitReady, waitReason, type CountingClient } from './trigger-fixtures.ts';

const READY = 50;
const WINDOW_MS = 20_000;

// A mix of what users run: every scheme, generated and user-provided secrets, rotation schedules.
const AUTH: AuthSpec[] = [
  { scheme: 'planasonix', rotation: { every: '2160h', overlap: '24h' } },
  { scheme: 'standard-webhooks', rotation: { schedule: '0 3 * * SUN', overlap: '1h' } },
  { scheme: 'github' },
  { scheme: 'bearer' },
  { scheme: 'planasonix', secretRef: { name: 'shared-signing' } },
  { scheme: 'none' },
];

describe('WebhookTrigger controller at rest (real API server)', function () {
  this.timeout(90_000);
  const ns = useNamespace('wht-rest');
  let operator: TestOperator | undefined;
  let client: CountingClient;

  before(async () => {
    client = countingClient();
    operator = await startTestOperator({ namespaces: [ns()] }, { client });
    const admin = adminClient();
    await admin.create(RESOURCES.pipelines, pipelineObject(ns(), 'pipe'));
    await admin.create(RESOURCES.secrets, secretObject(ns(), 'shared-signing', { 'signing-secret': 'pxs_shared-by-several-triggers' }));
    const names = Array.from({ length: READY }, (_, i) => `rest-${i}`);
    await inParallel(names, 10, (name) => admin.create(RESOURCES.webhookTriggers, triggerObject(ns(), name, { auth: AUTH[Number(name.slice(5)) % AUTH.length]! })));
    await admin.create(RESOURCES.webhookTriggers, triggerObject(ns(), 'broken-pipeline', { pipelineRef: { name: 'missing' } }));
    await admin.create(RESOURCES.webhookTriggers, triggerObject(ns(), 'broken-secret', { auth: { secretRef: { name: 'missing' } } }));
    for (const name of names) await waitReady(ns(), name, 30_000);
    await waitReason(ns(), 'broken-pipeline', 'False', 'PipelineNotFound');
    await waitReason(ns(), 'broken-secret', 'False', 'SecretNotFound');
  });
  after(async () => operator?.stop());

  it(`makes no API write in ${WINDOW_MS / 1000} s with ${READY} Ready triggers and no traffic`, async () => {
    const controller = operator!.controllers.find((c) => c.name === 'webhooktrigger')!;
    await eventually(async () => pipelineCountsSeen(operator!, ns()) && controller.queue.length === 0 && controller.queue.inFlight === 0, 10_000);
    // Events are written without waiting: count from when the last ones (the broken triggers') landed.
    await eventually(async () => (await triggerEvents(ns(), 'broken-pipeline')).length > 0 && (await triggerEvents(ns(), 'broken-secret')).length > 0, 10_000);
    const writes = client.writes.length;
    const reconciles = controller.stats.reconciles;
    await sleep(WINDOW_MS); // deliberate negative check: the window in which no write may happen
    const made = client.writes.slice(writes);
    console.log(`      ${made.length} writes in ${WINDOW_MS / 1000} s = ${(made.length * 60_000) / WINDOW_MS} writes/minute; ${controller.stats.reconciles - reconciles} reconciles`);
    expect(made).to.deep.equal([]);
    expect(controller.stats.reconciles - reconciles).to.equal(0);
  });
});
