// Maps the payload to params, derives the delivery's identity and creates its PipelineRun. 202 only
// once the API server has stored it; 200 with the original correlation ID for a duplicate; 503 with
// Retry-After when the API server cannot take it now, so the caller retries and nothing is lost; 400
// when it never will (the run is invalid, too large, or its namespace is going away), so the caller
// stops retrying. In lenient mode a refused run is recorded instead as a Failed run without params.
import { v7 as uuidv7 } from 'uuid';
import type { AuthScheme, PipelineRun } from '../../api/types.ts';
import type { KubeClient } from '../../kube/client.ts';
import { RESOURCES } from '../../kube/resources.ts';
import { isKubeError, isNamespaceTerminating, type KubeError } from '../../kube/errors.ts';
import { mapParams, type MappedParams } from '../payload/map-params.ts';
import { resolveJsonPointer } from '../../util/json-pointer.ts';
import { newDeliveryKey, pipelineRunNameFor } from '../delivery-key.ts';
import { cloudEventDeliveryKey } from '../cloudevents/cloudevent.ts';
import { buildPipelineRun, buildSensitiveParamsSecret } from '../build-pipeline-run.ts';
import { claimReplayKey, ClaimUnsettled, type ReplayClaim } from '../delivery-records.ts';
import { ANNOTATIONS, paramsSecretName } from '../../api/constants.ts';
import { traceparentFromCorrelationId } from '../../tracing/trace-context.ts';
import { badRequest, unavailable, WebhookError } from '../errors.ts';
import { servingRoute, type WebhookContext, type WebhookMiddleware } from '../webhook-context.ts';
import type { ServingRoute } from '../compile-route.ts';
import type { CompiledTarget } from '../../triggers/compiled-trigger.ts';
import { answerFiltered, filterInputOf, filterLimitExceeded } from './filter-delivery.ts';

const MAX_DELIVERY_KEY = 256;

/**
 * Schemes whose delivery-ID header is outside the signature: a captured request can be replayed
 * with a new ID, so the replay key must be checked as well as the ID.
 */
const UNSIGNED_DELIVERY_ID: ReadonlySet<AuthScheme> = new Set(['planasonix', 'github']);

export function createPipelineRun(client: KubeClient, opts: { timeoutMs: number; maxParamsBytes: number; now?: () => number }): WebhookMiddleware {
  const now = opts.now ?? Date.now;
  return async (ctx) => {
    const route = servingRoute(ctx);
    const targets = matchingTargets(ctx, route);
    if (targets.length === 0) return answerFiltered(ctx, undefined);
    const cloudEvent = ctx.state.cloudEvent;
    const source = {
      body: ctx.state.body,
      headers: ctx.req.headers,
      query: new URLSearchParams(ctx.querystring),
      ...(cloudEvent ? { cloudEvent: cloudEvent.attributes } : {}),
    };
    const planned = targets.map((target) => ({ target, mapped: mapParams(target.params, source, { maxTotalBytes: opts.maxParamsBytes }) }));
    const errors = planned.flatMap(({ target, mapped }) => mapped.errors.map((e) => ({ path: problemPathOf(target, e.param), message: e.message })));
    if (route.strict && errors.length > 0) {
      throw badRequest('invalid_params', 'the payload does not provide the params this webhook requires', uniqueProblems(errors));
    }
    let { key: deliveryKey, unsigned } = deliveryKeyOf(ctx, route);
    const replayKey = ctx.state.replayKey;

    const nowMs = now();

    // A key the signature does not cover (an unsigned delivery-ID header, a binary CloudEvent's
    // id, an idempotency header) can be changed on a captured request. So the signed content's
    // replay key is claimed first, with a DeliveryRecord (the API server's create is the claim,
    // across replicas); a replay of signed content under a fresh key is the earlier delivery: its
    // key finds the earlier runs (and completes any a failed attempt left missing).
    if (replayKey && (unsigned || route.idempotency.from === 'header')) {
      let claim: ReplayClaim;
      try {
        claim = await claimReplayKey(client, route, { replayKey, deliveryKey, nowMs, timeoutMs: opts.timeoutMs });
      } catch (e) {
        throw apiUnavailable(e instanceof ClaimUnsettled ? e.cause : e);
      }
      if (claim.outcome === 'replay') {
        deliveryKey = claim.deliveryKey;
      }
    }

    // The first target's run first: a retry that finds it adopts its correlation ID, so every run
    // of one delivery carries the same ID even when an earlier attempt stored only some of them.
    const delivery: Delivery = {
      route,
      deliveryKey,
      replayKey,
      receivedAt: ctx.state.receivedAt,
      incomingTrace: ctx.state.incomingTrace,
      tracestate: ctx.state.tracestate,
      // History keeps the runs while their key must deduplicate: a retry of this delivery after
      // they were pruned would otherwise start them again.
      ...(deliveryKey.startsWith('generated:') ? {} : { keepUntil: new Date(nowMs + route.replayWindowMs) }),
    };
    const [first, ...rest] = planned;
    const stored = [await storeRun(client, delivery, first!.target, first!.mapped, uuidv7(), opts.timeoutMs)];
    const correlationId = stored[0]!.run.spec.correlationId;
    stored.push(...(await Promise.all(rest.map(({ target, mapped }) => storeRun(client, delivery, target, mapped, correlationId, opts.timeoutMs)))));
    answer(ctx, stored);
  };
}

