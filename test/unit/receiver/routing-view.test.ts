// What a receiver replica caches of each trigger and generated Secret: less than the API server
// sends, and still everything routing reads, so a route compiled from the views is the route
// compiled from the whole objects.
import { expect } from 'chai';
import type { V1Secret } from '@kubernetes/client-node';
import type { WebhookTrigger } from '../../../src/api/types.ts';
import { buildWebhookSecret, webhookPathDigest } from '../../../src/api/webhook-secret.ts';
import type { Route } from '../../../src/receiver/compile-route.ts';
import { RoutingTable } from '../../../src/receiver/routing-table.ts';
import { routingViewOfSecret, routingViewOfTrigger, type RoutingTrigger } from '../../../src/receiver/routing-view.ts';

const PATH = '/hooks/routing-view-test';
const NOW = Date.parse('2026-06-01T12:00:00Z');

/** A trigger as the API server sends it: labels from GitOps, a full status, conditions with messages. */
function servedTrigger(overrides: Partial<WebhookTrigger['metadata']> = {}): WebhookTrigger {
  return {
    apiVersion: 'planasonix.io/v1alpha1',
    kind: 'WebhookTrigger',
    metadata: {
      name: 'export-finished',
      namespace: 'data',
      uid: 'uid-1',
      resourceVersion: '41',
      generation: 3,
      creationTimestamp: '2026-05-01T00:00:00Z',
      labels: { 'app.kubernetes.io/instance': 'data-pipelines', 'kustomize.toolkit.fluxcd.io/name': 'apps' },
      annotations: { 'planasonix.io/rotate-requested-at': '2026-05-02T00:00:00Z' },
      finalizers: ['example.com/audit'],
      ...overrides,
    },
    spec: {
      pipelineRef: { name: 'export-loader', version: '2' },
      auth: { scheme: 'planasonix', tolerance: '5m' },
      params: [{ name: 'export_id', from: 'body', path: '/export_id', required: true }, { name: 'source', from: 'header', header: 'X-Source' }],
      allowedSourceRanges: ['10.0.0.0/8'],
      rateLimit: { requestsPerMinute: 60 },
      payload: { strict: false, maxBytes: '64Ki' },
    },
    status: {
      observedGeneration: 3,
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Serving', message: 'serving deliveries at the URL in Secret export-finished-webhook', lastTransitionTime: '2026-05-01T00:00:01Z', observedGeneration: 3 },
        { type: 'Reconciling', status: 'False', reason: 'Serving', message: 'up to date', lastTransitionTime: '2026-05-01T00:00:01Z' },
      ],
      urlSecretRef: { name: 'export-finished-webhook', key: 'url' },
      signingSecretRef: { name: 'export-finished-webhook', key: 'signing-secret' },
      rotation: { lastRotationTime: '2026-05-31T00:00:00Z' },
      lastDelivery: { time: '2026-05-31T10:00:00Z', correlationId: 'c-1', pipelineRun: 'export-finished-abc' },
      pathDigest: webhookPathDigest(PATH),
    },
  };
}

/** Its generated Secret mid-rotation, with a second, non-controller owner a user added. */
function servedSecret(trigger: WebhookTrigger): V1Secret {
  const secret = buildWebhookSecret(trigger, {
    path: PATH,
    url: `https://hooks.example.com${PATH}`,
    signingSecret: 'pxs_current',
    currentSince: new Date(NOW - 3_600_000),
    previousSigningSecret: 'pxs_previous',
    previousExpiresAt: new Date(NOW + 3_600_000),
    handledRotateRequest: '2026-05-02T00:00:00Z',
  });
  secret.metadata!.resourceVersion = '42';
  secret.metadata!.uid = 'secret-uid';
  secret.metadata!.ownerReferences!.push({ apiVersion: 'example.com/v1', kind: 'Audit', name: 'a', uid: 'audit-uid' });
  return secret;
}

