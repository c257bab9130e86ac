// The one place where failures become answers: a typed WebhookError becomes its status, headers and
// a JSON body with a machine-readable code; anything unexpected becomes a 503 (the caller retries),
// never a 500 that a caller would treat as final. Every request is reported once to `observe`.
import { performance } from 'node:perf_hooks';
import { WebhookError } from '../errors.ts';
import type { WebhookOutcome } from '../../api/constants.ts';
import type { WebhookContext, WebhookMiddleware } from '../webhook-context.ts';

export interface RequestReport {
  ctx: WebhookContext;
  status: number;
  outcome: WebhookOutcome;
  durationSeconds: number;
  /** Unexpected errors only (bugs, API failures); safe to log: no bodies, no secrets. */
  error?: unknown;
}

export function respondWithErrors(observe: (report: RequestReport) => void): WebhookMiddleware {
  return async (ctx, next) => {
    const started = performance.now();
    ctx.state.receivedAt = new Date();
    let error: unknown;
    try {
      await next();
    } catch (e) {
      const failure =
        e instanceof WebhookError ? e : new WebhookError(503, 'unavailable', 'internal_error', 'the delivery could not be processed; retry later', { headers: { 'Retry-After': '5' } });
      if (!(e instanceof WebhookError) || failure.status === 503) error = (e as { cause?: unknown }).cause ?? e;
      ctx.state.outcome = failure.outcome;
      ctx.status = failure.status;
      ctx.set(failure.headers);
      // A body we refused (413) or never needed (404, 403, 429, ...) that is still arriving would be
      // read and discarded to keep the connection alive; closing costs the caller one reconnect.
      if (!ctx.req.complete) ctx.set('Connection', 'close');
      ctx.body = { error: failure.code, message: failure.message, ...(failure.problems ? { problems: failure.problems } : {}) };
    }
    ctx.set('Cache-Control', 'no-store');
    try {
      observe({
        ctx,
        status: ctx.status,
        outcome: ctx.state.outcome ?? 'error',
        durationSeconds: (performance.now() - started) / 1000,
        ...(error !== undefined ? { error } : {}),
      });
    } catch {
      // Reporting must never change the answer: a throw here would reach Koa, which answers 500.
    }
  };
}
