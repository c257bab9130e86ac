// TypeScript shapes of the three custom resources. They must match crds/*.yaml:
// test/unit/api/types-match-crds.test.ts fails when the two drift.

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface Resource<Spec, Status> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

/** A Go-style duration string: "300ms", "5m", "1h30m". */
export type Duration = string;

export type ParamType = 'string' | 'number' | 'boolean' | 'object';

// ---------------------------------------------------------------- Pipeline

export interface PipelineParam {
  name: string;
  type?: ParamType;
  required?: boolean;
  default?: string;
  description?: string;
}

/** A batch/v1 JobTemplateSpec; `$(params.NAME)` is substituted in its strings. */
export interface JobTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

export interface PipelineVersion {
  name: string;
  jobTemplate: JobTemplate;
}

export type ConcurrencyPolicy = 'Allow' | 'Forbid' | 'Replace' | 'Queue';

export interface PipelineSpec {
  params?: PipelineParam[];
  jobTemplate: JobTemplate;
  versions?: PipelineVersion[];
  concurrencyPolicy?: ConcurrencyPolicy;
  timeout?: Duration;
  retries?: number;
  history?: { succeeded?: number; failed?: number };
}

export interface PipelineStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  /** How many WebhookTriggers in the namespace name this Pipeline (spec.pipelineRef or a target), counted about a second after a trigger changes. */
  triggers?: number;
}

export type Pipeline = Resource<PipelineSpec, PipelineStatus>;

// ---------------------------------------------------------------- WebhookTrigger

export type AuthScheme = 'planasonix' | 'standard-webhooks' | 'github' | 'bearer' | 'hmac' | 'none';

/** Senders whose signature the hmac scheme knows by name; the other hmac fields override a preset's. */
export type HmacPreset = 'github' | 'gitlab' | 'stripe' | 'slack' | 'shopify' | 'standard-webhooks';
export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';
export type HmacEncoding = 'hex' | 'base64';

/** scheme: hmac, parameterised for any sender that signs a request with a shared secret. */
export interface HmacSpec {
  preset?: HmacPreset;
  /** signature (default): the header carries an HMAC; token: the header carries the secret itself. */
  mode?: 'signature' | 'token';
  /** The header holding the signature (or token). */
  header?: string;
  algorithm?: HmacAlgorithm;
  encoding?: HmacEncoding;
  /** Text before the signature value, such as "sha256=" or "v0=". */
  prefix?: string;
  /** When set, the header holds several entries separated by this; those with the prefix are signatures. */
  separator?: string;
  /** What is signed: a template over {timestamp}, {id} and {body} (once); defaults to "{body}". */
  signedContent?: string;
  /** Where the Unix-seconds timestamp comes from: a header, or the signature header's entry with this prefix. */
  timestamp?: { header?: string; prefix?: string };
  /** The header carrying the sender's delivery ID (deduplication; signed when {id} is in signedContent). */
  deliveryIdHeader?: string;
  /** text (default): the secret's UTF-8 bytes key the HMAC; base64: its base64 after an optional whsec_. */
  secretEncoding?: 'text' | 'base64';
}

export interface SecretKeyRef {
  name: string;
  key?: string;
}

export interface RotationSpec {
  /** Rotate this long after the last rotation. */
  every?: Duration;
  /** Or rotate at the times of this five-field cron expression (UTC), for example a maintenance window. */
  schedule?: string;
  /** How long the previous secret stays valid after a rotation. */
  overlap?: Duration;
}

export interface AuthSpec {
  scheme?: AuthScheme;
  secretRef?: SecretKeyRef;
  publicKey?: string;
  /** Refuse params from headers and query values, which no signature covers. */
  signedParamsOnly?: boolean;
  /** planasonix: accept only v2 and v2a signatures, which cover the delivery ID; no DeliveryRecord is then kept. */
  signedDeliveryIdOnly?: boolean;
  tolerance?: Duration;
  rotation?: RotationSpec;
  /** Parameters of scheme hmac. */
  hmac?: HmacSpec;
}