/** A route's observable parts: everything later middleware reads, functions applied to inputs. */
function behaviour(route: Route | undefined) {
  if (!route) return undefined;
  const { allowsAddress, ...rest } = route;
  const common = { ...rest, allowsInside: allowsAddress?.('10.1.2.3'), allowsOutside: allowsAddress?.('192.0.2.1') };
  if (route.state !== 'serving') return common;
  // keysAt is a closure made by each compile: compared by what it returns, now and after the overlap.
  const { keysAt: _keysAt, ...serving } = common as typeof common & { keysAt: unknown };
  return { ...serving, keysNow: route.keysAt(NOW), keysLater: route.keysAt(NOW + 2 * 3_600_000) };
}

describe('routing view (what a receiver replica caches)', () => {
  it('keeps of a trigger its identity, spec, Ready status and path digest, and drops the rest of its status and metadata', () => {
    const view = routingViewOfTrigger(servedTrigger());
    expect(view).to.deep.equal({
      apiVersion: 'planasonix.io/v1alpha1',
      kind: 'WebhookTrigger',
      metadata: { name: 'export-finished', namespace: 'data', uid: 'uid-1', resourceVersion: '41', generation: 3, creationTimestamp: '2026-05-01T00:00:00Z' },
      spec: servedTrigger().spec,
      status: { conditions: [{ type: 'Ready', status: 'True' }], pathDigest: webhookPathDigest(PATH) },
    });
    expect(routingViewOfTrigger(servedTrigger({ deletionTimestamp: '2026-06-01T00:00:00Z' })).metadata.deletionTimestamp).to.equal('2026-06-01T00:00:00Z');
  });

  it('keeps of a generated Secret the path and signing secrets, its labels and its controller, not the URL or annotations', () => {
    const whole = servedSecret(servedTrigger());
    const view = routingViewOfSecret(whole);
    expect(Object.keys(view.data ?? {}).sort()).to.deep.equal(['path', 'previous-expires-at', 'previous-signing-secret', 'signing-secret']);
    expect(view.metadata).to.deep.equal({
      name: 'export-finished-webhook',
      namespace: 'data',
      resourceVersion: '42',
      labels: whole.metadata!.labels,
      ownerReferences: [whole.metadata!.ownerReferences![0]],
    });
  });

  it('compiles to the same route as the whole objects: serving, closed, suspended, and refused a path its status does not vouch for', () => {
    const cases: { what: string; trigger: WebhookTrigger; state: Route['state'] | undefined }[] = [
      { what: 'serving', trigger: servedTrigger(), state: 'serving' },
      {
        what: 'not ready',
        trigger: { ...servedTrigger(), status: { ...servedTrigger().status, conditions: [{ type: 'Ready', status: 'False', reason: 'X', message: 'm', lastTransitionTime: 't' }] } },
        state: 'not-ready',
      },
      { what: 'suspended', trigger: { ...servedTrigger(), spec: { ...servedTrigger().spec, suspend: true } }, state: 'suspended' },
      // Its Secret holds a path its status does not vouch for: no route at all.
      { what: 'another path', trigger: { ...servedTrigger(), status: { ...servedTrigger().status, pathDigest: webhookPathDigest('/hooks/other') } }, state: undefined },
    ];
    for (const { what, trigger, state } of cases) {
      const secret = servedSecret(trigger);
      const routeOf = (t: RoutingTrigger, s: V1Secret) => {
        const table = new RoutingTable({ trigger: () => t, secret: () => s }, { defaultMaxBytes: 1024 });
        table.refreshTrigger('data', 'export-finished');
        return table.lookup(PATH);
      };
      const whole = routeOf(trigger, secret);
      const viewed = routeOf(routingViewOfTrigger(trigger), routingViewOfSecret(secret));
      expect(behaviour(viewed), what).to.deep.equal(behaviour(whole));
      expect(viewed?.state, what).to.equal(state);
      if (state !== undefined) expect(behaviour(viewed), what).to.deep.include({ allowsInside: true, allowsOutside: false });
      if (state === 'serving') expect(behaviour(viewed)).to.deep.include({ keysNow: { secrets: ['pxs_current', 'pxs_previous'], toleranceSeconds: 300 }, keysLater: { secrets: ['pxs_current'], toleranceSeconds: 300 } });
    }
  });
});