interface Delivery {
  route: ServingRoute;
  deliveryKey: string;
  replayKey: string | undefined;
  receivedAt: Date;
  incomingTrace: WebhookContext['state']['incomingTrace'];
  tracestate: string | undefined;
  /** Until when history must keep the runs (the trigger's replay window from now). */
  keepUntil?: Date;
}

interface StoredRun {
  target: CompiledTarget;
  run: PipelineRun;
  duplicate: boolean;
}

/** The targets whose filters match, in spec order; a filter over its cost limit refuses the delivery. */
function matchingTargets(ctx: WebhookContext, route: ServingRoute): CompiledTarget[] {
  return route.targets.filter((target) => {
    if (!target.filter) return true;
    const result = target.filter.evaluate(filterInputOf(ctx, route));
    if ('limitExceeded' in result) throw filterLimitExceeded(result.timedOut === true);
    return result.matched;
  });
}

/**
 * Creates one target's run, or finds the one an earlier attempt of this delivery stored (its name
 * is derived from the delivery key and the target), and makes sure its sensitive params exist.
 */
async function storeRun(client: KubeClient, d: Delivery, target: CompiledTarget, mapped: MappedParams, correlationId: string, timeoutMs: number): Promise<StoredRun> {
  const { route, deliveryKey } = d;
  const runName = pipelineRunNameFor(route.name, route.uid, deliveryKey, target.shorthand ? undefined : target.name);
  const run = buildPipelineRun(route, target, {
    runName,
    deliveryKey,
    ...(d.replayKey ? { replayKey: d.replayKey } : {}),
    ...(d.keepUntil ? { keepUntil: d.keepUntil } : {}),
    correlationId,
    // The sender's trace, else a new one seeded by the correlation ID.
    traceparent: (d.incomingTrace ?? traceparentFromCorrelationId(correlationId)).traceparent,
    ...(d.tracestate ? { tracestate: d.tracestate } : {}),
    receivedAt: d.receivedAt,
    params: mapped.params,
    sensitive: mapped.sensitive,
    payloadErrors: mapped.errors,
  });
  const isThisDelivery = (stored: PipelineRun) => stored.spec.trigger?.deliveryId === deliveryKey && stored.spec.trigger?.target === run.spec.trigger?.target;

  let stored: PipelineRun;
  let duplicate = false;
  try {
    stored = await client.create(RESOURCES.pipelineRuns, run, { timeoutMs });
  } catch (e) {
    if (isPermanentRefusal(e) && !route.strict && !isNamespaceTerminating(e)) {
      // Lenient mode records what it could not run, as it does for a payload that misses params:
      // a run without params that the run controller marks Failed (InvalidPayload).
      const refusal = [{ param: '(run)', message: `the API server refused the run (${describeRefusal(e)}); its params were dropped` }];
      stored = await createOrRead(client, { ...run, spec: { ...run.spec, params: {}, payloadErrors: [...(run.spec.payloadErrors ?? []), ...refusal] } }, timeoutMs);
      if (!isThisDelivery(stored)) throw deliveryConflict();
      return { target, run: stored, duplicate: stored.spec.correlationId !== run.spec.correlationId };
    }
    if (isPermanentRefusal(e)) throw refused(e);
    if (!(isKubeError(e) && e.alreadyExists)) throw apiUnavailable(e);
    stored = await client.get<PipelineRun>(RESOURCES.pipelineRuns, route.namespace, runName).catch((err: unknown) => {
      throw apiUnavailable(err);
    });
    // Two different deliveries hashed to one name: refuse rather than report the wrong run.
    if (!isThisDelivery(stored)) throw deliveryConflict();
    duplicate = true;
  }
  if (Object.keys(mapped.sensitive).length > 0) await ensureSensitiveParams(client, stored, mapped.sensitive, timeoutMs);
  return { target, run: stored, duplicate };
}

