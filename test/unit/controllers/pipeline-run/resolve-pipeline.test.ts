import { expect } from 'chai';
import type { JobTemplate, PipelineParam } from '../../../../src/api/types.ts';
import {
  resolveJobTemplate,
  resolveParams,
  resolveRun,
  type ParamsResolution,
} from '../../../../src/controllers/pipeline-run/resolve-pipeline.ts';
import { makePipeline, makeRun, makeTemplate } from './fixtures.ts';

function betaTemplate(): JobTemplate {
  return { spec: { template: { spec: { containers: [{ name: 'beta', image: 'loader:4-beta' }] } } } };
}

describe('resolveJobTemplate', () => {
  const pipeline = makePipeline({ versions: [{ name: 'v4-beta', jobTemplate: betaTemplate() }] });

  it('uses spec.jobTemplate when the run names no version', () => {
    expect(resolveJobTemplate(pipeline)).to.deep.equal({ ok: true, template: makeTemplate() });
    expect(resolveJobTemplate(pipeline, '')).to.deep.equal({ ok: true, template: makeTemplate() });
  });

  it("uses the named version's jobTemplate instead", () => {
    expect(resolveJobTemplate(pipeline, 'v4-beta')).to.deep.equal({ ok: true, template: betaTemplate() });
  });

  it('fails with PipelineVersionNotFound for an unknown version, listing the known ones', () => {
    expect(resolveJobTemplate(pipeline, 'v5')).to.deep.equal({
      ok: false,
      reason: 'PipelineVersionNotFound',
      message: 'Pipeline "export-loader" has no version "v5" (it has "v4-beta")',
    });
  });

  it('says so when the Pipeline has no versions at all', () => {
    const result = resolveJobTemplate(makePipeline(), 'v5');
    expect(result.ok).to.equal(false);
    if (!result.ok) expect(result.message).to.equal('Pipeline "export-loader" has no version "v5" (it has no named versions)');
  });
});

describe('resolveParams', () => {
  const declared: PipelineParam[] = [
    { name: 'export_id', type: 'string', required: true },
    { name: 'record_count', type: 'number', default: '0' },
    { name: 'dry_run', type: 'boolean', default: 'false' },
    { name: 'options', type: 'object' },
    { name: 'note' },
    { name: 'api_token', required: true },
  ];

  it('applies defaults and gives an optional param without a default the empty string', () => {
    expect(resolveParams(declared, { export_id: 'exp_1' }, ['api_token'])).to.deep.equal({
      ok: true,
      values: { export_id: 'exp_1', record_count: '0', dry_run: 'false', options: '', note: '' },
    });
  });

  it("prefers the run's value to the default", () => {
    const result = resolveParams(declared, { export_id: 'exp_1', record_count: '482910', dry_run: 'true' }, ['api_token']);
    expect(result.ok && result.values).to.include({ record_count: '482910', dry_run: 'true' });
  });

  it('leaves sensitive params out of the values: they reach the Job only from the Secret', () => {
    const result = resolveParams(declared, { export_id: 'exp_1' }, ['api_token']);
    expect(result.ok && Object.keys(result.values)).not.to.include('api_token');
  });

  it('rejects missing required params, naming each', () => {
    expect(resolveParams(declared, {}, [])).to.deep.equal({
      ok: false,
      reason: 'InvalidParams',
      message: 'missing required params "export_id", "api_token"',
    });
  });

  it('rejects params the Pipeline does not declare, naming them and the declared ones', () => {
    const result = resolveParams([{ name: 'export_id' }], { export_id: 'e', exportId: 'e', extra: 'x' }, ['token']);
    expect(result).to.deep.equal({
      ok: false,
      reason: 'InvalidParams',
      message: 'the Pipeline does not declare params "exportId", "extra", "token" (it declares "export_id")',
    });
  });

  it('says when the Pipeline declares no params at all', () => {
    const result = resolveParams(undefined, { a: '1' }, undefined);
    expect(result.ok).to.equal(false);
    if (!result.ok) expect(result.message).to.equal('the Pipeline does not declare param "a" (it declares no params)');
  });

  it('rejects a param that is both sensitive and in spec.params', () => {
    const result = resolveParams(declared, { export_id: 'e', api_token: 'leaked?' }, ['api_token']);
    expect(result.ok).to.equal(false);
    if (!result.ok) expect(result.message).to.equal('param "api_token" is both sensitive and in spec.params');
  });

  it('accepts a run without params when the Pipeline requires none', () => {
    expect(resolveParams([{ name: 'a', default: 'x' }], undefined, undefined)).to.deep.equal({ ok: true, values: { a: 'x' } });
  });

  const typeCases: [PipelineParam['type'], string, boolean][] = [
    ['number', '0', true],
    ['number', '42', true],
    ['number', '-2.5', true],
    ['number', '6.02e23', true],
    ['number', '1E-3', true],
    ['number', '', false],
    ['number', ' 1', false],
    ['number', '1 ', false],
    ['number', '0x10', false],
    ['number', '007', false],
    ['number', '1.', false],
    ['number', '.5', false],
    ['number', '+1', false],
    ['number', 'NaN', false],
    ['number', 'Infinity', false],
    ['number', '1e999', false],
    ['number', '1,5', false],
    ['boolean', 'true', true],
    ['boolean', 'false', true],
    ['boolean', 'True', false],
    ['boolean', '1', false],
    ['boolean', 'yes', false],
    ['boolean', '', false],
    ['object', '{"a":1}', true],
    ['object', '[1,2]', true],
    ['object', '{a:1}', false],
    ['object', '{"a":1', false],
    ['object', '', false],
    ['string', '', true],
    ['string', '{"anything": [1', true],
  ];
  for (const [type, value, valid] of typeCases) {
    it(`${valid ? 'accepts' : 'rejects'} ${JSON.stringify(value)} for a param of type ${type}`, () => {
      const result = resolveParams([{ name: 'p', type }], { p: value }, []);
      expect(result.ok).to.equal(valid);
      if (!result.ok) {
        expect(result.reason).to.equal('InvalidParams');
        expect(result.message).to.match(/^param "p" is not /);
      }
    });
  }

  it('checks the type of a declared default too', () => {
    const result = resolveParams([{ name: 'opts', type: 'object', default: '{broken' }], {}, []);
    expect(result).to.deep.equal({ ok: false, reason: 'InvalidParams', message: 'the default of param "opts" is not valid JSON' });
  });

  it('rejects two declared params that would share an environment variable', () => {
    const result = resolveParams([{ name: 'export-id' }, { name: 'export_id' }, { name: 'Export_Id' }], {}, []);
    expect(result).to.deep.equal({
      ok: false,
      reason: 'InvalidParams',
      message: 'params "export-id", "export_id", "Export_Id" would share the environment variable PARAM_EXPORT_ID',
    });
  });

  it('reports every problem at once', () => {
    const result = resolveParams(declared, { record_count: 'many', unknown: 'x' }, ['api_token']);
    expect(result.ok).to.equal(false);
    if (!result.ok) {
      expect(result.message).to.include('"unknown"').and.include('missing required param "export_id"').and.include('param "record_count" is not a number');
    }
  });

  it('never quotes a value in a message', () => {
    const secretish = 'hunter2-DO-NOT-LOG';
    const results: ParamsResolution[] = [
      resolveParams(declared, { export_id: 'e', record_count: secretish }, ['api_token']),
      resolveParams(declared, { export_id: 'e', dry_run: secretish }, ['api_token']),
      resolveParams(declared, { export_id: 'e', options: secretish }, ['api_token']),
      resolveParams(declared, { export_id: 'e', undeclared: secretish }, ['api_token']),
      resolveParams(declared, { export_id: 'e', api_token: secretish }, ['api_token']),
    ];
    for (const result of results) {
      expect(result.ok).to.equal(false);
      if (!result.ok) expect(result.message).not.to.include(secretish);
    }
  });
});

