// What the middleware chain learns about one request, step by step (Koa's ctx.state).
import type { ParameterizedContext } from 'koa';
import type { Route } from './compile-route.ts';
import type { RequestOutcome } from './errors.ts';
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
  /** The parsed JSON body, when the route needs one. */
  body?: unknown;
  outcome?: RequestOutcome;
  /** Why verification failed (for the signature-failure metric); never shown to the caller. */
  failureReason?: string;
  correlationId?: string;
  pipelineRun?: { namespace: string; name: string };
}

export type WebhookContext = ParameterizedContext<WebhookState>;
export type WebhookMiddleware = (ctx: WebhookContext, next: () => Promise<void>) => Promise<void>;
