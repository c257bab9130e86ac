import { expect } from 'chai';
import { createMetrics } from '../../../src/observability/metrics.ts';
import { startOpsServers, type OpsServers } from '../../../src/operator/ops-server.ts';

describe('ops servers (/metrics, /healthz, /readyz)', () => {
  let ready = false;
  let ops: OpsServers;
  const metrics = createMetrics();

  before(async () => {
    ops = await startOpsServers({ metricsPort: 0, healthPort: 0, host: '127.0.0.1', metrics, ready: () => ready });
  });
  after(() => ops.close());

  it('serves the metrics in the Prometheus text format', async () => {
    metrics.webhookRequests.inc({ namespace: 'data', trigger: 'export-completed', outcome: 'accepted' });
    const res = await fetch(`${ops.metricsUrl}/metrics`);
    const text = await res.text();
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal(metrics.registry.contentType);
    expect(text).to.include('planasonix_webhook_requests_total{namespace="data",trigger="export-completed",outcome="accepted"} 1');
  });

  it('answers /healthz while the process runs, and /readyz only once ready', async () => {
    const health = await fetch(`${ops.healthUrl}/healthz`);
    expect([health.status, await health.text()]).to.deep.equal([200, 'ok\n']);
    ready = false;
    const notReady = await fetch(`${ops.healthUrl}/readyz`);
    expect([notReady.status, await notReady.text()]).to.deep.equal([503, 'informers not synced\n']);
    ready = true;
    const isReady = await fetch(`${ops.healthUrl}/readyz`);
    expect([isReady.status, isReady.headers.get('content-type'), await isReady.text()]).to.deep.equal([200, 'text/plain', 'ok\n']);
  });

  it('keeps the two apart: no probes on the metrics port, no metrics on the health port', async () => {
    const probe = await fetch(`${ops.metricsUrl}/healthz`);
    expect([probe.status, await probe.text()]).to.deep.equal([404, 'not found\n']);
    const scrape = await fetch(`${ops.healthUrl}/metrics`);
    expect(scrape.status).to.equal(404);
    await scrape.body?.cancel();
  });

  it('refuses other methods than GET and HEAD, naming the one allowed', async () => {
    const res = await fetch(`${ops.metricsUrl}/metrics`, { method: 'POST', body: 'x' });
    expect([res.status, res.headers.get('allow'), await res.text()]).to.deep.equal([405, 'GET', '']);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const res = await fetch(`${ops.healthUrl}/healthz`, { method: 'HEAD' });
    expect([res.status, res.headers.get('content-type'), await res.text()]).to.deep.equal([200, 'text/plain', '']);
  });
});