/**
 * 202 when this request created a run, 200 when every run already existed (a duplicate). The
 * answer names every run; `pipelineRun` is the first target's, as before targets existed.
 */
function answer(ctx: WebhookContext, stored: readonly StoredRun[]): void {
  const first = stored[0]!;
  const correlationId = first.run.spec.correlationId;
  const duplicate = stored.every((s) => s.duplicate);
  const refOf = (run: PipelineRun) => ({ namespace: run.metadata.namespace!, name: run.metadata.name! });
  ctx.state.correlationId = correlationId;
  ctx.state.pipelineRun = refOf(first.run);
  ctx.state.pipelineRuns = stored.map((s) => ({ ...refOf(s.run), pipeline: s.target.pipelineName, created: !s.duplicate }));
  // A duplicate answers with the first delivery's run, so the log line names that run's trace.
  const traceparent = first.run.metadata.annotations?.[ANNOTATIONS.traceparent];
  if (traceparent) ctx.state.traceparent = traceparent;
  ctx.state.outcome = duplicate ? 'duplicate' : 'accepted';
  ctx.set('X-Correlation-ID', correlationId);
  ctx.status = duplicate ? 200 : 202;
  ctx.body = {
    correlationId,
    pipelineRun: ctx.state.pipelineRun,
    pipelineRuns: stored.map((s) => ({ ...(s.target.shorthand ? {} : { target: s.target.name }), ...refOf(s.run), duplicate: s.duplicate })),
    duplicate,
  };
}

