// How a param's name appears inside the Job: as an environment variable.

export const PARAM_ENV_PREFIX = 'PARAM_';

/**
 * The environment variable that carries a param: `PARAM_` + the name upper-cased, with every
 * character outside [A-Z0-9_] turned into `_` (`export-id` → `PARAM_EXPORT_ID`). One scheme only,
 * with a prefix, so a param can never shadow PATH, HOME or our PLANASONIX_ variables.
 */
export function envNameForParam(name: string): string {
  return PARAM_ENV_PREFIX + name.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}
