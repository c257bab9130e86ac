// 400 for a request that says it is a CloudEvent but is not a valid one, 415 for a batch. A valid
// event's attributes become available to params (from: cloudevent) and its source + id become the
// delivery key; in structured mode its data stands for the body from here on. Runs after the
// signature check: the signature covers the raw bytes, whatever their format.
import {
  isBatchedCloudEvents,
  isBinaryCloudEvent,
  isStructuredCloudEvent,
  readBinaryCloudEvent,
  readStructuredCloudEvent,
  type CloudEventResult,
} from '../cloudevents/cloudevent.ts';
import { badRequest, WebhookError } from '../errors.ts';
import type { WebhookMiddleware } from '../webhook-context.ts';
import { parseJsonBody } from './parse-payload.ts';

export const readCloudEvent: WebhookMiddleware = async (ctx, next) => {
  const contentType = ctx.get('content-type') || undefined;
  let result: CloudEventResult;
  if (isBatchedCloudEvents(contentType)) {
    throw new WebhookError(415, 'unsupported_media_type', 'cloudevents_batch_unsupported', 'batched CloudEvents are not accepted: send one event per request (binary or structured mode)');
  } else if (isStructuredCloudEvent(contentType)) {
    result = readStructuredCloudEvent(parseJsonBody(ctx.state.rawBody!));
  } else if (isBinaryCloudEvent(ctx.req.headers)) {
    result = readBinaryCloudEvent(ctx.req.headers);
  } else {
    await next();
    return;
  }
  if (!result.ok) throw badRequest(result.code, result.message);
  ctx.state.cloudEvent = result.event;
  if (result.event.mode === 'structured') ctx.state.body = result.event.data;
  await next();
};
