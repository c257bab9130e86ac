// Runs a reconciler over a work queue with N workers, as controller-runtime does: success forgets
// the key's backoff, a requested requeue waits the asked delay, a TerminalError is logged and
// dropped, a Conflict (a decision from a stale cache) requeues the key quietly, and any other
// error retries the key with exponential backoff.
import { KubeError } from '../kube/errors.ts';
import { describeError, silentLogger, type Logger } from '../observability/logger.ts';
import type { ReconcileOutcome } from '../observability/metrics.ts';
import { CacheBehindError } from './status-writer.ts';
import { isTerminalError, type ReconcileResult, type Reconciler } from './reconciler.ts';
import { WorkQueue, type WorkQueueOptions, type WorkQueueStats } from './work-queue.ts';

/** The longest a key waits to retry after CacheBehindError: the write it waits for is in flight. */
const CACHE_BEHIND_MAX_RETRY_MS = 1_000;

/** A cancelled reconcile (the controller stopping) is reported too, and counted nowhere. */
export type ReconcileEventOutcome = ReconcileOutcome | 'cancelled';

/** One finished reconcile, for metrics. */
export interface ReconcileEvent {
  controller: string;
  key: string;
  durationMs: number;
  outcome: ReconcileEventOutcome;
}

export interface ControllerStats {
  reconciles: number;
  /** Reconciles that failed with a retryable error. */
  errors: number;
  terminalErrors: number;
}

export interface ControllerOptions {
  name: string;
  reconcile: Reconciler;
  /** Keys reconciled at the same time (different keys only). */
  workers?: number;
  queue?: Omit<WorkQueueOptions, 'stats'>;
  logger?: Logger;
  /** Called after every reconcile; exceptions it throws are logged and ignored. */
  onReconciled?: (event: ReconcileEvent) => void;
}

export class Controller {
  readonly name: string;
  readonly stats: ControllerStats = { reconciles: 0, errors: 0, terminalErrors: 0 };
  /** Counters of every queue this controller has used (a stopped controller starts with a new queue). */
  readonly queueStats: WorkQueueStats = { adds: 0, retries: 0 };
  private readonly reconcile: Reconciler;
  private readonly workerCount: number;
  private readonly queueOptions: Omit<WorkQueueOptions, 'stats'>;
  private readonly log: Logger;
  private readonly onReconciled: ((event: ReconcileEvent) => void) | undefined;
  private currentQueue: WorkQueue;
  private workers: Promise<void>[] = [];
  private abort: AbortController | undefined;

  constructor(opts: ControllerOptions) {
    this.name = opts.name;
    this.reconcile = opts.reconcile;
    this.workerCount = Math.max(1, opts.workers ?? 1);
    this.queueOptions = opts.queue ?? {};
    this.log = opts.logger ?? silentLogger;
    this.onReconciled = opts.onReconciled;
    this.currentQueue = this.createQueue();
  }

  /** The queue in use; keys added before start() are processed once it starts. */
  get queue(): WorkQueue {
    return this.currentQueue;
  }

  get running(): boolean {
    return this.abort !== undefined;
  }

  /** Queues the key for reconciliation; a stopped controller drops it (start() reconciles everything). */
  enqueue(key: string): void {
    this.currentQueue.add(key);
  }

  enqueueAfter(key: string, delayMs: number): void {
    this.currentQueue.addAfter(key, delayMs);
  }

  start(): void {
    if (this.abort) return;
    if (this.currentQueue.isShuttingDown) this.currentQueue = this.createQueue();
    this.abort = new AbortController();
    const queue = this.currentQueue;
    const signal = this.abort.signal;
    this.workers = Array.from({ length: this.workerCount }, () => this.runWorker(queue, signal));
    this.log.info({ controller: this.name, workers: this.workerCount }, 'controller started');
  }

  /** Stops taking keys, aborts the signal given to in-flight reconciles and waits for them to finish. */
  async stop(): Promise<void> {
    const abort = this.abort;
    if (!abort) return;
    // Captured first: a start() during the wait below installs a new queue and new workers.
    const queue = this.currentQueue;
    const workers = this.workers;
    this.abort = undefined;
    this.workers = [];
    abort.abort();
    await queue.shutdown();
    await Promise.all(workers);
    this.log.info({ controller: this.name }, 'controller stopped');
  }

  private createQueue(): WorkQueue {
    return new WorkQueue({ ...this.queueOptions, stats: this.queueStats });
  }

  private async runWorker(queue: WorkQueue, signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await this.reconcileKey(queue, key, signal);
      } finally {
        queue.done(key);
      }
    }
  }

  private async reconcileKey(queue: WorkQueue, key: string, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    let outcome: ReconcileEventOutcome;
    try {
      const result: ReconcileResult | void = await this.reconcile(key, signal);
      queue.forget(key);
      const after = result?.requeueAfterMs ?? 0;
      if (after > 0) {
        queue.addAfter(key, after);
        outcome = 'requeue';
      } else {
        outcome = 'success';
      }
    } catch (e) {
      outcome = this.handleError(queue, key, e, signal);
    }
    this.stats.reconciles++;
    this.report({ controller: this.name, key, durationMs: performance.now() - started, outcome });
  }

  private handleError(queue: WorkQueue, key: string, e: unknown, signal: AbortSignal): ReconcileEventOutcome {
    if (signal.aborted) {
      // The controller is stopping; the error is most likely the abort itself.
      this.log.debug({ controller: this.name, key, ...describeError(e) }, 'reconcile cancelled');
      return 'cancelled';
    }
    if (e instanceof KubeError && e.namespaceTerminating) {
      // Nothing can be created in a namespace being deleted, and nothing needs to be: its deletion
      // removes the object too. Retrying would only add load while the namespace goes away.
      queue.forget(key);
      this.log.debug({ controller: this.name, key, ...describeError(e) }, 'namespace is being deleted; not retrying');
      return 'terminal';
    }
    if (isTerminalError(e)) {
      this.stats.terminalErrors++;
      queue.forget(key);
      this.log.error({ controller: this.name, key, ...describeError(e) }, 'reconcile failed; not retrying');
      return 'terminal';
    }
    if ((e instanceof KubeError && e.conflict) || e instanceof CacheBehindError) {
      // Decided from a cache behind the API server (usually our own previous write, not yet seen):
      // decide again once it caught up. Expected, so neither an error nor a warning. A
      // CacheBehindError costs the API server nothing, and each event for the key while the cache
      // catches up doubles its backoff: capped, a key is never left waiting seconds for a cache
      // that caught up in milliseconds.
      queue.addRateLimited(key, 0, e instanceof CacheBehindError ? CACHE_BEHIND_MAX_RETRY_MS : undefined);
      this.log.debug({ controller: this.name, key }, 'the cache was behind; requeued');
      return 'requeue';
    }
    this.stats.errors++;
    const retryAfterMs = e instanceof KubeError && e.retryAfterSeconds ? e.retryAfterSeconds * 1000 : 0;
    queue.addRateLimited(key, retryAfterMs);
    this.log.warn(
      { controller: this.name, key, attempt: queue.numRequeues(key), ...describeError(e) },
      'reconcile failed; retrying with backoff',
    );
    return 'error';
  }

  private report(event: ReconcileEvent): void {
    if (!this.onReconciled) return;
    try {
      this.onReconciled(event);
    } catch (e) {
      this.log.error({ controller: this.name, ...describeError(e) }, 'onReconciled hook threw');
    }
  }
}
