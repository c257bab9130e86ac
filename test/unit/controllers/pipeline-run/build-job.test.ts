import { expect } from 'chai';
import { parse, stringify } from 'yaml';
import type { JobTemplate, Pipeline, PipelineRun } from '../../../../src/api/types.ts';
import { buildJob, jobNameFor } from '../../../../src/controllers/pipeline-run/build-job.ts';
import type { Container, EnvVar, Job } from '../../../../src/controllers/pipeline-run/job.ts';
import { envNameForParam } from '../../../../src/controllers/pipeline-run/param-names.ts';
import { paramsSecretName } from '../../../../src/api/constants.ts';
import { resolveRun } from '../../../../src/controllers/pipeline-run/resolve-pipeline.ts';
import { makePipeline, makeRun } from './fixtures.ts';

const NOW = new Date('2025-03-01T10:00:05Z');
const VALUES = { export_id: 'exp_8f3c21', record_count: '0' };
// A DNS-1123 label: what a Job name must be for its pods to carry it as a label value.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function templateWith(extra: Partial<Container> = {}, spec: Record<string, unknown> = {}): JobTemplate {
  return {
    metadata: { labels: { team: 'data' }, annotations: { 'example.com/owner': 'data-eng' } },
    spec: {
      ...spec,
      template: {
        metadata: { labels: { app: 'loader' }, annotations: { 'example.com/pod': 'yes' } },
        spec: {
          initContainers: [{ name: 'fetch', image: 'busybox' }],
          containers: [{ name: 'load', image: 'loader:3', args: ['--export', 'exp_8f3c21'], ...extra }, { name: 'sidecar', image: 'proxy:1' }],
        },
      },
    },
  };
}

function build(opts: { run?: PipelineRun; pipeline?: Pipeline; template?: JobTemplate; values?: Record<string, string> } = {}): Job {
  return buildJob(opts.run ?? makeRun(), opts.pipeline ?? makePipeline(), opts.template ?? templateWith(), opts.values ?? VALUES, { now: NOW });
}

function containersOf(job: Job): Container[] {
  return [...(job.spec.template.spec?.initContainers ?? []), ...(job.spec.template.spec?.containers ?? [])];
}

function envOf(container: Container): Record<string, EnvVar> {
  return Object.fromEntries((container.env ?? []).map((e) => [e.name, e]));
}

describe('jobNameFor', () => {
  it("is the run's name when it fits in 63 characters", () => {
    expect(jobNameFor(makeRun({ name: 'export-completed-5f2c9a01b7e4d3c2' }))).to.equal('export-completed-5f2c9a01b7e4d3c2');
    const exactly63 = 'a'.repeat(63);
    expect(jobNameFor(makeRun({ name: exactly63 }))).to.equal(exactly63);
  });

  it('shortens a longer name to 52 characters, a dash and 10 hex digits of its hash', () => {
    const long = `${'nightly-export-from-the-billing-system-'.repeat(3)}5f2c9a01b7e4d3c2`;
    const name = jobNameFor(makeRun({ name: long }));
    expect(name).to.have.length(63);
    expect(name).to.match(/^nightly-export-from-the-billing-system-nightly-expor-[0-9a-f]{10}$/);
    expect(name).to.match(DNS_LABEL);
    expect(jobNameFor(makeRun({ name: long }))).to.equal(name);
  });

  it('keeps two long names that share their first 52 characters apart', () => {
    const prefix = 'x'.repeat(60);
    expect(jobNameFor(makeRun({ name: `${prefix}-aaaa` }))).not.to.equal(jobNameFor(makeRun({ name: `${prefix}-bbbb` })));
  });

  it('drops dashes and dots at the cut, so the name stays a valid label', () => {
    const name = jobNameFor(makeRun({ name: `${'a'.repeat(50)}.-${'b'.repeat(20)}` }));
    expect(name).to.match(new RegExp(`^a{50}-[0-9a-f]{10}$`));
    expect(name).to.match(DNS_LABEL);
  });
});

