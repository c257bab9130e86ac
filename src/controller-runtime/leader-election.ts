// Lease-based leader election, after client-go's leaderelection package: replicas race to write
// their identity into one coordination.k8s.io Lease using optimistic concurrency, the winner renews
// it every retryPeriod, and a leader that cannot renew within renewDeadline stops leading at once —
// before leaseDuration runs out and another replica may take over, so two never lead together.
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { isAlreadyExists, isNotFound, toKubeError } from '../kube/errors.ts';
import { RESOURCES } from '../kube/resources.ts';
import { describeError, silentLogger, type Logger } from '../observability/logger.ts';
import { jitter, sleep, untilAborted } from './timing.ts';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

/** The calls the elector makes; a KubeClient, or a wrapper around one in tests. */
export type LeaseClient = Pick<KubeClient, 'get' | 'create' | 'replace'>;

export interface LeaderElectionOptions {
  /** Namespace and name of the Lease. */
  namespace: string;
  name: string;
  /** Unique per replica, for example the pod name plus a random suffix. */
  identity: string;
  /** How long followers wait after the last renewal before taking over. */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it gives up leading; less than leaseDurationMs. */
  renewDeadlineMs?: number;
  /** Pause between attempts to acquire or renew. */
  retryPeriodMs?: number;
  /** Called when this replica becomes leader; `signal` aborts the moment it stops leading. */
  onStartedLeading?: (signal: AbortSignal) => void | Promise<void>;
  onStoppedLeading?: () => void;
  /** Called when the observed holder changes (empty when the lease was released). */
  onNewLeader?: (identity: string) => void;
  logger?: Logger;
}

export interface LeaderElectionStats {
  /** Times this replica became leader. */
  acquired: number;
  /** Times it stopped leading (lost, failed to renew, stopped or released). */
  lost: number;
  /** Failed attempts to read or write the lease. */
  errors: number;
}

export const LEADER_ELECTION_DEFAULTS = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
} as const;

/** ok: we hold the lease now; held: another replica does; conflict: a concurrent write won, try again. */
type Attempt = 'ok' | 'held' | 'conflict' | 'failed';

/** A metav1.MicroTime: RFC 3339 in UTC with microseconds, `2026-01-02T03:04:05.000000Z`. */
export function formatMicroTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

/** Milliseconds since the epoch, or NaN; accepts any number of fractional digits. */
export function parseMicroTime(value: string | undefined): number {
  if (!value) return Number.NaN;
  return Date.parse(value.replace(/\.(\d{1,3})\d*Z$/, (_m, ms: string) => `.${ms.padEnd(3, '0')}Z`));
}

/**
 * True when the lease's holder may still be leading at `now` according to the record: it names a
 * holder and its last renewal plus its duration lies in the future.
 */
export function isLeaseHeld(spec: LeaseSpec | undefined, now: number): boolean {
  if (!spec?.holderIdentity) return false;
  const renewed = parseMicroTime(spec.renewTime ?? spec.acquireTime);
  if (Number.isNaN(renewed)) return false;
  return renewed + (spec.leaseDurationSeconds ?? 0) * 1000 > now;
}

export class LeaderElector {
  readonly identity: string;
  readonly stats: LeaderElectionStats = { acquired: 0, lost: 0, errors: 0 };
  private readonly client: LeaseClient;
  private readonly namespace: string;
  private readonly name: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly callbacks: Pick<LeaderElectionOptions, 'onStartedLeading' | 'onStoppedLeading' | 'onNewLeader'>;
  private readonly log: Logger;
  private leading: AbortController | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private renewedAt: number | undefined;
  private observedRecord: string | undefined;
  /** Local time at which we saw the lease record change, to be immune to clock skew between replicas. */
  private observedAt: number | undefined;
  private observedHolder = '';
  private observedTransitions = 0;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;

