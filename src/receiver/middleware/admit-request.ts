// 503 with Retry-After, before a byte of body is read, when the receiver already holds as many
// requests or body bytes as it may (request-budget.ts): the sender retries a moment later, instead
// of the process growing until the container is killed with every trigger it serves.
import { busy } from '../errors.ts';
import type { RequestBudget } from '../request-budget.ts';
import { servingRoute, type WebhookMiddleware } from '../webhook-context.ts';

export function admitRequest(budget: RequestBudget): WebhookMiddleware {
  return async (ctx, next) => {
    const route = servingRoute(ctx);
    // A declared length is held in full from the start (readBody refuses more than the trigger's
    // limit); a chunked body grows its hold as it arrives.
    const declared = Number(ctx.get('content-length') || 0);
    const ticket = budget.admit(`${route.namespace}/${route.name}`, Number.isSafeInteger(declared) && declared <= route.maxBytes ? declared : 0);
    if (!ticket) throw busy();
    ctx.state.budget = { ticket, declared: declared > 0 ? declared : 0 };
    try {
      await next();
    } finally {
      ticket.release();
    }
  };
}
