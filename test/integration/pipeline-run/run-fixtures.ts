// Shared pieces of the run controller's integration tests: Pipelines and PipelineRuns shaped as the
// receiver makes them, a stand-in for the Job controller (these Pipelines' Jobs carry spec.managedBy,
// so the real Job controller leaves them alone and these tests write the Job status the way
// Kubernetes 1.32+ does: see test/harness/job-status-writer.ts; test/e2e runs real Pods), a
// KubeClient that records and can fail the writes of an operator, and readers of runs and Events.
import { randomUUID } from 'node:crypto';
import type { Pipeline, PipelineRun, PipelineSpec, PipelineRunSpec } from '../../../src/api/types.ts';
import { API_VERSION, LABELS, MANAGED_BY } from '../../../src/api/constants.ts';
import { KubeClient, type KubeObject, type ListOptions, type ObjectList, type WatchEventType, type WatchOptions } from '../../../src/kube/client.ts';
import { KubeError, isNotFound } from '../../../src/kube/errors.ts';
import { RESOURCES, type ResourceType } from '../../../src/kube/resources.ts';
import { keyOf } from '../../../src/controller-runtime/keys.ts';
import type { Controller } from '../../../src/controller-runtime/controller.ts';
import type { Job, JobCondition, JobStatus } from '../../../src/controllers/pipeline-run/job.ts';
import { adminClient, eventually } from '../../harness/fixtures.ts';
import { controlPlane } from '../../harness/root-hooks.ts';
import type { TestOperator } from '../../harness/operator.ts';
import { STATUS_WRITTEN_BY_TEST, TEST_JOB_CONTROLLER } from '../../harness/job-status-writer.ts';

export type { Job };

export const IMAGE = 'registry.example/loader:1';

/** A Pipeline with an export_id param (required) and the spec given; one container `load`. */
export function pipelineObject(namespace: string, name: string, spec: Partial<PipelineSpec> = {}): Pipeline {
  return {
    apiVersion: API_VERSION,
    kind: 'Pipeline',
    metadata: { name, namespace },
    spec: {
      params: [{ name: 'export_id', type: 'string', required: true }],
      jobTemplate: {
        spec: {
          ...STATUS_WRITTEN_BY_TEST,
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'load', image: IMAGE, args: ['--export', '$(params.export_id)'] }] } },
        },
      },
      ...spec,
    },
  };
}

export async function createPipeline(namespace: string, name: string, spec: Partial<PipelineSpec> = {}): Promise<Pipeline> {
  return adminClient().create(RESOURCES.pipelines, pipelineObject(namespace, name, spec));
}

export interface RunOptions {
  params?: Record<string, string>;
  /** When the delivery arrived; default now. Queue and Forbid order runs by it. */
  receivedAt?: Date;
  spec?: Partial<PipelineRunSpec>;
}

/** A PipelineRun as src/receiver/build-pipeline-run.ts makes one for trigger `hook`. */
export function runObject(namespace: string, name: string, pipeline: string, opts: RunOptions = {}): PipelineRun {
  const correlationId = randomUUID();
  return {
    apiVersion: API_VERSION,
    kind: 'PipelineRun',
    metadata: {
      name,
      namespace,
      labels: { [LABELS.trigger]: 'hook', [LABELS.pipeline]: pipeline, [LABELS.correlationId]: correlationId, [LABELS.managedBy]: MANAGED_BY },
    },
    spec: {
      pipelineRef: { name: pipeline },
      params: opts.params ?? { export_id: `exp_${name}` },
      trigger: { name: 'hook', deliveryId: `msg_${name}`, receivedTime: (opts.receivedAt ?? new Date()).toISOString() },
      correlationId,
      ...opts.spec,
    },
  };
}

export async function createRun(namespace: string, name: string, pipeline: string, opts: RunOptions = {}): Promise<PipelineRun> {
  return adminClient().create(RESOURCES.pipelineRuns, runObject(namespace, name, pipeline, opts));
}

export function getRun(namespace: string, name: string): Promise<PipelineRun> {
  return adminClient().get<PipelineRun>(RESOURCES.pipelineRuns, namespace, name);
}

