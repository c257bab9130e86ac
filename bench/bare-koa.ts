// The reject path's baselines: a bare Koa app, in its own process like the operator, that answers
// every request with the 401 JSON answer the receiver gives a bad signature.
//   node bench/bare-koa.ts           answers without looking at the request (the baseline of figure 1)
//   node bench/bare-koa.ts verify    first reads the body and checks an HMAC-SHA256 over it, as any
//                                    verifying receiver must (shown for context: the work that cannot go)
//   node bench/bare-koa.ts observe LOG
//                                    verifies, then writes the receiver's log line (to the file LOG)
//                                    and records its metrics, through the operator's own
//                                    observeRequest: what the two things the issue keeps cost the
//                                    least verifying app (figure 1d)
// Prints {"url": ...} once listening; exits on SIGTERM.
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import Koa from 'koa';
import { createLogger, logDestination } from '../src/observability/logger.ts';
import { createMetrics } from '../src/observability/metrics.ts';
import { observeRequest } from '../src/operator/observe-request.ts';
import type { Route } from '../src/receiver/compile-route.ts';
import type { WebhookContext, WebhookState } from '../src/receiver/webhook-context.ts';

const mode = process.argv[2];
const verify = mode === 'verify' || mode === 'observe';
// A prepared KeyObject, as the receiver keeps one: importing raw key bytes costs an HMAC 10 µs more.
const KEY = createSecretKey(Buffer.from('pxs_bare-koa-baseline-secret'));
const answer = { error: 'invalid_signature', message: 'the request is not signed or authenticated as this webhook requires' };

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const app = new Koa();
if (mode === 'observe') {
  const logFile = process.argv[3];
  if (!logFile) throw new Error('observe mode needs a log file');
  // As the operator's: its destination (batched asynchronous writes), one line per request at level info.
  const logger = createLogger({ destination: logDestination(logFile) });
  const observe = observeRequest({ metrics: createMetrics(), logger: logger.child({ component: 'receiver' }) });
  app.use(async (ctx, next) => {
    const started = performance.now();
    await next();
    // What the receiver knows of a badly signed request when it reports it.
    // (observeRequest reads only the route's namespace and name.)
    const state: Partial<WebhookState> = { route: { namespace: 'bench', name: 'hook-0' } as Route, failureReason: 'invalid_signature' };
    Object.assign(ctx.state, state);
    observe({ ctx: ctx as WebhookContext, status: ctx.status, outcome: 'unauthorized', durationSeconds: (performance.now() - started) / 1000 });
  });
}
app.use(async (ctx) => {
  if (verify) {
    const body = await readBody(ctx.req);
    const header = ctx.get('x-planasonix-signature');
    const t = /t=(\d+)/.exec(header)?.[1] ?? '';
    const v1 = Buffer.from(/v1=([0-9a-f]{64})/.exec(header)?.[1] ?? '', 'hex');
    const expected = createHmac('sha256', KEY).update(`${t}.`).update(body).digest();
    if (v1.length === expected.length && timingSafeEqual(v1, expected)) {
      ctx.status = 204;
      return;
    }
  }
  ctx.status = 401;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = answer;
});
const server = http.createServer(app.callback());
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
