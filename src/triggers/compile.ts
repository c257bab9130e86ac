// The one reader of a WebhookTrigger: turns it (with its Secrets) into the compiled form the
// receiver routes with, or into the list of problems the trigger controller reports in status.
// Every part of a trigger is compiled here, once per change of the trigger or its Secrets; a new
// part (a filter, a target, a signature scheme) gets its compile step in this function and its
// field in CompiledTrigger.
import type { PayloadSpec, RateLimitSpec, WebhookTrigger } from '../api/types.ts';
import { TRIGGER_REASONS } from '../api/constants.ts';
import type { WebhookSecretState } from '../api/webhook-secret.ts';
import { compileSourceRanges } from '../util/source-ranges.ts';
import { parseByteQuantity } from '../kube/byte-quantity.ts';
import type { CompiledParam, CompiledTarget, CompiledTrigger, TriggerCompilation, TriggerProblem } from './compiled-trigger.ts';
import { compileAuth } from './compile-auth.ts';
import { compileIdempotency, compileParams } from './compile-params.ts';
import { compilePayloadSchema, type PayloadValidator } from './payload-schema.ts';
import { compileFilter, type CompiledFilter } from './filter/compile-filter.ts';
import { targetsOf } from '../api/targets.ts';

export interface TriggerSources {
  trigger: WebhookTrigger;
  /**
   * The generated `<trigger>-webhook` Secret's state, once it exists: it holds the signing secrets
   * (with spec.auth.secretRef, the controller's copy of the user's; see referenced-secret.ts).
   */
  generated: WebhookSecretState | undefined;
}

/** Limits the operator sets rather than the trigger. */
export interface TriggerLimits {
  /** Body size for a trigger that sets no spec.payload.maxBytes. */
  defaultMaxBytes: number;
}

export const DEFAULT_TRIGGER_LIMITS: TriggerLimits = { defaultMaxBytes: 1024 * 1024 };

export function compileTrigger(sources: TriggerSources, limits: TriggerLimits = DEFAULT_TRIGGER_LIMITS): TriggerCompilation {
  const spec = sources.trigger.spec;
  const problems: TriggerProblem[] = [];

  const auth = compileAuth(spec.auth ?? {}, sources.generated, problems);
  const params = compileParams(spec.params ?? [], problems);
  const idempotency = compileIdempotency(spec.idempotency, problems);
  const schema = compileSchema(spec.payload, problems);
  const maxBytes = compileMaxBytes(spec.payload, limits, problems);
  const ranges = compileAllowedSources(spec.allowedSourceRanges, problems);
  const rateLimit = compileRateLimit(spec.rateLimit);
  const filter = compileFilterOf(spec.filter, 'spec.filter', problems);
  const targets = compileTargets(sources.trigger.spec, params, problems);

  if (problems.length > 0) return { ok: false, problems };
  const strict = spec.payload?.strict ?? false;
  const trigger: CompiledTrigger = {
    ...auth,
    allowsAddress: ranges === 'invalid' ? undefined : ranges,
    params,
    strict,
    maxBytes,
    schema,
    needsJsonBody:
      strict ||
      schema !== undefined ||
      idempotency.from === 'body' ||
      filter?.readsBody === true ||
      targets.some((t) => t.filter?.readsBody === true || t.params.some((p) => p.from === 'body')),
    idempotency,
    rateLimit,
    filter,
    targets,
  };
  return { ok: true, trigger };
}

/**
 * Each target with its params (the trigger's, then its own, a name mapped in both taken from the
 * target) and its filter. Target names are unique: a run's name hashes its target's name.
 */
function compileTargets(spec: WebhookTrigger['spec'], triggerParams: readonly CompiledParam[], problems: TriggerProblem[]): CompiledTarget[] {
  const targets = targetsOf(spec);
  if (targets.length === 0) {
    problems.push({ reason: TRIGGER_REASONS.invalidSpec, field: 'spec.pipelineRef', message: 'spec.pipelineRef or spec.targets must name a Pipeline' });
  }
  const seen = new Set<string>();
  return targets.map((target, i) => {
    const at = `spec.targets[${i}]`;
    if (seen.has(target.name)) {
      problems.push({ reason: TRIGGER_REASONS.invalidSpec, field: `${at}.name`, message: `${at}: target name "${target.name}" is used twice (name the targets apart with spec.targets[].name)` });
    }
    seen.add(target.name);
    const own = compileParams(target.params ?? [], problems, `${at}.params`);
    const ownNames = new Set(own.map((p) => p.name));
    return {
      name: target.name,
      shorthand: target.shorthand,
      pipelineName: target.pipelineRef.name,
      pipelineVersion: target.pipelineRef.version || undefined,
      params: [...triggerParams.filter((p) => !ownNames.has(p.name)), ...own],
      filter: compileFilterOf(target.filter, `${at}.filter`, problems),
    };
  });
}

/** A filter that does not compile keeps the trigger from serving, with the CEL compiler's message. */
export function compileFilterOf(expression: string | undefined, field: string, problems: TriggerProblem[]): CompiledFilter | undefined {
  if (expression === undefined) return undefined;
  const compiled = compileFilter(expression);
  if ('error' in compiled) {
    problems.push({ reason: TRIGGER_REASONS.invalidFilter, field, message: `${field}: ${compiled.error}` });
    return undefined;
  }
  return compiled;
}

function compileSchema(payload: PayloadSpec | undefined, problems: TriggerProblem[]): PayloadValidator | undefined {
  if (!payload?.schema) return undefined;
  const compiled = compilePayloadSchema(payload.schema);
  if ('error' in compiled) {
    problems.push({ reason: TRIGGER_REASONS.invalidSpec, field: 'spec.payload.schema', message: `spec.payload.schema: ${compiled.error}` });
    return undefined;
  }
  return compiled;
}

function compileMaxBytes(payload: PayloadSpec | undefined, limits: TriggerLimits, problems: TriggerProblem[]): number {
  if (payload?.maxBytes === undefined) return limits.defaultMaxBytes;
  try {
    return parseByteQuantity(payload.maxBytes);
  } catch (e) {
    problems.push({ reason: TRIGGER_REASONS.invalidSpec, field: 'spec.payload.maxBytes', message: `spec.payload.maxBytes: ${(e as Error).message}` });
    return limits.defaultMaxBytes;
  }
}

/** The address matcher, undefined for "every address", or 'invalid' (with a problem) when a range does not parse. */
export function compileAllowedSources(ranges: readonly string[] | undefined, problems: TriggerProblem[]): ((ip: string) => boolean) | undefined | 'invalid' {
  if (!ranges?.length) return undefined;
  try {
    return compileSourceRanges(ranges);
  } catch (e) {
    problems.push({ reason: TRIGGER_REASONS.invalidSpec, field: 'spec.allowedSourceRanges', message: `spec.allowedSourceRanges: ${(e as Error).message}` });
    return 'invalid';
  }
}

function compileRateLimit(spec: RateLimitSpec | undefined): CompiledTrigger['rateLimit'] {
  return spec ? { requestsPerMinute: spec.requestsPerMinute, burst: spec.burst ?? spec.requestsPerMinute } : undefined;
}
