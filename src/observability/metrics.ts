// The operator's Prometheus metrics, in a registry of their own (not prom-client's global one) so
// each test can create an isolated set. Every label value is checked before use: enumerated labels
// accept only their listed values, and name labels only Kubernetes names, so that a URL path, a
// correlation ID or any other unbounded value cannot become a label by mistake.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RunPhase } from '../api/types.ts';
import { WEBHOOK_OUTCOMES, type WebhookOutcome } from '../api/constants.ts';

// The receiver's answers are the outcome label's values: one list, kept in api/constants.ts.
export { WEBHOOK_OUTCOMES, type WebhookOutcome };

export const SIGNATURE_FAILURE_REASONS = [
  'missing_signature',
  'malformed_signature',
  'missing_timestamp',
  'stale_timestamp',
  'mismatch',
] as const;
export type SignatureFailureReason = (typeof SIGNATURE_FAILURE_REASONS)[number];

/** How a reconcile ended, as the Controller reports it (a cancelled one is not counted). */
export const RECONCILE_OUTCOMES = ['success', 'error', 'requeue', 'terminal'] as const;
export type ReconcileOutcome = (typeof RECONCILE_OUTCOMES)[number];

export const ACTIVE_RUN_PHASES = ['Pending', 'Running'] as const satisfies readonly RunPhase[];
export type ActiveRunPhase = (typeof ACTIVE_RUN_PHASES)[number];

export const FINISHED_RUN_PHASES = ['Succeeded', 'Failed', 'Cancelled'] as const satisfies readonly RunPhase[];
export type FinishedRunPhase = (typeof FINISHED_RUN_PHASES)[number];

/** Kubernetes allows names (DNS subdomains) up to 253 characters; no label value is longer. */
export const MAX_LABEL_VALUE_LENGTH = 253;

// ------------------------------------------------------------------ label rules

type LabelRule =
  | { kind: 'namespace' }
  | { kind: 'name' }
  | { kind: 'identifier'; orEmpty?: boolean }
  | { kind: 'httpCode' }
  | { kind: 'oneOf'; values: readonly string[] };

const NAMESPACE: LabelRule = { kind: 'namespace' };
const NAME: LabelRule = { kind: 'name' };
const IDENTIFIER: LabelRule = { kind: 'identifier' };
const IDENTIFIER_OR_EMPTY: LabelRule = { kind: 'identifier', orEmpty: true };
const HTTP_CODE: LabelRule = { kind: 'httpCode' };
const oneOf = (values: readonly string[]): LabelRule => ({ kind: 'oneOf', values });

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const CODE_IDENTIFIER = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;
const HTTP_STATUS_OR_ERROR = /^(?:[1-5][0-9]{2}|error)$/;

/** A label value that is not allowed; the message never repeats the value, which may be anything. */
export class MetricLabelError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'MetricLabelError';
  }
}

function checkLabelValue(metric: string, label: string, rule: LabelRule, value: unknown): string {
  const fail = (expected: string): never => {
    const got = typeof value === 'string' ? `a value of ${value.length} characters` : `a ${typeof value}`;
    throw new MetricLabelError(`metric ${metric}: label "${label}" must be ${expected}; got ${got}`);
  };
  if (typeof value !== 'string') return fail('a string');
  switch (rule.kind) {
    case 'namespace':
      if (value === '' || DNS_LABEL.test(value)) return value;
      return fail('a Kubernetes namespace name (at most 63 characters of a-z, 0-9 and "-") or ""');
    case 'name':
      if (value === '' || (value.length <= MAX_LABEL_VALUE_LENGTH && DNS_SUBDOMAIN.test(value))) return value;
      return fail(`a Kubernetes object name (at most ${MAX_LABEL_VALUE_LENGTH} characters of a-z, 0-9, "-" and ".") or ""`);
    case 'identifier':
      if (CODE_IDENTIFIER.test(value) || (rule.orEmpty && value === '')) return value;
      return fail(`an identifier of at most 63 characters (letters, digits, "_", "." and "-", starting with a letter)${rule.orEmpty ? ' or ""' : ''}`);
    case 'httpCode':
      if (HTTP_STATUS_OR_ERROR.test(value)) return value;
      return fail('an HTTP status code or "error"');
    case 'oneOf':
      if (rule.values.includes(value)) return value;
      // Listed values are ours, not the caller's input, so naming them is safe and helpful.
      return fail(`one of ${rule.values.join(', ')}`);
  }
}

