// Fails when src/api/types.ts and crds/*.yaml drift apart. Each kind has one fixture that sets every
// field its TypeScript type allows (Full<T> makes tsc insist on that), and the test checks that the
// fixture and the CRD's openAPIV3Schema have the same field paths, that the fixture validates against
// the schema, and that every enum in the schema lists exactly the members of its TypeScript union.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { Ajv } from 'ajv';
import { API_VERSION, KINDS } from '../../../src/api/constants.ts';
import type {
  AuthScheme,
  HmacAlgorithm,
  HmacEncoding,
  HmacPreset,
  ConcurrencyPolicy,
  Condition,
  DeliveryRecord,
  DeliveryRecordSpec,
  IdempotencySource,
  ParamSource,
  ParamType,
  Pipeline,
  PipelineRun,
  PipelineRunSpec,
  PipelineRunStatus,
  PipelineSpec,
  PipelineStatus,
  RunPhase,
  WebhookTrigger,
  WebhookTriggerSpec,
  WebhookTriggerStatus,
} from '../../../src/api/types.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** T with every optional field, at every depth, made required: a fixture of this type sets them all. */
type Full<T> = T extends readonly (infer U)[] ? Full<U>[] : T extends object ? { [K in keyof T]-?: Full<T[K]> } : T;

/** true only when the tuple A names every member of the union T. */
type Covers<T, A extends readonly unknown[]> = [T] extends [A[number]] ? true : false;

interface SchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
  anyOf?: SchemaNode[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  [keyword: string]: unknown;
}

interface CrdDocument {
  spec: { names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: SchemaNode } }[] };
}

// ---------------------------------------------------------------- enums, checked against the unions by tsc

const AUTH_SCHEMES = ['planasonix', 'standard-webhooks', 'github', 'bearer', 'hmac', 'none'] as const satisfies readonly AuthScheme[];
const HMAC_PRESETS = ['github', 'gitlab', 'shopify', 'slack', 'standard-webhooks', 'stripe'] as const satisfies readonly HmacPreset[];
const HMAC_ALGORITHMS = ['sha1', 'sha256', 'sha512'] as const satisfies readonly HmacAlgorithm[];
const HMAC_ENCODINGS = ['base64', 'hex'] as const satisfies readonly HmacEncoding[];
const PARAM_TYPES = ['string', 'number', 'boolean', 'object'] as const satisfies readonly ParamType[];
const PARAM_SOURCES = ['body', 'header', 'query', 'cloudevent'] as const satisfies readonly ParamSource[];
const IDEMPOTENCY_SOURCES = ['scheme', 'header', 'body'] as const satisfies readonly IdempotencySource[];
const CONCURRENCY_POLICIES = ['Allow', 'Forbid', 'Replace', 'Queue'] as const satisfies readonly ConcurrencyPolicy[];
const RUN_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Cancelled'] as const satisfies readonly RunPhase[];
const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const satisfies readonly Condition['status'][];

// A union member missing from its list above turns one of these into a type error (npm run typecheck).
const ENUMS_COVER_UNIONS: true[] = [
  true satisfies Covers<AuthScheme, typeof AUTH_SCHEMES>,
  true satisfies Covers<ParamType, typeof PARAM_TYPES>,
  true satisfies Covers<HmacPreset, typeof HMAC_PRESETS>,
  true satisfies Covers<HmacAlgorithm, typeof HMAC_ALGORITHMS>,
  true satisfies Covers<HmacEncoding, typeof HMAC_ENCODINGS>,
  true satisfies Covers<ParamSource, typeof PARAM_SOURCES>,
  true satisfies Covers<IdempotencySource, typeof IDEMPOTENCY_SOURCES>,
  true satisfies Covers<ConcurrencyPolicy, typeof CONCURRENCY_POLICIES>,
  true satisfies Covers<RunPhase, typeof RUN_PHASES>,
  true satisfies Covers<Condition['status'], typeof CONDITION_STATUSES>,
];
void ENUMS_COVER_UNIONS; // read by the type checker only

