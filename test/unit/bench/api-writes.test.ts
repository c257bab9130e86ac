// Figure 5e's reading of the operator's request counter.
import { expect } from 'chai';
import { createMetrics } from '../../../src/observability/metrics.ts';
import { parseRequestCounts, writesBetween } from '../../../bench/api-writes.ts';

describe('bench: API writes from planasonix_kube_requests_total', () => {
  it('reads the operator\'s own scrape and keeps only the writes that grew, lease renewals left out', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const count = (verb: string, resource: string, subresource: string, code: string, n = 1) => metrics.kubeRequests.inc({ verb, resource, subresource, code }, n);
    count('watch', 'pipelineruns', '', '200');
    count('create', 'pipelineruns', '', '201', 3);
    count('update', 'leases', '', '200');
    const before = parseRequestCounts(await metrics.registry.metrics());
    expect(before.get('create pipelineruns 201')).to.equal(3);

    count('create', 'pipelineruns', '', '201', 2);
    count('create', 'deliveryrecords', '', '409');
    count('patch', 'pipelineruns', 'status', '200', 4);
    count('get', 'pipelineruns', '', '200', 7);
    count('update', 'leases', '', '200', 5);
    const after = parseRequestCounts(await metrics.registry.metrics());
    expect(writesBetween(before, after)).to.deep.equal({ 'create pipelineruns 201': 2, 'create deliveryrecords 409': 1, 'patch pipelineruns/status 200': 4 });
  });
});
