// Shared helpers of the WebhookTrigger controller's integration tests: objects to apply, readers of
// what the controller wrote, a client that counts API writes, and a planasonix signer.
import { createHmac } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { Condition, Pipeline, PipelineSpec, WebhookTrigger, WebhookTriggerSpec } from '../../../src/api/types.ts';
import { API_VERSION, KINDS } from '../../../src/api/constants.ts';
import { KubeClient, type KubeObject } from '../../../src/kube/client.ts';
import { RESOURCES, type ResourceType } from '../../../src/kube/resources.ts';
import type { RunningOperator } from '../../../src/operator/operator.ts';
import { keyOf } from '../../../src/controller-runtime/keys.ts';
import { TRIGGER_INDEXES } from '../../../src/controllers/webhook-trigger/trigger-controller.ts';
import { adminClient, eventually } from '../../harness/fixtures.ts';
import { STATUS_WRITTEN_BY_TEST } from '../../harness/job-status-writer.ts';

export type WriteVerb = 'create' | 'replace' | 'mergePatch' | 'patchStatus' | 'apply' | 'delete';

export interface RecordedWrite {
  verb: WriteVerb;
  resource: string;
  namespace: string | undefined;
  name: string | undefined;
  /** performance.now() when the write was asked for. */
  at: number;
  /** Why the API server (or the client) refused it; absent for a write that succeeded. */
  failed?: string;
}

/**
 * A KubeClient that records every write it is asked to make (successful or not), so a test can
 * assert that an operator using it wrote nothing, or only to some resources.
 */
export class CountingClient extends KubeClient {
  readonly writes: RecordedWrite[] = [];

  /** Records the write and, when the API server (or the client) refuses it, why. */
  private async record<T>(verb: WriteVerb, r: ResourceType, namespace: string | undefined, name: string | undefined, request: () => Promise<T>): Promise<T> {
    const write: RecordedWrite = { verb, resource: r.plural, namespace, name, at: performance.now() };
    this.writes.push(write);
    try {
      return await request();
    } catch (e) {
      write.failed = e instanceof Error ? e.message : String(e);
      throw e;
    }
  }

  /** Writes other than Lease renewals (which a leader makes by design). */
  writesExceptLeases(): RecordedWrite[] {
    return this.writes.filter((w) => w.resource !== RESOURCES.leases.plural);
  }

  override async create<T extends KubeObject>(r: ResourceType, obj: T, opts: { dryRun?: boolean; timeoutMs?: number } = {}): Promise<T> {
    return this.record('create', r, obj.metadata?.namespace, obj.metadata?.name, () => super.create(r, obj, opts));
  }

  override async replace<T extends KubeObject>(r: ResourceType, obj: T): Promise<T> {
    return this.record('replace', r, obj.metadata?.namespace, obj.metadata?.name, () => super.replace(r, obj));
  }

  override async mergePatch<T extends KubeObject>(r: ResourceType, namespace: string | undefined, name: string, patch: unknown, subresource?: string): Promise<T> {
    return this.record('mergePatch', r, namespace, name, () => super.mergePatch(r, namespace, name, patch, subresource));
  }

  override async patchStatus<T extends KubeObject>(r: ResourceType, namespace: string | undefined, name: string, status: unknown, opts?: { resourceVersion?: string }): Promise<T> {
    return this.record('patchStatus', r, namespace, name, () => super.patchStatus(r, namespace, name, status, opts));
  }

  override async apply<T extends KubeObject>(r: ResourceType, obj: T, opts: { force?: boolean; dryRun?: boolean; fieldManager?: string } = {}): Promise<T> {
    return this.record('apply', r, obj.metadata?.namespace, obj.metadata?.name, () => super.apply(r, obj, opts));
  }

  override async delete(
    r: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan'; uid?: string; gracePeriodSeconds?: number } = {},
  ): Promise<void> {
    return this.record('delete', r, namespace, name, () => super.delete(r, namespace, name, opts));
  }
}

