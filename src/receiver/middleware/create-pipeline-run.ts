// Maps the payload to params, derives the delivery's identity and creates its PipelineRun. 202 only
// once the API server has stored it; 200 with the original correlation ID for a duplicate; 503 with
// Retry-After when the API server cannot take it, so the caller retries and nothing is lost.
import { v7 as uuidv7 } from 'uuid';
import type { PipelineRun } from '../../api/types.ts';
import type { KubeClient } from '../../kube/client.ts';
import { RESOURCES } from '../../kube/resources.ts';
import { isKubeError, type KubeError } from '../../kube/errors.ts';
import { mapParams } from '../payload/map-params.ts';
import { parseJsonPointer, resolveJsonPointer } from '../payload/json-pointer.ts';
import { newDeliveryKey, pipelineRunNameFor } from '../delivery-key.ts';
import { buildPipelineRun, buildSensitiveParamsSecret, sensitiveParamsSecretName } from '../build-pipeline-run.ts';
import { badRequest, unavailable, WebhookError } from '../errors.ts';
import type { WebhookContext, WebhookMiddleware } from '../webhook-context.ts';
import type { Route } from '../compile-route.ts';

const MAX_DELIVERY_KEY = 256;

export function createPipelineRun(client: KubeClient, opts: { timeoutMs: number }): WebhookMiddleware {
  return async (ctx) => {
    const route = ctx.state.route!;
    const mapped = mapParams(route.params, { body: ctx.state.body, headers: ctx.req.headers, query: new URLSearchParams(ctx.querystring) });
    if (route.strict && mapped.errors.length > 0) {
      throw badRequest('invalid_params', 'the payload does not provide the params this webhook requires', mapped.errors.map((e) => ({ path: e.param, message: e.message })));
    }
    const deliveryKey = deliveryKeyOf(ctx, route);
    const runName = pipelineRunNameFor(route.name, route.uid, deliveryKey);
    const run = buildPipelineRun(route, {
      runName,
      deliveryKey,
      correlationId: uuidv7(),
      receivedAt: ctx.state.receivedAt,
      params: mapped.params,
      sensitive: mapped.sensitive,
      payloadErrors: mapped.errors,
    });

    let stored: PipelineRun;
    let duplicate = false;
    try {
      stored = await client.create(RESOURCES.pipelineRuns, run, { timeoutMs: opts.timeoutMs });
    } catch (e) {
      if (!(isKubeError(e) && e.alreadyExists)) throw apiUnavailable(e);
      stored = await client.get<PipelineRun>(RESOURCES.pipelineRuns, route.namespace, runName).catch((err: unknown) => {
        throw apiUnavailable(err);
      });
      if (stored.spec.trigger?.deliveryId !== deliveryKey) {
        // Two different deliveries hashed to one name: refuse rather than report the wrong run.
        throw new WebhookError(409, 'bad_request', 'delivery_conflict', 'this delivery collides with another one; retry with a different delivery ID');
      }
      duplicate = true;
    }
    if (Object.keys(mapped.sensitive).length > 0) await ensureSensitiveParams(client, stored, mapped.sensitive, opts.timeoutMs);

    ctx.state.correlationId = stored.spec.correlationId;
    ctx.state.pipelineRun = { namespace: route.namespace, name: runName };
    ctx.state.outcome = duplicate ? 'duplicate' : 'accepted';
    ctx.set('X-Correlation-ID', stored.spec.correlationId);
    ctx.status = duplicate ? 200 : 202;
    ctx.body = { correlationId: stored.spec.correlationId, pipelineRun: ctx.state.pipelineRun, duplicate };
  };
}

/**
 * The key that makes a retry the same delivery: the sender's delivery ID when the scheme has one,
 * else the fingerprint of the signed request (a replay within the tolerance), else an
 * Idempotency-Key header; a request with none of these is always a new delivery.
 */
function deliveryKeyOf(ctx: WebhookContext, route: Route): string {
  const idem = route.idempotency;
  let key: string | undefined;
  if (idem.from === 'header') {
    key = ctx.get(idem.header ?? '') || undefined;
    if (!key) throw badRequest('missing_delivery_id', `the ${idem.header} header is required`);
    key = `header:${key}`;
  } else if (idem.from === 'body') {
    const found = resolveJsonPointer(ctx.state.body, parseJsonPointer(idem.path ?? ''));
    const v = found.value;
    if (!found.found || (typeof v !== 'string' && typeof v !== 'number') || v === '') {
      throw badRequest('missing_delivery_id', `the body must hold a string or number at ${idem.path}`, [{ path: idem.path ?? '', message: 'is required' }]);
    }
    key = `body:${String(v)}`;
  } else if (ctx.state.deliveryId) key = `id:${ctx.state.deliveryId}`;
  else if (ctx.state.replayKey) key = `replay:${ctx.state.replayKey}`;
  else if (ctx.get('idempotency-key')) key = `header:${ctx.get('idempotency-key')}`;
  else key = newDeliveryKey();
  if (key.length > MAX_DELIVERY_KEY) throw badRequest('delivery_id_too_long', `delivery IDs are limited to ${MAX_DELIVERY_KEY} characters`);
  return key;
}

async function ensureSensitiveParams(client: KubeClient, run: PipelineRun, values: Record<string, string>, timeoutMs: number): Promise<void> {
  try {
    await client.create(RESOURCES.secrets, buildSensitiveParamsSecret(run, values), { timeoutMs });
  } catch (e) {
    if (isKubeError(e) && e.alreadyExists) return;
    // The run exists but cannot start without its params: the caller's retry lands on the duplicate path and completes it.
    throw apiUnavailable(e, `${sensitiveParamsSecretName(run.metadata.name!)} not stored`);
  }
}

function apiUnavailable(e: unknown, detail?: string): WebhookError {
  if (e instanceof WebhookError) return e;
  const err = e as KubeError;
  const retry = isKubeError(e) && e.retryAfterSeconds ? e.retryAfterSeconds : 5;
  const error = unavailable('api_unavailable', 'the delivery could not be stored; retry later', retry);
  (error as WebhookError & { cause?: unknown }).cause = detail ? `${detail}: ${err?.message}` : err?.message;
  return error;
}
