import { assert, expect } from 'chai';
import type { V1Secret } from '@kubernetes/client-node';
import type { WebhookTrigger } from '../../../src/api/types.ts';
import { buildWebhookSecret } from '../../../src/api/webhook-secret.ts';
import { RoutingTable } from '../../../src/receiver/routing-table.ts';

const PATH = '/hooks/routing-table-test';

function triggerWith(changes: { generation?: number; ready?: boolean; deliveries?: number; schema?: Record<string, unknown> } = {}): WebhookTrigger {
  return {
    apiVersion: 'planasonix.io/v1alpha1',
    kind: 'WebhookTrigger',
    metadata: { name: 't', namespace: 'ns', uid: 'uid-1', generation: changes.generation ?? 1, resourceVersion: String(Math.random()) },
    spec: { pipelineRef: { name: 'p' }, payload: { strict: true, ...(changes.schema ? { schema: changes.schema } : {}) } },
    status: {
      conditions: [{ type: 'Ready', status: changes.ready === false ? 'False' : 'True', reason: 'Serving', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      ...(changes.deliveries ? { lastDelivery: { time: new Date(changes.deliveries * 1000).toISOString(), correlationId: `c-${changes.deliveries}`, pipelineRun: `r-${changes.deliveries}` } } : {}),
    },
  };
}

describe('routing table', () => {
  let trigger: WebhookTrigger;
  let secret: V1Secret;
  let table: RoutingTable;
  const errors: unknown[] = [];

  beforeEach(() => {
    trigger = triggerWith();
    secret = { ...buildWebhookSecret(trigger, { path: PATH, url: `https://x${PATH}`, signingSecret: 'pxs_a', currentSince: new Date() }) };
    secret.metadata!.resourceVersion = '1';
    errors.length = 0;
    table = new RoutingTable(
      { trigger: () => trigger, secret: (_ns, name) => (name === 't-webhook' ? secret : undefined) },
      { defaultMaxBytes: 1024, onCompileError: (_k, e) => errors.push(e) },
    );
    table.refreshTrigger('ns', 't');
  });

  it('keeps the compiled route when only status.lastDelivery changed', () => {
    const route = table.lookup(PATH);
    expect(route?.state).to.equal('serving');
    for (let i = 1; i <= 5; i++) {
      trigger = triggerWith({ deliveries: i });
      table.refreshTrigger('ns', 't');
    }
    expect(table.lookup(PATH)).to.equal(route);
  });

  it('recompiles when the spec, the Ready condition or the Secret changes', () => {
    const first = table.lookup(PATH);
    trigger = triggerWith({ generation: 2 });
    table.refreshTrigger('ns', 't');
    const second = table.lookup(PATH);
    expect(second).not.to.equal(first);

    trigger = triggerWith({ generation: 2, ready: false });
    table.refreshTrigger('ns', 't');
    expect(table.lookup(PATH)?.state).to.equal('not-ready');

    trigger = triggerWith({ generation: 2 });
    table.refreshTrigger('ns', 't');
    const before = table.lookup(PATH)!;
    secret = buildWebhookSecret(trigger, { path: PATH, url: `https://x${PATH}`, signingSecret: 'pxs_b', currentSince: new Date() });
    secret.metadata!.resourceVersion = '2';
    table.refreshSecret(secret);
    const after = table.lookup(PATH)!;
    expect(after).not.to.equal(before);
    assert(after.state === 'serving');
    expect(after.keysAt(Date.now()).secrets).to.deep.equal(['pxs_b']);
  });

  it('keeps validating a strict schema that has an $id, however often the trigger is recompiled', () => {
    const schema = { $id: 'https://schemas.example/export.json', type: 'object', required: ['export_id'] };
    for (let generation = 2; generation <= 4; generation++) {
      trigger = triggerWith({ generation, schema: structuredClone(schema) });
      table.refreshTrigger('ns', 't');
      const route = table.lookup(PATH)!;
      assert(route.state === 'serving', `generation ${generation}`);
      expect(route.schema?.validate({})).to.deep.equal([{ path: '/export_id', message: 'is required' }]);
    }
    expect(errors).to.deep.equal([]);
  });

  it("keeps a trigger's token bucket across a rotation and while closed, replaces it when its limit changes, and drops it with the limit", () => {
    const limited = (generation: number, requestsPerMinute?: number, ready = true): WebhookTrigger => {
      const t = triggerWith({ generation, ready });
      return { ...t, spec: { ...t.spec, ...(requestsPerMinute ? { rateLimit: { requestsPerMinute, burst: 1 } } : {}) } };
    };
    const serving = () => {
      const route = table.lookup(PATH);
      assert(route?.state === 'serving');
      return route;
    };
    trigger = limited(2, 60);
    table.refreshTrigger('ns', 't');
    const bucket = table.limiterFor(serving());
    expect(bucket?.take()).to.equal(0);
    expect(bucket?.take()).to.be.greaterThan(0);

    secret = buildWebhookSecret(trigger, { path: PATH, url: `https://x${PATH}`, signingSecret: 'pxs_rotated', currentSince: new Date() });
    secret.metadata!.resourceVersion = '2';
    table.refreshSecret(secret);
    expect(serving().keysAt(Date.now()).secrets).to.deep.equal(['pxs_rotated']);
    // The same bucket, still empty: a rotation grants no fresh burst.
    expect(table.limiterFor(serving())).to.equal(bucket);
    expect(bucket?.take()).to.be.greaterThan(0);

    // Not Ready for a while, then serving again: the same bucket, so closing grants no fresh burst either.
    trigger = limited(2, 60, false);
    table.refreshTrigger('ns', 't');
    expect(table.lookup(PATH)?.state).to.equal('not-ready');
    trigger = limited(2, 60);
    table.refreshTrigger('ns', 't');
    expect(table.limiterFor(serving())).to.equal(bucket);

    trigger = limited(3, 120);
    table.refreshTrigger('ns', 't');
    const raised = table.limiterFor(serving());
    expect(raised).to.not.equal(bucket);
    expect(raised?.limit.requestsPerMinute).to.equal(120);
    expect(raised?.take()).to.equal(0);

    trigger = limited(4);
    table.refreshTrigger('ns', 't');
    expect(table.limiterFor(serving())).to.equal(undefined);
    // The same limit again: a new, full bucket, not the one it had before the limit was removed.
    trigger = limited(5, 120);
    table.refreshTrigger('ns', 't');
    const again = table.limiterFor(serving());
    expect(again).to.not.equal(raised);
    expect(again?.take()).to.equal(0);
  });

  it('forgets the path of a deleted trigger', () => {
    const deleted = trigger;
    trigger = undefined as unknown as WebhookTrigger;
    table.refreshTrigger('ns', 't');
    expect(table.lookup(PATH)).to.equal(undefined);
    trigger = deleted;
    table.refreshTrigger('ns', 't');
    expect(table.lookup(PATH)?.state).to.equal('serving');
  });

  describe('two triggers claiming one path (a Secret written by hand with another trigger\'s path)', () => {
    const triggers = new Map<string, WebhookTrigger>();
    const secrets = new Map<string, V1Secret>();
    let shared: RoutingTable;

    function add(name: string, createdAt: string, path: string): void {
      const t: WebhookTrigger = { ...triggerWith(), metadata: { name, namespace: 'ns', uid: `uid-${name}`, generation: 1, resourceVersion: '1', creationTimestamp: createdAt } };
      triggers.set(name, t);
      const s = buildWebhookSecret(t, { path, url: `https://x${path}`, signingSecret: `pxs_${name}`, currentSince: new Date() });
      s.metadata!.resourceVersion = String(Math.random());
      secrets.set(`${name}-webhook`, s);
      shared.refreshTrigger('ns', name);
    }
    const servedBy = (path: string) => {
      const route = shared.lookup(path);
      return route?.state === 'serving' ? route.name : route?.state;
    };

    beforeEach(() => {
      triggers.clear();
      secrets.clear();
      shared = new RoutingTable({ trigger: (_ns, name) => triggers.get(name), secret: (_ns, name) => secrets.get(name) }, { defaultMaxBytes: 1024 });
    });

    it('serves the earlier trigger; the path passes to the other when it is deleted, and goes with the last', () => {
      add('late', '2026-02-01T00:00:00Z', PATH);
      add('early', '2026-01-01T00:00:00Z', PATH);
      expect(servedBy(PATH)).to.equal('early');
      triggers.delete('early');
      shared.refreshTrigger('ns', 'early');
      expect(servedBy(PATH)).to.equal('late');
      triggers.delete('late');
      shared.refreshTrigger('ns', 'late');
      expect(servedBy(PATH)).to.equal(undefined);
      expect(shared.size).to.equal(0);
    });

    it('moves a trigger whose Secret now holds another path, leaving the old path to the other claimant', () => {
      add('early', '2026-01-01T00:00:00Z', PATH);
      add('late', '2026-02-01T00:00:00Z', PATH);
      add('early', '2026-01-01T00:00:00Z', '/hooks/moved');
      expect(servedBy('/hooks/moved')).to.equal('early');
      expect(servedBy(PATH)).to.equal('late');
      add('late', '2026-02-01T00:00:00Z', '/hooks/moved');
      expect(servedBy('/hooks/moved')).to.equal('early');
      expect(servedBy(PATH)).to.equal(undefined);
    });
  });
});