// ---------------------------------------------------------------- fixtures: every field set

const condition: Full<Condition> = {
  type: 'Ready',
  status: 'True',
  reason: 'Serving',
  message: 'deliveries are accepted',
  observedGeneration: 3,
  lastTransitionTime: '2025-01-02T03:04:05Z',
};

const jobTemplate: Full<PipelineSpec['jobTemplate']> = {
  metadata: { labels: { 'app.kubernetes.io/name': 'export-loader' }, annotations: { 'example.com/owner': 'data' } },
  spec: {
    template: {
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'load', image: 'ghcr.io/example/export-loader:3', args: ['--export', '$(params.export_id)'] }],
      },
    },
  },
};

const pipelineSpec: Full<PipelineSpec> = {
  params: [{ name: 'export_id', type: 'string', required: false, default: 'exp_0', description: 'Export to load' }],
  jobTemplate,
  versions: [{ name: 'v4-beta', jobTemplate }],
  concurrencyPolicy: 'Queue',
  timeout: '30m',
  retries: 2,
  history: { succeeded: 20, failed: 50 },
};

const pipelineStatus: Full<PipelineStatus> = { observedGeneration: 3, conditions: [condition], triggers: 2 };

const fullPipeline: Pipeline = {
  apiVersion: API_VERSION,
  kind: KINDS.pipeline.kind,
  metadata: { name: 'export-loader', namespace: 'data' },
  spec: pipelineSpec,
  status: pipelineStatus,
};

const triggerSpec: Full<WebhookTriggerSpec> = {
  // Both set only to cover every field: the CRD's rule allows one of pipelineRef and targets.
  pipelineRef: { name: 'export-loader', version: 'v4-beta' },
  targets: [
    {
      name: 'warehouse',
      pipelineRef: { name: 'warehouse-loader', version: 'v2' },
      filter: 'body.region == "eu"',
      params: [
        {
          name: 'table',
          from: 'body',
          path: '/table',
          header: 'X-Table',
          query: 'table',
          attribute: 'subject',
          type: 'string',
          required: true,
          default: 'exports',
          sensitive: false,
        },
      ],
    },
  ],
  auth: {
    scheme: 'planasonix',
    secretRef: { name: 'billing-webhook', key: 'signing-secret' },
    publicKey: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n',
    signedParamsOnly: false,
    signedDeliveryIdOnly: false,
    tolerance: '5m',
    rotation: { every: '2160h', schedule: '0 3 * * SUN', overlap: '24h' },
    hmac: {
      preset: 'stripe',
      mode: 'signature',
      header: 'Stripe-Signature',
      algorithm: 'sha256',
      encoding: 'hex',
      prefix: 'v1=',
      separator: ',',
      signedContent: '{timestamp}.{body}',
      timestamp: { header: 'X-Timestamp', prefix: 't=' },
      deliveryIdHeader: 'X-Delivery',
      secretEncoding: 'text',
    },
  },
  allowedSourceRanges: ['203.0.113.0/24', '2001:db8::/32'],
  params: [
    {
      name: 'export_id',
      from: 'body',
      path: '/export_id',
      header: 'X-Export-Id',
      query: 'export_id',
      attribute: 'subject',
      type: 'string',
      required: false,
      default: 'exp_0',
      sensitive: false,
    },
  ],
  payload: { strict: true, maxBytes: '1Mi', schema: { type: 'object', required: ['export_id'] } },
  idempotency: { from: 'header', header: 'Idempotency-Key', path: '/export_id' },
  rateLimit: { requestsPerMinute: 600, burst: 100 },
  filter: 'body.status == "completed"',
  suspend: false,
};

