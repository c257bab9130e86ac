// Listing in pages against the real API server: what an informer's relist and listAll rely on.
import { expect } from 'chai';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { adminClient, useNamespace } from '../../harness/fixtures.ts';

describe('KubeClient list pages (real API server)', function () {
  this.timeout(60_000);
  const ns = useNamespace('kube-pages');

  it('listPages follows the continue tokens to the end, one consistent list; listAll joins the pages', async () => {
    const client = adminClient();
    for (let i = 0; i < 5; i++) await client.create(RESOURCES.secrets, { metadata: { name: `page-${i}`, namespace: ns() }, stringData: { i: String(i) } } as never);
    const selector = { fieldSelector: 'type=Opaque' };
    const pages = [];
    for await (const page of client.listPages(RESOURCES.secrets, ns(), { ...selector, limit: 2 })) pages.push(page);
    expect(pages.map((p) => p.items.map((s) => s.metadata!.name))).to.deep.equal([['page-0', 'page-1'], ['page-2', 'page-3'], ['page-4']]);
    // Every page of one list is read at the same resource version.
    expect(new Set(pages.map((p) => p.metadata.resourceVersion)).size).to.equal(1);
    const all = await client.listAll(RESOURCES.secrets, ns(), selector);
    expect(all.items.map((s) => s.metadata!.name)).to.deep.equal(['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    expect(all.metadata.resourceVersion).to.be.a('string');
  });
});