export function countingClient(): CountingClient {
  return new CountingClient(adminClient().config, { timeoutMs: 10_000 });
}

// ---------------------------------------------------------------- objects

export function pipelineObject(namespace: string, name: string, spec: Partial<PipelineSpec> = {}): Pipeline {
  return {
    apiVersion: API_VERSION,
    kind: KINDS.pipeline.kind,
    metadata: { name, namespace },
    spec: {
      jobTemplate: { spec: { ...STATUS_WRITTEN_BY_TEST, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'example.test/job:1' }] } } } },
      ...spec,
    },
  };
}

export function triggerObject(namespace: string, name: string, spec: Partial<WebhookTriggerSpec> = {}, annotations?: Record<string, string>): WebhookTrigger {
  return {
    apiVersion: API_VERSION,
    kind: KINDS.webhookTrigger.kind,
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec: { pipelineRef: { name: 'pipe' }, ...spec },
  };
}

export function secretObject(namespace: string, name: string, data: Record<string, string>): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

// ---------------------------------------------------------------- reading what the controller wrote

export function getTrigger(namespace: string, name: string): Promise<WebhookTrigger> {
  return adminClient().get<WebhookTrigger>(RESOURCES.webhookTriggers, namespace, name);
}

export function readyCondition(t: WebhookTrigger | undefined): Condition | undefined {
  return t?.status?.conditions?.find((c) => c.type === 'Ready');
}

/** True when the controller has seen the trigger's latest spec and found it Ready. */
export function isReadyAndCurrent(t: WebhookTrigger): boolean {
  const ready = readyCondition(t);
  return ready?.status === 'True' && t.status?.observedGeneration === t.metadata.generation && ready.observedGeneration === t.metadata.generation;
}

export async function waitReady(namespace: string, name: string, timeoutMs = 10_000): Promise<WebhookTrigger> {
  return eventually(async () => {
    const t = await getTrigger(namespace, name);
    return isReadyAndCurrent(t) ? t : undefined;
  }, timeoutMs);
}

/** Waits until the Ready condition has this status and reason, and returns the trigger. */
export async function waitReason(namespace: string, name: string, status: 'True' | 'False', reason: string, timeoutMs = 10_000): Promise<WebhookTrigger> {
  return eventually(async () => {
    const t = await getTrigger(namespace, name);
    const ready = readyCondition(t);
    return ready?.status === status && ready.reason === reason && t.status?.observedGeneration === t.metadata.generation ? t : undefined;
  }, timeoutMs);
}

/** The generated Secret's data, decoded, plus its metadata. */
export interface DecodedSecret {
  secret: V1Secret;
  data: Record<string, string>;
}

export async function readSecret(namespace: string, name: string): Promise<DecodedSecret> {
  const secret = await adminClient().get<V1Secret>(RESOURCES.secrets, namespace, name);
  const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  return { secret, data };
}

export interface KubeEvent {
  metadata: { name: string };
  reason: string;
  type: string;
  note?: string;
  reportingInstance?: string;
  reportingController?: string;
  regarding?: { kind?: string; name?: string; uid?: string };
}

/** Events (events.k8s.io/v1) about one trigger, optionally of one reason. */
export async function triggerEvents(namespace: string, triggerName: string, reason?: string): Promise<KubeEvent[]> {
  const list = await adminClient().list<KubeEvent & KubeObject>(RESOURCES.events, namespace);
  return list.items.filter((e) => e.regarding?.kind === 'WebhookTrigger' && e.regarding.name === triggerName && (reason === undefined || e.reason === reason));
}

// ---------------------------------------------------------------- deliveries