const triggerStatus: Full<WebhookTriggerStatus> = {
  observedGeneration: 3,
  conditions: [condition],
  urlSecretRef: { name: 'export-completed-webhook', key: 'url' },
  signingSecretRef: { name: 'export-completed-webhook', key: 'signing-secret' },
  rotation: {
    lastRotationTime: '2025-01-02T03:04:05Z',
    nextRotationTime: '2025-04-02T03:04:05Z',
    lastHandledRequest: '2025-01-02T03:00:00Z',
  },
  lastDelivery: { time: '2025-01-02T03:04:05Z', correlationId: '0193f6c2-7b1e-7c3a-9f1d-2b8e4a6c0d11', pipelineRun: 'export-completed-8f3c21d0a9b4e7f1' },
  pathDigest: '3a7bd3e2360a3d29eea436fcfb7e44c7',
};

const fullTrigger: WebhookTrigger = {
  apiVersion: API_VERSION,
  kind: KINDS.webhookTrigger.kind,
  metadata: { name: 'export-completed', namespace: 'data' },
  spec: triggerSpec,
  status: triggerStatus,
};

const runSpec: Full<PipelineRunSpec> = {
  pipelineRef: { name: 'export-loader', version: '' },
  params: { export_id: 'exp_8f3c21', location: 's3://exports-bucket/exp_8f3c21/', record_count: '482910' },
  sensitiveParams: ['api_token'],
  payloadErrors: [{ param: 'record_count', message: 'is not a number' }],
  trigger: { name: 'export-completed', deliveryId: 'msg_2b8e4a6c', receivedTime: '2025-01-02T03:04:05Z', target: 'warehouse' },
  correlationId: '0193f6c2-7b1e-7c3a-9f1d-2b8e4a6c0d11',
  cancelled: false,
  rerunOf: 'export-completed-5f2c9a01b7c4d3e2',
};

const runStatus: Full<PipelineRunStatus> = {
  observedGeneration: 1,
  phase: 'Running',
  reason: 'JobActive',
  message: 'the Job is running',
  startTime: '2025-01-02T03:04:06Z',
  completionTime: '2025-01-02T03:04:47Z',
  jobRef: { name: 'export-completed-5f2c9a01b7' },
  attempts: 1,
  conditions: [{ ...condition, type: 'Succeeded', status: 'Unknown', reason: 'JobActive' }],
};

const fullRun: PipelineRun = {
  apiVersion: API_VERSION,
  kind: KINDS.pipelineRun.kind,
  metadata: { name: 'export-completed-5f2c9a01b7', namespace: 'data' },
  spec: runSpec,
  status: runStatus,
};

// ---------------------------------------------------------------- schema walking

/** Reads the v1alpha1 openAPIV3Schema of one CRD file. */
function loadSchema(file: string): SchemaNode {
  const crd = parse(readFileSync(path.join(repoRoot, 'crds', file), 'utf8')) as CrdDocument;
  const version = crd.spec.versions.find((v) => v.name === 'v1alpha1');
  if (!version) throw new Error(`${file} has no v1alpha1 version`);
  return version.schema.openAPIV3Schema;
}

const join = (base: string, key: string) => (base ? `${base}.${key}` : key);

/** Whether the schema hands this subtree to something else (a JSON Schema, a JobSpec): its fields are not ours. */
function isOpaque(node: SchemaNode, at: string): boolean {
  return node['x-kubernetes-preserve-unknown-fields'] === true || at === 'metadata';
}

/** Every field path the schema declares, as `spec.params[].name` or `spec.params.*` for map values. */
function collectSchemaPaths(node: SchemaNode, at = '', out = new Set<string>()): Set<string> {
  if (at) out.add(at);
  if (at && isOpaque(node, at)) return out;
  for (const [key, child] of Object.entries(node.properties ?? {})) collectSchemaPaths(child, join(at, key), out);
  if (node.items) collectSchemaPaths(node.items, `${at}[]`, out);
  if (typeof node.additionalProperties === 'object') collectSchemaPaths(node.additionalProperties, `${at}.*`, out);
  return out;
}

