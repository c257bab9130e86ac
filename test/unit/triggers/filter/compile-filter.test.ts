// The CEL filter compiler: what it accepts and refuses when a trigger is read, what an evaluation
// answers, and that an evaluation is stopped by its budget whatever the payload.
import { expect } from 'chai';
import { compileFilter, prepareFilterInput, MAX_FILTER_LENGTH, type CompiledFilter, type FilterInput } from '../../../../src/triggers/filter/compile-filter.ts';

const TRIGGER = { name: 'on-push', namespace: 'ci' };

function compiled(expression: string, units?: number): CompiledFilter {
  const f = compileFilter(expression, units === undefined ? undefined : { units });
  if ('error' in f) throw new Error(f.error);
  return f;
}

function evaluate(expression: string, input: Partial<FilterInput>, units?: number) {
  return compiled(expression, units).evaluate(prepareFilterInput({ body: null, headers: {}, query: {}, trigger: TRIGGER, cloudevent: {}, ...input }));
}

describe('compileFilter', () => {
  it('matches and does not match over body, headers, query and trigger', () => {
    const expr = 'body.ref == "refs/heads/main" && headers["x-github-event"] == "push" && query.env == "prod" && trigger.name == "on-push"';
    const input = { body: { ref: 'refs/heads/main' }, headers: { 'x-github-event': 'push' }, query: { env: 'prod' } };
    expect(evaluate(expr, input)).to.deep.equal({ matched: true });
    expect(evaluate(expr, { ...input, body: { ref: 'refs/heads/dev' } })).to.deep.equal({ matched: false });
  });

  it('reads a CloudEvent\'s attributes', () => {
    const cloudevent = { type: 'com.example.export.completed', source: '/billing', id: 'e1' };
    expect(evaluate('cloudevent.type.startsWith("com.example.export.") && cloudevent.source == "/billing"', { cloudevent })).to.deep.equal({ matched: true });
    expect(evaluate('has(cloudevent.type)', {})).to.deep.equal({ matched: false });
  });

  it('reads JSON numbers, lists and nested objects as CEL does', () => {
    const body = { count: 2, labels: ['a', 'b'], commits: [{ modified: ['README.md'] }, { modified: ['src/app.ts'] }] };
    expect(evaluate('body.count > 1 && body.count == 2 && "b" in body.labels && has(body.commits)', { body })).to.deep.equal({ matched: true });
    expect(evaluate('body.commits.exists(c, c.modified.exists(f, f.startsWith("src/")))', { body })).to.deep.equal({ matched: true });
    expect(evaluate('"a.b".matches("^[a-z.]+$") && "x".contains("x")', {})).to.deep.equal({ matched: true });
  });

  it('an evaluation error is no match, with the reason', () => {
    expect(evaluate('body.missing == 1', { body: { present: 1 } })).to.deep.equal({ matched: false, error: 'field not found: missing' });
    expect(evaluate('body.count', { body: { count: 1 } })).to.deep.equal({ matched: false, error: 'the expression did not evaluate to a bool' });
  });

  it('refuses, with the compiler\'s message: bad syntax, unknown variables, oversized or empty expressions', () => {
    expect(compileFilter('body.ref ==')).to.have.property('error').that.matches(/^at 1:\d+: /);
    expect(compileFilter('payload.ref == "x"')).to.deep.equal({ error: 'undeclared reference to "payload" (use body, headers, query, trigger or cloudevent)' });
    expect(compileFilter(' ')).to.deep.equal({ error: 'the expression is empty' });
    expect(compileFilter(`body.a == "${'x'.repeat(MAX_FILTER_LENGTH)}"`)).to.have.property('error').that.contains('longer than');
    expect(compileFilter(`size([${Array(1500).fill('1').join(',')}]) > 0`))
      .to.have.property('error').that.matches(/nodes after macro expansion/);
    expect(compileFilter('planasonix_charge(1) == 1')).to.have.property('error').that.contains('reserved');
  });

  it('comprehension variables are not undeclared references', () => {
    expect(compileFilter('body.items.all(item, item.ok)')).not.to.have.property('error');
  });

  it('says whether the body is read, so a filter on headers alone accepts any body', () => {
    expect(compiled('headers["x-event"] == "push"').readsBody).to.equal(false);
    expect(compiled('body.x == 1').readsBody).to.equal(true);
  });

  describe('cost limit (abuse)', () => {
    const list = Array.from({ length: 100_000 }, (_, i) => i);
    it('stops a quadratic comprehension over a large payload at its budget', () => {
      const started = performance.now();
      const result = evaluate('body.list.all(x, body.list.all(y, x + y >= 0.0))', { body: { list } });
      const ms = performance.now() - started;
      expect(result).to.deep.equal({ matched: false, limitExceeded: true });
      // Unmetered, this would take 10^10 steps (hours); stopped, it takes a budget's worth.
      expect(ms).to.be.below(5_000);
    });
    it('charges operand sizes: `in` over a large list inside a loop, and string growth', () => {
      expect(evaluate('body.list.exists(x, x in body.list && x < 0.0)', { body: { list } })).to.deep.equal({ matched: false, limitExceeded: true });
      const s = 'x'.repeat(1 << 20);
      expect(evaluate('(body.s + body.s + body.s + body.s + body.s + body.s).size() > 0', { body: { s } }, 50_000)).to.deep.equal({ matched: false, limitExceeded: true });
    });
    it('charges a loop its range up front: an inner loop that stops at once still pays for the copy of its list', () => {
      const started = performance.now();
      expect(evaluate('body.list.all(x, body.list.exists(y, true))', { body: { list } })).to.deep.equal({ matched: false, limitExceeded: true });
      expect(performance.now() - started).to.be.below(5_000);
    });
    it('stops at the CPU-time cap what the units misjudge, saying it was the clock', () => {
      const f = compileFilter('body.list.all(x, body.list.all(y, x + y >= 0.0))', { units: 1e12, maxMs: 20 });
      if ('error' in f) throw new Error(f.error);
      const started = performance.now();
      const result = f.evaluate(prepareFilterInput({ body: { list }, headers: {}, query: {}, trigger: TRIGGER, cloudevent: {} }));
      expect(result).to.deep.equal({ matched: false, limitExceeded: true, timedOut: true });
      // 20 ms of CPU: wall time may be longer on a loaded machine, but not the hours the loop needs.
      expect(performance.now() - started).to.be.below(5_000);
    });
    it('a filter within its budget is unaffected', () => {
      expect(evaluate('body.list.exists(x, x == 99.0)', { body: { list: list.slice(0, 100) } })).to.deep.equal({ matched: true });
    });
    it('an evaluation that stopped leaves the next one its whole budget', () => {
      const f = compiled('body.list.exists(x, x < 0.0)', 1000);
      const big = prepareFilterInput({ body: { list }, headers: {}, query: {}, trigger: TRIGGER, cloudevent: {} });
      const small = prepareFilterInput({ body: { list: [1, -1] }, headers: {}, query: {}, trigger: TRIGGER, cloudevent: {} });
      expect(f.evaluate(big)).to.deep.equal({ matched: false, limitExceeded: true });
      expect(f.evaluate(small)).to.deep.equal({ matched: true });
    });
  });
});
