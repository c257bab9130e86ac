// What a receiver replica keeps of each trigger and its generated Secret: the fields routing reads,
// and nothing else. A replica caches every trigger it serves, so each byte per object counts many
// thousand times over: the conditions' messages and times, the status references, the URL, the
// annotations and each object's own copies of repeated strings were about a third of a cached pair
// (heap snapshots of 10,000 bench triggers), and a larger heap to mark and scan.
// The types below are what compileRoute, claimantOf and isWebhookSecretOf accept, so the compiler
// checks that routing reads nothing these views drop.
import type { V1Secret } from '@kubernetes/client-node';
import type { Condition, ObjectMeta, WebhookTriggerSpec, WebhookTriggerStatus } from '../api/types.ts';
import { API_VERSION, CONDITION_TYPES, KINDS, MANAGED_BY, WEBHOOK_SECRET_KEYS } from '../api/constants.ts';

/** A trigger as routing reads it: its identity, its spec, whether it is Ready and its path's digest. */
export interface RoutingTrigger {
  apiVersion?: string;
  kind?: string;
  metadata: Pick<ObjectMeta, 'name' | 'namespace' | 'uid' | 'resourceVersion' | 'generation' | 'creationTimestamp' | 'deletionTimestamp'>;
  spec: WebhookTriggerSpec;
  status?: Pick<WebhookTriggerStatus, 'pathDigest'> & { conditions?: Pick<Condition, 'type' | 'status'>[] };
}

/** The generated Secret's keys routing reads: the path and the signing secrets (not the URL). */
const ROUTING_SECRET_KEYS: readonly string[] = [
  WEBHOOK_SECRET_KEYS.path,
  WEBHOOK_SECRET_KEYS.signingSecret,
  WEBHOOK_SECRET_KEYS.previousSigningSecret,
  WEBHOOK_SECRET_KEYS.previousExpiresAt,
];

/** The receiver's trigger cache keeps this of each trigger. */
export function routingViewOfTrigger(trigger: RoutingTrigger): RoutingTrigger {
  const { name, namespace, uid, resourceVersion, generation, creationTimestamp, deletionTimestamp } = trigger.metadata;
  const ready = trigger.status?.conditions?.find((c) => c.type === CONDITION_TYPES.ready);
  return {
    apiVersion: shared(trigger.apiVersion, API_VERSION),
    kind: shared(trigger.kind, KINDS.webhookTrigger.kind),
    metadata: { name, namespace, uid, resourceVersion, generation, creationTimestamp, ...(deletionTimestamp ? { deletionTimestamp } : {}) },
    spec: trigger.spec,
    status: {
      conditions: ready ? [{ type: CONDITION_TYPES.ready, status: shared(ready.status, 'True', 'False', 'Unknown') }] : [],
      pathDigest: trigger.status?.pathDigest,
    },
  };
}

/** The receiver's Secret cache (generated Secrets only) keeps this of each Secret. */
export function routingViewOfSecret(secret: V1Secret): V1Secret {
  const { name, namespace, resourceVersion, labels, ownerReferences } = secret.metadata ?? {};
  const data = secret.data ?? {};
  const kept: Record<string, string> = {};
  for (const key of ROUTING_SECRET_KEYS) if (data[key] !== undefined) kept[key] = data[key];
  const controller = ownerReferences?.find((o) => o.controller === true);
  return {
    apiVersion: shared(secret.apiVersion, 'v1'),
    kind: shared(secret.kind, 'Secret'),
    metadata: {
      name,
      namespace,
      resourceVersion,
      labels: labels && Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, shared(v, MANAGED_BY)])),
      ownerReferences: controller
        ? [{ ...controller, apiVersion: shared(controller.apiVersion, API_VERSION), kind: shared(controller.kind, KINDS.webhookTrigger.kind) }]
        : [],
    },
    data: kept,
  };
}

/**
 * The one copy of a value every object repeats. JSON.parse gives each object its own copy of each
 * string: 10,000 triggers held 10,000 strings "WebhookTrigger".
 */
function shared<T extends string>(value: T, ...known: readonly T[]): T;
function shared<T extends string>(value: T | undefined, ...known: readonly T[]): T | undefined;
function shared<T extends string>(value: T | undefined, ...known: readonly T[]): T | undefined {
  return known.find((k) => k === value) ?? value;
}
