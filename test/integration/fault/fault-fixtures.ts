// Shared pieces of the fault, load and abuse suite: a KubeClient that can freeze or die at an exact
// moment (a crashed or paused replica), a TCP proxy that can stall every open connection to the API
// server without closing it (a silently dropped connection), mixed traffic with a record of every
// answer, and the invariants every scenario ends with.
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { KubeConfig } from '@kubernetes/client-node';
import type { PipelineRun } from '../../../src/api/types.ts';
import { LABELS } from '../../../src/api/constants.ts';
import { KubeClient, type KubeObject, type ListOptions, type ObjectList, type WatchEventType, type WatchOptions } from '../../../src/kube/client.ts';
import { KubeError } from '../../../src/kube/errors.ts';
import { RESOURCES, type ResourceType } from '../../../src/kube/resources.ts';
import { pipelineRunNameFor } from '../../../src/receiver/delivery-key.ts';
import { adminClient, eventually } from '../../harness/fixtures.ts';
import { controlPlane } from '../../harness/root-hooks.ts';
import { planasonixHeaders, send, type Reply, type TriggerHandle } from '../receiver/receiver-fixtures.ts';

// ---------------------------------------------------------------- a replica that freezes or dies

export type Verb = 'get' | 'list' | 'create' | 'replace' | 'mergePatch' | 'patchStatus' | 'apply' | 'delete' | 'createSubresource' | 'watch';

export interface Call {
  verb: Verb;
  resource: string;
  namespace: string | undefined;
  name: string | undefined;
  /** The object written (create, replace, apply) or the patch. */
  body?: unknown;
}

export interface WriteRecord extends Call {
  outcome: 'ok' | 'error';
  /** KubeError reason of a failed write. */
  reason?: string;
}

type Hook = (call: Call) => void;

/**
 * A KubeClient whose replica can be paused or killed from a test, at an exact point of its work:
 *
 * - `freeze()`: every call waits (as in a long GC pause or a network partition) and open watches
 *   end; `thaw()` lets the waiting calls go on, as they would when the pause ends: a write held
 *   before it was sent is then sent late.
 * - `kill()`: every waiting and later call fails as if the process were gone.
 * - `beforeWrite`/`afterWrite` hooks run just before a write is sent and just after the API server
 *   stored it; freezing in `afterWrite` is a crash after the write but before the replica learned
 *   of it.
 * - `watchInactivityMs` shortens the informers' silent-watch timeout (the operator has no flag).
 */
export class FaultyClient extends KubeClient {
  state: 'up' | 'frozen' | 'dead' = 'up';
  beforeWrite: Hook | undefined;
  afterWrite: Hook | undefined;
  watchInactivityMs: number | undefined;
  readonly writes: WriteRecord[] = [];
  private wake: { promise: Promise<void>; resolve: () => void } | undefined;
  private readonly openWatches = new Set<AbortController>();

  /** A client of the test control plane; `server` replaces its address (a proxy in front of it). */
  static connect(opts: { timeoutMs?: number; server?: string } = {}): FaultyClient {
    const kc = new KubeConfig();
    kc.loadFromFile(controlPlane().kubeconfig);
    if (opts.server) {
      const current = kc.getCurrentCluster()!;
      kc.clusters = kc.clusters.map((c) => (c.name === current.name ? { ...c, server: opts.server! } : c));
    }
    return new FaultyClient(kc, { timeoutMs: opts.timeoutMs ?? 10_000 });
  }

  freeze(): void {
    if (this.state !== 'up') return;
    this.state = 'frozen';
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.wake = { promise, resolve };
    for (const watch of this.openWatches) watch.abort();
  }

  thaw(): void {
    if (this.state !== 'frozen') return;
    this.state = 'up';
    this.wake?.resolve();
    this.wake = undefined;
  }

  kill(): void {
    this.state = 'dead';
    this.wake?.resolve();
    this.wake = undefined;
    for (const watch of this.openWatches) watch.abort();
  }

  private async gate(): Promise<void> {
    while (this.state === 'frozen') await this.wake!.promise;
    if (this.state === 'dead') throw new KubeError(0, 'ECONNREFUSED', 'API server unreachable: the replica is dead (test)');
  }

  private async write<T>(call: Call, send: () => Promise<T>): Promise<T> {
    await this.gate();
    this.beforeWrite?.(call);
    await this.gate();
    let result: T;
    try {
      result = await send();
    } catch (e) {
      this.writes.push({ ...call, outcome: 'error', reason: e instanceof KubeError ? e.reason : String(e) });
      throw e;
    }
    this.writes.push({ ...call, outcome: 'ok' });
    this.afterWrite?.(call);
    // Frozen or killed after the write: the API server has it, the replica never learns.
    await this.gate();
    return result;
  }

