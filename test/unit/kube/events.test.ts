// The event recorder writes a few Events at a time, in order, and drops (and counts) what does not
// fit its queue instead of competing with the controllers' writes. A fake client holds each create
// open until the test lets it finish.
import { expect } from 'chai';
import type { KubeClient } from '../../../src/kube/client.ts';
import { createEventRecorder } from '../../../src/kube/events.ts';

interface PendingCreate {
  reason: string;
  finish: () => void;
}

function fakeClient() {
  const pending: PendingCreate[] = [];
  const written: string[] = [];
  const client = {
    create: (_r: unknown, event: { reason: string }) =>
      new Promise<void>((resolve) => {
        pending.push({
          reason: event.reason,
          finish: () => {
            written.push(event.reason);
            resolve();
          },
        });
      }),
  } as unknown as KubeClient;
  return { client, pending, written };
}

const trigger = { apiVersion: 'planasonix.io/v1alpha1', kind: 'WebhookTrigger', metadata: { name: 't', namespace: 'data', uid: 'u' } };
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('event recorder', () => {
  it('writes at most maxInFlight Events at once and the rest in the order they were recorded', async () => {
    const { client, pending, written } = fakeClient();
    const recorder = createEventRecorder(client, { instance: 'test', maxInFlight: 2, maxQueued: 10 });
    for (const reason of ['A', 'B', 'C', 'D', 'E']) recorder.record(trigger, 'Normal', reason, 'Test', 'note');
    expect(pending.map((p) => p.reason)).to.deep.equal(['A', 'B']);
    while (pending.length > 0) {
      pending.shift()!.finish();
      await settle();
      expect(pending.length).to.be.at.most(2);
    }
    expect(written).to.deep.equal(['A', 'B', 'C', 'D', 'E']);
  });

  it('drops and counts the Events that do not fit the queue, and keeps writing the rest', async () => {
    const { client, pending, written } = fakeClient();
    let dropped = 0;
    const recorder = createEventRecorder(client, { instance: 'test', maxInFlight: 1, maxQueued: 2, onDropped: () => dropped++ });
    for (const reason of ['A', 'B', 'C', 'D', 'E']) recorder.record(trigger, 'Normal', reason, 'Test', 'note');
    expect(dropped).to.equal(2);
    while (pending.length > 0) {
      pending.shift()!.finish();
      await settle();
    }
    expect(written).to.deep.equal(['A', 'B', 'C']);
    recorder.record(trigger, 'Warning', 'F', 'Test', 'note');
    expect(pending.map((p) => p.reason)).to.deep.equal(['F']);
  });

  it('moves on to the next Event when a write fails, and reports the failure', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const client = { create: () => (++calls === 1 ? Promise.reject(new Error('API server unavailable')) : Promise.resolve({})) } as unknown as KubeClient;
    const recorder = createEventRecorder(client, { instance: 'test', maxInFlight: 1, onError: (e) => errors.push(e) });
    recorder.record(trigger, 'Normal', 'A', 'Test', 'note');
    recorder.record(trigger, 'Normal', 'B', 'Test', 'note');
    await settle();
    await settle();
    expect(calls).to.equal(2);
    expect(errors.map((e) => (e as Error).message)).to.deep.equal(['API server unavailable']);
  });
});
