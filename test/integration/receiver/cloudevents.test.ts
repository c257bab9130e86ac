// CloudEvents deliveries against the real API server, sent as the `cloudevents` SDK sends them (binary
// and structured mode) and signed with the trigger's planasonix scheme: the attributes fill params,
// source + id deduplicate retries, and an invalid event or a batch changes nothing.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { CloudEvent, HTTP } from 'cloudevents';
import type { ParamMapping, PipelineRun } from '../../../src/api/types.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { createPipeline, createTrigger, planasonixHeaders, runsOf, send, type Reply, type TriggerHandle } from './receiver-fixtures.ts';
import { getRun } from '../pipeline-run/run-fixtures.ts';

const PARAMS: ParamMapping[] = [
  { name: 'export_id', from: 'body', path: '/export_id', required: true },
  { name: 'record_count', from: 'body', path: '/record_count', type: 'number' },
  { name: 'requested_by', from: 'cloudevent', attribute: 'subject' },
  { name: 'api_token', from: 'cloudevent', attribute: 'type' },
];

function event(id: string, extra: Record<string, unknown> = {}): CloudEvent<Record<string, unknown>> {
  return new CloudEvent({ id, type: 'com.example.export.completed', source: '/billing/exports', subject: 'billing-team', data: { export_id: `exp_${id}`, record_count: 12 }, ...extra });
}

/** Sends an SDK message signed for the trigger; extra headers (another delivery ID, say) on top. */
function post(trigger: TriggerHandle, message: { headers: Record<string, unknown>; body: unknown }, extraHeaders: Record<string, string> = {}): Promise<Reply> {
  const body = Buffer.from(String(message.body ?? ''));
  const headers = Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
  return send(new URL(trigger.url).origin, trigger.path, { body, headers: { ...headers, ...planasonixHeaders(trigger.secret, body), ...extraHeaders } });
}

