// The receiver: a straight pipeline in which every step maps to one status code (as in Flux's
// handlePayload). It does no work itself — it verifies, maps, and records the delivery as a
// PipelineRun for the run controller to execute.
import Koa from 'koa';
import type { KubeClient } from '../kube/client.ts';
import type { RoutingTable } from './routing-table.ts';
import type { WebhookState } from './webhook-context.ts';
import { respondWithErrors, type RequestReport } from './middleware/respond-with-errors.ts';
import { readTraceContext } from './middleware/read-trace-context.ts';
import { findRoute } from './middleware/find-route.ts';
import { checkAvailability } from './middleware/check-availability.ts';
import { checkSourceAddress } from './middleware/check-source-address.ts';
import { rateLimit } from './middleware/rate-limit.ts';
import { readBody } from './middleware/read-body.ts';
import { admitRequest } from './middleware/admit-request.ts';
import { RequestBudget } from './request-budget.ts';
import { verifySignature } from './middleware/verify-signature.ts';
import { readCloudEvent } from './middleware/read-cloudevent.ts';
import { parsePayload } from './middleware/parse-payload.ts';
import { filterDelivery } from './middleware/filter-delivery.ts';
import { createPipelineRun } from './middleware/create-pipeline-run.ts';

export interface ReceiverOptions {
  routes: RoutingTable;
  client: KubeClient;
  trustedProxies: (ip: string) => boolean;
  /** Budget for storing one PipelineRun before answering 503. */
  createTimeoutMs: number;
  /** Requests and body bytes held at once; unbounded when omitted (unit tests only). */
  budget?: RequestBudget;
  /** Largest sum of a delivery's mapped param values, in UTF-8 bytes. */
  maxParamsBytes?: number;
  observe: (report: RequestReport) => void;
  now?: () => number;
}

export function createReceiverApp(opts: ReceiverOptions): Koa<WebhookState> {
  const app = new Koa<WebhookState>();
  app.proxy = false; // client addresses are resolved by checkSourceAddress with --trusted-proxies
  app.silent = true; // errors are reported through `observe`, never printed with request details
  app.use(respondWithErrors(opts.observe)); // every answer below is shaped here
  app.use(readTraceContext); //                 the sender's traceparent, for the log line and the run
  app.use(findRoute(opts.routes)); //          404, 405
  // The address check comes first, so a caller outside the allowed ranges learns nothing about
  // the trigger's state, only that it may not call.
  app.use(checkSourceAddress(opts.trustedProxies)); // 403
  app.use(checkAvailability); //               503 suspended or not Ready
  app.use(rateLimit(opts.routes)); //          429
  app.use(admitRequest(opts.budget ?? new RequestBudget({ maxRequests: Infinity, maxBodyBytes: Infinity }))); // 503 busy
  app.use(readBody); //                        413
  app.use(verifySignature(opts.now ?? Date.now)); // 401
  app.use(readCloudEvent); //                  400 invalid CloudEvent, 415 batch
  app.use(parsePayload); //                    415, 400
  app.use(filterDelivery); //                  200 filtered, 400 filter over its cost limit
  app.use(createPipelineRun(opts.client, { timeoutMs: opts.createTimeoutMs, maxParamsBytes: opts.maxParamsBytes ?? Infinity })); // 202, 200 duplicate, 400 strict, 503
  return app;
}
