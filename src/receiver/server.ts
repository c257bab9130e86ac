// The receiver's HTTP(S) listener: timeouts that close slow clients, HTTPS when given a certificate,
// and a graceful stop that drains in-flight deliveries before the process exits.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';

export interface ListenOptions {
  port: number;
  host: string;
  tls?: { certFile: string; keyFile: string };
  /** Time allowed to receive the request headers (slowloris). */
  headersTimeoutMs: number;
  /** Time allowed to receive the whole request. */
  requestTimeoutMs: number;
  /** Errors of the listening socket itself (EMFILE on accept, for example); the server keeps going. */
  onError?: (error: Error) => void;
}

export interface RunningServer {
  url: string;
  server: http.Server;
  /** Stops accepting, waits up to drainMs for in-flight requests, then closes what is left. */
  close(drainMs?: number): Promise<void>;
}

export async function listen(app: Koa<never> | Koa, opts: ListenOptions): Promise<RunningServer> {
  const handler = app.callback();
  const common = {
    headersTimeout: opts.headersTimeoutMs,
    requestTimeout: opts.requestTimeoutMs,
    // Node enforces both timeouts only when it sweeps its connections, every 30 s by default: a
    // 10 s header timeout would let a slow client hold a socket for up to 40 s. Sweep often enough
    // that a timeout is enforced within a quarter of itself (at most a second late).
    connectionsCheckingInterval: checkingIntervalFor(opts.headersTimeoutMs),
    keepAliveTimeout: 5_000,
    maxHeaderSize: 16 * 1024,
  };
  const server: http.Server = opts.tls
    ? https.createServer({ ...common, cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) }, handler)
    : http.createServer(common, handler);
  // The response each connection is writing, so a client error can tell whether one has begun
  // (Node keeps that in a private socket field; we keep our own, from public events).
  const responses = new WeakMap<Duplex, http.ServerResponse>();
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    responses.set(req.socket, res);
    res.once('close', () => {
      if (responses.get(req.socket) === res) responses.delete(req.socket);
    });
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket, responses.get(socket)?.headersSent ?? false));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      // Without a listener, an accept error (out of file descriptors under a flood) crashes the process.
      server.on('error', opts.onError ?? (() => {}));
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

function checkingIntervalFor(headersTimeoutMs: number): number {
  return Math.max(25, Math.min(1_000, Math.floor(headersTimeoutMs / 4)));
}

/** How long a refused connection may take to read its answer before it is closed. */
const CLOSE_AFTER_ANSWER_MS = 1_000;

const CLIENT_ERRORS: Readonly<Record<string, { status: number; code: string; message: string }>> = {
  HPE_HEADER_OVERFLOW: { status: 431, code: 'headers_too_large', message: 'the request line or headers are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'request_timeout', message: 'the request did not arrive in time' },
};

/**
 * Requests that never reach the app (unparseable, headers too large, too slow) get a JSON answer
 * like every other one, instead of Node's bare status line. Never echoes what was received.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, answering: boolean): void {
  // As Node's default: nothing can be said on a socket that is gone or already answering.
  if (!socket.writable || answering || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const known = CLIENT_ERRORS[error.code ?? ''] ?? { status: 400, code: 'bad_http_request', message: 'the request is not valid HTTP/1.1' };
  const body = JSON.stringify({ error: known.code, message: known.message });
  socket.end(
    `HTTP/1.1 ${known.status} ${http.STATUS_CODES[known.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
  // end() only half-closes: a slow client that keeps sending and never reads would hold the socket
  // (until its headers overflow maxHeaderSize, minutes later) despite the timeout. Let the answer
  // leave, then close.
  setTimeout(() => socket.destroy(), CLOSE_AFTER_ANSWER_MS).unref();
}
