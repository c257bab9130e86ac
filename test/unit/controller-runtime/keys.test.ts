import { expect } from 'chai';
import { keyOf, objectKey, splitKey } from '../../../src/controller-runtime/keys.ts';

describe('object keys', () => {
  it('are namespace/name for namespaced objects and name for cluster-scoped ones', () => {
    expect(objectKey({ metadata: { namespace: 'team-a', name: 'orders' } })).to.equal('team-a/orders');
    expect(objectKey({ metadata: { name: 'team-a' } })).to.equal('team-a');
    expect(keyOf('team-a', 'orders')).to.equal('team-a/orders');
    expect(keyOf(undefined, 'team-a')).to.equal('team-a');
  });

  it('split back into namespace and name', () => {
    expect(splitKey('team-a/orders')).to.deep.equal({ namespace: 'team-a', name: 'orders' });
    expect(splitKey('team-a')).to.deep.equal({ namespace: undefined, name: 'team-a' });
  });
});
