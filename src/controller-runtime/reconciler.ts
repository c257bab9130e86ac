// What a controller asks of the code that drives one kind of object toward its spec.

/** Returned by a reconcile that succeeded; `requeueAfterMs` asks to run again later (timers, timeouts). */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

/**
 * Reconciles the object named by `key` (`namespace/name`, or `name` for cluster-scoped objects),
 * reading its current state from a cache. `signal` aborts when the controller stops (for example
 * because leadership was lost), so long operations should stop early.
 */
export type Reconciler = (key: string, signal: AbortSignal) => Promise<ReconcileResult | void>;

/**
 * An error that retrying cannot fix (an invalid spec, for example). The controller logs it and
 * does not requeue; the reconciler should already have recorded it in the object's status.
 */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export function isTerminalError(e: unknown): e is TerminalError {
  return e instanceof TerminalError;
}
