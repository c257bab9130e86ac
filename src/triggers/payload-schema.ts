// Strict mode's JSON Schema check. Schemas are compiled once per trigger generation, never per request.
// ajv and re2js are loaded the first time a trigger has a schema (synchronously, with require, as
// triggers compile): a receiver whose triggers have none carries neither.
import { createRequire } from 'node:module';
import type { Ajv as AjvClass, ValidateFunction, ErrorObject } from 'ajv';
import type { RE2JS as RE2JSClass } from 're2js';

const require = createRequire(import.meta.url);
const ajvLibrary = () => (require('ajv') as { Ajv: typeof AjvClass }).Ajv;
const re2Library = () => (require('re2js') as { RE2JS: typeof RE2JSClass }).RE2JS;

export interface PayloadProblem {
  path: string;
  message: string;
}

export interface PayloadValidator {
  validate(body: unknown): PayloadProblem[];
}

/** A validator, or ajv's reason the schema does not compile. */
export function compilePayloadSchema(schema: Record<string, unknown>): PayloadValidator | { error: string } {
  // One instance per compile: an instance keeps every schema and generated function it compiled
  // (so a shared one grew with each recompile) and refuses a second schema with the same $id.
  const Ajv = ajvLibrary();
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: true, code: { regExp: linearTimeRegExp } });
  let fn: ValidateFunction;
  try {
    fn = ajv.compile(schema);
  } catch (e) {
    return { error: (e as Error).message };
  }
  return {
    validate(body: unknown): PayloadProblem[] {
      if (fn(body)) return [];
      return (fn.errors ?? []).slice(0, 20).map(describeProblem);
    },
  };
}

/**
 * `pattern` and `patternProperties` run on RE2 (re2js), whose matching time is linear in the input,
 * instead of the backtracking RegExp: a trigger author's `^(a+)+$` would otherwise stall the
 * receiver's only thread for every trigger on a body of a few dozen characters. RE2 has no
 * look-around or back-references; a schema using them fails to compile, and the trigger is not
 * Ready with the reason.
 */
function linearTimeRegExp(pattern: string): { test: (s: string) => boolean; toString: () => string } {
  const re = re2Library().compile(pattern);
  // Ajv shares one compiled pattern among the keywords whose toString() is equal: it must be the
  // pattern itself, or every pattern of a schema would run as the first one compiled.
  return { test: (s: string) => re.test(s), toString: () => pattern };
}
// Ajv embeds this name in the code it generates only for standalone output, which we never use.
linearTimeRegExp.code = 're2js';

/** Paths and messages only: ajv's `data` and `params` could echo the caller's values, so they are dropped. */
function describeProblem(e: ErrorObject): PayloadProblem {
  const path = e.instancePath || '/';
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty?: string }).missingProperty ?? '';
    return { path: `${e.instancePath}/${missing}`, message: 'is required' };
  }
  return { path, message: e.message ?? `fails ${e.keyword}` };
}
