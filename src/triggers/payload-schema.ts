// Strict mode's JSON Schema check. Schemas are compiled once per trigger generation, never per request.
import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv';

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
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: true });
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

/** Paths and messages only: ajv's `data` and `params` could echo the caller's values, so they are dropped. */
function describeProblem(e: ErrorObject): PayloadProblem {
  const path = e.instancePath || '/';
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty?: string }).missingProperty ?? '';
    return { path: `${e.instancePath}/${missing}`, message: 'is required' };
  }
  return { path, message: e.message ?? `fails ${e.keyword}` };
}
