import { expect } from 'chai';
import { CreateExpectations } from '../../../src/controller-runtime/create-expectations.ts';
import { CacheBehindError } from '../../../src/controller-runtime/status-writer.ts';

describe('CreateExpectations', () => {
  let now = 0;
  const expectations = () => new CreateExpectations(1_000, () => now);
  beforeEach(() => (now = 0));

  it('lets a key we never created be decided from the cache', () => {
    expect(() => expectations().expectSeen('ns/a', false)).not.to.throw();
  });

  it('holds a key we created until the cache shows it, then forgets it', () => {
    const e = expectations();
    e.created('ns/a');
    expect(() => e.expectSeen('ns/a', false)).to.throw(CacheBehindError, 'ns/a');
    e.expectSeen('ns/a', true);
    // Seen once: a later absence is a real deletion, to be acted on.
    expect(() => e.expectSeen('ns/a', false)).not.to.throw();
  });

  it('gives up waiting after its time to live, so a lost watch event cannot stall the key', () => {
    const e = expectations();
    e.created('ns/a');
    now = 999;
    expect(() => e.expectSeen('ns/a', false)).to.throw(CacheBehindError);
    now = 1_001;
    expect(() => e.expectSeen('ns/a', false)).not.to.throw();
  });
});
