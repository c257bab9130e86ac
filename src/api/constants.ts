// Names that the CRDs, the controllers, the receiver and the docs must agree on.

export const GROUP = 'planasonix.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const KINDS = {
  webhookTrigger: { kind: 'WebhookTrigger', plural: 'webhooktriggers' },
  pipeline: { kind: 'Pipeline', plural: 'pipelines' },
  pipelineRun: { kind: 'PipelineRun', plural: 'pipelineruns' },
  deliveryRecord: { kind: 'DeliveryRecord', plural: 'deliveryrecords' },
} as const;

export const FIELD_MANAGER = 'planasonix-webhook-operator';

export const LABELS = {
  trigger: `${GROUP}/trigger`,
  pipeline: `${GROUP}/pipeline`,
  pipelineRun: `${GROUP}/pipeline-run`,
  correlationId: `${GROUP}/correlation-id`,
  /** On a rerun: the name of the run it repeats (as a label value). */
  rerunOf: `${GROUP}/rerun-of`,
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
} as const;

export const MANAGED_BY = 'planasonix-webhook-operator';

/**
 * The label selector of the receiver's Secret informer: the generated `<trigger>-webhook` Secrets
 * and nothing else (not the users' Secrets, nor the runs' sensitive-param Secrets).
 */
export const WEBHOOK_SECRET_SELECTOR = `${LABELS.managedBy}=${MANAGED_BY},${LABELS.trigger}`;

export const ANNOTATIONS = {
  /** Set to any new value (for example a timestamp) to rotate the signing secret now. */
  rotateRequestedAt: `${GROUP}/rotate-requested-at`,
  deliveryId: `${GROUP}/delivery-id`,
  receivedAt: `${GROUP}/received-at`,
  /** On a run (and its Job and pods): the W3C traceparent of the delivery, the sender's or a new one. */
  traceparent: `${GROUP}/traceparent`,
  /** On a run: the sender's W3C tracestate, when it sent a valid one with its traceparent. */
  tracestate: `${GROUP}/tracestate`,
  /**
   * On a PipelineRun: set to any new value (for example a timestamp) to rerun it — a new run with
   * the same params and sensitive params. Each value is acted on once (`planasonix rerun` sets it).
   */
  rerunRequestedAt: `${GROUP}/rerun-requested-at`,
  /** On a PipelineRun, with rerun-requested-at: "true" reruns it even while it is still active. */
  rerunForce: `${GROUP}/rerun-force`,
  /** Written by the run controller: the rerun-requested-at value last acted on. */
  rerunHandled: `${GROUP}/rerun-handled`,
  /** Written by the run controller: the rerun it created for the last handled request. */
  lastRerun: `${GROUP}/last-rerun`,
  /** Written by the run controller: why the last handled request created no rerun. */
  rerunRefused: `${GROUP}/rerun-refused`,
  /** On the generated Secret: when the current signing secret was created. */
  secretCreatedAt: `${GROUP}/secret-created-at`,
  /**
   * On a PipelineRun: until when its delivery key must keep deduplicating, so history pruning keeps
   * it that long (the trigger's replay window from the moment it was received).
   */
  keepUntil: `${GROUP}/keep-until`,
  /** On the generated Secret: the rotate-requested-at value last acted on. */
  rotateHandled: `${GROUP}/rotate-handled`,
} as const;

/** Keys of the Secret the trigger controller generates for each trigger (`<trigger>-webhook`). */
export const WEBHOOK_SECRET_KEYS = {
  url: 'url',
  path: 'path',
  signingSecret: 'signing-secret',
  previousSigningSecret: 'previous-signing-secret',
  previousExpiresAt: 'previous-expires-at',
} as const;

export const WEBHOOK_PATH_PREFIX = '/hooks/';

/** The key read from a user-managed Secret (spec.auth.secretRef) when the trigger names none. */
export const DEFAULT_SECRET_KEY = 'signing-secret';

export const CONDITION_TYPES = {
  ready: 'Ready',
  succeeded: 'Succeeded',
  // kstatus's abnormal-true conditions (Flux's health checks read them), present only while True:
  // the controller is still converging, or it cannot converge until the spec changes.
  reconciling: 'Reconciling',
  stalled: 'Stalled',
} as const;

export const PIPELINE_REASONS = {
  valid: 'Valid',
  invalidParams: 'InvalidParams',
  invalidTemplate: 'InvalidTemplate',
} as const;

export const TRIGGER_REASONS = {
  serving: 'Serving',
  servingUnauthenticated: 'ServingUnauthenticated',
  suspended: 'Suspended',
  pipelineNotFound: 'PipelineNotFound',
  versionNotFound: 'PipelineVersionNotFound',
  secretNotFound: 'SecretNotFound',
  secretKeyNotFound: 'SecretKeyNotFound',
  secretConflict: 'SecretConflict',
  /** The generated Secret's path is already served by an earlier trigger (a Secret edited by hand). */
  pathConflict: 'PathConflict',
  /** payload.maxBytes is above the operator's --max-body-bytes. */
  payloadLimitTooHigh: 'PayloadLimitTooHigh',
  invalidPublicKey: 'InvalidPublicKey',
  paramsMismatch: 'ParamsMismatch',
  invalidSpec: 'InvalidSpec',
  invalidFilter: 'InvalidFilter',
  reconcileError: 'ReconcileError',
} as const;

export const RUN_REASONS = {
  created: 'Created',
  jobPending: 'JobPending',
  jobActive: 'JobActive',
  completed: 'Completed',
  jobFailed: 'JobFailed',
  deadlineExceeded: 'DeadlineExceeded',
  backoffLimitExceeded: 'BackoffLimitExceeded',
  invalidPayload: 'InvalidPayload',
  pipelineNotFound: 'PipelineNotFound',
  versionNotFound: 'PipelineVersionNotFound',
  invalidParams: 'InvalidParams',
  concurrencyLimited: 'ConcurrencyLimited',
  queued: 'Queued',
  cancelled: 'Cancelled',
  replaced: 'Replaced',
} as const;

export const EVENT_REASONS = {
  secretCreated: 'SecretCreated',
  secretRotated: 'SecretRotated',
  // A trigger that is not Ready is reported with its condition's reason (TRIGGER_REASONS); a
  // suspended one with this Normal Event.
  suspended: 'Suspended',
  ready: 'Ready',
  runStarted: 'RunStarted',
  runSucceeded: 'RunSucceeded',
  runFailed: 'RunFailed',
  runCancelled: 'RunCancelled',
  rerunCreated: 'RerunCreated',
  rerunRefused: 'RerunRefused',
} as const;

/** The Secret, owned by a run, that holds its sensitive params: written by the receiver, read by the run controller. */
export function paramsSecretName(runName: string): string {
  return `${runName}-params`;
}

/** Every answer the receiver gives, as the metrics label it and the logs name it: one list. */
export const WEBHOOK_OUTCOMES = [
  'accepted',
  'duplicate',
  'filtered',
  'unauthorized',
  'stale',
  'forbidden',
  'bad_request',
  'too_large',
  'unsupported_media_type',
  'rate_limited',
  'not_found',
  'method_not_allowed',
  'unavailable',
  'error',
] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];