describe('buildJob', () => {
  it('names the Job after the run, in its namespace, owned by it', () => {
    const job = build();
    expect(job.apiVersion).to.equal('batch/v1');
    expect(job.kind).to.equal('Job');
    expect(job.metadata.name).to.equal('export-completed-5f2c9a01b7e4d3c2');
    expect(job.metadata.namespace).to.equal('data');
    expect(job.metadata.ownerReferences).to.deep.equal([
      {
        apiVersion: 'planasonix.io/v1alpha1',
        kind: 'PipelineRun',
        name: 'export-completed-5f2c9a01b7e4d3c2',
        uid: 'uid-export-completed-5f2c9a01b7e4d3c2',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });

  it('refuses a run without a uid, which could not own the Job', () => {
    const run = makeRun();
    delete run.metadata.uid;
    expect(() => build({ run })).to.throw('has no metadata.uid');
  });

  it('labels the Job and its pods with trigger, pipeline, run and correlation ID, keeping the template labels', () => {
    const job = build();
    const ours = {
      'planasonix.io/trigger': 'export-completed',
      'planasonix.io/pipeline': 'export-loader',
      'planasonix.io/pipeline-run': 'export-completed-5f2c9a01b7e4d3c2',
      'planasonix.io/correlation-id': '0193f6c2-7b1e-7c3a-9f1d-2b8e4a6c0d11',
    };
    expect(job.metadata.labels).to.deep.equal({ team: 'data', ...ours, 'app.kubernetes.io/managed-by': 'planasonix-webhook-operator' });
    expect(job.spec.template.metadata?.labels).to.deep.equal({ app: 'loader', ...ours });
  });

  it('overrides a template label that claims one of our keys', () => {
    const template = templateWith();
    template.metadata!.labels!['planasonix.io/pipeline-run'] = 'someone-else';
    expect(build({ template }).metadata.labels!['planasonix.io/pipeline-run']).to.equal('export-completed-5f2c9a01b7e4d3c2');
  });

  it('labels with the shortened name when the run name is too long for a label', () => {
    const run = makeRun({ name: 'r'.repeat(80) });
    const job = build({ run });
    expect(job.metadata.labels!['planasonix.io/pipeline-run']).to.equal(job.metadata.name).and.to.have.length(63);
  });

  it('leaves out a correlation ID that is not a valid label value rather than have the Job refused', () => {
    const run = makeRun({ spec: { correlationId: 'not a label/value' } });
    const job = build({ run });
    expect(job.metadata.labels).not.to.have.property('planasonix.io/correlation-id');
    expect(envOf(containersOf(job)[0]!).PLANASONIX_CORRELATION_ID!.value).to.equal('not a label/value');
  });

  it('annotates the Job and its pods with the delivery ID and received time, keeping the template annotations', () => {
    const job = build();
    const ours = { 'planasonix.io/delivery-id': 'msg_2f9a', 'planasonix.io/received-at': '2025-03-01T10:00:00.123Z' };
    expect(job.metadata.annotations).to.deep.equal({ 'example.com/owner': 'data-eng', ...ours });
    expect(job.spec.template.metadata?.annotations).to.deep.equal({ 'example.com/pod': 'yes', ...ours });
  });

  it('uses the creation time as the received time of a run created by hand', () => {
    const run = makeRun();
    delete run.spec.trigger;
    const job = build({ run });
    expect(job.metadata.annotations).to.deep.equal({ 'example.com/owner': 'data-eng', 'planasonix.io/received-at': '2025-03-01T10:00:00Z' });
    expect(job.metadata.labels).not.to.have.property('planasonix.io/trigger');
  });

  describe('environment', () => {
    it('gives every container and init container each param as PARAM_<NAME> and the run as PLANASONIX_ variables', () => {
      const job = build();
      expect(containersOf(job)).to.have.length(3);
      for (const container of containersOf(job)) {
        expect(container.env).to.deep.equal([
          { name: 'PARAM_EXPORT_ID', value: 'exp_8f3c21' },
          { name: 'PARAM_RECORD_COUNT', value: '0' },
          { name: 'PLANASONIX_CORRELATION_ID', value: '0193f6c2-7b1e-7c3a-9f1d-2b8e4a6c0d11' },
          { name: 'PLANASONIX_DELIVERY_ID', value: 'msg_2f9a' },
          { name: 'PLANASONIX_PIPELINE', value: 'export-loader' },
          { name: 'PLANASONIX_PIPELINE_RUN', value: 'export-completed-5f2c9a01b7e4d3c2' },
          { name: 'PLANASONIX_TRIGGER', value: 'export-completed' },
        ]);
      }
    });

    it("gives every container the run's W3C trace context as TRACEPARENT and TRACESTATE, and the Job and pods the traceparent", () => {
      const run = makeRun();
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      run.metadata.annotations = { 'planasonix.io/traceparent': traceparent, 'planasonix.io/tracestate': 'congo=t61rcWkgMzE' };
      const job = build({ run });
      for (const container of containersOf(job)) {
        expect(envOf(container).TRACEPARENT).to.deep.equal({ name: 'TRACEPARENT', value: traceparent });
        expect(envOf(container).TRACESTATE).to.deep.equal({ name: 'TRACESTATE', value: 'congo=t61rcWkgMzE' });
      }
      expect(job.metadata.annotations).to.include({ 'planasonix.io/traceparent': traceparent });
      expect(job.spec.template.metadata?.annotations).to.include({ 'planasonix.io/traceparent': traceparent });
    });

    it('leaves out a traceparent annotation that is not a valid traceparent (set by hand), and its tracestate', () => {
      const run = makeRun();
      run.metadata.annotations = { 'planasonix.io/traceparent': '$(PARAM_API_TOKEN)', 'planasonix.io/tracestate': 'congo=t61rcWkgMzE' };
      const job = build({ run });
      for (const container of containersOf(job)) expect(envOf(container)).to.not.have.any.keys('TRACEPARENT', 'TRACESTATE');
      expect(job.metadata.annotations).to.not.have.property('planasonix.io/traceparent');
    });

    const names: [string, string][] = [
      ['export_id', 'PARAM_EXPORT_ID'],
      ['export-id', 'PARAM_EXPORT_ID'],
      ['recordCount', 'PARAM_RECORDCOUNT'],
      ['_private', 'PARAM__PRIVATE'],
      ['a1-b2', 'PARAM_A1_B2'],
    ];
    for (const [param, env] of names) {
      it(`names the variable of param ${param} ${env}`, () => {
        expect(envNameForParam(param)).to.equal(env);
        const job = build({ values: { [param]: 'v' } });
        expect(envOf(containersOf(job)[0]!)[env]).to.deep.equal({ name: env, value: 'v' });
      });
    }

    it('reads sensitive params from the run Secret with a secretKeyRef, never as a value', () => {
      const run = makeRun({ spec: { sensitiveParams: ['api_token'] } });
      const job = build({ run });
      expect(paramsSecretName(run.metadata.name!)).to.equal('export-completed-5f2c9a01b7e4d3c2-params');
      for (const container of containersOf(job)) {
        expect(envOf(container).PARAM_API_TOKEN).to.deep.equal({
          name: 'PARAM_API_TOKEN',
          valueFrom: { secretKeyRef: { name: 'export-completed-5f2c9a01b7e4d3c2-params', key: 'api_token' } },
        });
      }
    });

    it('puts ours before the template entries, so that those can refer to them', () => {
      const template = templateWith({ env: [{ name: 'EXPORT_FLAG', value: '--export=$(PARAM_EXPORT_ID)' }] });
      const env = containersOf(build({ template }))[1]!.env!;
      expect(env.at(-1)).to.deep.equal({ name: 'EXPORT_FLAG', value: '--export=$(PARAM_EXPORT_ID)' });
      expect(env.findIndex((e) => e.name === 'PARAM_EXPORT_ID')).to.be.lessThan(env.length - 1);
    });

    it('lets a variable the template defines itself win: ours is not emitted at all', () => {
      const template = templateWith({
        env: [
          { name: 'PARAM_RECORD_COUNT', value: '100' },
          { name: 'PLANASONIX_TRIGGER', value: 'fixed' },
        ],
      });
      const job = build({ template });
      const env = containersOf(job)[1]!.env!;
      expect(env.filter((e) => e.name === 'PARAM_RECORD_COUNT')).to.deep.equal([{ name: 'PARAM_RECORD_COUNT', value: '100' }]);
      expect(env.filter((e) => e.name === 'PLANASONIX_TRIGGER')).to.deep.equal([{ name: 'PLANASONIX_TRIGGER', value: 'fixed' }]);
      // Other containers still get ours.
      expect(envOf(containersOf(job)[2]!).PARAM_RECORD_COUNT).to.deep.equal({ name: 'PARAM_RECORD_COUNT', value: '0' });
    });

    it('escapes $ in values, so Kubernetes does not expand a reference a webhook sent', () => {
      const run = makeRun({ spec: { trigger: { name: 't', deliveryId: '$(PARAM_API_TOKEN)', receivedTime: '2025-03-01T10:00:00Z' } } });
      const env = envOf(containersOf(build({ run, values: { export_id: 'a$(HOME)$$b' } }))[0]!);
      expect(env.PARAM_EXPORT_ID!.value).to.equal('a$$(HOME)$$$$b');
      expect(env.PLANASONIX_DELIVERY_ID!.value).to.equal('$$(PARAM_API_TOKEN)');
    });
  });

  describe('Job spec', () => {
    const deadlines: [string | undefined, number | undefined][] = [
      ['30m', 1800],
      ['1h30m', 5400],
      ['1.5s', 2],
      ['1s', 1],
      [undefined, undefined],
    ];
    for (const [timeout, seconds] of deadlines) {
      it(`sets activeDeadlineSeconds ${seconds} from timeout ${timeout}`, () => {
        const job = build({ pipeline: makePipeline(timeout === undefined ? {} : { timeout }) });
        expect(job.spec.activeDeadlineSeconds).to.equal(seconds);
      });
    }

    it("keeps the template's activeDeadlineSeconds when the Pipeline sets no timeout", () => {
      expect(build({ template: templateWith({}, { activeDeadlineSeconds: 600 }) }).spec.activeDeadlineSeconds).to.equal(600);
      expect(build({ pipeline: makePipeline({ timeout: '5m' }), template: templateWith({}, { activeDeadlineSeconds: 600 }) }).spec.activeDeadlineSeconds).to.equal(300);
    });

    it('throws on a timeout that is not a duration, naming the Pipeline', () => {
      expect(() => build({ pipeline: makePipeline({ timeout: 'soon' }) })).to.throw('Pipeline "export-loader" has an invalid spec.timeout');
    });

    const backoff: [number | undefined, number | undefined, number][] = [
      [2, undefined, 2],
      [0, 5, 0],
      [undefined, undefined, 0],
      [undefined, 5, 5],
    ];
    for (const [retries, templateLimit, expected] of backoff) {
      it(`sets backoffLimit ${expected} from retries ${retries} and a template backoffLimit of ${templateLimit}`, () => {
        const pipeline = makePipeline(retries === undefined ? {} : { retries });
        const template = templateWith({}, templateLimit === undefined ? {} : { backoffLimit: templateLimit });
        expect(build({ pipeline, template }).spec.backoffLimit).to.equal(expected);
      });
    }

    it('sets restartPolicy Never unless the template chose one', () => {
      expect(build().spec.template.spec?.restartPolicy).to.equal('Never');
      const template = templateWith();
      (template.spec.template as { spec: { restartPolicy?: string } }).spec.restartPolicy = 'OnFailure';
      expect(build({ template }).spec.template.spec?.restartPolicy).to.equal('OnFailure');
    });

    it('never suspends the Job and drops ttlSecondsAfterFinished, since history pruning deletes Jobs', () => {
      const job = build({ template: templateWith({}, { suspend: true, ttlSecondsAfterFinished: 60, completions: 1 }) });
      expect(job.spec.suspend).to.equal(false);
      expect(job.spec).not.to.have.property('ttlSecondsAfterFinished');
      expect(job.spec.completions).to.equal(1);
    });

    it('keeps the rest of the pod spec as written', () => {
      const template = templateWith({ securityContext: { runAsNonRoot: true } });
      (template.spec.template as { spec: Record<string, unknown> }).spec.serviceAccountName = 'loader';
      const job = build({ template });
      expect(job.spec.template.spec?.serviceAccountName).to.equal('loader');
      expect(job.spec.template.spec?.containers?.[0]?.securityContext).to.deep.equal({ runAsNonRoot: true });
      expect(job.spec.template.spec?.containers?.[0]?.image).to.equal('loader:3');
    });

    it('does not change the template, run or Pipeline it was given', () => {
      const run = makeRun();
      const pipeline = makePipeline({ timeout: '30m' });
      const template = templateWith({ env: [{ name: 'X', value: '1' }] }, { ttlSecondsAfterFinished: 60 });
      const before = structuredClone({ run, pipeline, template });
      build({ run, pipeline, template });
      expect({ run, pipeline, template }).to.deep.equal(before);
    });
  });

  it('from hostile param values to YAML and back, the Job keeps its shape and no value becomes structure', () => {
    const pipeline = makePipeline({
      params: [{ name: 'export_id' }, { name: 'location' }],
      jobTemplate: {
        metadata: { annotations: { 'example.com/location': '$(params.location)' } },
        spec: {
          template: {
            spec: {
              containers: [{ name: 'load', image: 'loader:3', command: ['/bin/load', '--export=$(params.export_id)'], args: ['--from', '$(params.location)'] }],
            },
          },
        },
      },
    });
    const run = makeRun({ spec: { params: { export_id: '"; rm -rf / #', location: '"\n  hostPath: /\nvolumes: [{name: x}]' } } });
    const resolved = resolveRun(run, pipeline);
    expect(resolved.ok).to.equal(true);
    if (!resolved.ok) return;
    const job = buildJob(run, pipeline, resolved.template, resolved.values, { now: NOW });
    const roundTripped = parse(stringify(job)) as Job;
    expect(roundTripped).to.deep.equal(job);
    expect(Object.keys(roundTripped.spec.template.spec!)).to.have.members(['containers', 'restartPolicy']);
    const container = roundTripped.spec.template.spec!.containers![0]!;
    expect(Object.keys(container)).to.have.members(['name', 'image', 'command', 'args', 'env']);
    expect(container.command).to.deep.equal(['/bin/load', '--export="; rm -rf / #']);
    expect(container.args).to.deep.equal(['--from', '"\n  hostPath: /\nvolumes: [{name: x}]']);
    expect(roundTripped.metadata.annotations!['example.com/location']).to.equal('"\n  hostPath: /\nvolumes: [{name: x}]');
  });
});