// ------------------------------------------------------------------ the catalogue

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricDoc {
  name: string;
  type: MetricType;
  labels: readonly string[];
  /** The HELP text. */
  help: string;
  /** Why an operator of the operator looks at it. */
  why: string;
  /** Histogram bucket bounds, in seconds. */
  buckets?: readonly number[];
}

interface MetricSpec extends MetricDoc {
  rules: Readonly<Record<string, LabelRule>>;
}

const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const RUN_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 21600];
const RECONCILE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

function spec(
  name: string,
  type: MetricType,
  rules: Record<string, LabelRule>,
  help: string,
  why: string,
  buckets?: readonly number[],
): MetricSpec {
  return { name, type, labels: Object.keys(rules), rules, help, why, ...(buckets ? { buckets } : {}) };
}

const SPECS = {
  webhookRequests: spec(
    'planasonix_webhook_requests_total',
    'counter',
    { namespace: NAMESPACE, trigger: NAME, outcome: oneOf(WEBHOOK_OUTCOMES) },
    'Webhook requests answered, by trigger and outcome; namespace and trigger are empty when no trigger matched.',
    'Delivery volume and rejection rate per trigger; alert on a rise in unauthorized or error.',
  ),
  webhookRequestDuration: spec(
    'planasonix_webhook_request_duration_seconds',
    'histogram',
    { outcome: oneOf(WEBHOOK_OUTCOMES) },
    'Time from receiving a webhook request to answering it, by outcome.',
    'Callers time out on slow answers; watch the p99 of accepted requests.',
    REQUEST_BUCKETS,
  ),
  signatureFailures: spec(
    'planasonix_webhook_signature_failures_total',
    'counter',
    { namespace: NAMESPACE, trigger: NAME, reason: oneOf(SIGNATURE_FAILURE_REASONS) },
    'Webhook requests whose signature or token did not verify, by reason.',
    'Tells a misconfigured sender (mismatch after a rotation, clock skew) from an attack.',
  ),
  pipelineRunsCreated: spec(
    'planasonix_pipeline_runs_created_total',
    'counter',
    { namespace: NAMESPACE, pipeline: NAME, trigger: NAME },
    'PipelineRuns created by the receiver, by pipeline and trigger.',
    'Confirms that accepted deliveries turn into runs.',
  ),
  pipelineRunDuration: spec(
    'planasonix_pipeline_run_duration_seconds',
    'histogram',
    { namespace: NAMESPACE, pipeline: NAME, phase: oneOf(FINISHED_RUN_PHASES) },
    'Time from a PipelineRun starting to finishing, by the phase it finished in.',
    'Shows pipelines getting slower, and how long failures take to surface.',
    RUN_BUCKETS,
  ),
  pipelineRunsActive: spec(
    'planasonix_pipeline_runs_active',
    'gauge',
    { namespace: NAMESPACE, pipeline: NAME, phase: oneOf(ACTIVE_RUN_PHASES) },
    'PipelineRuns not yet finished, by phase (Pending or Running); 0 for a pipeline whose runs still in history have all finished.',
    'A growing Pending count means runs are queued behind a concurrency policy or cannot be scheduled.',
  ),
  reconcileTotal: spec(
    'planasonix_reconcile_total',
    'counter',
    { controller: IDENTIFIER, result: oneOf(RECONCILE_OUTCOMES) },
    'Reconciles finished, by controller and result.',
    'Throughput of each controller; a high requeue or error share means it is not converging.',
  ),
  reconcileErrors: spec(
    'planasonix_reconcile_errors_total',
    'counter',
    { controller: IDENTIFIER },
    'Reconciles that ended in an error (retried with backoff, or terminal).',
    'Alert when it keeps rising: the controller cannot reach its desired state.',
  ),
  reconcileDuration: spec(
    'planasonix_reconcile_duration_seconds',
    'histogram',
    { controller: IDENTIFIER },
    'Time one reconcile takes, by controller.',
    'Slow reconciles delay everything behind them in the work queue.',
    RECONCILE_BUCKETS,
  ),
  workQueueDepth: spec(
    'planasonix_workqueue_depth',
    'gauge',
    { controller: IDENTIFIER },
    'Keys waiting in the work queue, by controller.',
    'A queue that does not drain means the controller is falling behind.',
  ),
  workQueueRetries: spec(
    'planasonix_workqueue_retries_total',
    'counter',
    { controller: IDENTIFIER },
    'Keys put back in the work queue with backoff after an error.',
    'Retries that keep climbing point at an error that retrying does not fix.',
  ),
  workQueueAdds: spec(
    'planasonix_workqueue_adds_total',
    'counter',
    { controller: IDENTIFIER },
    'Keys added to the work queue, by controller.',
    'Compared with planasonix_reconcile_total, shows how much de-duplication saves.',
  ),
  informerRestarts: spec(
    'planasonix_informer_restarts_total',
    'counter',
    { resource: IDENTIFIER },
    'Times a watch was restarted after an error or a long silence, by resource.',
    'Frequent restarts mean trouble between the operator and the API server.',
  ),
  informerConnects: spec(
    'planasonix_informer_connects_total',
    'counter',
    { resource: IDENTIFIER },
    'Times a watch connected (list then watch), by resource.',
    'Should grow slowly; compare with restarts to see whether reconnections succeed.',
  ),
  informerSynced: spec(
    'planasonix_informer_synced',
    'gauge',
    { resource: IDENTIFIER },
    '1 when the cache of a resource has completed its first list, else 0.',
    'The operator is not ready until every cache is synced.',
  ),
  leader: spec(
    'planasonix_leader_is_leader',
    'gauge',
    {},
    '1 when this replica holds the leader lease and runs the controllers, else 0.',
    'Exactly one replica should report 1; zero or two means leader election is failing.',
  ),
  eventsDropped: spec(
    'planasonix_events_dropped_total',
    'counter',
    {},
    'Kubernetes Events not written because too many were waiting (they are best effort and never delay reconciles).',
    'Grows during a burst, such as thousands of triggers applied at once; steady growth means Events are written slower than they happen.',
  ),
  secretRotations: spec(
    'planasonix_secret_rotations_total',
    'counter',
    { namespace: NAMESPACE, trigger: NAME },
    'Signing secrets rotated, by trigger.',
    'Confirms that scheduled and requested rotations happen.',
  ),
  kubeRequests: spec(
    'planasonix_kube_requests_total',
    'counter',
    { verb: IDENTIFIER, resource: IDENTIFIER, subresource: IDENTIFIER_OR_EMPTY, code: HTTP_CODE },
    'Requests this process sent to the Kubernetes API server, by verb, resource, subresource and HTTP status code ("error" when no answer came).',
    "What the operator costs the API server (its writes per delivery, per trigger); a rise in 409, 429 or 5xx shows contention or an overloaded API server.",
  ),
  triggersReady: spec(
    'planasonix_triggers_ready',
    'gauge',
    { namespace: NAMESPACE },
    'WebhookTriggers whose Ready condition is True, by namespace.',
    'A drop means triggers stopped serving (a missing pipeline or secret).',
  ),
} satisfies Record<string, MetricSpec>;

