import { expect } from 'chai';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  MAX_LABEL_VALUE_LENGTH,
  METRIC_DOCS,
  MetricLabelError,
  WEBHOOK_OUTCOMES,
  createMetrics,
  renderMetricDocs,
  type Metrics,
} from '../../../src/observability/metrics.ts';

const PROMTOOL = '/usr/bin/promtool';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

// A strict reader of the Prometheus text format (0.0.4): every line is a comment or a sample.
function parseScrape(text: string): { samples: Sample[]; types: Map<string, string>; helps: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (help) {
      helps.set(help[1]!, help[2]!);
      continue;
    }
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    // Go's ParseFloat, which Prometheus uses, reads NaN and Inf in any case (prom-client writes "Nan").
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.eE+-]+|[Nn][Aa][Nn]|[+-]?[Ii][Nn][Ff])$/.exec(line);
    if (!sample) throw new Error(`not a line of the Prometheus text format: ${line}`);
    const labels: Record<string, string> = {};
    const body = sample[2] ?? '';
    const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;
    while (pair.lastIndex < body.length) {
      const m = pair.exec(body);
      if (!m) throw new Error(`bad labels in: ${line}`);
      labels[m[1]!] = m[2]!;
    }
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return { samples, types, helps };
}

// One sample of every metric, with realistic labels.
function recordOneOfEach(m: Metrics): void {
  m.webhookRequests.inc({ namespace: 'data', trigger: 'export-completed', outcome: 'accepted' });
  m.webhookRequests.inc({ namespace: '', trigger: '', outcome: 'not_found' });
  m.webhookRequestDuration.observe({ outcome: 'accepted' }, 0.012);
  m.signatureFailures.inc({ namespace: 'data', trigger: 'export-completed', reason: 'mismatch' });
  m.pipelineRunsCreated.inc({ namespace: 'data', pipeline: 'export-loader', trigger: 'export-completed' });
  m.pipelineRunDuration.observe({ namespace: 'data', pipeline: 'export-loader', phase: 'Succeeded' }, 41);
  m.pipelineRunsActive.set({ namespace: 'data', pipeline: 'export-loader', phase: 'Running' }, 2);
  m.reconcileTotal.inc({ controller: 'webhook-trigger', result: 'success' });
  m.reconcileErrors.inc({ controller: 'webhook-trigger' });
  m.reconcileDuration.observe({ controller: 'webhook-trigger' }, 0.03);
  m.workQueueDepth.set({ controller: 'pipeline-run' }, 3);
  m.workQueueRetries.inc({ controller: 'pipeline-run' });
  m.workQueueAdds.inc({ controller: 'pipeline-run' }, 5);
  m.informerRestarts.inc({ resource: 'webhooktriggers' });
  m.informerConnects.inc({ resource: 'webhooktriggers' });
  m.informerSynced.set({ resource: 'webhooktriggers' }, 1);
  m.leader.set(true);
  m.eventsDropped.inc({});
  m.secretRotations.inc({ namespace: 'data', trigger: 'export-completed' });
  m.triggersReady.set({ namespace: 'data' }, 4);
  m.kubeRequests.inc({ verb: 'create', resource: 'pipelineruns', subresource: '', code: '201' });
  m.kubeRequests.inc({ verb: 'patch', resource: 'pipelineruns', subresource: 'status', code: 'error' });
}

function samplesOf(text: string, name: string): Sample[] {
  return parseScrape(text).samples.filter((s) => s.name === name);
}

