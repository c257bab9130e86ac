// Builds a run's params from a delivery: look the value up (body pointer, header, query, CloudEvent
// attribute), fall back to the default, enforce required, coerce to the declared type, cap the size,
// and keep sensitive values apart. Every problem is collected, never thrown, and never quotes a value.
import type { RequestHeaders } from '../../triggers/signature-verifiers/signature-verifier.ts';
import { coerceParam, type RawValue } from './coerce-param.ts';
import { resolveJsonPointer } from '../../util/json-pointer.ts';
import type { CompiledParam } from '../../triggers/compiled-trigger.ts';

/** Largest param value, in UTF-8 bytes; a run object must stay well under the API server's limit. */
export const MAX_PARAM_BYTES = 64 * 1024;

export interface ParamInput {
  /** The parsed JSON body, or undefined when the request had none (or it was not JSON). */
  body: unknown;
  headers: RequestHeaders;
  query: URLSearchParams;
  /** The CloudEvent's attributes, when the request is a CloudEvent. */
  cloudEvent?: Readonly<Record<string, string>>;
}

export interface ParamError {
  param: string;
  message: string;
}

export interface MappedParams {
  params: Record<string, string>;
  sensitive: Record<string, string>;
  errors: ParamError[];
}

type Lookup = { found: true; raw: RawValue } | { found: false; where: string } | { error: string };

/**
 * Applies the trigger's param mappings to one delivery. Values that together exceed
 * `maxTotalBytes` are all dropped, with one error: 64 params of 64 KiB would make a run larger than
 * the API server stores, and a sender would be told to retry what can never be accepted.
 */
export function mapParams(mappings: readonly CompiledParam[], input: ParamInput, limits: { maxTotalBytes?: number } = {}): MappedParams {
  // Entries, then Object.fromEntries: a param named "__proto__" becomes a plain key, not a prototype.
  const params: [string, string][] = [];
  const sensitive: [string, string][] = [];
  const errors: ParamError[] = [];
  for (const mapping of mappings) {
    // The name is config, safe to show; the message never carries the value.
    const fail = (problem: string): void => {
      errors.push({ param: mapping.name, message: `param "${mapping.name}" ${problem}` });
    };
    const lookup = lookUp(mapping, input);
    // Unreachable for a served trigger (compileTrigger refuses such a mapping); kept so the types hold.
    if ('error' in lookup) {
      fail(`is misconfigured: ${lookup.error}`);
      continue;
    }
    let raw: RawValue;
    if (lookup.found) raw = lookup.raw;
    else if (mapping.default !== undefined) raw = { kind: 'text', value: mapping.default };
    else {
      if (mapping.required) fail(`is required but ${lookup.where} is missing`);
      continue;
    }
    const coerced = coerceParam(raw, mapping.type ?? 'string');
    if (!coerced.ok) {
      fail(lookup.found ? `has an invalid value: ${coerced.problem}` : `has an invalid default: ${coerced.problem}`);
      continue;
    }
    if (Buffer.byteLength(coerced.value, 'utf8') > MAX_PARAM_BYTES) {
      fail(`is longer than ${MAX_PARAM_BYTES} bytes`);
      continue;
    }
    (mapping.sensitive ? sensitive : params).push([mapping.name, coerced.value]);
  }
  const maxTotal = limits.maxTotalBytes ?? Infinity;
  const total = [...params, ...sensitive].reduce((sum, [, value]) => sum + Buffer.byteLength(value, 'utf8'), 0);
  if (total > maxTotal) {
    return { params: {}, sensitive: {}, errors: [...errors, { param: '(params)', message: `the params together are longer than ${maxTotal} bytes` }] };
  }
  return { params: Object.fromEntries(params), sensitive: Object.fromEntries(sensitive), errors };
}

// A JSON null counts as absent, so that "field": null falls back to the default like a missing field.
function lookUp(mapping: CompiledParam, input: ParamInput): Lookup {
  switch (mapping.from) {
    case 'body': {
      // compileTrigger parsed the pointer; a trigger whose pointer did not parse is never served.
      if (mapping.path === undefined || mapping.pointer === undefined) return { error: 'from: body needs a path (a JSON pointer such as /export_id)' };
      const where = `the body field ${mapping.path === '' ? '(the whole body)' : mapping.path}`;
      if (input.body === undefined) return { found: false, where };
      const hit = resolveJsonPointer(input.body, mapping.pointer);
      return hit.found && hit.value !== null ? { found: true, raw: { kind: 'json', value: hit.value } } : { found: false, where };
    }
    case 'header': {
      if (!mapping.header) return { error: 'from: header needs a header name' };
      const value = headerValue(input.headers, mapping.header);
      return value === undefined ? { found: false, where: `the header ${mapping.header}` } : { found: true, raw: { kind: 'text', value } };
    }
    case 'query': {
      if (!mapping.query) return { error: 'from: query needs a query parameter name' };
      const value = input.query.get(mapping.query);
      return value === null ? { found: false, where: `the query parameter ${mapping.query}` } : { found: true, raw: { kind: 'text', value } };
    }
    case 'cloudevent': {
      if (!mapping.attribute) return { error: 'from: cloudevent needs an attribute name' };
      const where = input.cloudEvent ? `the CloudEvent attribute ${mapping.attribute}` : `the CloudEvent attribute ${mapping.attribute} (the request is not a CloudEvent)`;
      const value = input.cloudEvent && Object.hasOwn(input.cloudEvent, mapping.attribute) ? input.cloudEvent[mapping.attribute] : undefined;
      return value === undefined ? { found: false, where } : { found: true, raw: { kind: 'text', value } };
    }
    default:
      return { error: `unknown source "${String(mapping.from)}" (use body, header, query or cloudevent)` };
  }
}

// Header names are case-insensitive; Node lowercases them, but a caller may not have.
function headerValue(headers: RequestHeaders, name: string): string | undefined {
  const wanted = name.toLowerCase();
  const key = Object.hasOwn(headers, wanted) ? wanted : Object.keys(headers).find((k) => k.toLowerCase() === wanted);
  if (key === undefined) return undefined;
  const raw = headers[key];
  return typeof raw === 'string' ? raw : raw?.[0];
}