describe('resolveRun', () => {
  it('returns the substituted template of the named version and the values', () => {
    const pipeline = makePipeline({
      versions: [
        {
          name: 'v4-beta',
          jobTemplate: { spec: { template: { spec: { containers: [{ name: 'b', image: 'x', args: ['$(params.export_id)', '$(params.record_count)'] }] } } } },
        },
      ],
    });
    const run = makeRun({ spec: { pipelineRef: { name: 'export-loader', version: 'v4-beta' } } });
    const result = resolveRun(run, pipeline);
    expect(result.ok).to.equal(true);
    if (!result.ok) return;
    expect(result.values).to.deep.equal({ export_id: 'exp_8f3c21', record_count: '0' });
    const pod = result.template.spec.template as { spec: { containers: { args: string[] }[] } };
    expect(pod.spec.containers[0]!.args).to.deep.equal(['exp_8f3c21', '0']);
  });

  it('reports a missing version before anything else', () => {
    const run = makeRun({ spec: { pipelineRef: { name: 'export-loader', version: 'nope' }, params: { bogus: '1' } } });
    const result = resolveRun(run, makePipeline());
    expect(result.ok).to.equal(false);
    if (!result.ok) expect(result.reason).to.equal('PipelineVersionNotFound');
  });

  it('reports invalid params before the template references', () => {
    const pipeline = makePipeline({ jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a', args: ['$(params.zzz)'] }] } } } } });
    const result = resolveRun(makeRun({ spec: { params: {} } }), pipeline);
    expect(result).to.deep.equal({ ok: false, reason: 'InvalidParams', message: 'missing required param "export_id"' });
  });

  it('reports a template reference to a param the Pipeline does not declare', () => {
    const pipeline = makePipeline({ jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a', args: ['$(params.zzz)'] }] } } } } });
    const result = resolveRun(makeRun(), pipeline);
    expect(result).to.deep.equal({
      ok: false,
      reason: 'InvalidParams',
      message: 'jobTemplate.spec.template.spec.containers[0].args[0] references undeclared param "zzz"',
    });
  });

  it("refuses a template that writes one of the run's sensitive params into args", () => {
    const pipeline = makePipeline({
      params: [{ name: 'export_id' }, { name: 'api_token' }],
      jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a', args: ['--token', '$(params.api_token)'] }] } } } },
    });
    const result = resolveRun(makeRun({ spec: { sensitiveParams: ['api_token'] } }), pipeline);
    expect(result.ok).to.equal(false);
    if (!result.ok) expect(result.message).to.include('sensitive param "api_token"');
  });
});
