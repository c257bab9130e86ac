// The receiver's HTTP(S) listener: timeouts that close slow clients, HTTPS when given a certificate,
// and a graceful stop that drains in-flight deliveries before the process exits.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';

export interface ListenOptions {
  port: number;
  host: string;
  tls?: { certFile: string; keyFile: string };
  /** Time allowed to receive the request headers (slowloris). */
  headersTimeoutMs: number;
  /** Time allowed to receive the whole request. */
  requestTimeoutMs: number;
}

export interface RunningServer {
  url: string;
  server: http.Server;
  /** Stops accepting, waits up to drainMs for in-flight requests, then closes what is left. */
  close(drainMs?: number): Promise<void>;
}

export async function listen(app: Koa<never> | Koa, opts: ListenOptions): Promise<RunningServer> {
  const handler = app.callback();
  const common = { headersTimeout: opts.headersTimeoutMs, requestTimeout: opts.requestTimeoutMs, keepAliveTimeout: 5_000, maxHeaderSize: 16 * 1024 };
  const server: http.Server = opts.tls
    ? https.createServer({ ...common, cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) }, handler)
    : http.createServer(common, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `${opts.tls ? 'https' : 'http'}://${host}:${address.port}`,
    server,
    async close(drainMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), drainMs);
      await closed;
      clearTimeout(timer);
    },
  };
}
