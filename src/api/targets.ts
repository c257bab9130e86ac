// A trigger's targets, read the same way everywhere: spec.targets, or spec.pipelineRef as the
// one-target shorthand (whose runs keep the names they had before targets existed).
import type { TargetSpec, WebhookTriggerSpec } from './types.ts';

export interface TriggerTarget extends TargetSpec {
  /** The target's name: spec.targets[].name, else its Pipeline's name. */
  name: string;
  /** True for spec.pipelineRef: its runs carry no target, and their names hash the delivery alone. */
  shorthand: boolean;
}

export function targetsOf(spec: WebhookTriggerSpec): TriggerTarget[] {
  if (spec.targets?.length) return spec.targets.map((t) => ({ ...t, name: t.name ?? t.pipelineRef.name, shorthand: false }));
  return spec.pipelineRef ? [{ name: spec.pipelineRef.name, pipelineRef: spec.pipelineRef, shorthand: true }] : [];
}

/** The Pipelines a trigger starts, each once, for indexes and messages. */
export function pipelineNamesOf(spec: WebhookTriggerSpec): string[] {
  return [...new Set(targetsOf(spec).map((t) => t.pipelineRef.name))];
}
