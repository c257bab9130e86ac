import { expect } from 'chai';
import fc from 'fast-check';
import { formatJsonPointer, JsonPointerError, parseJsonPointer, resolveJsonPointer } from '../../../src/util/json-pointer.ts';

// The example document and answers of RFC 6901 section 5.
const RFC_DOC = JSON.parse(`{
  "foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3, "g|h": 4, "i\\\\j": 5, "k\\"l": 6, " ": 7, "m~n": 8
}`);

const resolve = (doc: unknown, pointer: string) => resolveJsonPointer(doc, parseJsonPointer(pointer));

describe('JSON pointer', () => {
  it('resolves every example of RFC 6901 section 5', () => {
    const cases: [string, unknown][] = [
      ['', RFC_DOC], ['/foo', ['bar', 'baz']], ['/foo/0', 'bar'], ['/', 0], ['/a~1b', 1], ['/c%d', 2], ['/e^f', 3],
      ['/g|h', 4], ['/i\\j', 5], ['/k"l', 6], ['/ ', 7], ['/m~0n', 8],
    ];
    for (const [pointer, value] of cases) expect(resolve(RFC_DOC, pointer), pointer).to.deep.equal({ found: true, value });
  });

  it('decodes ~01 as "~1", not "/"', () => {
    expect(parseJsonPointer('/~01')).to.deep.equal(['~1']);
    expect(parseJsonPointer('/a~1b/~0~1')).to.deep.equal(['a/b', '~/']);
  });

  it('refuses pointers without a leading slash or with a bad escape, with a JsonPointerError', () => {
    for (const bad of ['foo', '#/foo', '/a~2', '/a~', '/~x']) {
      expect(() => parseJsonPointer(bad), bad).to.throw(JsonPointerError, /invalid JSON pointer/);
    }
  });

  it('reads array indices per the RFC: no leading zeros, no "-", nothing past the end', () => {
    const doc = { list: ['a', 'b'] };
    expect(resolve(doc, '/list/1')).to.deep.equal({ found: true, value: 'b' });
    for (const p of ['/list/01', '/list/-', '/list/2', '/list/1.0', '/list/-1', '/list/ 1', '/list/length']) {
      expect(resolve(doc, p), p).to.deep.equal({ found: false });
    }
  });

  it('finds only own properties, so prototype members are never reachable', () => {
    expect(resolve({}, '/constructor')).to.deep.equal({ found: false });
    expect(resolve({}, '/__proto__')).to.deep.equal({ found: false });
    expect(resolve({ a: 'x' }, '/a/length')).to.deep.equal({ found: false });
    expect(resolve(JSON.parse('{"__proto__": {"x": 1}}'), '/__proto__/x')).to.deep.equal({ found: true, value: 1 });
  });

  it('finds nothing below a primitive or null, but finds null itself', () => {
    expect(resolve({ a: null }, '/a')).to.deep.equal({ found: true, value: null });
    expect(resolve({ a: null }, '/a/b')).to.deep.equal({ found: false });
    expect(resolve({ a: 5 }, '/a/b')).to.deep.equal({ found: false });
  });

  it('round-trips tokens through format and parse', () => {
    fc.assert(fc.property(fc.array(fc.string({ unit: 'binary' })), (tokens) => {
      expect(parseJsonPointer(formatJsonPointer(tokens))).to.deep.equal(tokens);
    }), { numRuns: 1000 });
  });

  it('parses any string or throws only a JsonPointerError', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string().map((s) => '/' + s), fc.stringMatching(/^(\/[a~01]*)*$/)), (text) => {
      try {
        const tokens = parseJsonPointer(text);
        expect(formatJsonPointer(tokens)).to.equal(text);
      } catch (e) {
        expect(e).to.be.instanceOf(JsonPointerError);
      }
    }), { numRuns: 2000 });
  });

  it('resolves a pointer formatted from a path that exists in a random document to that value', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.array(fc.nat()), (doc, choices) => {
      // Walk the document by random choices, remembering the tokens taken.
      const tokens: string[] = [];
      let here: unknown = doc;
      for (const choice of choices) {
        if (Array.isArray(here) && here.length > 0) {
          const i = choice % here.length;
          tokens.push(String(i));
          here = here[i];
        } else if (here !== null && typeof here === 'object' && Object.keys(here).length > 0) {
          const keys = Object.keys(here);
          const k = keys[choice % keys.length]!;
          tokens.push(k);
          here = (here as Record<string, unknown>)[k];
        } else break;
      }
      expect(resolve(doc, formatJsonPointer(tokens))).to.deep.equal({ found: true, value: here });
    }), { numRuns: 500 });
  });
});
