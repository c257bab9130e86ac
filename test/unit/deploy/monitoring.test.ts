// deploy/monitoring against the metrics the operator really exports: the Grafana dashboard and the
// alerting rules name only metrics and labels from METRIC_DOCS (or prom-client's process_ and nodejs_
// metrics), with label values the operator can produce; the dashboard has the panels an on-call
// engineer looks for; and the PrometheusRule carries exactly the rules that promtool checks.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot } from '../../harness/control-plane.ts';
import {
  ACTIVE_RUN_PHASES,
  createMetrics,
  FINISHED_RUN_PHASES,
  METRIC_DOCS,
  RECONCILE_OUTCOMES,
  SIGNATURE_FAILURE_REASONS,
  WEBHOOK_OUTCOMES,
} from '../../../src/observability/metrics.ts';

const MONITORING = path.join(repoRoot, 'deploy/monitoring');

// ------------------------------------------------------------------ the metric catalogue

interface SeriesInfo {
  labels: Set<string> | 'any';
  /** Values each enumerated label can take, where the operator limits them. */
  values: Record<string, readonly string[]>;
}

/** Every series name the operator's /metrics can contain, with its labels. */
function seriesCatalogue(): Map<string, SeriesInfo> {
  const catalogue = new Map<string, SeriesInfo>();
  const add = (name: string, type: string, labels: Set<string> | 'any', values: Record<string, readonly string[]> = {}) => {
    if (type === 'histogram') {
      catalogue.set(`${name}_bucket`, { labels: labels === 'any' ? 'any' : new Set([...labels, 'le']), values });
      catalogue.set(`${name}_sum`, { labels, values });
      catalogue.set(`${name}_count`, { labels, values });
    } else {
      catalogue.set(name, { labels, values });
    }
  };
  for (const doc of METRIC_DOCS) {
    const values: Record<string, readonly string[]> = {};
    if (doc.labels.includes('outcome')) values.outcome = WEBHOOK_OUTCOMES;
    if (doc.labels.includes('reason') && doc.name.includes('signature')) values.reason = SIGNATURE_FAILURE_REASONS;
    if (doc.labels.includes('result')) values.result = RECONCILE_OUTCOMES;
    if (doc.labels.includes('phase')) values.phase = doc.type === 'histogram' ? FINISHED_RUN_PHASES : ACTIVE_RUN_PHASES;
    add(doc.name, doc.type, new Set(doc.labels), values);
  }
  // prom-client's default metrics, as the operator's registry really holds them.
  for (const m of createMetrics().registry.getMetricsAsArray() as unknown as { name: string; type: string; labelNames?: string[] }[]) {
    if (!m.name.startsWith('planasonix_')) add(m.name, String(m.type), m.labelNames ? new Set(m.labelNames) : 'any');
  }
  return catalogue;
}

/** Labels Prometheus adds to every scraped series (static config or the ServiceMonitor). */
const TARGET_LABELS = ['job', 'instance', 'pod', 'namespace', 'service', 'endpoint', 'container'];

// ------------------------------------------------------------------ a small PromQL scanner

interface Matcher {
  label: string;
  op: string;
  value: string;
}
interface Scan {
  selectors: { metric: string; matchers: Matcher[] }[];
  grouping: string[];
}

const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

/** Finds the metric selectors and the grouping labels of an expression (Grafana variables filled in). */
function scanPromql(raw: string): Scan {
  const expr = raw.replace(/\$__\w+/g, '5m').replace(/\$\{?\w+\}?/g, 'VAR');
  const tokens = [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)|(\{[^}]*\})|(\[[^\]]*\])|("(?:[^"\\]|\\.)*")|(\d+(?:\.\d+)?[a-z]*)|(\S)/g)].map((m) => m[0]);
  const scan: Scan = { selectors: [], grouping: [] };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const next = tokens[i + 1];
    if (t.startsWith('{')) throw new Error(`a selector without a metric name in ${raw}`);
    if (!/^[a-zA-Z_:]/.test(t)) continue;
    if (GROUPING.has(t)) {
      if (next === '(') {
        let j = i + 2;
        for (; tokens[j] !== ')' && j < tokens.length; j++) if (tokens[j] !== ',') scan.grouping.push(tokens[j]!);
        i = j;
      }
      continue;
    }
    if (KEYWORDS.has(t) || AGGREGATIONS.has(t) || next === '(') continue;
    const matchers: Matcher[] = [];
    if (next?.startsWith('{')) {
      for (const m of next.slice(1, -1).matchAll(/\s*([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?/g)) matchers.push({ label: m[1]!, op: m[2]!, value: m[3]! });
      i++;
    }
    scan.selectors.push({ metric: t, matchers });
  }
  return scan;
}

