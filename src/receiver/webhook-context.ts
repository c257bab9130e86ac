// What the middleware chain learns about one request, step by step (Koa's ctx.state).
import type { ParameterizedContext } from 'koa';
import type { Route, ServingRoute } from './compile-route.ts';
import type { WebhookOutcome } from '../api/constants.ts';
import type { PreparedFilterInput } from '../triggers/filter/compile-filter.ts';
import type { TraceContext } from '../tracing/trace-context.ts';
import type { ReceivedCloudEvent } from './cloudevents/cloudevent.ts';
import type { BudgetTicket } from './request-budget.ts';

export interface WebhookState {
  receivedAt: Date;
  route?: Route;
  /** This request's hold on the receiver's request budget, and the body length it declared. */
  budget?: { ticket: BudgetTicket; declared: number };
  rawBody?: Buffer;
  /** From the verified request: the sender's delivery ID and a fingerprint of the signed content. */
  deliveryId?: string;
  replayKey?: string;
  /** The parsed JSON body, when the route needs one; a structured CloudEvent's data. */
  body?: unknown;
  /** The delivery as CEL filters read it, prepared once per request. */
  filterInput?: PreparedFilterInput;
  /** The request as a CloudEvent (binary or structured mode), when it is one (read-cloudevent). */
  cloudEvent?: ReceivedCloudEvent;
  outcome?: WebhookOutcome;
  /** Why verification failed (for the signature-failure metric); never shown to the caller. */
  failureReason?: string;
  correlationId?: string;
  /** The sender's valid W3C traceparent, and its tracestate (read-trace-context). */
  incomingTrace?: TraceContext;
  tracestate?: string;
  /** The traceparent the log line shows: the sender's, then the one stored on the run. */
  traceparent?: string;
  pipelineRun?: { namespace: string; name: string };
  /** Every run the delivery maps to (one per matching target), and whether this request created it. */
  pipelineRuns?: { namespace: string; name: string; pipeline: string; created: boolean }[];
}

export type WebhookContext = ParameterizedContext<WebhookState>;
export type WebhookMiddleware = (ctx: WebhookContext, next: () => Promise<void>) => Promise<void>;

/** The route of a request that passed check-availability; a step placed before it is a wiring error. */
export function servingRoute(ctx: WebhookContext): ServingRoute {
  const route = ctx.state.route;
  if (route?.state !== 'serving') throw new Error('servingRoute read before check-availability let the request through');
  return route;
}
