// 429 with Retry-After when a trigger receives more than its rateLimit (per replica).
import type { RoutingTable } from '../routing-table.ts';
import { rateLimited } from '../errors.ts';
import { servingRoute, type WebhookMiddleware } from '../webhook-context.ts';

export function rateLimit(routes: RoutingTable): WebhookMiddleware {
  return async (ctx, next) => {
    const bucket = routes.limiterFor(servingRoute(ctx));
    const waitSeconds = bucket?.take() ?? 0;
    if (waitSeconds > 0) throw rateLimited(waitSeconds);
    await next();
  };
}
