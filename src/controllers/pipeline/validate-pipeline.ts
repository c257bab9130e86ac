// Whether a Pipeline can run at all, before any delivery arrives: its params declare usable
// defaults and distinct environment variables, and every template (the default one and each named
// version) references only declared params, and only where params are substituted. The same checks
// a run meets (resolve-pipeline.ts, substitute-params.ts), with placeholder values, so that a
// Pipeline reported Ready cannot fail its runs for a reason of its own.
import type { ParamType, Pipeline } from '../../api/types.ts';
import { PIPELINE_REASONS } from '../../api/constants.ts';
import { resolveParams } from '../pipeline-run/resolve-pipeline.ts';
import { substituteParams } from '../pipeline-run/substitute-params.ts';

export type PipelineValidation =
  | { valid: true }
  | { valid: false; reason: typeof PIPELINE_REASONS.invalidParams | typeof PIPELINE_REASONS.invalidTemplate; message: string };

/** A value of each type that a sender could send: stands in for a required param without default. */
const PLACEHOLDER: Record<ParamType, string> = { string: 'x', number: '0', boolean: 'true', object: '{}' };

export function validatePipeline(pipeline: Pipeline): PipelineValidation {
  const declared = pipeline.spec.params ?? [];
  const given = Object.fromEntries(declared.filter((p) => p.required && p.default === undefined).map((p) => [p.name, PLACEHOLDER[p.type ?? 'string']]));
  const params = resolveParams(declared, given, []);
  if (!params.ok) return { valid: false, reason: PIPELINE_REASONS.invalidParams, message: params.message.replace(/^the Pipeline /, '') };
  const templates = [
    { name: 'spec.jobTemplate', template: pipeline.spec.jobTemplate },
    ...(pipeline.spec.versions ?? []).map((v) => ({ name: `version "${v.name}"`, template: v.jobTemplate })),
  ];
  for (const { name, template } of templates) {
    const substituted = substituteParams(template, params.values);
    if (!substituted.ok) return { valid: false, reason: PIPELINE_REASONS.invalidTemplate, message: `${name}: ${substituted.message}` };
  }
  return { valid: true };
}
