// Reads the W3C trace context a sender put on the request. Only a traceparent that parses is kept
// (and later logged and stored): the header is caller input, and an invalid one is ignored, as the
// spec says, so the delivery starts a new trace instead.
import { parseTraceparent, parseTracestate } from '../../tracing/trace-context.ts';
import type { WebhookMiddleware } from '../webhook-context.ts';

export const readTraceContext: WebhookMiddleware = async (ctx, next) => {
  const incoming = parseTraceparent(ctx.get('traceparent') || undefined);
  if (incoming) {
    ctx.state.incomingTrace = incoming;
    ctx.state.traceparent = incoming.traceparent;
    // tracestate means nothing without the traceparent it belongs to.
    const tracestate = parseTracestate(ctx.get('tracestate') || undefined);
    if (tracestate) ctx.state.tracestate = tracestate;
  }
  await next();
};