/** Problems with one expression: unknown metrics, unknown labels, impossible label values. */
function checkExpression(expr: string, catalogue: Map<string, SeriesInfo>): string[] {
  const problems: string[] = [];
  const scan = scanPromql(expr);
  if (scan.selectors.length === 0) problems.push(`no metric in ${expr}`);
  const known = new Set<string>(TARGET_LABELS);
  for (const { metric, matchers } of scan.selectors) {
    const info = catalogue.get(metric);
    if (!info) {
      problems.push(`unknown metric ${metric}`);
      continue;
    }
    if (info.labels !== 'any') info.labels.forEach((l) => known.add(l));
    for (const m of matchers) {
      if (info.labels !== 'any' && !info.labels.has(m.label) && !TARGET_LABELS.includes(m.label)) problems.push(`${metric} has no label ${m.label}`);
      const allowed = info.values[m.label];
      if (allowed && (m.op === '=' || m.op === '!=') && !allowed.includes(m.value)) problems.push(`${metric}{${m.label}="${m.value}"} can never match: ${m.label} is one of ${allowed.join(', ')}`);
    }
  }
  for (const label of scan.grouping) if (!known.has(label)) problems.push(`grouping by ${label}, which no metric in the expression has`);
  return problems;
}

// ------------------------------------------------------------------ the files

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string }[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string | { query: string } }[] };
}
interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

const dashboard = JSON.parse(readFileSync(path.join(MONITORING, 'grafana-dashboard.json'), 'utf8')) as Dashboard;
const rulesFile = parse(readFileSync(path.join(MONITORING, 'prometheusrule-rules.yaml'), 'utf8')) as { groups: RuleGroup[] };
const alerts = rulesFile.groups.flatMap((g) => g.rules);

