// spec.filter and spec.targets[].filter: a CEL expression (cel.dev) over body, headers, query,
// trigger and cloudevent, parsed and planned once per trigger with @bufbuild/cel (tested against the CEL
// conformance suite; `matches` runs on RE2, so a pattern cannot backtrack).
//
// The library has no cost limit of its own, and a filter runs on the receiver's event loop for
// input an internet caller chose. So the expression is bounded when compiled (length, AST nodes)
// and metered when run: the AST is rewritten so that every comprehension step and every call
// charges a budget (filter-budget.ts) before the library does the work; an evaluation that
// overspends ends at the next charge, whatever its inputs.
import type { CelEnv, CelInput, parse } from '@bufbuild/cel';
import type { Expr } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { celLibrary, celStringExtensions } from './cel-library.ts';
import { meteredEvaluation, meterFunctions, CHARGE_FUNCTION, TICK_FUNCTION, type FilterBudget } from './filter-budget.ts';

/** Longest expression accepted; the CRD says the same (maxLength). */
export const MAX_FILTER_LENGTH = 4096;
/** Most AST nodes after macro expansion: bounds planning and the work done outside any loop. */
export const MAX_FILTER_NODES = 1000;

/**
 * What one evaluation may spend: 20,000 units (a typical filter, `body.ref == "…" && headers[…] ==
 * "…"`, spends under 10; one looping over a push's 20 commits and their files a few hundred), and
 * 100 ms of wall clock, whichever runs out first. A unit costs 0.5-4 µs on the loaded 2-core test
 * machine; the clock only catches what the units misjudge, and is loose enough that a GC pause does
 * not refuse a legitimate delivery (which would be answered 503, to be retried). Every other delivery
 * waits through an evaluation, since it runs on the receiver's event loop (figure 2g).
 */
export const DEFAULT_FILTER_BUDGET: FilterBudget = { units: 20_000, maxMs: 100 };

/** What a filter sees of one delivery. Header names are lower-case, as HTTP/2 and Node.js give them. */
export interface FilterInput {
  body: unknown;
  headers: Readonly<Record<string, string>>;
  query: Readonly<Record<string, string>>;
  trigger: { name: string; namespace: string };
  /** A CloudEvent's context attributes (type, source, subject, id, …); empty for other requests. */
  cloudevent: Readonly<Record<string, string>>;
}

/** A delivery converted once for every filter of the trigger (the trigger's and each target's). */
export interface PreparedFilterInput {
  readonly bindings: Record<string, CelInput>;
}

/**
 * JSON objects become CEL maps: the library reads plain objects through a slower reflective path
 * (about 8x slower over a large list). O(body size), once per delivery, like JSON.parse before it.
 */
export function prepareFilterInput(input: FilterInput): PreparedFilterInput {
  return {
    bindings: {
      body: toCelInput(input.body),
      headers: new Map(Object.entries(input.headers)),
      query: new Map(Object.entries(input.query)),
      trigger: new Map(Object.entries(input.trigger)),
      cloudevent: new Map(Object.entries(input.cloudevent)),
    },
  };
}

export type FilterResult =
  | { matched: true }
  | { matched: false }
  /** The expression failed on this payload (a missing field, a type mismatch): no match, with the reason. */
  | { matched: false; error: string }
  /** The evaluation spent its whole budget and was stopped; timedOut when the clock, not the units, ran out. */
  | { matched: false; limitExceeded: true; timedOut?: true };

export interface CompiledFilter {
  readonly expression: string;
  /** True when the expression reads `body`, so the body must be parsed as JSON. */
  readonly readsBody: boolean;
  evaluate(input: PreparedFilterInput): FilterResult;
}

const VARIABLES = new Set(['body', 'headers', 'query', 'trigger', 'cloudevent']);

let env: CelEnv | undefined;

/** The variables' environment: CEL's standard library, its string extensions and the meter. */
function filterEnv(): CelEnv {
  return (env ??= celLibrary().celEnv({ funcs: [...celStringExtensions(), ...meterFunctions()] }));
}