describe('receiver: CloudEvents (real API server)', function () {
  this.timeout(60_000);
  const ns = useNamespace('rx-ce');
  let operator: TestOperator;
  let trigger: TriggerHandle;

  before(async () => {
    operator = await startTestOperator({ namespaces: [ns()] });
    await createPipeline(ns());
    trigger = await createTrigger(operator, ns(), 'events', { params: PARAMS });
  });
  after(async () => {
    await operator?.stop();
  });

  for (const mode of ['binary', 'structured'] as const) {
    it(`accepts a ${mode}-mode CloudEvent: data and attributes fill params; source + id make retries duplicates`, async () => {
      const id = `evt-${mode}-${randomUUID()}`;
      const message = HTTP[mode](event(id));
      const first = await post(trigger, message, { 'x-planasonix-delivery': `dlv-${randomUUID()}` });
      expect(first.status, first.text).to.equal(202);
      const { correlationId, pipelineRun } = first.json() as { correlationId: string; pipelineRun: { name: string } };
      const run = await getRun(ns(), pipelineRun.name);
      expect(run.spec.params).to.deep.equal({ export_id: `exp_${id}`, record_count: '12', requested_by: 'billing-team', api_token: 'com.example.export.completed' });
      expect(run.spec.trigger?.deliveryId).to.equal(`ce:/billing/exports ${id}`);

      // The sender re-sends the event (the spec allows the same id for a re-sent event), even with a
      // new transport-level delivery ID: the same run answers.
      const retry = await post(trigger, HTTP[mode](event(id)), { 'x-planasonix-delivery': `dlv-${randomUUID()}` });
      expect(retry.status, retry.text).to.equal(200);
      expect(retry.json()).to.include({ correlationId, duplicate: true });
    });
  }

  it('answers a replay of a signed binary event under a new ce-id with the original run (ce-id is outside the signature)', async () => {
    const message = HTTP.binary(event(`evt-replay-${randomUUID()}`));
    const body = Buffer.from(String(message.body));
    const headers = { ...Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k.toLowerCase(), String(v)])), ...planasonixHeaders(trigger.secret, body) };
    const first = await send(new URL(trigger.url).origin, trigger.path, { body, headers });
    expect(first.status, first.text).to.equal(202);
    const before = (await runsOf(ns(), 'events')).length;
    // The look-up reads the receiver's cache of PipelineRuns: a replay comes once the original is in it.
    const { pipelineRun } = first.json() as { pipelineRun: { name: string } };
    await eventually(async () => operator.manager.informer<PipelineRun>(RESOURCES.pipelineRuns).get(`${ns()}/${pipelineRun.name}`));
    const replay = await send(new URL(trigger.url).origin, trigger.path, { body, headers: { ...headers, 'ce-id': `forged-${randomUUID()}` } });
    expect(replay.status, replay.text).to.equal(200);
    expect(replay.json()).to.include({ duplicate: true });
    expect((await runsOf(ns(), 'events')).length).to.equal(before);
  });

  it('refuses an invalid CloudEvent with 400 and a batch with 415, creating nothing', async () => {
    const before = (await runsOf(ns(), 'events')).length;
    const body = Buffer.from(JSON.stringify({ export_id: 'exp_bad' }));
    const missingId = await send(new URL(trigger.url).origin, trigger.path, {
      body,
      headers: { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-source': '/billing', 'ce-type': 't', ...planasonixHeaders(trigger.secret, body) },
    });
    expect(missingId.status, missingId.text).to.equal(400);
    expect(missingId.json()).to.include({ error: 'invalid_cloudevent' });

    const oldVersion = Buffer.from(JSON.stringify({ specversion: '0.3', id: '1', source: '/billing', type: 't', data: { export_id: 'x' } }));
    const structured = await send(new URL(trigger.url).origin, trigger.path, {
      body: oldVersion,
      headers: { 'content-type': 'application/cloudevents+json', ...planasonixHeaders(trigger.secret, oldVersion) },
    });
    expect(structured.status, structured.text).to.equal(400);
    expect(structured.json()).to.include({ error: 'invalid_cloudevent' });

    const batch = Buffer.from(JSON.stringify([JSON.parse(String(HTTP.structured(event('b1')).body))]));
    const batched = await send(new URL(trigger.url).origin, trigger.path, {
      body: batch,
      headers: { 'content-type': 'application/cloudevents-batch+json', ...planasonixHeaders(trigger.secret, batch) },
    });
    expect(batched.status, batched.text).to.equal(415);
    expect(batched.json()).to.include({ error: 'cloudevents_batch_unsupported' });

    expect((await runsOf(ns(), 'events')).length).to.equal(before);
  });

  it('checks the signature before reading the event: a forged CloudEvent is 401', async () => {
    const message = HTTP.structured(event(`evt-forged-${randomUUID()}`));
    const body = Buffer.from(String(message.body));
    const reply = await send(new URL(trigger.url).origin, trigger.path, {
      body,
      headers: { 'content-type': 'application/cloudevents+json', ...planasonixHeaders(`pxs_${randomUUID()}`, body) },
    });
    expect(reply.status, reply.text).to.equal(401);
  });

  it('lets spec.filter select on the attributes (cloudevent.type) in both modes', async () => {
    const filtered = await createTrigger(operator, ns(), 'events-filtered', { params: PARAMS, filter: "cloudevent.type == 'com.example.export.completed' && cloudevent.subject != 'ignored'" });
    for (const mode of ['binary', 'structured'] as const) {
      const other = await post(filtered, HTTP[mode](event(`evt-other-${mode}`, { type: 'com.example.export.started' })));
      expect(other.status, other.text).to.equal(200);
      expect(other.json()).to.include({ filtered: true });
      const ignored = await post(filtered, HTTP[mode](event(`evt-ignored-${mode}`, { subject: 'ignored' })));
      expect(ignored.json()).to.include({ filtered: true });
      const matching = await post(filtered, HTTP[mode](event(`evt-match-${mode}`)));
      expect(matching.status, matching.text).to.equal(202);
    }
    expect((await runsOf(ns(), 'events-filtered')).map((r) => r.spec.trigger?.deliveryId).toSorted()).to.deep.equal([
      'ce:/billing/exports evt-match-binary',
      'ce:/billing/exports evt-match-structured',
    ]);
  });

  it('refuses a trigger mapping from: cloudevent without an attribute (the CRD says so)', async () => {
    let message = '';
    await adminClient()
      .create(RESOURCES.webhookTriggers, {
        apiVersion: 'planasonix.io/v1alpha1',
        kind: 'WebhookTrigger',
        metadata: { name: 'no-attribute', namespace: ns() },
        spec: { pipelineRef: { name: 'loader' }, params: [{ name: 'export_id', from: 'cloudevent' }] },
      })
      .catch((e: Error) => {
        message = e.message;
      });
    expect(message).to.include('spec.params[].attribute');
  });
});