describe('deploy/monitoring', () => {
  const catalogue = seriesCatalogue();

  describe('the PromQL checker used below', () => {
    it('finds metrics, matchers and grouping labels, and reports what cannot exist', () => {
      expect(scanPromql('sum by (namespace, trigger) (rate(a_total{outcome="accepted", x=~"$namespace"}[$__rate_interval])) / on(job) b')).to.deep.equal({
        selectors: [
          { metric: 'a_total', matchers: [{ label: 'outcome', op: '=', value: 'accepted' }, { label: 'x', op: '=~', value: 'VAR' }] },
          { metric: 'b', matchers: [] },
        ],
        grouping: ['namespace', 'trigger', 'job'],
      });
      expect(checkExpression('rate(planasonix_webhook_requests_total{outcome="acepted"}[5m])', catalogue)).to.have.length(1);
      expect(checkExpression('sum by (pipeline) (planasonix_webhook_requests_total)', catalogue)).to.have.length(1);
      expect(checkExpression('planasonix_webhook_request_total', catalogue)).to.deep.equal(['unknown metric planasonix_webhook_request_total']);
      expect(checkExpression('histogram_quantile(0.9, sum by (le) (rate(planasonix_webhook_request_duration_seconds_bucket[5m])))', catalogue)).to.deep.equal([]);
      expect(checkExpression('(max(planasonix_leader_is_leader) or vector(0)) < 1', catalogue)).to.deep.equal([]);
    });
  });

  describe('Grafana dashboard', () => {
    const panels = dashboard.panels.filter((p) => p.type !== 'row');

    it('is a dashboard with a stable uid, a data source variable and unique panel ids that fit the grid', () => {
      expect(dashboard.uid).to.match(/^[a-z0-9-]{1,40}$/);
      expect(dashboard.templating.list.map((v) => `${v.name}:${v.type}`)).to.include('datasource:datasource');
      const ids = dashboard.panels.map((p) => p.id);
      expect(new Set(ids).size).to.equal(ids.length);
      for (const p of panels) {
        expect(p.gridPos.x + p.gridPos.w, p.title).to.be.at.most(24);
        expect(p.datasource?.uid, p.title).to.equal('${datasource}');
        expect(p.targets?.length, p.title).to.be.greaterThan(0);
        expect(new Set(p.targets!.map((t) => t.refId)).size, p.title).to.equal(p.targets!.length);
      }
    });

    it('queries only metrics and labels the operator exports, with values it can produce', () => {
      const problems = panels.flatMap((p) => (p.targets ?? []).flatMap((t) => checkExpression(t.expr, catalogue).map((e) => `${p.title}: ${e}`)));
      for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
        const query = typeof v.query === 'string' ? v.query : v.query.query;
        const m = /^label_values\((\w+),\s*(\w+)\)$/.exec(query);
        expect(m, `variable ${v.name}: ${query}`).to.not.equal(null);
        problems.push(...checkExpression(`sum by (${m![2]}) (${m![1]})`, catalogue).map((e) => `variable ${v.name}: ${e}`));
      }
      expect(problems).to.deep.equal([]);
    });

    it('has the panels an on-call engineer looks for', () => {
      const used = new Set(panels.flatMap((p) => (p.targets ?? []).flatMap((t) => scanPromql(t.expr).selectors.map((s) => s.metric))));
      for (const metric of [
        'planasonix_webhook_requests_total', // requests by outcome
        'planasonix_webhook_request_duration_seconds_bucket', // latency
        'planasonix_webhook_signature_failures_total',
        'planasonix_pipeline_runs_created_total',
        'planasonix_pipeline_runs_active',
        'planasonix_pipeline_run_duration_seconds_bucket',
        'planasonix_reconcile_errors_total',
        'planasonix_workqueue_depth',
        'planasonix_leader_is_leader',
      ]) {
        expect([...used], metric).to.include(metric);
      }
      const byOutcome = panels.find((p) => p.targets?.some((t) => /sum by \(outcome\) \(rate\(planasonix_webhook_requests_total/.test(t.expr)));
      expect(byOutcome, 'a panel of requests by outcome').to.not.equal(undefined);
    });
  });

  describe('alerting rules', () => {
    it('cover signature failures, failing runs, reconcile errors, no leader and receiver 503s', () => {
      expect(alerts.map((a) => a.alert)).to.include.members([
        'PlanasonixWebhookSignatureFailuresSpike',
        'PlanasonixPipelineRunsFailing',
        'PlanasonixReconcileErrors',
        'PlanasonixNoLeader',
        'PlanasonixReceiverUnavailable',
      ]);
      const unavailable = alerts.find((a) => a.alert === 'PlanasonixReceiverUnavailable')!;
      expect(unavailable.expr).to.include('outcome="unavailable"');
    });

    it('query only metrics and labels the operator exports, with values it can produce', () => {
      expect(alerts.flatMap((a) => checkExpression(a.expr, catalogue).map((e) => `${a.alert}: ${e}`))).to.deep.equal([]);
    });

    it('each wait before firing and carry a severity, a summary and a description', () => {
      for (const a of alerts) {
        expect(a.for, a.alert).to.match(/^\d+[smh]$/);
        expect(['warning', 'critical'], a.alert).to.include(a.labels?.severity);
        expect(a.annotations?.summary, a.alert).to.be.a('string').and.not.equal('');
        expect(a.annotations?.description, a.alert).to.be.a('string').and.not.equal('');
      }
    });

    it('are the same in the PrometheusRule as in the file promtool checks', () => {
      const [rule] = parseAllDocuments(readFileSync(path.join(MONITORING, 'prometheusrule.yaml'), 'utf8')).map((d) => d.toJS() as { kind: string; spec: { groups: RuleGroup[] } });
      expect(rule!.kind).to.equal('PrometheusRule');
      expect(rule!.spec.groups).to.deep.equal(rulesFile.groups);
    });
  });
});