  override async get<T extends KubeObject>(r: ResourceType, namespace: string | undefined, name: string): Promise<T> {
    await this.gate();
    const result = await super.get<T>(r, namespace, name);
    await this.gate();
    return result;
  }

  override async list<T extends KubeObject>(r: ResourceType, namespace?: string, opts: ListOptions = {}): Promise<ObjectList<T>> {
    await this.gate();
    const result = await super.list<T>(r, namespace, opts);
    await this.gate();
    return result;
  }

  override async create<T extends KubeObject>(r: ResourceType, obj: T, opts: { dryRun?: boolean; timeoutMs?: number } = {}): Promise<T> {
    return this.write({ verb: 'create', resource: r.plural, namespace: obj.metadata?.namespace, name: obj.metadata?.name, body: obj }, () => super.create(r, obj, opts));
  }

  override async replace<T extends KubeObject>(r: ResourceType, obj: T): Promise<T> {
    return this.write({ verb: 'replace', resource: r.plural, namespace: obj.metadata?.namespace, name: obj.metadata?.name, body: obj }, () => super.replace(r, obj));
  }

  override async mergePatch<T extends KubeObject>(r: ResourceType, namespace: string | undefined, name: string, patch: unknown, subresource?: string): Promise<T> {
    return this.write({ verb: 'mergePatch', resource: r.plural, namespace, name, body: patch }, () => super.mergePatch(r, namespace, name, patch, subresource));
  }

  override async patchStatus<T extends KubeObject>(r: ResourceType, namespace: string | undefined, name: string, status: unknown, opts: { resourceVersion?: string } = {}): Promise<T> {
    return this.write({ verb: 'patchStatus', resource: r.plural, namespace, name, body: status }, () => super.patchStatus(r, namespace, name, status, opts));
  }

  override async apply<T extends KubeObject>(r: ResourceType, obj: T, opts: { force?: boolean; dryRun?: boolean; fieldManager?: string } = {}): Promise<T> {
    return this.write({ verb: 'apply', resource: r.plural, namespace: obj.metadata?.namespace, name: obj.metadata?.name, body: obj }, () => super.apply(r, obj, opts));
  }

  override async delete(
    r: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan'; uid?: string; gracePeriodSeconds?: number } = {},
  ): Promise<void> {
    return this.write({ verb: 'delete', resource: r.plural, namespace, name }, () => super.delete(r, namespace, name, opts));
  }

  override async createSubresource<T>(r: ResourceType, namespace: string, name: string, sub: string, body: unknown): Promise<T> {
    return this.write({ verb: 'createSubresource', resource: r.plural, namespace, name, body }, () => super.createSubresource<T>(r, namespace, name, sub, body));
  }

  override async watch<T extends KubeObject>(r: ResourceType, namespace: string | undefined, opts: WatchOptions, onEvent: (type: WatchEventType, obj: T) => void): Promise<void> {
    await this.gate();
    const cut = new AbortController();
    const onAbort = () => cut.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    this.openWatches.add(cut);
    const inactivityTimeoutMs = this.watchInactivityMs ?? opts.inactivityTimeoutMs;
    try {
      await super.watch<T>(r, namespace, { ...opts, inactivityTimeoutMs, signal: cut.signal }, (type, obj) => {
        if (this.state === 'up') onEvent(type, obj);
      });
    } finally {
      this.openWatches.delete(cut);
      opts.signal?.removeEventListener('abort', onAbort);
    }
    if (cut.signal.aborted && !opts.signal?.aborted) {
      await this.gate();
      throw new KubeError(0, 'ECONNRESET', 'watch cut by the test');
    }
  }
}

// ---------------------------------------------------------------- a connection that goes silent

interface ProxiedConnection {
  client: net.Socket;
  upstream: net.Socket;
  stalled: boolean;
}

/**
 * A TCP proxy in front of the API server. `stall()` stops forwarding on every connection open at
 * that moment, in both directions, without closing it — what a dead NAT entry or a crashed load
 * balancer does — while new connections work normally.
 */
export class StallProxy {
  readonly port: number;
  private readonly server: net.Server;
  private readonly pairs: Set<ProxiedConnection>;

  private constructor(server: net.Server, pairs: Set<ProxiedConnection>) {
    this.server = server;
    this.pairs = pairs;
    this.port = (server.address() as net.AddressInfo).port;
  }

