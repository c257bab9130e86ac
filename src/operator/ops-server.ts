// The operations endpoints, apart from the webhooks: /metrics for Prometheus on the metrics port,
// /healthz (the process is alive) and /readyz (informers synced, so the receiver's routing is
// loaded) for the probes on the health port, so probes do not depend on who may scrape.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from '../observability/metrics.ts';

type Handler = (path: string, res: http.ServerResponse) => boolean;

export interface OpsServers {
  metricsUrl: string;
  healthUrl: string;
  close(): Promise<void>;
}

export async function startOpsServers(opts: { metricsPort: number; healthPort: number; host: string; metrics: Metrics; ready: () => boolean }): Promise<OpsServers> {
  const metricsHandler: Handler = (path, res) => {
    if (path !== '/metrics') return false;
    opts.metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': opts.metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
    return true;
  };
  const healthHandler: Handler = (path, res) => {
    if (path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
      return true;
    }
    if (path === '/readyz') {
      const ok = opts.ready();
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(ok ? 'ok\n' : 'informers not synced\n');
      return true;
    }
    return false;
  };
  const metrics = await serve(opts.metricsPort, opts.host, metricsHandler);
  const health = await serve(opts.healthPort, opts.host, healthHandler);
  return {
    metricsUrl: metrics.url,
    healthUrl: health.url,
    close: async () => {
      await Promise.all([metrics.close(), health.close()]);
    },
  };
}

async function serve(port: number, host: string, handle: Handler): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET' }).end();
      return;
    }
    if (!handle((req.url ?? '').split('?', 1)[0] ?? '', res)) res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
