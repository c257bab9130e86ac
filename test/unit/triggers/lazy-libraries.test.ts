// The CEL library (spec.filter) and ajv with re2js (spec.payload.schema) cost every process that
// loads them memory (cel-library.ts): they must load when a trigger needs them, not with the
// operator. Checked in a fresh process, whose module hooks see every import and require.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { runProgram } from '../../harness/programs.ts';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src');
const moduleUrl = (file: string) => JSON.stringify(pathToFileURL(path.join(src, file)).href);

const program = `
import { registerHooks } from 'node:module';
const resolved = [];
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); resolved.push(r.url); return r; } });
await import(${moduleUrl('operator/operator.ts')});
const { compileTrigger } = await import(${moduleUrl('triggers/compile.ts')});
const loaded = () => ({
  cel: resolved.some((u) => u.includes('/node_modules/@bufbuild/cel/')),
  ajv: resolved.some((u) => u.includes('/node_modules/ajv/')),
  re2js: resolved.some((u) => u.includes('/node_modules/re2js/')),
});
const compiles = (spec) => compileTrigger({ trigger: { spec: { pipelineRef: { name: 'export-loader' }, auth: { scheme: 'none' }, ...spec } }, generated: undefined }).ok;
const report = { started: loaded() };
report.plainCompiles = compiles({ params: [{ name: 'id', from: 'body', path: '/id' }] });
report.plain = loaded();
report.filterCompiles = compiles({ filter: 'body.event == "export.completed"' });
report.filter = loaded();
report.schemaCompiles = compiles({ payload: { strict: true, schema: { type: 'object', properties: { id: { type: 'string', pattern: '^exp_' } } } } });
report.schema = loaded();
console.log(JSON.stringify(report));
`;

describe('libraries loaded on demand', () => {
  it('loads CEL for the first filter and ajv with re2js for the first schema, not with the operator', async () => {
    const res = await runProgram(process.execPath, ['--input-type=module', '-e', program]);
    expect(res.code, res.stderr).to.equal(0);
    const report = JSON.parse(res.stdout) as Record<string, unknown>;
    expect(report).to.deep.equal({
      started: { cel: false, ajv: false, re2js: false },
      plainCompiles: true,
      plain: { cel: false, ajv: false, re2js: false },
      filterCompiles: true,
      filter: { cel: true, ajv: false, re2js: false },
      schemaCompiles: true,
      schema: { cel: true, ajv: true, re2js: true },
    });
  });
});
