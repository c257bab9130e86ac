import { expect } from 'chai';
import fc from 'fast-check';
import { newDeliveryKey, pipelineRunNameFor } from '../../../src/receiver/delivery-key.ts';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

describe('pipeline run names from delivery keys', () => {
  it('is the same name for the same trigger and key, and another for another key or another trigger UID', () => {
    const a = pipelineRunNameFor('export-completed', 'uid-1', 'id:evt_1');
    expect(pipelineRunNameFor('export-completed', 'uid-1', 'id:evt_1')).to.equal(a);
    expect(pipelineRunNameFor('export-completed', 'uid-1', 'id:evt_2')).not.to.equal(a);
    expect(pipelineRunNameFor('export-completed', 'uid-2', 'id:evt_1')).not.to.equal(a);
    expect(a).to.match(/^export-completed-[0-9a-f]{16}$/);
  });

  it('is always a valid name of at most 63 characters, so the Job can carry it as a label value (property)', () => {
    const name = fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/);
    fc.assert(
      fc.property(name, fc.uuid(), fc.string(), (trigger, uid, key) => {
        const run = pipelineRunNameFor(trigger, uid, key);
        expect(run.length).to.be.at.most(63);
        expect(run).to.match(DNS_SUBDOMAIN);
        expect(run).not.to.match(/[-.]{2}[0-9a-f]{16}$/);
      }),
    );
  });

  it('makes every request without an identity a new delivery', () => {
    expect(newDeliveryKey()).not.to.equal(newDeliveryKey());
  });
});