  static async start(target: string): Promise<StallProxy> {
    const url = new URL(target);
    const pairs = new Set<ProxiedConnection>();
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(url.port), url.hostname);
      const pair: ProxiedConnection = { client, upstream, stalled: false };
      pairs.add(pair);
      client.pipe(upstream);
      upstream.pipe(client);
      const end = () => {
        pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end);
      upstream.on('error', end);
      client.on('close', () => {
        if (!pair.stalled) end();
      });
      upstream.on('close', () => {
        if (!pair.stalled) end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new StallProxy(server, pairs);
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get openConnections(): number {
    return this.pairs.size;
  }

  /** Stops forwarding on every open connection; returns how many were stalled. */
  stall(): number {
    let n = 0;
    for (const pair of this.pairs) {
      if (pair.stalled) continue;
      pair.stalled = true;
      pair.client.unpipe(pair.upstream);
      pair.upstream.unpipe(pair.client);
      pair.client.pause();
      pair.upstream.pause();
      n++;
    }
    return n;
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------- traffic and its record

export type DeliveryKind = 'valid' | 'duplicate' | 'forged';

export interface Attempt {
  kind: DeliveryKind;
  deliveryId: string;
  exportId: string;
  status: number;
  retryAfter?: string;
  error?: string;
  correlationId?: string;
  /** The JSON error code of a refusal. */
  code?: string;
  durationMs: number;
  at: number;
}

/**
 * Sends deliveries to one trigger and keeps every answer: new valid ones, duplicates of earlier
 * valid ones (same delivery ID and body, signed again), and forged ones (signed with a wrong
 * secret, each with its own delivery ID that no valid delivery uses).
 */
export class Traffic {
  readonly attempts: Attempt[] = [];
  private readonly bodies = new Map<string, { exportId: string; body: Buffer }>();
  private readonly trigger: TriggerHandle;
  private readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(trigger: TriggerHandle, baseUrl: string, opts: { timeoutMs?: number } = {}) {
    this.trigger = trigger;
    this.baseUrl = baseUrl;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
  }

  /** Resolves once `n` more deliveries have been answered (or failed): traffic measured in deliveries, not time. */
  async answered(n: number, timeoutMs = 60_000): Promise<void> {
    const from = this.attempts.length;
    await eventually(async () => this.attempts.length >= from + n, timeoutMs, 20);
  }

  /** Delivery IDs sent as valid deliveries. */
  get validIds(): string[] {
    return [...this.bodies.keys()];
  }

  async send(kind: DeliveryKind): Promise<Attempt> {
    let deliveryId: string;
    let exportId: string;
    let body: Buffer;
    let secret = this.trigger.secret;
    const earlier = this.validIds;
    if (kind === 'duplicate' && earlier.length > 0) {
      deliveryId = earlier[Math.floor(Math.random() * earlier.length)]!;
      ({ exportId, body } = this.bodies.get(deliveryId)!);
    } else {
      if (kind === 'duplicate') kind = 'valid';
      deliveryId = `${kind}-${randomUUID()}`;
      exportId = `exp-${randomUUID().slice(0, 8)}`;
      body = Buffer.from(JSON.stringify({ export_id: exportId, record_count: 1 }));
      if (kind === 'valid') this.bodies.set(deliveryId, { exportId, body });
      else secret = `pxs_forged_${randomUUID()}`;
    }
    return this.post(kind, deliveryId, exportId, body, secret);
  }

  /** Sends a valid delivery again (a sender's retry), signed anew. */
  retry(deliveryId: string): Promise<Attempt> {
    const { exportId, body } = this.bodies.get(deliveryId)!;
    return this.post('duplicate', deliveryId, exportId, body, this.trigger.secret);
  }

  private async post(kind: DeliveryKind, deliveryId: string, exportId: string, body: Buffer, secret: string): Promise<Attempt> {
    const at = Date.now();
    const attempt: Attempt = { kind, deliveryId, exportId, status: 0, durationMs: 0, at };
    try {
      const reply: Reply = await send(this.baseUrl, this.trigger.path, { headers: planasonixHeaders(secret, body, { deliveryId }), body, timeoutMs: this.timeoutMs });
      attempt.status = reply.status;
      attempt.durationMs = reply.durationMs;
      const retryAfter = reply.headers['retry-after'];
      if (retryAfter !== undefined) attempt.retryAfter = String(retryAfter);
      const json = safeJson(reply.text);
      if (reply.status < 300) attempt.correlationId = String(json?.correlationId ?? '');
      else attempt.code = String(json?.error ?? '');
    } catch (e) {
      attempt.error = e instanceof Error ? e.message : String(e);
      attempt.durationMs = Date.now() - at;
    }
    this.attempts.push(attempt);
    return attempt;
  }

  /** Runs `workers` senders until stop() is called; each picks a kind by the weights. */
  start(workers: number, weights: Record<DeliveryKind, number>, pauseMs = 0): { stop(): Promise<void> } {
    let running = true;
    const total = weights.valid + weights.duplicate + weights.forged;
    const pick = (): DeliveryKind => {
      let x = Math.random() * total;
      for (const kind of ['valid', 'duplicate', 'forged'] as const) {
        x -= weights[kind];
        if (x < 0) return kind;
      }
      return 'valid';
    };
    const loops = Array.from({ length: workers }, async () => {
      while (running) {
        await this.send(pick());
        if (pauseMs) await sleep(pauseMs);
      }
    });
    return {
      async stop() {
        running = false;
        await Promise.all(loops);
      },
    };
  }

  /**
   * Retries, as a sender would, every valid delivery that has no 2xx answer yet, until each has one.
   * Returns the retries' attempts.
   */
  async retryUnacknowledged(timeoutMs: number): Promise<Attempt[]> {
    const pending = this.validIds.filter((id) => !this.attempts.some((a) => a.deliveryId === id && a.status >= 200 && a.status < 300));
    const retries: Attempt[] = [];
    await inParallel(pending, 8, async (id) => {
      const final = await eventually(async () => {
        const a = await this.retry(id);
        retries.push(a);
        return a.status >= 200 && a.status < 300 ? a : undefined;
      }, timeoutMs, 250);
      return final;
    });
    return retries;
  }
}

function safeJson(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- invariants

export interface InvariantReport {
  attempts: number;
  byStatus: Record<number, number>;
  runs: number;
  /** 503 answers for deliveries whose run nevertheless exists (stored, but the answer was lost). */
  ambiguous503: number;
}

/**
 * The contract, checked over every answer given and every run stored:
 * - every answer is 2xx, 401 (forged), or 503 with Retry-After and an error code; nothing else, no
 *   transport error;
 * - a forged delivery was refused and stored nothing (its deterministic run name does not exist);
 * - every valid delivery answered 2xx has exactly one run, whose correlation ID every 2xx answer for
 *   it carried, and at most one of those answers was a 202;
 * - the trigger has no run that no delivery explains.
 */
export async function checkDeliveryInvariants(traffic: Traffic, trigger: TriggerHandle, opts: { allowed4xx?: number[] } = {}): Promise<InvariantReport> {
  const byStatus: Record<number, number> = {};
  for (const a of traffic.attempts) {
    byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
    const what = `${a.kind} ${a.deliveryId}: ${a.status} ${a.code ?? ''} ${a.error ?? ''}`;
    expect(a.error, what).to.equal(undefined);
    if (a.status === 503) {
      expect(Number(a.retryAfter), `${what}: Retry-After`).to.be.greaterThan(0);
      expect(['api_unavailable', 'not_ready', 'suspended', 'internal_error'], what).to.include(a.code);
    } else if (a.kind === 'forged') {
      expect(a.status, what).to.equal(401);
    } else if (a.status >= 400) {
      expect(opts.allowed4xx ?? [], what).to.include(a.status);
    } else {
      expect([200, 202], what).to.include(a.status);
      expect(a.correlationId, what).to.match(/^[0-9a-f-]{36}$/);
    }
  }

  const runs = await runsOfTrigger(trigger);
  const byDelivery = new Map<string, PipelineRun[]>();
  for (const run of runs) {
    const key = run.spec.trigger?.deliveryId ?? '';
    byDelivery.set(key, [...(byDelivery.get(key) ?? []), run]);
  }
  for (const [key, list] of byDelivery) expect(list.length, `runs for delivery key ${key}`).to.equal(1);

  // Forged deliveries: nothing under their delivery IDs.
  for (const a of traffic.attempts.filter((x) => x.kind === 'forged')) {
    expect(byDelivery.has(`id:${a.deliveryId}`), `forged delivery ${a.deliveryId} created a run`).to.equal(false);
    const name = pipelineRunNameFor(trigger.name, trigger.uid, `id:${a.deliveryId}`);
    expect(runs.some((r) => r.metadata.name === name)).to.equal(false);
  }

  let ambiguous503 = 0;
  const valid = new Set(traffic.validIds);
  for (const id of valid) {
    const answers = traffic.attempts.filter((a) => a.deliveryId === id);
    const acked = answers.filter((a) => a.status >= 200 && a.status < 300);
    const run = byDelivery.get(`id:${id}`)?.[0];
    if (acked.length > 0) {
      expect(run, `run of acknowledged delivery ${id}`).not.to.equal(undefined);
      expect(run!.metadata.name).to.equal(pipelineRunNameFor(trigger.name, trigger.uid, `id:${id}`));
      for (const a of acked) expect(a.correlationId, `correlation ID answered for ${id}`).to.equal(run!.spec.correlationId);
      expect(acked.filter((a) => a.status === 202).length, `202 answers for ${id}`).to.be.at.most(1);
      if (answers[0]!.status === 503 && acked[0]!.status === 200) ambiguous503++;
    } else if (run) {
      ambiguous503++;
    }
  }
  // Every run is explained by a valid delivery.
  for (const key of byDelivery.keys()) expect(valid.has(key.replace(/^id:/, '')), `run for unknown delivery key ${key}`).to.equal(true);
  return { attempts: traffic.attempts.length, byStatus, runs: runs.length, ambiguous503 };
}

export async function runsOfTrigger(trigger: TriggerHandle): Promise<PipelineRun[]> {
  const list = await adminClient().listAll<PipelineRun>(RESOURCES.pipelineRuns, trigger.namespace, { labelSelector: `${LABELS.trigger}=${trigger.name}` });
  return list.items;
}

export interface JobRecord extends KubeObject {
  metadata: NonNullable<KubeObject['metadata']> & { ownerReferences?: { uid: string; kind: string; name: string }[]; creationTimestamp?: string };
  spec: { template: { spec: { containers: { name: string; args?: string[]; command?: string[]; env?: { name: string; value?: string; valueFrom?: unknown }[] }[] } } };
  status?: Record<string, unknown>;
}

/** Jobs of the namespace grouped by the run that owns them. */
export async function jobsByRun(namespace: string): Promise<Map<string, JobRecord[]>> {
  const list = await adminClient().listAll<JobRecord>(RESOURCES.jobs, namespace);
  const byRun = new Map<string, JobRecord[]>();
  for (const job of list.items) {
    const owner = job.metadata.ownerReferences?.find((o) => o.kind === 'PipelineRun');
    const key = owner?.name ?? `(unowned) ${job.metadata.name}`;
    byRun.set(key, [...(byRun.get(key) ?? []), job]);
  }
  return byRun;
}

/** Waits until every given run has its Job, and checks that no run has more than one. */
export async function expectOneJobPerRun(namespace: string, runs: PipelineRun[], timeoutMs = 30_000): Promise<Map<string, JobRecord[]>> {
  const byRun = await eventually(async () => {
    const jobs = await jobsByRun(namespace);
    return runs.every((r) => (jobs.get(r.metadata.name!) ?? []).length >= 1) ? jobs : undefined;
  }, timeoutMs, 250);
  for (const [run, jobs] of byRun) expect(jobs.length, `Jobs of run ${run}`).to.equal(1);
  for (const run of runs) {
    const [job] = byRun.get(run.metadata.name!)!;
    expect(job!.metadata.ownerReferences?.find((o) => o.kind === 'PipelineRun')?.uid).to.equal(run.metadata.uid);
  }
  return byRun;
}

/** Waits until the API server answers again after a restart. */
export async function waitForApiServer(timeoutMs = 60_000): Promise<void> {
  await eventually(() => adminClient().list(RESOURCES.namespaces, undefined, { limit: 1 }), timeoutMs, 250);
}

// ---------------------------------------------------------------- memory and handles

let gcFunction: (() => void) | undefined;

/** A full garbage collection, without --expose-gc on the command line. */
export function forceGc(): void {
  if (!gcFunction) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) gcFunction = exposed;
    else {
      v8.setFlagsFromString('--expose-gc');
      gcFunction = vm.runInNewContext('gc') as () => void;
    }
  }
  gcFunction();
}

/** heapUsed and rss after two full collections (the second frees what finalizers released). */
export async function memoryAfterGc(): Promise<{ heapUsed: number; rss: number }> {
  forceGc();
  await sleep(50);
  forceGc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss };
}

/** Active handles and requests of this process, by type (timers excluded: they come and go). */
export function activeResources(): { total: number; byType: Record<string, number> } {
  const byType: Record<string, number> = {};
  let total = 0;
  for (const type of process.getActiveResourcesInfo()) {
    if (type === 'Timeout' || type === 'Immediate') continue;
    byType[type] = (byType[type] ?? 0) + 1;
    total++;
  }
  return { total, byType };
}

// ---------------------------------------------------------------- small things

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

export async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
