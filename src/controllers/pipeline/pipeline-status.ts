// The status a Pipeline should show: Ready when it can run (validate-pipeline.ts), Stalled with the
// reason when it cannot until its spec changes, and how many triggers point at it.
import type { Pipeline, PipelineStatus } from '../../api/types.ts';
import { CONDITION_TYPES, PIPELINE_REASONS } from '../../api/constants.ts';
import { setKstatusConditions } from '../../controller-runtime/conditions.ts';
import type { PipelineValidation } from './validate-pipeline.ts';

/** Every status field: the pipeline controller owns them all. */
export const PIPELINE_STATUS_FIELDS = ['observedGeneration', 'conditions', 'triggers'] as const satisfies readonly (keyof PipelineStatus)[];

export function desiredPipelineStatus(pipeline: Pipeline, validation: PipelineValidation, triggers: number, now: Date): PipelineStatus {
  const generation = pipeline.metadata.generation ?? 0;
  const pointing = `${triggers} ${triggers === 1 ? 'trigger points' : 'triggers point'} at it`;
  const conditions = validation.valid
    ? setKstatusConditions(
        pipeline.status?.conditions,
        { type: CONDITION_TYPES.ready, status: 'True', reason: PIPELINE_REASONS.valid, message: `params and templates are valid; ${pointing}`, observedGeneration: generation },
        undefined,
        now,
      )
    : setKstatusConditions(
        pipeline.status?.conditions,
        { type: CONDITION_TYPES.ready, status: 'False', reason: validation.reason, message: validation.message, observedGeneration: generation },
        { type: 'Stalled', reason: validation.reason, message: 'every run of this Pipeline would fail until its spec is fixed' },
        now,
      );
  return { observedGeneration: generation, conditions, triggers };
}