function uniqueProblems(problems: { path: string; message: string }[]): { path: string; message: string }[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\0${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// Strict mode lists problems by where the value should have been, never by the value.
function problemPathOf(target: CompiledTarget, param: string): string {
  const mapping = target.params.find((p) => p.name === param);
  if (mapping?.from === 'body' && mapping.path !== undefined) return mapping.path;
  if (mapping?.from === 'header' && mapping.header) return `header:${mapping.header}`;
  if (mapping?.from === 'query' && mapping.query) return `query:${mapping.query}`;
  return param;
}

/**
 * The key that makes a retry the same delivery: spec.idempotency when set; else a CloudEvent's
 * source and id (the spec makes that pair unique per event); else the sender's delivery ID when the
 * scheme has one; else the fingerprint of the signed request (a replay within the tolerance), else
 * an Idempotency-Key header; a request with none of these is always a new delivery. `unsigned` says
 * the key came from a header the signature does not cover, so a captured request could be replayed
 * under a fresh key: the caller then also checks the replay key.
 */
function deliveryKeyOf(ctx: WebhookContext, route: ServingRoute): { key: string; unsigned: boolean } {
  const idem = route.idempotency;
  let key: string | undefined;
  let unsigned = false;
  if (idem.from === 'header') {
    key = ctx.get(idem.header) || undefined;
    if (!key) throw badRequest('missing_delivery_id', `the ${idem.header} header is required`);
    key = `header:${key}`;
  } else if (idem.from === 'body') {
    const found = resolveJsonPointer(ctx.state.body, idem.pointer);
    const v = found.value;
    if (!found.found || (typeof v !== 'string' && typeof v !== 'number') || v === '') {
      throw badRequest('missing_delivery_id', `the body must hold a string or number at ${idem.path}`, [{ path: idem.path, message: 'is required' }]);
    }
    key = `body:${String(v)}`;
  } else if (ctx.state.cloudEvent) {
    key = cloudEventDeliveryKey(ctx.state.cloudEvent);
    // Binary mode carries source and id in headers; structured mode in the (signed) body.
    unsigned = ctx.state.cloudEvent.mode === 'binary';
  } else if (ctx.state.deliveryId) {
    key = `id:${ctx.state.deliveryId}`;
    unsigned = route.verifier.signsDeliveryId === undefined ? UNSIGNED_DELIVERY_ID.has(route.scheme) : !route.verifier.signsDeliveryId;
  } else if (ctx.state.replayKey) key = `replay:${ctx.state.replayKey}`;
  else if (ctx.get('idempotency-key')) key = `header:${ctx.get('idempotency-key')}`;
  else key = newDeliveryKey();
  if (key.length > MAX_DELIVERY_KEY) throw badRequest('delivery_id_too_long', `delivery IDs are limited to ${MAX_DELIVERY_KEY} characters`);
  return { key, unsigned };
}

async function ensureSensitiveParams(client: KubeClient, run: PipelineRun, values: Record<string, string>, timeoutMs: number): Promise<void> {
  try {
    await client.create(RESOURCES.secrets, buildSensitiveParamsSecret(run, values), { timeoutMs });
  } catch (e) {
    if (isKubeError(e) && e.alreadyExists) return;
    // The run exists but cannot start without its params: the caller's retry lands on the duplicate path and completes it.
    throw apiUnavailable(e, `${paramsSecretName(run.metadata.name!)} not stored`);
  }
}

const deliveryConflict = () => new WebhookError(409, 'bad_request', 'delivery_conflict', 'this delivery collides with another one; retry with a different delivery ID');

/** Creates the run, or reads back the one a retry of this delivery already stored. */
async function createOrRead(client: KubeClient, run: PipelineRun, timeoutMs: number): Promise<PipelineRun> {
  try {
    return await client.create(RESOURCES.pipelineRuns, run, { timeoutMs });
  } catch (e) {
    if (isPermanentRefusal(e)) throw refused(e);
    if (!(isKubeError(e) && e.alreadyExists)) throw apiUnavailable(e);
    return client.get<PipelineRun>(RESOURCES.pipelineRuns, run.metadata.namespace, run.metadata.name!).catch((err: unknown) => {
      throw apiUnavailable(err);
    });
  }
}

/**
 * A refusal that the same request will meet again, however often it is retried: the object is
 * invalid (400, 422: schema, CEL rules, admission policies) or too large (413), or its namespace is
 * being deleted. A 403 from RBAC or a quota, a conflict, a timeout or a 5xx may pass later.
 */
function isPermanentRefusal(e: unknown): e is KubeError {
  return isKubeError(e) && (e.status === 400 || e.status === 422 || e.status === 413 || e.namespaceTerminating);
}

/** Status and reason only: the API server's message quotes the refused values, which come from the payload. */
function describeRefusal(e: KubeError): string {
  return e.namespaceTerminating ? 'namespace terminating' : `${e.status} ${e.reason || 'Invalid'}`;
}

function refused(e: KubeError): WebhookError {
  const error = e.namespaceTerminating
    ? badRequest('namespace_terminating', "this webhook's namespace is being deleted; the delivery will never be accepted")
    : badRequest('run_refused', `the API server refused the run built from this delivery (${describeRefusal(e)}); retrying the same delivery cannot succeed`);
  error.cause = safeCause(e, undefined);
  return error;
}

function apiUnavailable(e: unknown, detail?: string): WebhookError {
  if (e instanceof WebhookError) return e;
  const retry = isKubeError(e) && e.retryAfterSeconds ? e.retryAfterSeconds : 5;
  const error = unavailable('api_unavailable', 'the delivery could not be stored; retry later', retry);
  error.cause = safeCause(e, detail);
  return error;
}

/**
 * What the log may say about a failed API call. The API server's message for a refused object
 * (400, 422) quotes the offending field values, which come from the payload: those keep only their
 * status and reason.
 */
function safeCause(e: unknown, detail: string | undefined): Error {
  const refused = isKubeError(e) && (e.status === 400 || e.status === 422);
  const text = refused ? `the API server refused the object (${e.reason})` : e instanceof Error ? e.message : String(e);
  const cause = new Error(detail ? `${detail}: ${text}` : text);
  cause.name = e instanceof Error ? e.name : 'Error';
  if (isKubeError(e)) Object.assign(cause, { status: e.status, reason: e.reason });
  return cause;
}