/** Every field path the fixture sets; paths the schema does not declare go to `undeclared`. */
function collectFixturePaths(value: unknown, node: SchemaNode | undefined, at: string, out: Set<string>, undeclared: string[]): void {
  if (at) out.add(at);
  if (!node) {
    undeclared.push(at);
    return;
  }
  if (at && isOpaque(node, at)) return;
  if (Array.isArray(value)) {
    for (const item of value) collectFixturePaths(item, node.items, `${at}[]`, out, undeclared);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value)) {
    if (node.properties) collectFixturePaths(child, node.properties[key], join(at, key), out, undeclared);
    else if (typeof node.additionalProperties === 'object') collectFixturePaths(child, node.additionalProperties, `${at}.*`, out, undeclared);
    else undeclared.push(join(at, key));
  }
}

/** Paths set in the TypeScript fixture but absent from the schema, and the reverse. */
function findDrift(fixture: unknown, schema: SchemaNode): { onlyInTypes: string[]; onlyInCrd: string[] } {
  const fixturePaths = new Set<string>();
  const onlyInTypes: string[] = [];
  collectFixturePaths(fixture, schema, '', fixturePaths, onlyInTypes);
  const onlyInCrd = [...collectSchemaPaths(schema)].filter((p) => !fixturePaths.has(p));
  return { onlyInTypes: [...new Set(onlyInTypes)].sort(), onlyInCrd: onlyInCrd.sort() };
}

/** Every node of the schema with its path, outside opaque subtrees. */
function listSchemaNodes(node: SchemaNode, at = '', out: [string, SchemaNode][] = []): [string, SchemaNode][] {
  out.push([at, node]);
  if (at && isOpaque(node, at)) return out;
  for (const [key, child] of Object.entries(node.properties ?? {})) listSchemaNodes(child, join(at, key), out);
  if (node.items) listSchemaNodes(node.items, `${at}[]`, out);
  if (typeof node.additionalProperties === 'object') listSchemaNodes(node.additionalProperties, `${at}.*`, out);
  return out;
}

/** A copy of the schema without Kubernetes' x-kubernetes-* extensions, which ajv does not know. */
function stripKubernetesExtensions(value: unknown, parentKey = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => stripKubernetesExtensions(v));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    // Under `properties`, keys are field names (a field may be called `default`), not keywords.
    if (parentKey !== 'properties' && key.startsWith('x-kubernetes-')) continue;
    out[key] = stripKubernetesExtensions(child, key);
  }
  return out;
}

/** Validates an object against a CRD schema with the formats Kubernetes knows; returns ajv's error text. */
function validateAgainstSchema(obj: unknown, schema: SchemaNode): string | undefined {
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && Math.abs(n) < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  const validate = ajv.compile(stripKubernetesExtensions(schema) as object);
  return validate(obj) ? undefined : ajv.errorsText(validate.errors, { dataVar: 'object' });
}

// ---------------------------------------------------------------- the kinds

const recordSpec: Full<DeliveryRecordSpec> = {
  key: 'replay:3f1c9a',
  deliveryKey: 'id:exp_8f3c21-completed',
  expiresAt: '2026-01-01T00:05:00Z',
};

const fullRecord: DeliveryRecord = {
  apiVersion: API_VERSION,
  kind: KINDS.deliveryRecord.kind,
  metadata: { name: 'export-completed-9a8b7c6d5e4f3a2b', namespace: 'data' },
  spec: recordSpec,
};

