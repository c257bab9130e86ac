import { expect } from 'chai';
import { RequestBudget } from '../../../src/receiver/request-budget.ts';

describe('RequestBudget', () => {
  it('admits up to half of the requests and bytes for one trigger, the rest for others', () => {
    const budget = new RequestBudget({ maxRequests: 4, maxBodyBytes: 100 });
    const a1 = budget.admit('a', 10)!;
    const a2 = budget.admit('a', 10)!;
    expect(budget.admit('a', 10), "a third request of one trigger exceeds its half").to.equal(undefined);
    expect(budget.admit('b', 50)).to.not.equal(undefined);
    expect(budget.admit('c', 1), 'a fourth request of all still fits').to.not.equal(undefined);
    expect(budget.admit('d', 1)).to.equal(undefined);
    a1.release();
    a2.release();
    expect(budget.inUse).to.deep.equal({ requests: 2, bytes: 51 });
  });

  it('grows a chunked body\'s hold as it arrives, refusing past the trigger\'s half of the bytes', () => {
    const budget = new RequestBudget({ maxRequests: 10, maxBodyBytes: 100 });
    const t = budget.admit('a', 0)!;
    expect(t.grow(40)).to.equal(true);
    expect(t.grow(10)).to.equal(true);
    expect(t.grow(1)).to.equal(false);
    t.release();
    t.release(); // twice is harmless
    expect(budget.inUse).to.deep.equal({ requests: 0, bytes: 0 });
    expect(t.grow(1), 'a released ticket holds nothing').to.equal(false);
  });
});
