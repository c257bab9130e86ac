// 404 for any path that is not a live webhook (the same answer for a path that never existed and for
// a deleted trigger's), 405 for methods other than POST on a live one.
import type { RoutingTable } from '../routing-table.ts';
import { methodNotAllowed, notFound } from '../errors.ts';
import type { WebhookMiddleware } from '../webhook-context.ts';

export function findRoute(routes: RoutingTable): WebhookMiddleware {
  return async (ctx, next) => {
    // ctx.path is percent-decoded by Koa; the raw path keeps encoded slashes and dot segments from
    // matching a route they only resemble.
    const rawPath = ctx.url.split('?', 1)[0] ?? '';
    const route = routes.lookup(rawPath);
    if (!route) throw notFound();
    ctx.state.route = route;
    if (ctx.method !== 'POST') throw methodNotAllowed();
    await next();
  };
}
