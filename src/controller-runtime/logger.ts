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

/** The error's message and name as log fields; never the whole object, which may hold a response. */
export function describeError(e: unknown): { err: string; errName: string } {
  if (e instanceof Error) return { err: e.message, errName: e.name };
  return { err: String(e), errName: typeof e };
}
