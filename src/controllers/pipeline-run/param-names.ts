// How a param's name appears inside the Job: as an environment variable, and as a key of the run's Secret.
import type { PipelineRun } from '../../api/types.ts';
import { paramsSecretName } from '../../api/constants.ts';

export const PARAM_ENV_PREFIX = 'PARAM_';

/**
 * The environment variable that carries a param: `PARAM_` + the name upper-cased, with every
 * character outside [A-Z0-9_] turned into `_` (`export-id` → `PARAM_EXPORT_ID`). One scheme only,
 * with a prefix, so a param can never shadow PATH, HOME or our PLANASONIX_ variables.
 */
export function envNameForParam(name: string): string {
  return PARAM_ENV_PREFIX + name.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/** The Secret, owned by the run, that holds the values of the run's sensitive params (key = param name). */
export function paramsSecretNameFor(run: PipelineRun): string {
  return paramsSecretName(run.metadata.name ?? '');
}
