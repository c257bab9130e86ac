// `$(params.NAME)` substitution in a Job template. It replaces text inside strings of an already
// parsed object, so no value can add structure (a key, a list item, a volume): whatever a webhook
// sends stays one string in the place the Pipeline's author chose.
//
// Substituted places, and no others: containers[].command, .args and .env[].value (init containers
// likewise), and the annotations of the Job and of its pod template. A reference anywhere else (an
// image, a name, a key) is an error rather than left as text, so an author learns of it at once.
// `$$(params.NAME)` is an escape: it becomes the literal text `$(params.NAME)`, in every place.
//
// What a program does with a value is beyond this: a reference inside a shell script
// (`sh -c "load $(params.id)"`) is shell injection. Authors should pass values as separate args or
// read them from the PARAM_ environment variables ("$PARAM_ID") instead; the README should say so.
import type { JobTemplate } from '../../api/types.ts';
import { RUN_REASONS } from '../../api/constants.ts';
import { envNameForParam } from './param-names.ts';

export type SubstitutionResult =
  | { ok: true; template: JobTemplate }
  | { ok: false; reason: typeof RUN_REASONS.invalidParams; message: string };

/** Where a template mentions a param, and whether that place is one we substitute in. */
export interface ParamReference {
  name: string;
  /** A readable path such as `spec.template.spec.containers[0].args[1]`. */
  path: string;
  substituted: boolean;
}

type Segment = string | number;

// Group 1 is the escaping `$`, group 2 the name; `[^)]*` so that a malformed name is still caught.
const REFERENCE = /\$(\$?)\(params\.([^)]*)\)/g;
const CONTAINER_LISTS = new Set(['containers', 'initContainers']);
const MAX_PROBLEMS_SHOWN = 5;

/**
 * Returns a substituted copy of the template (the input is not changed), or InvalidParams when it
 * references a param that is neither in `values` nor in `sensitive`, references a sensitive param
 * (its value would be written into the Job's spec: such params reach the pod only as secretKeyRef
 * environment variables), or references a param where nothing is substituted.
 *
 * `values` must hold every declared non-sensitive param (resolveParams gives that).
 */
export function substituteParams(
  template: JobTemplate,
  values: Readonly<Record<string, string>>,
  sensitive: readonly string[] = [],
): SubstitutionResult {
  const problems: string[] = [];
  const sensitiveSet = new Set(sensitive);
  const replaceIn = (text: string, path: Segment[]): string => {
    const escapeForKubernetes = expandsEnvReferences(path);
    return text.replace(REFERENCE, (whole, escape: string, name: string) => {
      if (escape) return whole.slice(1);
      if (sensitiveSet.has(name)) {
        problems.push(
          `${formatPath(path)} references sensitive param "${name}", which is never written into the Job; ` +
            `read it from the environment variable ${envNameForParam(name)} instead`,
        );
        return whole;
      }
      if (!Object.hasOwn(values, name)) {
        problems.push(`${formatPath(path)} references undeclared param "${name}"`);
        return whole;
      }
      const value = values[name]!;
      return escapeForKubernetes ? escapeEnvReferences(value) : value;
    });
  };

  const result = transform(template, [], (text, path, isKey) => {
    if (!isKey && isSubstituted(path)) return replaceIn(text, path);
    for (const ref of referencesIn(text)) {
      problems.push(
        `${formatPath(path)}${isKey ? ' (a key)' : ''} references param "${ref}", but params are substituted only in ` +
          'command, args, env values and annotations',
      );
    }
    return text;
  }) as JobTemplate;

  if (problems.length > 0) return { ok: false, reason: RUN_REASONS.invalidParams, message: summarize(problems) };
  return { ok: true, template: result };
}

/** Every unescaped `$(params.NAME)` in the template, in document order. */
export function findParamReferences(template: JobTemplate): ParamReference[] {
  const found: ParamReference[] = [];
  transform(template, [], (text, path, isKey) => {
    for (const name of referencesIn(text)) {
      found.push({ name, path: formatPath(path), substituted: !isKey && isSubstituted(path) });
    }
    return text;
  });
  return found;
}

/**
 * Kubernetes expands `$(VAR)` in command, args and env values, and turns `$$` into `$`. Doubling
 * every `$` of a substituted value makes Kubernetes hand the value to the process unchanged, so a
 * webhook cannot send `$(PARAM_API_TOKEN)` and have a secret expanded into an argument.
 */
export function escapeEnvReferences(value: string): string {
  return value.replaceAll('$', () => '$$');
}

function referencesIn(text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(REFERENCE)) {
    if (!match[1]) names.push(match[2]!);
  }
  return names;
}

/** Rebuilds a JSON value, passing every string (and object key) through `onString`. */
function transform(
  value: unknown,
  path: Segment[],
  onString: (text: string, path: Segment[], isKey: boolean) => string,
): unknown {
  if (typeof value === 'string') return onString(value, path, false);
  if (Array.isArray(value)) return value.map((item, i) => transform(item, [...path, i], onString));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const childPath = [...path, key];
      // defineProperty, because assigning a key named __proto__ would set the prototype instead.
      Object.defineProperty(out, onString(key, childPath, true), {
        value: transform(item, childPath, onString),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

function isSubstituted(path: readonly Segment[]): boolean {
  const [a, b, c, d, e, f, g, h] = path;
  if (a === 'metadata' && b === 'annotations' && path.length === 3) return true;
  if (a !== 'spec' || b !== 'template') return false;
  if (c === 'metadata' && d === 'annotations' && path.length === 5) return true;
  if (c !== 'spec' || typeof d !== 'string' || !CONTAINER_LISTS.has(d) || typeof e !== 'number') return false;
  if ((f === 'command' || f === 'args') && typeof g === 'number' && path.length === 7) return true;
  return f === 'env' && typeof g === 'number' && h === 'value' && path.length === 8;
}

function expandsEnvReferences(path: readonly Segment[]): boolean {
  return path[0] === 'spec' && path[2] === 'spec';
}

function formatPath(path: readonly Segment[]): string {
  let out = 'jobTemplate';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) out += `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

function summarize(problems: string[]): string {
  const shown = problems.slice(0, MAX_PROBLEMS_SHOWN).join('; ');
  const more = problems.length - MAX_PROBLEMS_SHOWN;
  return more > 0 ? `${shown}; and ${more} more` : shown;
}
