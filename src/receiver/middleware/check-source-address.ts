// 403 when the caller's address is outside the trigger's allowedSourceRanges. X-Forwarded-For is
// believed only when it arrives through a proxy the operator was told to trust.
import { clientAddress } from '../../util/source-ranges.ts';
import { forbidden } from '../errors.ts';
import type { WebhookMiddleware } from '../webhook-context.ts';

export function checkSourceAddress(trustedProxies: (ip: string) => boolean): WebhookMiddleware {
  return async (ctx, next) => {
    const allows = ctx.state.route!.allowsAddress;
    if (allows) {
      const forwarded = ctx.get('x-forwarded-for') || undefined;
      const address = clientAddress(ctx.req.socket.remoteAddress ?? '', forwarded, trustedProxies);
      if (!allows(address)) throw forbidden();
    }
    await next();
  };
}
