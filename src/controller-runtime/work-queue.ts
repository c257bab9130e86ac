// A work queue of object keys with client-go's guarantees: a key waiting to be processed is held
// once however often it is added, a key is never handed to two workers at the same time, and each
// key that keeps failing waits exponentially longer before its next attempt.
import { Fifo } from '../util/fifo.ts';

export interface WorkQueueOptions {
  /** Delay before the first retry of a failing key; it doubles with each further failure. */
  baseDelayMs?: number;
  /** Longest delay between retries of one key. */
  maxDelayMs?: number;
  /** Counters to update; pass the same object to successive queues so the counts stay monotonic. */
  stats?: WorkQueueStats;
}

/** Counters for metrics; read them on scrape. */
export interface WorkQueueStats {
  /** Keys that entered the queue (adds of a key already waiting are not counted). */
  adds: number;
  /** Failed keys put back with backoff. */
  retries: number;
}

interface DelayedAdd {
  at: number;
  timer: NodeJS.Timeout;
}

export const DEFAULT_BASE_DELAY_MS = 5;
export const DEFAULT_MAX_DELAY_MS = 60_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

export class WorkQueue {
  readonly stats: WorkQueueStats;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  /** Keys ready for a worker, in order. */
  private readonly ready = new Fifo<string>();
  /** Keys that need processing: those in `ready`, and those re-added while being processed. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly delayed = new Map<string, DelayedAdd>();
  private readonly failures = new Map<string, number>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private drained: (() => void) | undefined;

  constructor(opts: WorkQueueOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
    this.maxDelayMs = opts.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    this.stats = opts.stats ?? { adds: 0, retries: 0 };
  }

  /** Keys waiting for a worker (the depth gauge). */
  get length(): number {
    return this.ready.length;
  }

  /** Keys handed to a worker and not yet done. */
  get inFlight(): number {
    return this.processing.size;
  }

  /** Keys waiting for their addAfter / retry delay to pass. */
  get delayedCount(): number {
    return this.delayed.size;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.stats.adds++;
    this.dirty.add(key);
    // A key being processed is queued again by done(), so that no two workers hold it.
    if (this.processing.has(key)) return;
    this.ready.push(key);
    this.dispatch();
  }

  /** Adds the key once `delayMs` has passed; a second call keeps whichever time comes first. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing) {
      if (existing.at <= at) return;
      clearTimeout(existing.timer);
    }
    // setTimeout fires at once for delays beyond 2^31-1 ms (~24.8 days); waking early and requeueing
    // again is harmless for a level-based reconcile, a hot loop is not.
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, Math.min(delayMs, MAX_TIMER_MS));
    // Pending retries alone must not keep the process (or a test run) alive.
    timer.unref();
    this.delayed.set(key, { at, timer });
  }

  /**
   * Adds a failed key after its backoff, but no sooner than `atLeastMs` (the server asked for
   * longer) and no later than `atMostMs` (the wait is for something known to come soon).
   */
  addRateLimited(key: string, atLeastMs = 0, atMostMs = this.maxDelayMs): void {
    if (this.shuttingDown) return;
    this.stats.retries++;
    const delay = Math.max(Math.min(this.nextBackoff(key), atMostMs), atLeastMs);
    this.addAfter(key, delay);
  }

  /** Resets the key's backoff after it was processed successfully. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** How many times in a row the key has failed. */
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /**
   * Waits for the next key and marks it as being processed; the caller must call done(key).
   * Resolves to undefined once the queue is shutting down.
   */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.ready.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks the key as processed; if it was added meanwhile, it becomes ready again. */
  done(key: string): void {
    if (!this.processing.delete(key)) return;
    if (this.shuttingDown) {
      if (this.processing.size === 0) this.drained?.();
      return;
    }
    if (this.dirty.has(key)) {
      this.ready.push(key);
      this.dispatch();
    }
  }

  /**
   * Stops handing out keys, drops waiting and delayed keys (the next start reconciles everything
   * again, so nothing is lost) and resolves once every key handed out has been marked done.
   */
  shutdown(): Promise<void> {
    if (!this.shuttingDown) {
      this.shuttingDown = true;
      for (const { timer } of this.delayed.values()) clearTimeout(timer);
      this.delayed.clear();
      this.ready.clear();
      this.dirty.clear();
      for (const resolve of this.waiters.splice(0)) resolve(undefined);
    }
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.drained;
      this.drained = () => {
        previous?.();
        resolve();
      };
    });
  }

  private nextBackoff(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    // Cap the exponent so that 2 ** failures never overflows to Infinity.
    return Math.min(this.baseDelayMs * 2 ** Math.min(failures, 52), this.maxDelayMs);
  }

  private take(key: string): string {
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  private dispatch(): void {
    while (this.waiters.length > 0 && this.ready.length > 0) {
      const resolve = this.waiters.shift()!;
      resolve(this.take(this.ready.shift()!));
    }
  }
}
