import { expect } from 'chai';
import fc from 'fast-check';
import type { ParamMapping, ParamType } from '../../../../src/api/types.ts';
import { mapParams as mapCompiled, MAX_PARAM_BYTES, type ParamInput } from '../../../../src/receiver/payload/map-params.ts';
import { compileParams } from '../../../../src/triggers/compile-params.ts';

// The receiver maps with params compiled once per trigger (their pointers parsed): so does the test.
const mapParams = (mappings: ParamMapping[], input: ParamInput) => mapCompiled(compileParams(mappings, []), input);

const BODY = { export_id: 'exp_8f3c21', location: 's3://exports-bucket/exp_8f3c21/', record_count: 482910, token: 'tok_live_123', flags: { dry: false }, nothing: null };

function input(over: { body?: unknown; headers?: Record<string, string | string[]>; query?: string } = {}) {
  return { body: 'body' in over ? over.body : BODY, headers: over.headers ?? {}, query: new URLSearchParams(over.query ?? '') };
}

describe('mapParams', () => {
  it('maps the example trigger of the API sketch', () => {
    const mappings: ParamMapping[] = [
      { name: 'export_id', from: 'body', path: '/export_id', required: true },
      { name: 'location', from: 'body', path: '/location', required: true },
      { name: 'record_count', from: 'body', path: '/record_count', type: 'number' },
      { name: 'requested_by', from: 'header', header: 'X-Requested-By' },
      { name: 'api_token', from: 'body', path: '/token', sensitive: true },
    ];
    const result = mapParams(mappings, input({ headers: { 'x-requested-by': 'billing' } }));
    expect(result).to.deep.equal({
      params: { export_id: 'exp_8f3c21', location: 's3://exports-bucket/exp_8f3c21/', record_count: '482910', requested_by: 'billing' },
      sensitive: { api_token: 'tok_live_123' },
      errors: [],
    });
  });

  it('reads query parameters and headers (by any case, first of a repeated header)', () => {
    const result = mapParams(
      [{ name: 'env', from: 'query', query: 'env' }, { name: 'who', from: 'header', header: 'x-who' }, { name: 'mixed', from: 'header', header: 'X-MIXED' }],
      input({ query: 'env=prod&env=dev', headers: { 'x-who': ['a', 'b'], 'X-Mixed': 'm' } }),
    );
    expect(result.params).to.deep.equal({ env: 'prod', who: 'a', mixed: 'm' });
  });

  it('uses the default when the value is absent or null, and says which required value is missing', () => {
    const result = mapParams(
      [
        { name: 'count', from: 'body', path: '/missing', type: 'number', default: '0' },
        { name: 'nulled', from: 'body', path: '/nothing', default: 'fallback' },
        { name: 'must', from: 'body', path: '/absent', required: true },
        { name: 'hdr', from: 'header', header: 'X-Needed', required: true },
        { name: 'optional', from: 'query', query: 'q' },
      ],
      input(),
    );
    expect(result.params).to.deep.equal({ count: '0', nulled: 'fallback' });
    expect(result.errors).to.deep.equal([
      { param: 'must', message: 'param "must" is required but the body field /absent is missing' },
      { param: 'hdr', message: 'param "hdr" is required but the header X-Needed is missing' },
    ]);
  });

  it('treats a request without a body as having no body fields', () => {
    const result = mapParams([{ name: 'id', from: 'body', path: '/export_id', required: true }], input({ body: undefined }));
    expect(result.errors.map((e) => e.param)).to.deep.equal(['id']);
  });

  it('reports a wrong type without quoting the value', () => {
    const result = mapParams(
      [
        { name: 'n', from: 'body', path: '/export_id', type: 'number' },
        { name: 'b', from: 'header', header: 'x-flag', type: 'boolean' },
        { name: 'o', from: 'body', path: '/flags', type: 'object' },
      ],
      input({ headers: { 'x-flag': 'maybe' } }),
    );
    expect(result.params).to.deep.equal({ o: '{"dry":false}' });
    expect(result.errors).to.deep.equal([
      { param: 'n', message: 'param "n" has an invalid value: expected a finite number, got a string' },
      { param: 'b', message: 'param "b" has an invalid value: expected "true" or "false"' },
    ]);
  });

  it('reports an invalid default', () => {
    const result = mapParams([{ name: 'd', from: 'body', path: '/none', type: 'number', default: 'many' }, { name: 'q', from: 'query', query: 'a' }], input({ query: 'a=1' }));
    expect(result.errors.map((e) => e.message)).to.deep.equal(['param "d" has an invalid default: expected a decimal number']);
    expect(result.params).to.deep.equal({ q: '1' });
  });

  it('refuses a value over the size cap, and accepts one exactly at it', () => {
    const atCap = 'x'.repeat(MAX_PARAM_BYTES);
    const ok = mapParams([{ name: 'big', from: 'body', path: '/v' }], input({ body: { v: atCap } }));
    expect(ok.params.big).to.have.length(MAX_PARAM_BYTES);
    // Counted in UTF-8 bytes: "é" is two bytes, so half as many characters already exceed it.
    const over = mapParams([{ name: 'big', from: 'body', path: '/v' }], input({ body: { v: 'é'.repeat(MAX_PARAM_BYTES / 2 + 1) } }));
    expect(over.errors).to.deep.equal([{ param: 'big', message: `param "big" is longer than ${MAX_PARAM_BYTES} bytes` }]);
  });

  it('does not let a param named __proto__ change the prototype of the result', () => {
    const result = mapParams([{ name: '__proto__', from: 'query', query: 'x' }, { name: 'constructor', from: 'header', header: 'constructor' }], input({ query: 'x=1' }));
    expect(Object.getPrototypeOf(result.params)).to.equal(Object.prototype);
    expect(Object.hasOwn(result.params, '__proto__')).to.equal(true);
    expect(Object.hasOwn(result.params, 'constructor')).to.equal(false);
  });

  it('never puts a value into an error message, whatever the value, source and type', () => {
    // Every generated value carries the marker, which no message template contains.
    const MARK = '\u2603';
    const marked = fc.string({ maxLength: 40 }).map((s) => `${MARK}${s}${MARK}`);
    const bodyValue = fc.oneof(marked, fc.dictionary(fc.string({ maxLength: 5 }), marked), fc.array(marked, { maxLength: 3 }));
    const type = fc.constantFrom<ParamType>('string', 'number', 'boolean', 'object');
    fc.assert(fc.property(
      fc.array(fc.record({ source: fc.constantFrom('body', 'header', 'query') as fc.Arbitrary<'body' | 'header' | 'query'>, type, value: bodyValue, textValue: marked, huge: fc.boolean(), sensitive: fc.boolean() }), { minLength: 1, maxLength: 5 }),
      (specs) => {
        const body: Record<string, unknown> = {};
        const headers: Record<string, string> = {};
        const query = new URLSearchParams();
        const mappings: ParamMapping[] = specs.map((s, i) => {
          const pad = s.huge ? 'z'.repeat(MAX_PARAM_BYTES) : '';
          if (s.source === 'body') body[`f${i}`] = typeof s.value === 'string' ? s.value + pad : s.value;
          if (s.source === 'header') headers[`x-h${i}`] = s.textValue + pad;
          if (s.source === 'query') query.set(`q${i}`, s.textValue + pad);
          return { name: `p${i}`, from: s.source, path: `/f${i}`, header: `x-h${i}`, query: `q${i}`, type: s.type, sensitive: s.sensitive, default: s.textValue };
        });
        const result = mapParams(mappings, { body, headers, query });
        for (const e of result.errors) expect(e.message).to.not.include(MARK);
        expect(Object.keys(result.params).length + Object.keys(result.sensitive).length + result.errors.length).to.equal(specs.length);
      },
    ), { numRuns: 500 });
  });
});
