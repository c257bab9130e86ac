import { expect } from 'chai';
import type { Condition } from '../../../src/api/types.ts';
import {
  conditionsEqual,
  findCondition,
  formatTime,
  isConditionTrue,
  removeCondition,
  setCondition,
} from '../../../src/controller-runtime/conditions.ts';

const t1 = new Date('2026-01-02T03:04:05.678Z');
const t2 = new Date('2026-01-02T04:00:00.000Z');

const ready = (status: Condition['status'], reason = 'Serving', extra: Partial<Condition> = {}) => ({
  type: 'Ready',
  status,
  reason,
  message: 'm',
  observedGeneration: 1,
  ...extra,
});

describe('conditions', () => {
  it('formats times as the API server does, in whole seconds', () => {
    expect(formatTime(t1)).to.equal('2026-01-02T03:04:05Z');
  });

  it('appends a new condition with lastTransitionTime = now', () => {
    const out = setCondition(undefined, ready('True'), t1);
    expect(out).to.deep.equal([{ ...ready('True'), lastTransitionTime: '2026-01-02T03:04:05Z' }]);
  });

  it('keeps lastTransitionTime when only the reason, message or generation changed', () => {
    const before = setCondition([], ready('False', 'SecretNotFound'), t1);
    const after = setCondition(before, ready('False', 'PipelineNotFound', { message: 'other', observedGeneration: 2 }), t2);
    expect(after[0]).to.deep.include({ reason: 'PipelineNotFound', message: 'other', observedGeneration: 2 });
    expect(after[0]!.lastTransitionTime).to.equal('2026-01-02T03:04:05Z');
  });

  it('moves lastTransitionTime when the status changes', () => {
    const before = setCondition([], ready('False'), t1);
    const after = setCondition(before, ready('True'), t2);
    expect(after[0]!.lastTransitionTime).to.equal('2026-01-02T04:00:00Z');
  });

  it('replaces the condition in place, leaves the others alone and never mutates its input', () => {
    const stalled: Condition = { type: 'Stalled', status: 'False', reason: 'R', message: '', lastTransitionTime: 'x' };
    const before = [setCondition([], ready('False'), t1)[0]!, stalled];
    const snapshot = structuredClone(before);
    const after = setCondition(before, ready('True'), t2);
    expect(before).to.deep.equal(snapshot);
    expect(after.map((c) => c.type)).to.deep.equal(['Ready', 'Stalled']);
    expect(after[1]).to.equal(stalled);
  });

  it('finds, tests and removes conditions by type', () => {
    const list = setCondition([], ready('True'), t1);
    expect(findCondition(list, 'Ready')?.status).to.equal('True');
    expect(findCondition(list, 'Succeeded')).to.equal(undefined);
    expect(isConditionTrue(list, 'Ready')).to.equal(true);
    expect(isConditionTrue(undefined, 'Ready')).to.equal(false);
    expect(removeCondition(list, 'Ready')).to.deep.equal([]);
  });

  it('conditionsEqual tells whether a status write can be skipped', () => {
    const a = setCondition(setCondition([], ready('True'), t1), { type: 'Stalled', status: 'False', reason: 'R', message: '' }, t1);
    const reordered = [a[1]!, a[0]!];
    expect(conditionsEqual(a, reordered)).to.equal(true);
    expect(conditionsEqual(undefined, [])).to.equal(true);
    expect(conditionsEqual(a, setCondition(a, ready('True'), t2))).to.equal(true);
    expect(conditionsEqual(a, setCondition(a, ready('True', 'ServingUnauthenticated'), t2))).to.equal(false);
    expect(conditionsEqual(a, setCondition(a, ready('True', 'Serving', { observedGeneration: 2 }), t2))).to.equal(false);
    expect(conditionsEqual(a, a.slice(0, 1))).to.equal(false);
  });
});