export type ParamSource = 'body' | 'header' | 'query' | 'cloudevent';

export interface ParamMapping {
  name: string;
  from: ParamSource;
  /** JSON Pointer (RFC 6901) into the body, with from: body. */
  path?: string;
  /** Header name, with from: header. */
  header?: string;
  /** Query parameter name, with from: query. */
  query?: string;
  /** CloudEvents attribute name (type, source, subject, id, time or an extension), with from: cloudevent. */
  attribute?: string;
  type?: ParamType;
  required?: boolean;
  default?: string;
  sensitive?: boolean;
}

export interface PayloadSpec {
  strict?: boolean;
  maxBytes?: number | string;
  schema?: Record<string, unknown>;
}

export type IdempotencySource = 'scheme' | 'header' | 'body';

export interface IdempotencySpec {
  from?: IdempotencySource;
  header?: string;
  path?: string;
}

export interface RateLimitSpec {
  requestsPerMinute: number;
  burst?: number;
}

export interface PipelineRef {
  name: string;
  version?: string;
}

/** One Pipeline a delivery starts: spec.targets[], or spec.pipelineRef as the one-target shorthand. */
export interface TargetSpec {
  /** Unique within the trigger; defaults to the Pipeline's name. */
  name?: string;
  pipelineRef: PipelineRef;
  /** CEL, like spec.filter, for this target only. */
  filter?: string;
  /** Added to spec.params for this target; a mapping of the same name overrides the trigger's. */
  params?: ParamMapping[];
}

export interface WebhookTriggerSpec {
  /** The one-target shorthand; set this or targets. */
  pipelineRef?: PipelineRef;
  targets?: TargetSpec[];
  auth?: AuthSpec;
  allowedSourceRanges?: string[];
  params?: ParamMapping[];
  payload?: PayloadSpec;
  idempotency?: IdempotencySpec;
  rateLimit?: RateLimitSpec;
  /** A CEL expression over body, headers, query and trigger; a delivery it does not match starts nothing. */
  filter?: string;
  suspend?: boolean;
}

export interface SecretKeyReference {
  name: string;
  key: string;
}

export interface WebhookTriggerStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  urlSecretRef?: SecretKeyReference;
  signingSecretRef?: SecretKeyReference;
  rotation?: { lastRotationTime?: string; nextRotationTime?: string; lastHandledRequest?: string };
  /** The newest delivery that started a run (written by the leader, at most once per interval). */
  lastDelivery?: { time: string; correlationId: string; pipelineRun: string };
  /** Digest of the capability path the controller gave the trigger: only that path is served. */
  pathDigest?: string;
}

export type WebhookTrigger = Resource<WebhookTriggerSpec, WebhookTriggerStatus>;

// ---------------------------------------------------------------- PipelineRun

export type RunPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Cancelled';

export interface PipelineRunSpec {
  pipelineRef: { name: string; version?: string };
  params?: Record<string, string>;
  /** Names of params held in the run's Secret (`<run>-params`) rather than here. */
  sensitiveParams?: string[];
  /** Problems found while mapping the payload in lenient mode: the run fails with reason InvalidPayload. */
  payloadErrors?: { param: string; message: string }[];
  trigger?: { name: string; deliveryId: string; receivedTime: string; target?: string };
  correlationId: string;
  cancelled?: boolean;
  /** A rerun: the name of the run whose params it repeats (same correlation ID). */
  rerunOf?: string;
}

export interface PipelineRunStatus {
  observedGeneration?: number;
  phase?: RunPhase;
  reason?: string;
  message?: string;
  startTime?: string;
  completionTime?: string;
  jobRef?: { name: string };
  attempts?: number;
  conditions?: Condition[];
}

export type PipelineRun = Resource<PipelineRunSpec, PipelineRunStatus>;

// ---------------------------------------------------------------- DeliveryRecord

/** A replay key's claim: the delivery key its first delivery came with, and until when it counts. */
export interface DeliveryRecordSpec {
  key: string;
  deliveryKey: string;
  expiresAt: string;
}

export interface DeliveryRecord {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: DeliveryRecordSpec;
}
