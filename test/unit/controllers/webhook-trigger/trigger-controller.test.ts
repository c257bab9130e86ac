import { expect } from 'chai';
import type { WebhookTrigger, WebhookTriggerStatus } from '../../../../src/api/types.ts';
import { WrittenStatuses } from '../../../../src/controllers/webhook-trigger/trigger-controller.ts';
import { makeTrigger } from './fixtures.ts';

const withStatus = (resourceVersion: string, status?: WebhookTriggerStatus): WebhookTrigger => ({ ...makeTrigger({}, { resourceVersion }), ...(status ? { status } : {}) });

describe('WrittenStatuses', () => {
  const key = 'data/export-completed';
  const ours: WebhookTriggerStatus = { observedGeneration: 3 };

  it('answers with the status we wrote while the cache still shows the version we wrote over', () => {
    const written = new WrittenStatuses();
    const cached = withStatus('100');
    written.record(key, cached, withStatus('101', ours));
    expect(written.statusOf(key, cached)).to.deep.equal(ours);
    expect(written.statusOf(key, cached), 'asked again before the cache moved').to.deep.equal(ours);
  });

  it('answers with the cache, and forgets, once the cache moved on (our write or a newer one)', () => {
    const written = new WrittenStatuses();
    written.record(key, withStatus('100'), withStatus('101', ours));
    const newer = withStatus('105', { observedGeneration: 4 });
    expect(written.statusOf(key, newer)).to.deep.equal({ observedGeneration: 4 });
    expect(written.size).to.equal(0);
    // Even if a stale copy showed up again, nothing is remembered any more.
    expect(written.statusOf(key, withStatus('100'))).to.equal(undefined);
  });

  it('keeps triggers apart, and forgets a deleted one', () => {
    const written = new WrittenStatuses();
    written.record(key, withStatus('100'), withStatus('101', ours));
    expect(written.statusOf('data/other', withStatus('100', { observedGeneration: 1 }))).to.deep.equal({ observedGeneration: 1 });
    written.forget(key);
    expect(written.statusOf(key, withStatus('100'))).to.equal(undefined);
  });
});
