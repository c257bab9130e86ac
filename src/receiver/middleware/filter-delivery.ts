// spec.filter, after the signature check and before anything is written: a delivery the filter does
// not match is answered 200 {"filtered": true} and creates nothing; one whose evaluation spends its
// whole budget is answered 400, since the same payload would spend it again.
import { v7 as uuidv7 } from 'uuid';
import { prepareFilterInput, type PreparedFilterInput } from '../../triggers/filter/compile-filter.ts';
import { badRequest, unavailable } from '../errors.ts';
import { servingRoute, type WebhookContext, type WebhookMiddleware } from '../webhook-context.ts';
import type { ServingRoute } from '../compile-route.ts';

export const filterDelivery: WebhookMiddleware = async (ctx, next) => {
  const route = servingRoute(ctx);
  if (route.filter) {
    const result = route.filter.evaluate(filterInputOf(ctx, route));
    if ('limitExceeded' in result) throw filterLimitExceeded(result.timedOut === true);
    if (!result.matched) return answerFiltered(ctx, 'error' in result ? result.error : undefined);
  }
  await next();
};

/**
 * 400 when the units ran out: the same payload spends them again. 503 when the clock did: that
 * depends on the machine's load as well, so the sender may retry.
 */
export const filterLimitExceeded = (timedOut = false) =>
  timedOut
    ? unavailable('filter_timeout', 'the trigger\'s filter did not finish in time on this payload; retry later')
    : badRequest('filter_limit_exceeded', 'the trigger\'s filter could not be evaluated on this payload within its cost limit');

/** The delivery as filters see it, converted once per request (the trigger's filter and each target's). */
export function filterInputOf(ctx: WebhookContext, route: ServingRoute): PreparedFilterInput {
  ctx.state.filterInput ??= prepareFilterInput({
    body: ctx.state.body ?? null,
    headers: headersOf(ctx.req.headers),
    query: queryOf(ctx.querystring),
    trigger: { name: route.name, namespace: route.namespace },
    cloudevent: ctx.state.cloudEvent?.attributes ?? {},
  });
  return ctx.state.filterInput;
}

/**
 * 200, because the delivery was received and understood: a sender retries anything else. The
 * correlation ID is new, so the sender's log and the receiver's log line can still be matched.
 */
export function answerFiltered(ctx: WebhookContext, evaluationError: string | undefined): void {
  const correlationId = uuidv7();
  ctx.state.correlationId = correlationId;
  ctx.state.outcome = 'filtered';
  ctx.set('X-Correlation-ID', correlationId);
  ctx.status = 200;
  ctx.body = { filtered: true, correlationId, ...(evaluationError !== undefined ? { filterError: evaluationError } : {}) };
}

function headersOf(headers: NodeJS.Dict<string | string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** The first value of each query parameter, as params from: query read it. */
function queryOf(querystring: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(querystring)) if (!Object.hasOwn(out, name)) out[name] = value;
  return out;
}
