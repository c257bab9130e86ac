// The slice of a pino logger that the controller machinery uses, so it can log without owning the
// process-wide logger and tests can pass a silent one.

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/**
 * The error's name and message as plain log fields; never the whole object, which may hold a
 * response. (Not under `err`: a logger's error serializer expects an Error there.)
 */
export function describeError(e: unknown): { errorName: string; errorMessage: string } {
  if (e instanceof Error) return { errorName: e.name, errorMessage: e.message };
  return { errorName: typeof e, errorMessage: String(e) };
}
