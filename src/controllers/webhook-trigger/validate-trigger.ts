// What the API server cannot check about a trigger: that it compiles (src/triggers/compile.ts, the
// same reading the receiver routes with) and that what it references (the Pipeline, the user's
// signing Secret) exists and fits.
import type { V1Secret } from '@kubernetes/client-node';
import type { Pipeline, WebhookTrigger } from '../../api/types.ts';
import { TRIGGER_REASONS } from '../../api/constants.ts';
import type { WebhookSecretState } from '../../api/webhook-secret.ts';
import { compileTrigger, type TriggerLimits } from '../../triggers/compile.ts';
import { readReferencedSecret } from '../../triggers/referenced-secret.ts';
import type { TriggerProblem } from '../../triggers/compiled-trigger.ts';
import { targetsOf } from '../../api/targets.ts';

export type TriggerValidation =
  | { valid: true; warning?: string }
  | { valid: false; reason: string; message: string };

export interface TriggerReferences {
  /** The Pipeline of a name, in the trigger's namespace (each target's). */
  pipelines?: (name: string) => Pipeline | undefined;
  /** For a trigger with one Pipeline: that Pipeline, when pipelines is not given. */
  pipeline?: Pipeline | undefined;
  /** The user's Secret named by spec.auth.secretRef, when there is one. */
  userSecret: V1Secret | undefined;
  /** The generated Secret's current state, when it exists. */
  generated?: WebhookSecretState | undefined;
  /** The operator's limits (--max-body-bytes), as the receiver compiles with them. */
  limits?: TriggerLimits;
}

/**
 * Every problem, the Pipeline's first: the status shows the first problem's reason (the first
 * thing to fix) and every problem's message.
 */
export function validateTrigger(trigger: WebhookTrigger, refs: TriggerReferences): TriggerValidation {
  const problems = pipelineProblems(trigger, refs.pipelines ?? (() => refs.pipeline));
  const referenced = readReferencedSecret(trigger.spec.auth ?? {}, refs.userSecret);
  if (referenced && 'problem' in referenced) problems.push(referenced.problem);
  const compiled = compileTrigger({ trigger, generated: refs.generated }, refs.limits);
  if (!compiled.ok) problems.push(...compiled.problems);
  if (problems.length > 0) {
    return { valid: false, reason: problems[0]!.reason, message: problems.map((p) => p.message).join('; ') };
  }
  return compiled.ok && compiled.trigger.warning ? { valid: true, warning: compiled.trigger.warning } : { valid: true };
}

/** Each target's Pipeline: that it exists, has the version, and declares the params mapped for it. */
function pipelineProblems(trigger: WebhookTrigger, pipelineNamed: (name: string) => Pipeline | undefined): TriggerProblem[] {
  const problems: TriggerProblem[] = [];
  const targets = targetsOf(trigger.spec);
  targets.forEach((target, i) => {
    const ref = target.pipelineRef;
    const field = target.shorthand ? 'spec.pipelineRef' : `spec.targets[${i}].pipelineRef`;
    const where = target.shorthand ? '' : ` (target "${target.name}")`;
    const pipeline = pipelineNamed(ref.name);
    if (!pipeline) {
      problems.push({ reason: TRIGGER_REASONS.pipelineNotFound, field, message: `Pipeline "${ref.name}" not found in namespace "${trigger.metadata.namespace}"${where}` });
      return;
    }
    if (ref.version && !(pipeline.spec.versions ?? []).some((v) => v.name === ref.version)) {
      problems.push({ reason: TRIGGER_REASONS.versionNotFound, field, message: `Pipeline "${ref.name}" has no version "${ref.version}"${where}` });
      return;
    }
    const declared = new Map((pipeline.spec.params ?? []).map((p) => [p.name, p]));
    const mapped = new Set([...(trigger.spec.params ?? []), ...(target.params ?? [])].map((p) => p.name));
    const paramsField = target.shorthand ? 'spec.params' : `spec.targets[${i}].params`;
    const undeclared = [...mapped].filter((n) => !declared.has(n));
    if (undeclared.length > 0) {
      problems.push({ reason: TRIGGER_REASONS.paramsMismatch, field: paramsField, message: `params not declared by Pipeline "${ref.name}"${where}: ${undeclared.join(', ')}` });
    }
    const unmapped = [...declared.values()].filter((p) => p.required && p.default === undefined && !mapped.has(p.name)).map((p) => p.name);
    if (unmapped.length > 0) {
      problems.push({ reason: TRIGGER_REASONS.paramsMismatch, field: paramsField, message: `required params of Pipeline "${ref.name}"${where} not mapped: ${unmapped.join(', ')}` });
    }
  });
  return problems;
}
