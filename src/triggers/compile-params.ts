// spec.params and spec.idempotency read once: each JSON Pointer is parsed when the trigger is
// compiled, so a request only resolves tokens, and a pointer that cannot parse is a problem in the
// trigger's status rather than an error in every delivery.
import type { IdempotencySpec, ParamMapping } from '../api/types.ts';
import { TRIGGER_REASONS } from '../api/constants.ts';
import { parseJsonPointer } from '../util/json-pointer.ts';
import type { CompiledIdempotency, CompiledParam, TriggerProblem } from './compiled-trigger.ts';

/** A CloudEvents attribute name, as the spec restricts them. */
const CLOUDEVENT_ATTRIBUTE = /^[a-z0-9]{1,20}$/;

export function compileParams(mappings: readonly ParamMapping[], problems: TriggerProblem[], at = 'spec.params'): CompiledParam[] {
  const seen = new Set<string>();
  return mappings.map((mapping, i) => {
    const field = `${at}[${i}]`;
    const report = (message: string) => problems.push({ reason: TRIGGER_REASONS.invalidSpec, field, message: `${field} (param "${mapping.name}"): ${message}` });
    if (seen.has(mapping.name)) report('is mapped more than once');
    seen.add(mapping.name);
    switch (mapping.from) {
      case 'body': {
        const pointer = pointerOf(mapping.path, report, 'from: body needs a path (a JSON pointer such as /export_id)');
        return pointer ? { ...mapping, pointer } : mapping;
      }
      case 'header':
        if (!mapping.header) report('from: header needs a header name');
        return mapping;
      case 'query':
        if (!mapping.query) report('from: query needs a query parameter name');
        return mapping;
      case 'cloudevent':
        if (!mapping.attribute || !CLOUDEVENT_ATTRIBUTE.test(mapping.attribute)) {
          report('from: cloudevent needs an attribute name of lower-case letters and digits (such as type, source, subject or id)');
        }
        return mapping;
      default:
        report(`unknown source "${String(mapping.from)}" (use body, header, query or cloudevent)`);
        return mapping;
    }
  });
}

export function compileIdempotency(spec: IdempotencySpec | undefined, problems: TriggerProblem[]): CompiledIdempotency {
  const field = 'spec.idempotency';
  const report = (message: string) => problems.push({ reason: TRIGGER_REASONS.invalidSpec, field, message: `${field}: ${message}` });
  switch (spec?.from ?? 'scheme') {
    case 'header':
      if (!spec?.header) report('from: header needs a header name (such as Idempotency-Key)');
      return { from: 'header', header: spec?.header ?? '' };
    case 'body': {
      const pointer = pointerOf(spec?.path, report, 'from: body needs a path (a JSON pointer such as /export_id)');
      return { from: 'body', path: spec?.path ?? '', pointer: pointer ?? [] };
    }
    case 'scheme':
      return { from: 'scheme' };
    default:
      report(`unknown source "${String(spec?.from)}" (use scheme, header or body)`);
      return { from: 'scheme' };
  }
}

function pointerOf(path: string | undefined, report: (message: string) => void, missing: string): string[] | undefined {
  if (path === undefined) {
    report(missing);
    return undefined;
  }
  try {
    return parseJsonPointer(path);
  } catch (e) {
    report((e as Error).message);
    return undefined;
  }
}
