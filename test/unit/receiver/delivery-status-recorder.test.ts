import { expect } from 'chai';
import type { WebhookTrigger } from '../../../src/api/types.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import { KubeError } from '../../../src/kube/errors.ts';
import { DeliveryStatusRecorder } from '../../../src/receiver/delivery-status-recorder.ts';

/** An API server holding one trigger's status, with optimistic locking on resourceVersion. */
function fakeApi(initial: { accepted: number; rejected: number } | undefined) {
  let version = 1;
  let status: WebhookTrigger['status'] = initial ? { deliveries: initial } : {};
  const patches: unknown[] = [];
  let failNext: KubeError[] = [];
  const current = (): WebhookTrigger => ({
    apiVersion: 'planasonix.io/v1alpha1',
    kind: 'WebhookTrigger',
    metadata: { name: 't', namespace: 'ns', resourceVersion: String(version) },
    spec: { pipelineRef: { name: 'p' } },
    status: structuredClone(status),
  });
  const client = {
    async get() {
      return current();
    },
    async mergePatch(_r: unknown, _ns: string, _name: string, patch: { metadata: { resourceVersion: string }; status: WebhookTrigger['status'] }, sub: string) {
      expect(sub).to.equal('status');
      const failure = failNext.shift();
      if (failure) throw failure;
      if (patch.metadata.resourceVersion !== String(version)) throw new KubeError(409, 'Conflict', 'the object has been modified');
      patches.push(patch);
      status = { ...status, ...patch.status };
      version++;
      return current();
    },
  } as unknown as KubeClient;
  return {
    client,
    patches,
    status: () => status,
    current,
    failWith: (...errors: KubeError[]) => {
      failNext = errors;
    },
    /** Another writer (another replica) changes the counts behind our back. */
    bump: (accepted: number) => {
      status = { ...status, deliveries: { accepted: (status?.deliveries?.accepted ?? 0) + accepted, rejected: status?.deliveries?.rejected ?? 0 } };
      version++;
    },
  };
}

describe('delivery status recorder', () => {
  it('writes many deliveries as one status patch per flush, counting duplicates as accepted', async () => {
    const api = fakeApi({ accepted: 5, rejected: 1 });
    const recorder = new DeliveryStatusRecorder({ client: api.client, cachedTrigger: () => api.current(), intervalMs: 60_000 });
    for (let i = 0; i < 100; i++) recorder.record('ns', 't', i % 10 === 0 ? 'unauthorized' : i % 2 ? 'duplicate' : 'accepted', `c-${i}`);
    await recorder.flush();
    expect(api.patches).to.have.length(1);
    expect(api.status()?.deliveries).to.deep.equal({ accepted: 95, rejected: 11 });
    expect(api.status()?.lastDelivery).to.include({ outcome: 'duplicate', correlationId: 'c-99' });
    await recorder.flush();
    expect(api.patches, 'nothing new, nothing written').to.have.length(1);
  });

  it('adds to what another replica wrote: a stale cached copy conflicts and is re-read', async () => {
    const api = fakeApi({ accepted: 0, rejected: 0 });
    const stale = api.current();
    api.bump(7);
    const recorder = new DeliveryStatusRecorder({ client: api.client, cachedTrigger: () => stale, intervalMs: 60_000 });
    recorder.record('ns', 't', 'accepted');
    await recorder.flush();
    expect(api.status()?.deliveries).to.deep.equal({ accepted: 8, rejected: 0 });
  });

  it('keeps what it could not write for the next flush, and reports the error', async () => {
    const api = fakeApi(undefined);
    const errors: unknown[] = [];
    const recorder = new DeliveryStatusRecorder({ client: api.client, cachedTrigger: () => api.current(), intervalMs: 60_000, onError: (_n, _t, e) => errors.push(e) });
    recorder.record('ns', 't', 'accepted');
    api.failWith(new KubeError(0, 'ECONNREFUSED', 'API server unreachable'));
    await recorder.flush();
    expect(errors).to.have.length(1);
    recorder.record('ns', 't', 'rate_limited');
    await recorder.flush();
    expect(api.status()?.deliveries).to.deep.equal({ accepted: 1, rejected: 1 });
    expect(api.status()?.lastDelivery?.outcome).to.equal('rate_limited');
  });

  it('drops the counts of a trigger that no longer exists', async () => {
    const api = fakeApi(undefined);
    const recorder = new DeliveryStatusRecorder({ client: api.client, cachedTrigger: () => api.current(), intervalMs: 60_000 });
    recorder.record('ns', 't', 'accepted');
    api.failWith(new KubeError(404, 'NotFound', 'not found'));
    await recorder.flush();
    await recorder.flush();
    expect(api.patches).to.have.length(0);
  });
});
