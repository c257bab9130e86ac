// Builds a run's params from a delivery: look the value up (body pointer, header, query), fall
// back to the default, enforce required, coerce to the declared type, cap the size, and keep
// sensitive values apart. Every problem is collected, never thrown, and never quotes a value.
import type { ParamMapping } from '../../api/types.ts';
import type { RequestHeaders } from '../signature-verifiers/signature-verifier.ts';
import { coerceParam, type RawValue } from './coerce-param.ts';
import { parseJsonPointer, resolveJsonPointer } from './json-pointer.ts';

/** Largest param value, in UTF-8 bytes; a run object must stay well under the API server's limit. */
export const MAX_PARAM_BYTES = 64 * 1024;

export interface ParamInput {
  /** The parsed JSON body, or undefined when the request had none (or it was not JSON). */
  body: unknown;
  headers: RequestHeaders;
  query: URLSearchParams;
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
export function mapParams(mappings: readonly ParamMapping[], input: ParamInput, limits: { maxTotalBytes?: number } = {}): MappedParams {
  // Entries, then Object.fromEntries: a param named "__proto__" becomes a plain key, not a prototype.
  const params: [string, string][] = [];
  const sensitive: [string, string][] = [];
  const errors: ParamError[] = [];
  const seen = new Set<string>();
  for (const mapping of mappings) {
    // The name is config, safe to show; the message never carries the value.
    const fail = (problem: string): void => {
      errors.push({ param: mapping.name, message: `param "${mapping.name}" ${problem}` });
    };
    if (seen.has(mapping.name)) {
      fail('is mapped more than once');
      continue;
    }
    seen.add(mapping.name);
    const lookup = lookUp(mapping, input);
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
function lookUp(mapping: ParamMapping, input: ParamInput): Lookup {
  switch (mapping.from) {
    case 'body': {
      if (mapping.path === undefined) return { error: 'from: body needs a path (a JSON pointer such as /export_id)' };
      let tokens: string[];
      try {
        tokens = parseJsonPointer(mapping.path);
      } catch (e) {
        return { error: (e as Error).message };
      }
      const where = `the body field ${mapping.path === '' ? '(the whole body)' : mapping.path}`;
      if (input.body === undefined) return { found: false, where };
      const hit = resolveJsonPointer(input.body, tokens);
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
    default:
      return { error: `unknown source "${String(mapping.from)}" (use body, header or query)` };
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
