import { expect } from 'chai';
import type { WebhookTrigger, WebhookTriggerStatus } from '../../../src/api/types.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import { KubeError } from '../../../src/kube/errors.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { CacheBehindError, sameJson, statusPatch, StatusWriter } from '../../../src/controller-runtime/status-writer.ts';
import { TRIGGER_STATUS_FIELDS } from '../../../src/controllers/webhook-trigger/trigger-status.ts';
import { makeTrigger } from '../controllers/webhook-trigger/fixtures.ts';

/** What the API server hands back: the same JSON with every object's keys sorted. */
function asServerReturnsIt<T>(value: T): T {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    return v;
  };
  return JSON.parse(JSON.stringify(sort(value))) as T;
}

/** Records status patches as the API server would receive them; answers 409 when told to. */
function recordingClient(opts: { conflict?: boolean } = {}) {
  const patches: { namespace: string | undefined; name: string; status: unknown; resourceVersion: string | undefined }[] = [];
  const client = {
    async patchStatus(_r: unknown, namespace: string | undefined, name: string, status: unknown, o: { resourceVersion?: string } = {}) {
      if (opts.conflict) throw new KubeError(409, 'Conflict', 'the object has been modified');
      patches.push({ namespace, name, status, resourceVersion: o.resourceVersion });
      return { metadata: { name, namespace, resourceVersion: String(Number(o.resourceVersion ?? 100) + 1) }, status };
    },
  } as unknown as KubeClient;
  return { client, patches };
}

const READY = [{ type: 'Ready', status: 'True' as const, reason: 'Serving', message: 'ok', observedGeneration: 3, lastTransitionTime: '2026-01-01T00:00:00Z' }];

describe('StatusWriter', () => {
  const writerFor = (client: KubeClient) => new StatusWriter<WebhookTriggerStatus>({ client, resource: RESOURCES.webhookTriggers, fields: TRIGGER_STATUS_FIELDS });

  it('patches only the fields that differ, over the resourceVersion it read, with observedGeneration', async () => {
    const { client, patches } = recordingClient();
    const trigger: WebhookTrigger = { ...makeTrigger({}, { resourceVersion: '100', generation: 3 }), status: { observedGeneration: 2, conditions: READY } };
    const written = await writerFor(client).write(trigger, { conditions: READY, urlSecretRef: { name: 'x-webhook', key: 'url' } });
    expect(written).to.not.equal(undefined);
    expect(patches).to.deep.equal([
      { namespace: 'data', name: 'export-completed', resourceVersion: '100', status: { observedGeneration: 3, urlSecretRef: { name: 'x-webhook', key: 'url' } } },
    ]);
  });

  it('writes nothing when the status read back from the API server (keys sorted) already matches', async () => {
    const { client, patches } = recordingClient();
    const status: WebhookTriggerStatus = { observedGeneration: 3, conditions: READY, urlSecretRef: { name: 'x-webhook', key: 'url' } };
    const trigger: WebhookTrigger = { ...makeTrigger({}, { generation: 3 }), status: asServerReturnsIt(status) };
    expect(await writerFor(client).write(trigger, { conditions: READY, urlSecretRef: { key: 'url', name: 'x-webhook' } })).to.equal(undefined);
    expect(patches).to.deep.equal([]);
  });

  it('refuses, without asking the API server, to write from a copy older than its own last write', async () => {
    const { client, patches } = recordingClient();
    const writer = writerFor(client);
    const cached: WebhookTrigger = makeTrigger({}, { resourceVersion: '100', generation: 3 });
    await writer.write(cached, { conditions: READY });
    // The next reconcile still sees version 100 (the watch has not delivered 101 yet).
    const error = await writer.write(cached, { conditions: READY, urlSecretRef: { name: 'x-webhook', key: 'url' } }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CacheBehindError);
    expect(patches).to.have.length(1);
    // Once the cache shows our write, writing goes on.
    const caughtUp: WebhookTrigger = { ...makeTrigger({}, { resourceVersion: '101', generation: 3 }), status: { observedGeneration: 3, conditions: READY } };
    await writer.write(caughtUp, { conditions: READY, urlSecretRef: { name: 'x-webhook', key: 'url' } });
    expect(patches.map((p) => p.resourceVersion)).to.deep.equal(['100', '101']);
  });

  it('wakes a deferred object once the informer shows a version other than the one its write replaced, and only then', async () => {
    const { client } = recordingClient();
    const writer = writerFor(client);
    let onUpdate: ((before: WebhookTrigger, after: WebhookTrigger) => void) | undefined;
    const woken: string[] = [];
    writer.wakeWhenCaughtUp<WebhookTrigger>({ onUpdate: (h) => (onUpdate = h) }, (t) => woken.push(t.metadata.resourceVersion!));
    const cached: WebhookTrigger = makeTrigger({}, { resourceVersion: '100', generation: 3 });
    const next: WebhookTrigger = makeTrigger({}, { resourceVersion: '101', generation: 3 });
    await writer.write(cached, { conditions: READY });
    onUpdate!(cached, next); // our write reached the cache, but no reconcile waited for it
    expect(woken).to.deep.equal([]);
    await writer.write(next, { conditions: READY, urlSecretRef: { name: 'x-webhook', key: 'url' } }); // replaces 101
    await writer.write(next, { conditions: READY }).catch(() => undefined); // deferred: the cache shows 101
    onUpdate!(cached, next); // a stale copy of 101 again (a relist): still behind
    expect(woken).to.deep.equal([]);
    const written: WebhookTrigger = makeTrigger({}, { resourceVersion: '102', generation: 3 });
    onUpdate!(next, written);
    onUpdate!(written, written);
    expect(woken).to.deep.equal(['102']);
  });

  it('throws the Conflict of a write over a stale copy, for the Controller to requeue', async () => {
    const { client } = recordingClient({ conflict: true });
    const trigger: WebhookTrigger = makeTrigger({}, { generation: 3 });
    const error = await writerFor(client).write(trigger, { conditions: READY }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(KubeError).and.have.property('conflict', true);
  });
});

describe('statusPatch', () => {
  it('holds only the fields that differ, and null for a field to remove', () => {
    const fields = ['observedGeneration', 'rotation'] as const;
    expect(statusPatch<WebhookTriggerStatus>({ observedGeneration: 2, rotation: { lastRotationTime: 'x' } }, { observedGeneration: 3 }, fields)).to.deep.equal({ observedGeneration: 3, rotation: null });
    expect(statusPatch<WebhookTriggerStatus>({ observedGeneration: 3 }, { observedGeneration: 3 }, fields)).to.equal(undefined);
  });

  it('leaves fields the writer does not own alone', () => {
    expect(statusPatch<WebhookTriggerStatus>({ observedGeneration: 3, conditions: READY }, { observedGeneration: 3 }, ['observedGeneration'])).to.equal(undefined);
  });
});

describe('sameJson', () => {
  it('ignores object key order and undefined members, but not array order or values', () => {
    expect(sameJson({ a: 1, b: { c: [1, { d: 2, e: 3 }] } }, { b: { c: [1, { e: 3, d: 2 }] }, a: 1 })).to.equal(true);
    expect(sameJson({ a: 1, b: undefined }, { a: 1 })).to.equal(true);
    expect(sameJson([1, 2], [2, 1])).to.equal(false);
    expect(sameJson({ a: 1 }, { a: '1' })).to.equal(false);
    expect(sameJson({ a: 1 }, { a: 1, b: 2 })).to.equal(false);
    expect(sameJson(null, {})).to.equal(false);
    expect(sameJson([], {})).to.equal(false);
  });
});