/** The planasonix signature header: `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export function planasonixSignature(secret: string, body: string, t = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${mac}`;
}

let deliveryCounter = 0;

/** Sends one signed delivery with a unique body and returns the HTTP status. */
export async function deliver(receiverUrl: string, path: string, secret: string): Promise<number> {
  const body = JSON.stringify({ n: ++deliveryCounter, at: Date.now() });
  const res = await fetch(receiverUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-planasonix-signature': planasonixSignature(secret, body) },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Waits until `count` triggers of the namespace are Ready for their latest generation. It watches
 * the operator's own trigger cache (fed by a watch), since polling a list of hundreds of triggers
 * would load the API server more than the operator under test does; the answer is then confirmed
 * with one list from the API server.
 */
export async function waitAllReady(operator: RunningOperator, namespace: string, count: number, timeoutMs: number): Promise<void> {
  const cache = operator.manager.informer<WebhookTrigger>(RESOURCES.webhookTriggers, { namespace });
  await eventually(async () => cache.list().filter((t) => t.metadata.namespace === namespace && isReadyAndCurrent(t)).length === count, timeoutMs, 20);
  const list = await adminClient().listAll<WebhookTrigger>(RESOURCES.webhookTriggers, namespace);
  if (list.items.filter(isReadyAndCurrent).length !== count) throw new Error('the API server does not show every trigger Ready');
}

/** Waits until the trigger controller has nothing queued or in flight, and the Pipelines' counts are written. */
export async function waitIdle(operator: RunningOperator, minReconciles: number, namespace: string): Promise<void> {
  const controller = operator.controllers.find((c) => c.name === 'webhooktrigger')!;
  await eventually(async () => pipelineCountsSeen(operator, namespace) && controller.stats.reconciles >= minReconciles && controller.queue.length === 0 && controller.queue.inFlight === 0, 30_000, 50);
}

/**
 * The operator's cache shows every Pipeline of the namespace with its final trigger count, and the
 * Pipeline controller has nothing left to write. It gathers trigger changes for
 * TRIGGER_COUNT_DELAY_MS before it counts: a check of the trigger controller alone can pass while
 * a count is still to be written, and a check for writes at rest would then see it.
 */
export function pipelineCountsSeen(operator: RunningOperator, namespace: string): boolean {
  const controller = operator.controllers.find((c) => c.name === 'pipeline');
  if (controller && (controller.queue.length > 0 || controller.queue.inFlight > 0 || controller.queue.delayedCount > 0)) return false;
  const triggers = operator.manager.informer<WebhookTrigger>(RESOURCES.webhookTriggers, { namespace });
  const pipelines = operator.manager.informer<Pipeline>(RESOURCES.pipelines, { namespace });
  // A cache the operator does not run (it watches other namespaces) would hold nothing, and pass.
  if (!pipelines.hasSynced() || !triggers.hasSynced()) throw new Error(`the operator does not watch Pipelines and triggers in ${namespace} alone`);
  return pipelines
    .list()
    .every((p) => (p.status?.triggers ?? 0) === triggers.byIndex(TRIGGER_INDEXES.pipeline, keyOf(namespace, p.metadata.name!)).length);
}

export function triggersYaml(namespace: string, count: number, prefix: string): string {
  return Array.from({ length: count }, (_, i) =>
    stringify(triggerObject(namespace, `${prefix}-${String(i).padStart(4, '0')}`, { auth: { scheme: i % 2 ? 'standard-webhooks' : 'planasonix', rotation: { every: '2160h', overlap: '24h' } } })),
  ).join('---\n');
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A status-only change of a Pipeline, as the Pipeline controller's own writes look to the other
 * controllers; resolves once the operator's cache shows it.
 */
export async function changePipelineStatusOnly(operator: RunningOperator, namespace: string, name: string): Promise<void> {
  const pipelines = operator.manager.informer<Pipeline>(RESOURCES.pipelines, { namespace });
  const note = { type: 'Reviewed', status: 'True', reason: 'ByHand', message: 'a status-only change', lastTransitionTime: new Date().toISOString() };
  const conditions = [...(pipelines.get(`${namespace}/${name}`)!.status?.conditions ?? []), note];
  const written = await adminClient().patchStatus<Pipeline>(RESOURCES.pipelines, namespace, name, { conditions });
  await eventually(async () => pipelines.get(`${namespace}/${name}`)?.metadata.resourceVersion === written.metadata.resourceVersion, 10_000, 20);
}