describe('metrics', () => {
  let metrics: Metrics;
  beforeEach(() => {
    metrics = createMetrics();
  });

  describe('scrape', () => {
    it('parses as the Prometheus text format, with HELP and the documented TYPE for every metric', async () => {
      recordOneOfEach(metrics);
      const { types, helps, samples } = parseScrape(await metrics.registry.metrics());
      for (const doc of METRIC_DOCS) {
        expect(types.get(doc.name), doc.name).to.equal(doc.type);
        expect(helps.get(doc.name), doc.name).to.equal(doc.help);
        expect(samples.some((s) => s.name === doc.name || s.name === `${doc.name}_count`), `a sample of ${doc.name}`).to.equal(true);
      }
    });

    it('documents exactly the planasonix_ metrics it exports', async () => {
      const exported = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('planasonix_'));
      expect(exported.toSorted()).to.deep.equal(METRIC_DOCS.map((d) => d.name).toSorted());
    });

    it('exports the standard process metrics under their usual names', async () => {
      const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
      expect(names).to.include.members(['process_cpu_seconds_total', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes']);
      expect(names.filter((n) => n.startsWith('planasonix_process') || n.startsWith('planasonix_nodejs'))).to.deep.equal([]);
    });

    it('leaves process metrics out when asked', async () => {
      const names = (await createMetrics({ defaultMetrics: false }).registry.getMetricsAsJSON()).map((m) => m.name);
      expect(names.every((n) => n.startsWith('planasonix_'))).to.equal(true);
    });

    it('keeps each registry apart from the others', async () => {
      const other = createMetrics({ defaultMetrics: false });
      metrics.reconcileErrors.inc({ controller: 'pipeline' });
      expect(samplesOf(await other.registry.metrics(), 'planasonix_reconcile_errors_total')).to.deep.equal([]);
      expect(samplesOf(await metrics.registry.metrics(), 'planasonix_reconcile_errors_total')).to.have.length(1);
    });

    it('passes promtool check metrics (install with: apt-get install -y prometheus)', async function () {
      this.timeout(20_000);
      if (!existsSync(PROMTOOL)) {
        expect.fail(`${PROMTOOL} is missing, so the scrape cannot be linted. Install it with: apt-get update && apt-get install -y prometheus`);
      }
      recordOneOfEach(metrics);
      const result = spawnSync(PROMTOOL, ['check', 'metrics'], { input: await metrics.registry.metrics(), encoding: 'utf8' });
      expect(result.error).to.equal(undefined);
      // prom-client's own gauges end in _total; those three complaints are prom-client's, not ours.
      const knownPromClientProblems = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'].map(
        (name) => `${name} non-counter metrics should not have "_total" suffix`,
      );
      const problems = `${result.stdout}${result.stderr}`
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !knownPromClientProblems.includes(l));
      expect(problems).to.deep.equal([]);
    });
  });

  describe('buckets', () => {
    it('times webhook requests from 1 ms to 10 s and pipeline runs from 1 s to 6 h', () => {
      const buckets = (name: string): readonly number[] | undefined => METRIC_DOCS.find((d) => d.name === name)?.buckets;
      const request = buckets('planasonix_webhook_request_duration_seconds')!;
      const run = buckets('planasonix_pipeline_run_duration_seconds')!;
      expect([request[0], request.at(-1)]).to.deep.equal([0.001, 10]);
      expect([run[0], run.at(-1)]).to.deep.equal([1, 6 * 3600]);
      for (const b of [request, run]) expect([...b].toSorted((x, y) => x - y)).to.deep.equal([...b]);
    });

    it('records the elapsed time of a timer under the labels given when it stops', async () => {
      const stop = metrics.webhookRequestDuration.startTimer();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const seconds = stop({ outcome: 'unauthorized' });
      expect(seconds).to.be.within(0.015, 1);
      const count = samplesOf(await metrics.registry.metrics(), 'planasonix_webhook_request_duration_seconds_count');
      expect(count).to.deep.equal([{ name: 'planasonix_webhook_request_duration_seconds_count', labels: { outcome: 'unauthorized' }, value: 1 }]);
    });
  });

  describe('labels', () => {
    it('counts every documented webhook outcome', async () => {
      for (const outcome of WEBHOOK_OUTCOMES) {
        if (outcome === 'not_found') metrics.webhookRequests.inc({ namespace: '', trigger: '', outcome });
        else metrics.webhookRequests.inc({ namespace: 'data', trigger: 't', outcome });
      }
      const outcomes = samplesOf(await metrics.registry.metrics(), 'planasonix_webhook_requests_total').map((s) => s.labels.outcome);
      expect(outcomes.toSorted()).to.deep.equal([...WEBHOOK_OUTCOMES].toSorted());
    });

    it('rejects an outcome that is not in the list, at compile time and at run time', () => {
      // @ts-expect-error -- "teapot" is not a WebhookOutcome
      expect(() => metrics.webhookRequests.inc({ namespace: 'data', trigger: 't', outcome: 'teapot' })).to.throw(
        MetricLabelError,
        'label "outcome" must be one of accepted, duplicate',
      );
      // @ts-expect-error -- Failed is a phase of finished runs, not of active ones
      expect(() => metrics.pipelineRunsActive.set({ namespace: 'data', pipeline: 'p', phase: 'Failed' }, 1)).to.throw(MetricLabelError, 'phase');
      // @ts-expect-error -- "timeout" is not a ReconcileOutcome
      expect(() => metrics.reconcileTotal.inc({ controller: 'c', result: 'timeout' })).to.throw(MetricLabelError, 'result');
    });

    it('rejects a label the metric does not have, and a missing one', () => {
      // @ts-expect-error -- correlationId is not a label
      expect(() => metrics.pipelineRunsCreated.inc({ namespace: 'data', pipeline: 'p', trigger: 't', correlationId: '0193f6c2' })).to.throw(
        MetricLabelError,
        'unknown label "correlationId"',
      );
      // @ts-expect-error -- trigger is missing
      expect(() => metrics.secretRotations.inc({ namespace: 'data' })).to.throw(MetricLabelError, 'label "trigger" must be a string');
    });

    it('takes only a status code or "error" as the code of an API request, and "" only as its subresource', () => {
      const request = { verb: 'create', resource: 'pipelineruns', subresource: '', code: '201' };
      metrics.kubeRequests.inc(request);
      metrics.kubeRequests.inc({ ...request, code: 'error' });
      expect(() => metrics.kubeRequests.inc({ ...request, code: 'Created' })).to.throw(MetricLabelError, 'code');
      expect(() => metrics.kubeRequests.inc({ ...request, code: '2010' })).to.throw(MetricLabelError, 'code');
      expect(() => metrics.kubeRequests.inc({ ...request, resource: '' })).to.throw(MetricLabelError, 'resource');
      expect(() => metrics.kubeRequests.inc({ ...request, subresource: 'status/../x' })).to.throw(MetricLabelError, 'subresource');
    });

    it('counts an unknown path as not_found without namespace or trigger, whatever the caller passes', async () => {
      const unknown = { namespace: 'data', trigger: '/hooks/aGVsbG8', outcome: 'not_found' } as unknown as { namespace: ''; trigger: ''; outcome: 'not_found' };
      metrics.webhookRequests.inc(unknown);
      metrics.webhookRequests.inc({ namespace: '', trigger: '', outcome: 'not_found' });
      const samples = samplesOf(await metrics.registry.metrics(), 'planasonix_webhook_requests_total');
      expect(samples).to.deep.equal([{ name: 'planasonix_webhook_requests_total', labels: { namespace: '', trigger: '', outcome: 'not_found' }, value: 2 }]);
    });

    it('refuses a URL path, an upper-case or an over-long name as a name label, without repeating the value', () => {
      const attempts: [string, () => void][] = [
        ['path', () => metrics.webhookRequests.inc({ namespace: 'data', trigger: '/hooks/aGVsbG8', outcome: 'accepted' })],
        ['url', () => metrics.pipelineRunsCreated.inc({ namespace: 'data', pipeline: 'https://x.example/hooks/aGVsbG8', trigger: 't' })],
        ['upper case', () => metrics.secretRotations.inc({ namespace: 'Data', trigger: 't' })],
        ['long', () => metrics.signatureFailures.inc({ namespace: 'data', trigger: 'a'.repeat(MAX_LABEL_VALUE_LENGTH + 1), reason: 'mismatch' })],
        ['long namespace', () => metrics.triggersReady.set({ namespace: 'n'.repeat(64) }, 1)],
      ];
      for (const [what, attempt] of attempts) {
        expect(attempt, what).to.throw(MetricLabelError);
        try {
          attempt();
        } catch (e) {
          expect((e as Error).message, what).not.to.match(/aGVsbG8|aaaa|nnnn|Data/);
        }
      }
      metrics.signatureFailures.inc({ namespace: 'data', trigger: 'a'.repeat(MAX_LABEL_VALUE_LENGTH), reason: 'mismatch' });
    });

    it(`never exports a label value longer than ${MAX_LABEL_VALUE_LENGTH} characters, whatever it is given`, async () => {
      const value = fc.oneof(fc.string({ maxLength: 400 }), fc.stringMatching(/^[a-z0-9][-a-z0-9.]{0,300}[a-z0-9]$/));
      const m = createMetrics({ defaultMetrics: false });
      fc.assert(
        fc.property(value, value, value, (namespace, pipeline, controller) => {
          const calls = [
            () => m.pipelineRunsCreated.inc({ namespace, pipeline, trigger: pipeline }),
            () => m.pipelineRunDuration.observe({ namespace, pipeline, phase: 'Failed' }, 1),
            () => m.reconcileTotal.inc({ controller, result: 'error' }),
            () => m.informerSynced.set({ resource: controller }, 0),
          ];
          for (const call of calls) {
            try {
              call();
            } catch (e) {
              if (!(e instanceof MetricLabelError)) throw e;
            }
          }
        }),
      );
      const { samples } = parseScrape(await m.registry.metrics());
      expect(samples.length).to.be.greaterThan(0);
      for (const s of samples) for (const v of Object.values(s.labels)) expect(v.length).to.be.at.most(MAX_LABEL_VALUE_LENGTH);
    });
  });

  describe('gauges', () => {
    it('reports the leader as 0 until this replica leads, then 1', async () => {
      expect(samplesOf(await metrics.registry.metrics(), 'planasonix_leader_is_leader').map((s) => s.value)).to.deep.equal([0]);
      metrics.leader.set(true);
      expect(samplesOf(await metrics.registry.metrics(), 'planasonix_leader_is_leader').map((s) => s.value)).to.deep.equal([1]);
      metrics.leader.set(false);
      expect(samplesOf(await metrics.registry.metrics(), 'planasonix_leader_is_leader').map((s) => s.value)).to.deep.equal([0]);
    });

    it('counts active runs up and down, and forgets them all on reset', async () => {
      const labels = { namespace: 'data', pipeline: 'export-loader', phase: 'Pending' } as const;
      metrics.pipelineRunsActive.inc(labels);
      metrics.pipelineRunsActive.inc(labels, 2);
      metrics.pipelineRunsActive.dec(labels);
      expect(samplesOf(await metrics.registry.metrics(), 'planasonix_pipeline_runs_active').map((s) => s.value)).to.deep.equal([2]);
      metrics.pipelineRunsActive.reset();
      expect(samplesOf(await metrics.registry.metrics(), 'planasonix_pipeline_runs_active')).to.deep.equal([]);
    });
  });

  describe('forgetting deleted objects', () => {
    it('drops every series of a deleted trigger and keeps the others', async () => {
      recordOneOfEach(metrics);
      metrics.webhookRequests.inc({ namespace: 'data', trigger: 'other', outcome: 'accepted' });
      metrics.webhookRequests.inc({ namespace: 'ops', trigger: 'export-completed', outcome: 'accepted' });
      await metrics.forgetTrigger('data', 'export-completed');

      const text = await metrics.registry.metrics();
      const remaining = parseScrape(text).samples.filter((s) => s.labels.trigger !== undefined);
      expect(remaining.map((s) => `${s.labels.namespace}/${s.labels.trigger}`).toSorted()).to.deep.equal(['/', 'data/other', 'ops/export-completed']);
    });

    it('drops every series of a deleted pipeline, histograms included', async () => {
      recordOneOfEach(metrics);
      metrics.pipelineRunDuration.observe({ namespace: 'data', pipeline: 'kept', phase: 'Failed' }, 3);
      await metrics.forgetPipeline('data', 'export-loader');

      const pipelines = parseScrape(await metrics.registry.metrics()).samples.flatMap((s) => (s.labels.pipeline ? [s.labels.pipeline] : []));
      expect(new Set(pipelines)).to.deep.equal(new Set(['kept']));
    });

    it('refuses to forget an empty name, which would drop the not_found series', async () => {
      let error: unknown;
      try {
        await metrics.forgetTrigger('', '');
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(MetricLabelError);
    });
  });

  describe('documentation', () => {
    it('renders a Markdown table row for every metric, with its labels and the outcome values', () => {
      const markdown = renderMetricDocs();
      expect(markdown).to.match(/^\| Metric \| Type \| Labels \| Meaning \|\n\| --- \| --- \| --- \| --- \|\n/);
      for (const doc of METRIC_DOCS) {
        const row = markdown.split('\n').find((l) => l.startsWith(`| \`${doc.name}\` |`));
        expect(row, doc.name).to.be.a('string');
        expect(row).to.include(` ${doc.type} `);
        for (const label of doc.labels) expect(row).to.include(`\`${label}\``);
        expect(doc.why, doc.name).to.have.length.greaterThan(10);
      }
      for (const outcome of WEBHOOK_OUTCOMES) expect(markdown).to.include(`\`${outcome}\``);
    });
  });
});
