// The meter compile-filter.ts threads through a filter's AST: two CEL functions that cost units of
// one evaluation's budget and, once it is spent, fail, so that every loop stops at its next
// condition and every call at its next charge. Evaluation is synchronous, so the evaluation in
// progress is a module-level slot rather than something passed through the library.
import type { CelFunc, CelValue } from '@bufbuild/cel';
import { celLibrary } from './cel-library.ts';

export const CHARGE_FUNCTION = 'planasonix_charge';
export const TICK_FUNCTION = 'planasonix_tick';

export interface FilterBudget {
  /** Units one evaluation may spend: a call costs 1 plus its operands' sizes, a loop step 1. */
  units: number;
  /**
   * A cap on the thread's CPU time as well, checked at charges: what a unit costs differs between
   * operations (lowerAscii walks a string far slower than contains). CPU time, not wall clock, so a
   * receiver descheduled on a loaded machine does not refuse a filter that did little work.
   */
  maxMs?: number;
}

/**
 * Characters of a string (bytes of bytes) that cost one unit. Measured on the loaded test machine,
 * the slowest string functions (lowerAscii, split, matches) take up to ~130 ms per MiB, so one call
 * on a string of more than the budget's worth (20,000 × 16 = 320 KiB) is refused before it starts.
 */
const CHARS_PER_UNIT = 16;
/** Charges between two looks at the clock: reading the thread's CPU time costs about 1 µs. */
const CLOCK_EVERY = 32;

/** This thread's CPU time in µs (user + system). */
function cpuMicros(): number {
  const usage = process.threadCpuUsage();
  return usage.user + usage.system;
}

interface Meter {
  left: number;
  exceeded: boolean;
  /** Stopped by the CPU-time cap rather than the units: the units misjudged this payload's cost. */
  timedOut: boolean;
  /** In this thread's CPU µs. */
  deadline: number;
  untilClock: number;
}

let current: Meter | undefined;

class BudgetExceeded extends Error {
  constructor() {
    super('filter budget exceeded');
    this.name = 'BudgetExceeded';
  }
}

function spend(units: number): void {
  const meter = current;
  if (!meter) return; // planned but evaluated outside meteredEvaluation: only in tests of the rewrite
  meter.left -= units;
  if (--meter.untilClock <= 0) {
    meter.untilClock = CLOCK_EVERY;
    if (cpuMicros() > meter.deadline) {
      meter.timedOut = true;
      meter.left = -1;
    }
  }
  if (meter.left < 0) {
    meter.exceeded = true;
    throw new BudgetExceeded();
  }
}

let meterFuncs: CelFunc[] | undefined;

/** The two functions the rewritten AST calls: charge(value) costs the value's size, tick(condition) one unit. */
export function meterFunctions(): CelFunc[] {
  if (meterFuncs) return meterFuncs;
  const { celFunc, CelScalar, isCelList, isCelMap } = celLibrary();
  /** What an operand costs: its size, so that `in`, `+`, `contains`, `matches` and `==` pay for their work. */
  const costOf = (value: CelValue): number => {
    if (typeof value === 'string') return 1 + Math.floor(value.length / CHARS_PER_UNIT);
    if (value instanceof Uint8Array) return 1 + Math.floor(value.length / CHARS_PER_UNIT);
    if (isCelList(value)) return 1 + value.size;
    if (isCelMap(value)) return 1 + value.size;
    return 1;
  };
  const charge = celFunc(CHARGE_FUNCTION, [CelScalar.DYN], CelScalar.DYN, (value) => {
    spend(costOf(value));
    return value;
  });
  const tick = celFunc(TICK_FUNCTION, [CelScalar.DYN], CelScalar.DYN, (condition) => {
    spend(1);
    return condition;
  });
  return (meterFuncs = [charge, tick]);
}

/** Runs one evaluation with a fresh meter; `exceeded` is true when it was stopped for its cost. */
export function meteredEvaluation<T>(budget: FilterBudget, evaluate: () => T): { value: T | undefined; exceeded: boolean; timedOut: boolean } {
  const meter: Meter = { left: budget.units, exceeded: false, timedOut: false, deadline: budget.maxMs === undefined ? Infinity : cpuMicros() + budget.maxMs * 1000, untilClock: CLOCK_EVERY };
  const outer = current;
  current = meter;
  try {
    const value = evaluate();
    return { value: meter.exceeded ? undefined : value, exceeded: meter.exceeded, timedOut: meter.exceeded && meter.timedOut };
  } finally {
    current = outer;
  }
}
