// What the real API server says, as KubeClient reports it: the errors controllers decide on.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { KubeError } from '../../../src/kube/errors.ts';
import { adminClient, eventually, useNamespace } from '../../harness/fixtures.ts';

describe('KubeClient errors (real API server)', function () {
  this.timeout(60_000);
  useNamespace('kube-errors'); // starts the control plane

  it('reports a create in a namespace being deleted as namespaceTerminating, and another 403 not', async () => {
    const client = adminClient();
    const namespace = `terminating-${randomBytes(4).toString('hex')}`;
    await client.create(RESOURCES.namespaces, { metadata: { name: namespace } });
    // A finalizer keeps the namespace in Terminating for as long as the test needs.
    const hold = { metadata: { name: 'hold', namespace, finalizers: ['planasonix.io/test-hold'] } };
    await client.create(RESOURCES.secrets, hold);
    try {
      await client.delete(RESOURCES.namespaces, undefined, namespace);
      await eventually(async () => (await client.get<{ metadata: { name?: string; deletionTimestamp?: string } }>(RESOURCES.namespaces, undefined, namespace)).metadata.deletionTimestamp);
      const refused = await client.create(RESOURCES.secrets, { metadata: { name: 'late', namespace }, stringData: { a: 'b' } }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused).to.be.instanceOf(KubeError);
      expect((refused as KubeError).status).to.equal(403);
      expect((refused as KubeError).namespaceTerminating).to.equal(true);

      const forbidden = await client.withToken('not-a-valid-token').get(RESOURCES.namespaces, undefined, namespace).then(
        () => undefined,
        (e: unknown) => e as KubeError,
      );
      expect(forbidden?.status).to.be.oneOf([401, 403]);
      expect(forbidden?.namespaceTerminating).to.equal(false);
    } finally {
      await client.mergePatch(RESOURCES.secrets, namespace, 'hold', { metadata: { finalizers: null } }).catch(() => {});
    }
  });
});
