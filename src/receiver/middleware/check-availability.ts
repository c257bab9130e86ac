// 503 while a trigger is suspended or not Ready: the caller retries later and nothing is lost.
import { unavailable } from '../errors.ts';
import type { WebhookMiddleware } from '../webhook-context.ts';

export const checkAvailability: WebhookMiddleware = async (ctx, next) => {
  const route = ctx.state.route!;
  if (route.state === 'suspended') throw unavailable('suspended', 'this webhook is suspended', 60);
  if (route.state === 'not-ready') throw unavailable('not_ready', 'this webhook is not ready', 10);
  await next();
};