/** Polls until the run satisfies `check`; returns it. */
export function waitRun(namespace: string, name: string, check: (r: PipelineRun) => boolean, timeoutMs = 15_000): Promise<PipelineRun> {
  return eventually(async () => {
    const r = await getRun(namespace, name);
    return check(r) ? r : undefined;
  }, timeoutMs, 50);
}

export function waitPhase(namespace: string, name: string, phase: string, reason?: string, timeoutMs = 15_000): Promise<PipelineRun> {
  return waitRun(namespace, name, (r) => r.status?.phase === phase && (reason === undefined || r.status.reason === reason), timeoutMs);
}

export async function getJob(namespace: string, name: string): Promise<Job | undefined> {
  try {
    return await adminClient().get<Job>(RESOURCES.jobs, namespace, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export function waitJob(namespace: string, name: string, timeoutMs = 15_000): Promise<Job> {
  return eventually(() => getJob(namespace, name), timeoutMs, 50);
}

/** The Jobs of a Pipeline's runs in the namespace, by name. */
export async function jobsOf(namespace: string, pipeline: string): Promise<Job[]> {
  const list = await adminClient().list<Job>(RESOURCES.jobs, namespace, { labelSelector: `${LABELS.pipeline}=${pipeline}` });
  return list.items.toSorted((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
}

export async function exists(r: ResourceType, namespace: string, name: string): Promise<boolean> {
  try {
    await adminClient().get(r, namespace, name);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

export function waitGone(r: ResourceType, namespace: string, name: string, timeoutMs = 15_000): Promise<boolean> {
  return eventually(async () => !(await exists(r, namespace, name)), timeoutMs, 100);
}

// ---------------------------------------------------------------- the test acts as the Job controller

/** metav1.Time: whole seconds, as the API server stores it. */
export function kubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function condition(type: string, reason: string, message: string, at: Date): JobCondition {
  const t = kubeTime(at);
  return { type, status: 'True', reason, message, lastProbeTime: t, lastTransitionTime: t };
}

async function writeJobStatus(namespace: string, name: string, status: JobStatus): Promise<Job> {
  // Only a Job the real Job controller leaves alone: on any other, its writes and ours would race.
  const job = await adminClient().get<Job>(RESOURCES.jobs, namespace, name);
  if ((job.spec as { managedBy?: string }).managedBy !== TEST_JOB_CONTROLLER) {
    throw new Error(`Job ${namespace}/${name} is run by Kubernetes' Job controller: give its Pipeline's jobTemplate.spec STATUS_WRITTEN_BY_TEST (test/harness/job-status-writer.ts) to write its status in a test`);
  }
  return adminClient().patchStatus<Job>(RESOURCES.jobs, namespace, name, status);
}

/**
 * Writes what the Job controller writes when the Job's pod has been created: startTime and one
 * active pod. (startTime cannot change afterwards on an unsuspended Job.)
 */
export function startJob(namespace: string, name: string, startTime = new Date()): Promise<Job> {
  return writeJobStatus(namespace, name, { startTime: kubeTime(startTime), active: 1, ready: 0 });
}

/**
 * The Job controller's two steps at success since Kubernetes 1.31: SuccessCriteriaMet=True once the
 * pod succeeded, then, once the pods are gone, Complete=True with completionTime (which it sets on
 * success only). Returns the finished Job.
 */
export async function succeedJob(namespace: string, name: string, opts: { completionTime?: Date; interim?: (job: Job) => Promise<void> } = {}): Promise<Job> {
  const at = opts.completionTime ?? new Date();
  const criteria = condition('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods', at);
  const interim = await writeJobStatus(namespace, name, { active: 0, ready: 0, succeeded: 1, conditions: [criteria] });
  await opts.interim?.(interim);
  return writeJobStatus(namespace, name, {
    completionTime: kubeTime(at),
    conditions: [criteria, condition('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods', at)],
  });
}

export const JOB_FAILURES = {
  BackoffLimitExceeded: 'Job has reached the specified backoff limit',
  DeadlineExceeded: 'Job was active longer than specified deadline',
} as const;

/**
 * The Job controller's two steps at failure since Kubernetes 1.31: FailureTarget=True, then, once
 * the pods are gone, Failed=True with the same reason and message. No completionTime: Kubernetes
 * sets it on success only. `failed` pods were counted (backoffLimit + 1 for BackoffLimitExceeded).
 */
export async function failJob(
  namespace: string,
  name: string,
  reason: keyof typeof JOB_FAILURES,
  opts: { failed?: number; at?: Date; interim?: (job: Job) => Promise<void> } = {},
): Promise<Job> {
  const at = opts.at ?? new Date();
  const message = JOB_FAILURES[reason];
  const target = condition('FailureTarget', reason, message, at);
  const interim = await writeJobStatus(namespace, name, { active: 0, ready: 0, failed: opts.failed ?? 1, conditions: [target] });
  await opts.interim?.(interim);
  return writeJobStatus(namespace, name, { conditions: [target, condition('Failed', reason, message, at)] });
}

/** Runs the Job of a run from start to success: startTime, then SuccessCriteriaMet, then Complete. */
export async function runJobToSuccess(namespace: string, name: string): Promise<Job> {
  await startJob(namespace, name);
  return succeedJob(namespace, name);
}

/**
 * A Pod owned by the Job, as the Job controller would create it (it never runs: it is never
 * scheduled), so that a test can see the garbage collector remove it with the Job.
 */
export async function createJobPod(namespace: string, job: Job): Promise<string> {
  const name = `${job.metadata.name}-pod`;
  await adminClient().create(RESOURCES.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      labels: { 'batch.kubernetes.io/job-name': job.metadata.name },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, uid: job.metadata.uid!, controller: true, blockOwnerDeletion: true }],
    },
    // A scheduling gate keeps it off the node: it exists only to be garbage collected.
    spec: { restartPolicy: 'Never', schedulingGates: [{ name: 'planasonix.test/never-scheduled' }], containers: [{ name: 'load', image: IMAGE }] },
  } as KubeObject);
  return name;
}

// ---------------------------------------------------------------- Events

export interface RunEvent {
  reason: string;
  type: string;
  note: string;
}

/** The events.k8s.io Events about one object. */
export async function eventsFor(namespace: string, name: string): Promise<RunEvent[]> {
  const list = await adminClient().list<KubeObject & RunEvent & { regarding?: { name?: string } }>(RESOURCES.events, namespace);
  return list.items.filter((e) => e.regarding?.name === name).map((e) => ({ reason: e.reason, type: e.type, note: e.note }));
}

export function waitEvent(namespace: string, name: string, reason: string, timeoutMs = 10_000): Promise<RunEvent> {
  return eventually(async () => (await eventsFor(namespace, name)).find((e) => e.reason === reason), timeoutMs, 100);
}

// ---------------------------------------------------------------- the operator

export function runController(operator: TestOperator): Controller {
  const c = operator.controllers.find((x) => x.name === 'pipelinerun');
  if (!c) throw new Error('the operator runs no pipelinerun controller');
  return c;
}

/** planasonix_reconcile_total of the run controller, summed over results. */
export async function reconcileTotal(operator: TestOperator): Promise<number> {
  const metric = await operator.metrics.registry.getSingleMetric('planasonix_reconcile_total')?.get();
  return (metric?.values ?? []).filter((v) => v.labels.controller === 'pipelinerun').reduce((sum, v) => sum + v.value, 0);
}

/**
 * Queues every given run for a reconcile, as a resync (or a new leader) does, and waits until the
 * controller has reconciled at least that many keys more.
 */
export async function resync(operator: TestOperator, namespace: string, names: readonly string[]): Promise<void> {
  const controller = runController(operator);
  const before = controller.stats.reconciles;
  for (const name of names) controller.enqueue(keyOf(namespace, name));
  await eventually(async () => controller.stats.reconciles >= before + names.length, 10_000, 20);
}

/** Waits until the work queue is empty and nothing is being reconciled. */
export async function settle(operator: TestOperator, quietMs = 300): Promise<void> {
  const controller = runController(operator);
  let last = -1;
  let since = Date.now();
  await eventually(async () => {
    const n = controller.stats.reconciles;
    if (n !== last || controller.queue.length > 0) {
      last = n;
      since = Date.now();
      return false;
    }
    return Date.now() - since >= quietMs;
  }, 15_000, 50);
}

// ---------------------------------------------------------------- a client that records and fails writes

export interface RecordedCall {
  verb: 'get' | 'list' | 'create' | 'replace' | 'mergePatch' | 'patchStatus' | 'apply' | 'delete' | 'watch';
  resource: string;
  subresource?: string;
  namespace: string | undefined;
  name: string | undefined;
  body?: unknown;
  /** True once the API server answered with success; false when the call failed (or was failed by the test). */
  ok?: boolean;
}

/**
 * A KubeClient of the test control plane that records every call, and can be told to fail a call
 * (`failNext`: the matching call throws once, as if the request never reached the API server) or
 * to lose its answer (`loseAnswer`), or to die (`kill()`: every call from then on fails, open
 * watches end): a crashed process.
 */
export class RecordingClient extends KubeClient {
  readonly calls: RecordedCall[] = [];
  failNext: ((call: RecordedCall) => boolean) | undefined;
  /** The matching call is sent and done, but its answer is lost: it throws once, as after a dropped connection. */
  loseAnswer: ((call: RecordedCall) => boolean) | undefined;
  /** Called with the call that failNext or loseAnswer made fail. */
  onFailed: ((call: RecordedCall) => void) | undefined;
  dead = false;
  /** Delays the watch events of these resources (plural → ms) before the informer sees them: a lagging cache. */
  watchLagMs: Record<string, number> = {};
  private readonly watches = new Set<AbortController>();

  static create(): RecordingClient {
    const admin = KubeClient.fromDefault({ kubeconfig: controlPlane().kubeconfig });
    return new RecordingClient(admin.config, { timeoutMs: 10_000 });
  }

  kill(): void {
    this.dead = true;
    for (const w of this.watches) w.abort();
  }

  /** Status writes to PipelineRuns (merge patches of the status subresource). */
  runStatusWrites(name?: string): RecordedCall[] {
    return this.calls.filter(
      (c) => c.resource === RESOURCES.pipelineRuns.plural && ((c.verb === 'mergePatch' && c.subresource === 'status') || c.verb === 'patchStatus') && (name === undefined || c.name === name),
    );
  }

  jobCreates(): RecordedCall[] {
    return this.calls.filter((c) => c.resource === RESOURCES.jobs.plural && c.verb === 'create');
  }

  private async track<T>(call: RecordedCall, fn: () => Promise<T>): Promise<T> {
    this.calls.push(call);
    try {
      const result = await this.perform(call, fn);
      call.ok = true;
      return result;
    } catch (e) {
      call.ok = false;
      throw e;
    }
  }

  private async perform<T>(call: RecordedCall, fn: () => Promise<T>): Promise<T> {
    if (this.dead) throw new KubeError(0, 'ECONNREFUSED', 'API server unreachable: the test killed this client');
    if (this.failNext?.(call)) {
      this.failNext = undefined;
      this.onFailed?.(call);
      throw new KubeError(0, 'ECONNRESET', 'API server unreachable: the test failed this call');
    }
    if (this.loseAnswer?.(call)) {
      this.loseAnswer = undefined;
      await fn();
      this.onFailed?.(call);
      throw new KubeError(0, 'ECONNRESET', 'API server unreachable: the test lost the answer to this call');
    }
    return fn();
  }

  override get<T extends KubeObject>(r: ResourceType, namespace: string | undefined, name: string): Promise<T> {
    return this.track({ verb: 'get', resource: r.plural, namespace, name }, () => super.get<T>(r, namespace, name));
  }
  override list<T extends KubeObject>(r: ResourceType, namespace?: string, opts?: ListOptions): Promise<ObjectList<T>> {
    return this.track({ verb: 'list', resource: r.plural, namespace, name: undefined }, () => super.list<T>(r, namespace, opts));
  }
  override create<T extends KubeObject>(r: ResourceType, obj: T, opts?: { dryRun?: boolean; timeoutMs?: number }): Promise<T> {
    return this.track({ verb: 'create', resource: r.plural, namespace: obj.metadata?.namespace, name: obj.metadata?.name, body: obj }, () => super.create<T>(r, obj, opts));
  }
  override replace<T extends KubeObject>(r: ResourceType, obj: T): Promise<T> {
    return this.track({ verb: 'replace', resource: r.plural, namespace: obj.metadata?.namespace, name: obj.metadata?.name, body: obj }, () => super.replace<T>(r, obj));
  }
  override mergePatch<T extends KubeObject>(r: ResourceType, namespace: string | undefined, name: string, patch: unknown, subresource?: string): Promise<T> {
    return this.track({ verb: 'mergePatch', resource: r.plural, ...(subresource ? { subresource } : {}), namespace, name, body: patch }, () =>
      super.mergePatch<T>(r, namespace, name, patch, subresource),
    );
  }
  override patchStatus<T extends KubeObject>(r: ResourceType, namespace: string | undefined, name: string, status: unknown, opts?: { resourceVersion?: string }): Promise<T> {
    return this.track({ verb: 'patchStatus', resource: r.plural, subresource: 'status', namespace, name, body: status }, () => super.patchStatus<T>(r, namespace, name, status, opts));
  }
  override apply<T extends KubeObject>(r: ResourceType, obj: T, opts?: { force?: boolean; dryRun?: boolean; fieldManager?: string }): Promise<T> {
    return this.track({ verb: 'apply', resource: r.plural, namespace: obj.metadata?.namespace, name: obj.metadata?.name, body: obj }, () => super.apply<T>(r, obj, opts));
  }
  override delete(r: ResourceType, namespace: string | undefined, name: string, opts?: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan'; uid?: string; gracePeriodSeconds?: number }): Promise<void> {
    return this.track({ verb: 'delete', resource: r.plural, namespace, name, body: opts }, () => super.delete(r, namespace, name, opts));
  }
  override watch<T extends KubeObject>(r: ResourceType, namespace: string | undefined, opts: WatchOptions, onEvent: (type: WatchEventType, obj: T) => void): Promise<void> {
    const abort = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, abort.signal]) : abort.signal;
    this.watches.add(abort);
    const lag = this.watchLagMs[r.plural] ?? 0;
    const deliver = lag > 0 ? (type: WatchEventType, obj: T) => void setTimeout(() => onEvent(type, obj), lag) : onEvent;
    return this.track({ verb: 'watch', resource: r.plural, namespace, name: undefined }, () => super.watch<T>(r, namespace, { ...opts, signal }, deliver)).finally(() =>
      this.watches.delete(abort),
    );
  }
}

// ---------------------------------------------------------------- a watch on Jobs

export interface JobEvent {
  type: WatchEventType;
  name: string;
  /** performance.now() when the event arrived. */
  at: number;
  finished: boolean;
}

export interface JobWatch {
  events: JobEvent[];
  /** The names of Jobs ADDED, in order. */
  added(): string[];
  /** The most Jobs that existed unfinished at one time. */
  maxUnfinished(): number;
  stop(): void;
}

const isFinished = (job: Job) => (job.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');

/** Watches the namespace's Jobs (from now on: objects already there arrive as ADDED first). */
export async function watchJobs(namespace: string, labelSelector?: string): Promise<JobWatch> {
  const abort = new AbortController();
  const events: JobEvent[] = [];
  const unfinished = new Set<string>();
  let max = 0;
  const client = adminClient();
  const list = await client.list<Job>(RESOURCES.jobs, namespace, labelSelector ? { labelSelector } : {});
  for (const job of list.items) if (!isFinished(job)) unfinished.add(job.metadata.name);
  max = unfinished.size;
  void client
    .watch<Job>(RESOURCES.jobs, namespace, { resourceVersion: list.metadata.resourceVersion, signal: abort.signal, ...(labelSelector ? { labelSelector } : {}) }, (type, job) => {
      if (type === 'BOOKMARK') return;
      const finished = isFinished(job);
      events.push({ type, name: job.metadata.name, at: performance.now(), finished });
      if (type === 'DELETED' || finished) unfinished.delete(job.metadata.name);
      else unfinished.add(job.metadata.name);
      max = Math.max(max, unfinished.size);
    })
    .catch(() => {});
  return {
    events,
    added: () => events.filter((e) => e.type === 'ADDED').map((e) => e.name),
    maxUnfinished: () => max,
    stop: () => abort.abort(),
  };
}