/** Compiles an expression, or returns the compiler's message. Never throws. */
export function compileFilter(expression: string, budget: FilterBudget = DEFAULT_FILTER_BUDGET): CompiledFilter | { error: string } {
  if (expression.trim() === '') return { error: 'the expression is empty' };
  if (expression.length > MAX_FILTER_LENGTH) return { error: `the expression is longer than ${MAX_FILTER_LENGTH} characters` };
  const { isCelError, parse: parseCel, plan } = celLibrary();
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parseCel(expression);
  } catch (e) {
    return { error: messageOf(e) };
  }
  const facts = { nodes: 0, nextId: 0n, readsBody: false, unknown: new Set<string>(), reserved: false };
  walk(parsed.expr, (e) => {
    facts.nodes++;
    if (e.id >= facts.nextId) facts.nextId = e.id + 1n;
    if (e.exprKind.case === 'identExpr') {
      const name = e.exprKind.value.name;
      if (name === 'body') facts.readsBody = true;
      if (!VARIABLES.has(name) && !name.startsWith('@')) facts.unknown.add(name);
    }
    if (e.exprKind.case === 'callExpr' && (e.exprKind.value.function === CHARGE_FUNCTION || e.exprKind.value.function === TICK_FUNCTION)) facts.reserved = true;
  });
  if (facts.nodes > MAX_FILTER_NODES) return { error: `the expression has ${facts.nodes} nodes after macro expansion; at most ${MAX_FILTER_NODES} are allowed` };
  if (facts.reserved) return { error: `${CHARGE_FUNCTION} and ${TICK_FUNCTION} are reserved` };
  // Comprehension variables (x in `list.all(x, …)`) are identifiers too: only report names that are
  // neither a variable nor bound by a comprehension.
  const bound = new Set<string>();
  walk(parsed.expr, (e) => {
    if (e.exprKind.case === 'comprehensionExpr') {
      bound.add(e.exprKind.value.iterVar);
      if (e.exprKind.value.iterVar2) bound.add(e.exprKind.value.iterVar2);
      bound.add(e.exprKind.value.accuVar);
    }
  });
  const unknown = [...facts.unknown].filter((n) => !bound.has(n));
  if (unknown.length > 0) return { error: `undeclared reference to ${unknown.map((n) => `"${n}"`).join(', ')} (use body, headers, query, trigger or cloudevent)` };

  meter(parsed.expr, { next: () => facts.nextId++ });
  let run: (ctx: Record<string, CelInput>) => unknown;
  try {
    run = plan(filterEnv(), parsed) as (ctx: Record<string, CelInput>) => unknown;
  } catch (e) {
    return { error: messageOf(e) };
  }
  return {
    expression,
    readsBody: facts.readsBody,
    evaluate(input) {
      const { value, exceeded, timedOut } = meteredEvaluation(budget, () => run(input.bindings));
      if (exceeded) return timedOut ? { matched: false, limitExceeded: true, timedOut: true } : { matched: false, limitExceeded: true };
      if (isCelError(value)) return { matched: false, error: value.message };
      if (typeof value !== 'boolean') return { matched: false, error: 'the expression did not evaluate to a bool' };
      return value ? { matched: true } : { matched: false };
    },
  };
}

/**
 * Rewrites the AST in place: each comprehension's range becomes charge(range) and its loop condition
 * tick(condition), and each call's target and non-literal arguments become charge(value), which
 * costs the value's size.
 */
function meter(root: Expr, ids: { next: () => bigint }): void {
  const wrap = (fn: string, inner: Expr): Expr =>
    ({
      $typeName: 'cel.expr.Expr',
      id: ids.next(),
      exprKind: { case: 'callExpr', value: { $typeName: 'cel.expr.Expr.Call', function: fn, args: [inner] } },
    }) as unknown as Expr;
  walk(root, (e) => {
    const kind = e.exprKind;
    if (kind.case === 'comprehensionExpr' && kind.value.loopCondition) {
      kind.value.loopCondition = wrap(TICK_FUNCTION, kind.value.loopCondition);
      // The library copies the range before the first step: a loop costs its range's size up front,
      // or `list.all(x, list.exists(y, true))` would copy the whole list per step for one unit.
      if (kind.value.iterRange) kind.value.iterRange = wrap(CHARGE_FUNCTION, kind.value.iterRange);
    } else if (kind.case === 'callExpr' && !UNMETERED.has(kind.value.function)) {
      const call = kind.value;
      if (call.target && call.target.exprKind.case !== 'constExpr') call.target = wrap(CHARGE_FUNCTION, call.target);
      call.args = call.args.map((a) => (a.exprKind.case === 'constExpr' ? a : wrap(CHARGE_FUNCTION, a)));
    }
  });
}

// The logical operators short-circuit and absorb errors; charging their bool operands would only
// change nothing at a cost. Indexing and size() are O(1) and charged through their operand's parent.
const UNMETERED = new Set(['_&&_', '_||_', '!_', '_?_:_', '@not_strictly_false', '_[_]', 'size', CHARGE_FUNCTION, TICK_FUNCTION]);

/** Visits every node, children before the rewrite touches them (the visitor may replace children). */
function walk(e: Expr | undefined, visit: (e: Expr) => void): void {
  if (!e) return;
  const kind = e.exprKind;
  switch (kind.case) {
    case 'selectExpr':
      walk(kind.value.operand, visit);
      break;
    case 'callExpr':
      walk(kind.value.target, visit);
      for (const a of kind.value.args) walk(a, visit);
      break;
    case 'listExpr':
      for (const el of kind.value.elements) walk(el, visit);
      break;
    case 'structExpr':
      for (const entry of kind.value.entries) {
        if (entry.keyKind.case === 'mapKey') walk(entry.keyKind.value, visit);
        walk(entry.value, visit);
      }
      break;
    case 'comprehensionExpr':
      walk(kind.value.iterRange, visit);
      walk(kind.value.accuInit, visit);
      walk(kind.value.loopCondition, visit);
      walk(kind.value.loopStep, visit);
      walk(kind.value.result, visit);
      break;
    default:
      break;
  }
  visit(e);
}

/**
 * JSON as CEL input: objects become maps (CEL reads plain objects as messages otherwise), numbers
 * stay doubles as JSON has them (1 == 1.0 holds in CEL), arrays stay lists.
 */
function toCelInput(value: unknown): CelInput {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map(toCelInput);
  if (typeof value === 'object') {
    const map = new Map<string, CelInput>();
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) map.set(k, toCelInput(v));
    return map;
  }
  return value as CelInput;
}

function messageOf(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/^<input>:/, 'at ');
}