  constructor(client: LeaseClient, opts: LeaderElectionOptions) {
    this.client = client;
    this.namespace = opts.namespace;
    this.name = opts.name;
    this.identity = opts.identity;
    this.leaseDurationMs = opts.leaseDurationMs ?? LEADER_ELECTION_DEFAULTS.leaseDurationMs;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? LEADER_ELECTION_DEFAULTS.renewDeadlineMs;
    this.retryPeriodMs = opts.retryPeriodMs ?? LEADER_ELECTION_DEFAULTS.retryPeriodMs;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs)) {
      throw new Error('leader election needs leaseDuration > renewDeadline > retryPeriod');
    }
    this.callbacks = { onStartedLeading: opts.onStartedLeading, onStoppedLeading: opts.onStoppedLeading, onNewLeader: opts.onNewLeader };
    this.log = opts.logger ?? silentLogger;
  }

  isLeader(): boolean {
    return this.leading !== undefined;
  }

  /** The holder named by the lease when we last read it ('' when free or never read). */
  get leader(): string {
    return this.observedHolder;
  }

  /** When the current leadership was last acquired or renewed (the start of that request), in ms. */
  get lastRenewedAt(): number | undefined {
    return this.renewedAt;
  }

  /** The lease's leaseTransitions when we last read or wrote it. */
  get leaseTransitions(): number {
    return this.observedTransitions;
  }

  /** Starts campaigning; the callbacks report when this replica leads. */
  start(): void {
    if (this.abort) return;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal).catch((e: unknown) => {
      this.log.error({ lease: this.name, ...describeError(e) }, 'leader election loop crashed');
    });
  }

  /** Stops campaigning and leading without touching the lease, which expires after leaseDuration. */
  async stop(): Promise<void> {
    const abort = this.abort;
    if (!abort) return;
    this.abort = undefined;
    abort.abort();
    this.stopLeading('stopped');
    await this.loop;
    this.loop = undefined;
  }

  /**
   * Stops, then empties the lease if we hold it, so that another replica takes over at its next
   * attempt instead of after leaseDuration. Stop the controllers before calling this. Call it
   * instead of stop(), not after it: a stopped elector no longer knows whether it held the lease.
   */
  async release(): Promise<void> {
    const wasRunning = this.abort !== undefined;
    await this.stop();
    if (!wasRunning) return;
    try {
      const lease = await this.client.get<Lease>(RESOURCES.leases, this.namespace, this.name);
      if (lease.spec?.holderIdentity !== this.identity) return;
      const now = Date.now();
      const released: Lease = {
        ...lease,
        spec: {
          leaseDurationSeconds: 1,
          acquireTime: lease.spec.acquireTime,
          renewTime: formatMicroTime(now - this.leaseDurationMs),
          leaseTransitions: lease.spec.leaseTransitions ?? 0,
        },
      };
      const written = await this.client.replace<Lease>(RESOURCES.leases, released);
      this.observe(written.spec, now);
      this.log.info({ lease: this.name, identity: this.identity }, 'released leadership');
    } catch (e) {
      this.stats.errors++;
      this.log.warn({ lease: this.name, ...describeError(e) }, 'could not release the lease; it will expire');
    }
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const attemptStarted = Date.now();
      const result = await untilAborted(this.tryAcquireOrRenew(attemptStarted), signal);
      if (signal.aborted) return;
      if (result === 'ok') {
        this.startLeading(attemptStarted);
        await this.renewWhileLeading(signal);
        continue;
      }
      await sleep(jitter(this.retryPeriodMs, 0.2), signal);
    }
  }

  private async renewWhileLeading(signal: AbortSignal): Promise<void> {
    const leading = this.leading;
    // stop() and the renew deadline end leadership first, which cuts the sleep and a hung renewal short.
    while (leading && !leading.signal.aborted && !signal.aborted) {
      await sleep(this.retryPeriodMs, leading.signal);
      if (leading.signal.aborted || signal.aborted) return;
      const attemptStarted = Date.now();
      // A renewal abandoned this way may still land later; the lease then simply expires.
      const result = await untilAborted(this.tryAcquireOrRenew(attemptStarted), leading.signal);
      if (leading.signal.aborted || signal.aborted) return;
      if (result === 'ok') this.armDeadline(attemptStarted);
      else if (result === 'held') this.stopLeading('another replica holds the lease');
      // Otherwise keep trying; the deadline timer ends leadership if this goes on too long.
    }
  }

  private startLeading(renewedAt: number): void {
    this.leading = new AbortController();
    this.stats.acquired++;
    this.armDeadline(renewedAt);
    this.log.info({ lease: this.name, identity: this.identity }, 'started leading');
    const signal = this.leading.signal;
    try {
      const started = this.callbacks.onStartedLeading?.(signal);
      if (started) {
        started.catch((e: unknown) => this.log.error({ lease: this.name, ...describeError(e) }, 'onStartedLeading failed'));
      }
    } catch (e) {
      this.log.error({ lease: this.name, ...describeError(e) }, 'onStartedLeading failed');
    }
  }

  /** Leadership ends renewDeadline after the start of the last successful renewal, even mid-request. */
  private armDeadline(renewedAt: number): void {
    this.renewedAt = renewedAt;
    clearTimeout(this.deadlineTimer);
    const remaining = Math.max(0, renewedAt + this.renewDeadlineMs - Date.now());
    this.deadlineTimer = setTimeout(() => this.stopLeading('failed to renew within the renew deadline'), remaining);
  }

  private stopLeading(why: string): void {
    const leading = this.leading;
    if (!leading) return;
    this.leading = undefined;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.stats.lost++;
    this.log.info({ lease: this.name, identity: this.identity, why }, 'stopped leading');
    leading.abort();
    try {
      this.callbacks.onStoppedLeading?.();
    } catch (e) {
      this.log.error({ lease: this.name, ...describeError(e) }, 'onStoppedLeading failed');
    }
  }

  private async tryAcquireOrRenew(now: number): Promise<Attempt> {
    let lease: Lease;
    try {
      lease = await this.client.get<Lease>(RESOURCES.leases, this.namespace, this.name);
    } catch (e) {
      if (!isNotFound(e)) return this.failed(e, 'reading the lease');
      return this.createLease(now);
    }
    const spec = lease.spec ?? {};
    this.observe(spec, now);
    const holder = spec.holderIdentity ?? '';
    const ours = holder === this.identity;
    if (holder && !ours && !this.isExpired(spec, now)) return 'held';
    const nowTime = formatMicroTime(now);
    const next: Lease = {
      ...lease,
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: this.leaseDurationSeconds(),
        acquireTime: ours ? (spec.acquireTime ?? nowTime) : nowTime,
        renewTime: nowTime,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (ours ? 0 : 1),
      },
    };
    try {
      // `next` carries the resourceVersion we read, so a concurrent writer makes this fail with 409.
      const written = await this.client.replace<Lease>(RESOURCES.leases, next);
      this.observe(written.spec, now);
      return 'ok';
    } catch (e) {
      if (toKubeError(e).conflict) return 'conflict';
      return this.failed(e, 'updating the lease');
    }
  }

  private async createLease(now: number): Promise<Attempt> {
    const nowTime = formatMicroTime(now);
    const lease: Lease = {
      metadata: { name: this.name, namespace: this.namespace },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: this.leaseDurationSeconds(),
        acquireTime: nowTime,
        renewTime: nowTime,
        leaseTransitions: 0,
      },
    };
    try {
      const written = await this.client.create<Lease>(RESOURCES.leases, lease);
      this.observe(written.spec, now);
      return 'ok';
    } catch (e) {
      if (isAlreadyExists(e)) return 'conflict';
      return this.failed(e, 'creating the lease');
    }
  }

  /**
   * A lease is expired when its record says so and, if we have seen the record change, when
   * leaseDuration has also passed on our own clock since then (client-go trusts only the latter).
   */
  private isExpired(spec: LeaseSpec, now: number): boolean {
    if (isLeaseHeld(spec, now)) return false;
    const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
    return this.observedAt === undefined || this.observedAt + durationMs <= now;
  }

  private observe(spec: LeaseSpec | undefined, now: number): void {
    const record = JSON.stringify([spec?.holderIdentity ?? '', spec?.renewTime ?? '', spec?.leaseTransitions ?? 0]);
    if (record !== this.observedRecord) {
      // The first record we ever read is judged by its timestamps alone, so that a replica that
      // starts long after the last leader died does not wait a whole lease duration.
      this.observedAt = this.observedRecord === undefined ? undefined : now;
      this.observedRecord = record;
    }
    this.observedTransitions = spec?.leaseTransitions ?? 0;
    const holder = spec?.holderIdentity ?? '';
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      try {
        this.callbacks.onNewLeader?.(holder);
      } catch (e) {
        this.log.error({ lease: this.name, ...describeError(e) }, 'onNewLeader failed');
      }
    }
  }

  private leaseDurationSeconds(): number {
    return Math.max(1, Math.ceil(this.leaseDurationMs / 1000));
  }

  private failed(e: unknown, doing: string): Attempt {
    this.stats.errors++;
    const err = toKubeError(e);
    this.log.warn({ lease: this.name, status: err.status, reason: err.reason, ...describeError(err) }, `leader election: failed ${doing}`);
    return 'failed';
  }
}