/** Every metric of the operator, with its labels, HELP text and the reason it exists. */
export const METRIC_DOCS: readonly MetricDoc[] = Object.values(SPECS).map(({ rules: _rules, ...doc }) => doc);

/** The metric catalogue as a Markdown section, for the README. */
export function renderMetricDocs(): string {
  const rows = METRIC_DOCS.map((m) => {
    const labels = m.labels.length ? m.labels.map((l) => `\`${l}\``).join(', ') : '—';
    return `| \`${m.name}\` | ${m.type} | ${labels} | ${m.help} ${m.why} |`;
  });
  const enumerated = [
    ['outcome', WEBHOOK_OUTCOMES],
    ['reason', SIGNATURE_FAILURE_REASONS],
    ['result', RECONCILE_OUTCOMES],
    ['phase (active runs)', ACTIVE_RUN_PHASES],
    ['phase (finished runs)', FINISHED_RUN_PHASES],
  ] as const;
  return [
    '| Metric | Type | Labels | Meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    'Label values:',
    '',
    ...enumerated.map(([label, values]) => `- \`${label}\`: ${values.map((v) => `\`${v}\``).join(', ')}`),
    '- `namespace`, `trigger`, `pipeline`: Kubernetes names, never a URL path or a correlation ID.',
    '',
    'The standard `process_*` and `nodejs_*` metrics of prom-client are exported too, without a prefix.',
    '',
  ].join('\n');
}

// ------------------------------------------------------------------ typed handles

export interface CounterOf<L> {
  inc(labels: L, value?: number): void;
  /** Drops one series, for example when its trigger is deleted. */
  remove(labels: L): void;
}

export interface GaugeOf<L> {
  set(labels: L, value: number): void;
  inc(labels: L, value?: number): void;
  dec(labels: L, value?: number): void;
  remove(labels: L): void;
  /** Drops every series, before setting them all again from a fresh count. */
  reset(): void;
}

export interface HistogramOf<L> {
  observe(labels: L, seconds: number): void;
  /** Starts a clock; the returned function records the elapsed seconds with labels known only at the end. */
  startTimer(): (labels: L) => number;
  remove(labels: L): void;
}

export interface SwitchGauge {
  set(on: boolean): void;
}

/** An unknown path creates no series of its own: not_found is counted without namespace and trigger. */
export type WebhookRequestLabels =
  | { namespace: string; trigger: string; outcome: Exclude<WebhookOutcome, 'not_found'> }
  | { namespace: ''; trigger: ''; outcome: 'not_found' };

export interface Metrics {
  registry: Registry;
  webhookRequests: CounterOf<WebhookRequestLabels>;
  webhookRequestDuration: HistogramOf<{ outcome: WebhookOutcome }>;
  signatureFailures: CounterOf<{ namespace: string; trigger: string; reason: SignatureFailureReason }>;
  pipelineRunsCreated: CounterOf<{ namespace: string; pipeline: string; trigger: string }>;
  pipelineRunDuration: HistogramOf<{ namespace: string; pipeline: string; phase: FinishedRunPhase }>;
  pipelineRunsActive: GaugeOf<{ namespace: string; pipeline: string; phase: ActiveRunPhase }>;
  reconcileTotal: CounterOf<{ controller: string; result: ReconcileOutcome }>;
  reconcileErrors: CounterOf<{ controller: string }>;
  reconcileDuration: HistogramOf<{ controller: string }>;
  workQueueDepth: GaugeOf<{ controller: string }>;
  workQueueRetries: CounterOf<{ controller: string }>;
  workQueueAdds: CounterOf<{ controller: string }>;
  informerRestarts: CounterOf<{ resource: string }>;
  informerConnects: CounterOf<{ resource: string }>;
  informerSynced: GaugeOf<{ resource: string }>;
  leader: SwitchGauge;
  eventsDropped: CounterOf<Record<never, never>>;
  secretRotations: CounterOf<{ namespace: string; trigger: string }>;
  triggersReady: GaugeOf<{ namespace: string }>;
  kubeRequests: CounterOf<{ verb: string; resource: string; subresource: string; code: string }>;
  /** Drops every series labelled with this trigger, so deleted triggers do not linger in the scrape. */
  forgetTrigger(namespace: string, trigger: string): Promise<void>;
  /** Drops every series labelled with this pipeline. */
  forgetPipeline(namespace: string, pipeline: string): Promise<void>;
}

export interface MetricsOptions {
  /** Also export prom-client's process_* and nodejs_* metrics (default true). */
  defaultMetrics?: boolean;
}

type Labels = Record<string, string>;
type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

/** Creates a fresh registry holding every metric of the operator. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const all: AnyMetric[] = [];

  const counter = <L>(s: MetricSpec, adjust?: (labels: Labels) => Labels): CounterOf<L> => {
    const metric = new Counter({ name: s.name, help: s.help, labelNames: s.labels, registers: [registry] });
    all.push(metric);
    const check = labelChecker(s, adjust);
    return {
      inc: (labels, value) => metric.inc(check(labels), value ?? 1),
      remove: (labels) => metric.remove(check(labels)),
    };
  };
  const gauge = <L>(s: MetricSpec): GaugeOf<L> => {
    const metric = new Gauge({ name: s.name, help: s.help, labelNames: s.labels, registers: [registry] });
    all.push(metric);
    const check = labelChecker(s);
    return {
      set: (labels, value) => metric.set(check(labels), value),
      inc: (labels, value) => metric.inc(check(labels), value ?? 1),
      dec: (labels, value) => metric.dec(check(labels), value ?? 1),
      remove: (labels) => metric.remove(check(labels)),
      reset: () => metric.reset(),
    };
  };
  const histogram = <L>(s: MetricSpec): HistogramOf<L> => {
    const metric = new Histogram({ name: s.name, help: s.help, labelNames: s.labels, buckets: [...(s.buckets ?? [])], registers: [registry] });
    all.push(metric);
    const check = labelChecker(s);
    const observe = (labels: L, seconds: number): void => metric.observe(check(labels), seconds);
    return {
      observe,
      startTimer: () => {
        const start = process.hrtime.bigint();
        return (labels) => {
          const seconds = Number(process.hrtime.bigint() - start) / 1e9;
          observe(labels, seconds);
          return seconds;
        };
      },
      remove: (labels) => metric.remove(check(labels)),
    };
  };

  const switchGauge = (s: MetricSpec): SwitchGauge => {
    const metric = new Gauge({ name: s.name, help: s.help, registers: [registry] });
    all.push(metric);
    metric.set(0);
    return { set: (on) => metric.set(on ? 1 : 0) };
  };

  return {
    registry,
    webhookRequests: counter(SPECS.webhookRequests, blankUnknownTrigger),
    webhookRequestDuration: histogram(SPECS.webhookRequestDuration),
    signatureFailures: counter(SPECS.signatureFailures),
    pipelineRunsCreated: counter(SPECS.pipelineRunsCreated),
    pipelineRunDuration: histogram(SPECS.pipelineRunDuration),
    pipelineRunsActive: gauge(SPECS.pipelineRunsActive),
    reconcileTotal: counter(SPECS.reconcileTotal),
    reconcileErrors: counter(SPECS.reconcileErrors),
    reconcileDuration: histogram(SPECS.reconcileDuration),
    workQueueDepth: gauge(SPECS.workQueueDepth),
    workQueueRetries: counter(SPECS.workQueueRetries),
    workQueueAdds: counter(SPECS.workQueueAdds),
    informerRestarts: counter(SPECS.informerRestarts),
    informerConnects: counter(SPECS.informerConnects),
    informerSynced: gauge(SPECS.informerSynced),
    leader: switchGauge(SPECS.leader),
    eventsDropped: counter(SPECS.eventsDropped),
    secretRotations: counter(SPECS.secretRotations),
    triggersReady: gauge(SPECS.triggersReady),
    kubeRequests: counter(SPECS.kubeRequests),
    forgetTrigger: (namespace, trigger) => removeMatching(all, 'forgetTrigger', { namespace, trigger }),
    forgetPipeline: (namespace, pipeline) => removeMatching(all, 'forgetPipeline', { namespace, pipeline }),
  };
}

// Checks the label names (exactly those of the metric) and every value against its rule.
function labelChecker<L>(s: MetricSpec, adjust?: (labels: Labels) => Labels): (labels: L) => Labels {
  return (input: L) => {
    if (typeof input !== 'object' || input === null) throw new MetricLabelError(`metric ${s.name}: labels must be an object`);
    const labels = adjust ? adjust(input as Labels) : (input as Labels);
    const checked: Labels = {};
    for (const name of Object.keys(labels)) {
      if (!(name in s.rules)) throw new MetricLabelError(`metric ${s.name}: unknown label "${name}" (labels: ${s.labels.join(', ')})`);
    }
    for (const name of s.labels) {
      checked[name] = checkLabelValue(s.name, name, s.rules[name]!, labels[name]);
    }
    return checked;
  };
}

// The path of an unknown webhook is the caller's input: it must not name a series, so not_found
// is always counted under empty namespace and trigger whatever the caller passed.
function blankUnknownTrigger(labels: Labels): Labels {
  return labels.outcome === 'not_found' ? { ...labels, namespace: '', trigger: '' } : labels;
}

async function removeMatching(metrics: readonly AnyMetric[], caller: string, match: Labels): Promise<void> {
  const keys = Object.keys(match);
  // An empty name would match the not_found series, which belong to no trigger.
  if (keys.some((k) => typeof match[k] !== 'string' || match[k] === '')) {
    throw new MetricLabelError(`${caller}: ${keys.join(' and ')} must be non-empty names`);
  }
  for (const metric of metrics) {
    const { values } = await metric.get();
    const seen = new Set<string>();
    for (const { labels } of values) {
      if (!keys.every((k) => labels[k] === match[k])) continue;
      // Histograms report one value per bucket: strip `le` to get the series' own labels.
      const { le: _le, ...own } = labels as Record<string, string | number>;
      const id = JSON.stringify(own);
      if (seen.has(id)) continue;
      seen.add(id);
      metric.remove(own as Labels);
    }
  }
}
