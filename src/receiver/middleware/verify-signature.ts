// 401 unless the request is signed (or authenticated) as the trigger's scheme requires; runs over
// the exact raw bytes, before anything parses them.
import { unauthorized } from '../errors.ts';
import { servingRoute, type WebhookMiddleware } from '../webhook-context.ts';

export function verifySignature(now: () => number): WebhookMiddleware {
  return async (ctx, next) => {
    const route = servingRoute(ctx);
    const nowMs = now();
    const result = route.verifier.verify({ rawBody: ctx.state.rawBody!, headers: ctx.req.headers, nowMs }, route.keysAt(nowMs));
    if (!result.ok) {
      ctx.state.failureReason = result.failure;
      throw unauthorized(result.failure, result.failure === 'stale_timestamp');
    }
    if (result.deliveryId !== undefined) ctx.state.deliveryId = result.deliveryId;
    if (result.replayKey !== undefined) ctx.state.replayKey = result.replayKey;
    await next();
  };
}
