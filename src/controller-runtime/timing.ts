// Delays shared by the informer and the leader elector: abortable sleeps and jittered backoff.

/** Resolves after `ms`, or as soon as `signal` aborts; never leaves a timer behind. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * The delay before retry number `attempt` (1-based): `minMs` doubling up to `maxMs`, then spread
 * over its upper half at random so that many clients do not retry in lockstep.
 */
export function jitteredBackoff(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const capped = Math.min(minMs * 2 ** Math.min(Math.max(attempt - 1, 0), 52), maxMs);
  return capped / 2 + (capped / 2) * random();
}

/** `ms` stretched by up to `factor` at random (client-go's wait.Jitter). */
export function jitter(ms: number, factor: number, random: () => number = Math.random): number {
  return ms + ms * factor * random();
}

/**
 * Resolves with the promise's value, or with undefined as soon as `signal` aborts, for requests
 * that cannot be cancelled themselves; a later rejection of the abandoned promise is ignored.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      resolve(undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
