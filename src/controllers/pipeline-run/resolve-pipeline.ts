// What a run asks of its Pipeline: which Job template, and which param values. Every problem found
// here is one retrying cannot fix, so the run fails with the reason returned. Messages name params
// but never quote their values, since a value may be anything a webhook sent.
import type { JobTemplate, ParamType, Pipeline, PipelineParam, PipelineRun } from '../../api/types.ts';
import { RUN_REASONS } from '../../api/constants.ts';
import { envNameForParam } from './param-names.ts';
import { substituteParams } from './substitute-params.ts';

export type Failure<Reason extends string> = { ok: false; reason: Reason; message: string };

export type TemplateResolution = { ok: true; template: JobTemplate } | Failure<typeof RUN_REASONS.versionNotFound>;

export type ParamsResolution = { ok: true; values: Record<string, string> } | Failure<typeof RUN_REASONS.invalidParams>;

export type RunResolution =
  | { ok: true; template: JobTemplate; values: Record<string, string> }
  | Failure<typeof RUN_REASONS.versionNotFound | typeof RUN_REASONS.invalidParams>;

// The same grammar as the Pipeline CRD's check of number defaults: a JSON number.
const NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/;

/** The Job template of the named version, or spec.jobTemplate when no version is named. */
export function resolveJobTemplate(pipeline: Pipeline, version?: string): TemplateResolution {
  if (!version) return { ok: true, template: pipeline.spec.jobTemplate };
  const found = (pipeline.spec.versions ?? []).find((v) => v.name === version);
  if (found) return { ok: true, template: found.jobTemplate };
  const known = (pipeline.spec.versions ?? []).map((v) => `"${v.name}"`);
  return {
    ok: false,
    reason: RUN_REASONS.versionNotFound,
    message:
      `Pipeline "${pipeline.metadata.name ?? ''}" has no version "${version}"` +
      (known.length > 0 ? ` (it has ${known.join(', ')})` : ' (it has no named versions)'),
  };
}

/**
 * The value of every declared param that is not sensitive: the run's value, else the declared
 * default, else the empty string for an optional param. Sensitive params (their values are in the
 * run's Secret) are only checked for being declared; the receiver checked their types.
 *
 * Fails when the run sets a param the Pipeline does not declare, lacks a required one, gives a
 * value of the wrong type (number: a JSON number; boolean: true or false; object: valid JSON), or
 * when two declared params would share one environment variable.
 */
export function resolveParams(
  declared: readonly PipelineParam[] | undefined,
  given: Readonly<Record<string, string>> | undefined,
  sensitive: readonly string[] | undefined,
): ParamsResolution {
  const params = declared ?? [];
  const supplied = given ?? {};
  const secret = new Set(sensitive ?? []);
  const declaredNames = new Set(params.map((p) => p.name));
  const problems: string[] = [];

  const undeclared = [...Object.keys(supplied), ...secret].filter((name) => !declaredNames.has(name));
  if (undeclared.length > 0) {
    const known = params.length > 0 ? `it declares ${quoteAll(params.map((p) => p.name))}` : 'it declares no params';
    problems.push(`the Pipeline does not declare ${plural(undeclared, 'param')} ${quoteAll(undeclared)} (${known})`);
  }
  const both = Object.keys(supplied).filter((name) => secret.has(name));
  if (both.length > 0) {
    problems.push(`${plural(both, 'param')} ${quoteAll(both)} ${both.length > 1 ? 'are' : 'is'} both sensitive and in spec.params`);
  }
  const missing = params.filter((p) => p.required && !Object.hasOwn(supplied, p.name) && !secret.has(p.name));
  if (missing.length > 0) {
    problems.push(`missing required ${plural(missing, 'param')} ${quoteAll(missing.map((p) => p.name))}`);
  }
  problems.push(...findEnvNameCollisions(params));

  const values: Record<string, string> = {};
  for (const param of params) {
    if (secret.has(param.name)) continue;
    const fromRun = Object.hasOwn(supplied, param.name);
    const value = fromRun ? supplied[param.name]! : (param.default ?? '');
    const typeProblem = fromRun || param.default !== undefined ? checkType(value, param.type ?? 'string') : undefined;
    if (typeProblem) problems.push(`${fromRun ? 'param' : 'the default of param'} "${param.name}" ${typeProblem}`);
    values[param.name] = value;
  }

  if (problems.length > 0) return { ok: false, reason: RUN_REASONS.invalidParams, message: problems.join('; ') };
  return { ok: true, values };
}

/**
 * Everything the run needs from its Pipeline, in the order a user would fix it: the version, the
 * params, then the template's references to them, substituted.
 */
export function resolveRun(run: PipelineRun, pipeline: Pipeline): RunResolution {
  const template = resolveJobTemplate(pipeline, run.spec.pipelineRef.version);
  if (!template.ok) return template;
  const params = resolveParams(pipeline.spec.params, run.spec.params, run.spec.sensitiveParams);
  if (!params.ok) return params;
  const substituted = substituteParams(template.template, params.values, run.spec.sensitiveParams ?? []);
  if (!substituted.ok) return substituted;
  return { ok: true, template: substituted.template, values: params.values };
}

function checkType(value: string, type: ParamType): string | undefined {
  switch (type) {
    case 'string':
      return undefined;
    case 'number':
      return NUMBER.test(value) && Number.isFinite(Number(value)) ? undefined : 'is not a number (such as 42 or -2.5)';
    case 'boolean':
      return value === 'true' || value === 'false' ? undefined : 'is not true or false';
    case 'object':
      try {
        JSON.parse(value);
        return undefined;
      } catch {
        return 'is not valid JSON';
      }
    default:
      return `has an unknown type "${String(type)}"`;
  }
}

function findEnvNameCollisions(params: readonly PipelineParam[]): string[] {
  const byEnv = new Map<string, string[]>();
  for (const { name } of params) {
    const env = envNameForParam(name);
    byEnv.set(env, [...(byEnv.get(env) ?? []), name]);
  }
  return [...byEnv]
    .filter(([, names]) => names.length > 1)
    .map(([env, names]) => `params ${quoteAll(names)} would share the environment variable ${env}`);
}

function quoteAll(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

function plural(items: readonly unknown[], word: string): string {
  return items.length === 1 ? word : `${word}s`;
}