const cases = [
  {
    kind: 'WebhookTrigger',
    file: 'planasonix.io_webhooktriggers.yaml',
    fixture: fullTrigger,
    enums: {
      'spec.auth.scheme': AUTH_SCHEMES,
      'spec.auth.hmac.preset': HMAC_PRESETS,
      'spec.auth.hmac.mode': ['signature', 'token'],
      'spec.auth.hmac.algorithm': HMAC_ALGORITHMS,
      'spec.auth.hmac.encoding': HMAC_ENCODINGS,
      'spec.auth.hmac.secretEncoding': ['base64', 'text'],
      'spec.params[].from': PARAM_SOURCES,
      'spec.params[].type': PARAM_TYPES,
      'spec.targets[].params[].from': PARAM_SOURCES,
      'spec.targets[].params[].type': PARAM_TYPES,
      'spec.idempotency.from': IDEMPOTENCY_SOURCES,
      'status.conditions[].status': CONDITION_STATUSES,
    } as Record<string, readonly string[]>,
  },
  {
    kind: 'Pipeline',
    file: 'planasonix.io_pipelines.yaml',
    fixture: fullPipeline,
    enums: {
      'spec.params[].type': PARAM_TYPES,
      'spec.concurrencyPolicy': CONCURRENCY_POLICIES,
      'status.conditions[].status': CONDITION_STATUSES,
    } as Record<string, readonly string[]>,
  },
  {
    kind: 'PipelineRun',
    file: 'planasonix.io_pipelineruns.yaml',
    fixture: fullRun,
    enums: {
      'status.phase': RUN_PHASES,
      'status.conditions[].status': CONDITION_STATUSES,
    } as Record<string, readonly string[]>,
  },
  {
    kind: 'DeliveryRecord',
    file: 'planasonix.io_deliveryrecords.yaml',
    fixture: fullRecord,
    enums: {} as Record<string, readonly string[]>,
  },
];

describe('src/api/types.ts matches crds/*.yaml', () => {
  for (const c of cases) {
    describe(c.kind, () => {
      const schema = loadSchema(c.file);

      it('declares in the CRD every field the TypeScript type has', () => {
        const { onlyInTypes } = findDrift(c.fixture, schema);
        expect(onlyInTypes, `fields of the ${c.kind} type missing from crds/${c.file} (the API server would prune them)`).to.deep.equal([]);
      });

      it('has in the TypeScript type every field the CRD declares', () => {
        const { onlyInCrd } = findDrift(c.fixture, schema);
        expect(onlyInCrd, `fields of crds/${c.file} missing from the ${c.kind} type in src/api/types.ts (or from this test's fixture)`).to.deep.equal([]);
      });

      it('accepts the fully populated fixture under the CRD schema', () => {
        expect(validateAgainstSchema(c.fixture, schema)).to.equal(undefined);
      });

      it('lists the same enum values as the TypeScript unions', () => {
        const schemaEnums = Object.fromEntries(
          listSchemaNodes(schema)
            .filter(([, node]) => node.enum)
            .map(([at, node]) => [at, [...(node.enum as string[])].sort()]),
        );
        const typeEnums = Object.fromEntries(Object.entries(c.enums).map(([at, values]) => [at, [...values].sort()]));
        expect(schemaEnums).to.deep.equal(typeEnums);
      });
    });
  }
});

describe('crds/*.yaml document every field', () => {
  for (const c of cases) {
    const schema = loadSchema(c.file);

    it(`${c.kind}: every field has a description, for kubectl explain`, () => {
      const undocumented = listSchemaNodes(schema)
        .filter(([at, node]) => at !== 'metadata' && !(typeof node.description === 'string' && node.description.trim().length > 0))
        .map(([at]) => at || '(root)');
      expect(undocumented).to.deep.equal([]);
    });

    it(`${c.kind}: every default is stated in its field's description, since kubectl explain does not show defaults`, () => {
      const misstated = listSchemaNodes(schema).flatMap(([at, node]) => {
        const actual = node.default !== undefined && typeof node.default !== 'object' ? String(node.default) : undefined;
        const stated = /Defaults to (\S+)\.(?:\s|$)/.exec(String(node.description ?? ''))?.[1];
        return stated === actual ? [] : [`${at}: default ${actual ?? '(none)'}, description says ${stated ?? '(nothing)'}`];
      });
      expect(misstated).to.deep.equal([]);
    });
  }
});
