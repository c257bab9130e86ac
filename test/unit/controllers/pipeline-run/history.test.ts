import { expect } from 'chai';
import type { PipelineRun, RunPhase } from '../../../../src/api/types.ts';
import { selectRunsToPrune } from '../../../../src/controllers/pipeline-run/history.ts';
import { makeRun } from './fixtures.ts';

/** A run finished at minute `minute` after 10:00 (created a minute before), or not finished (minute undefined). */
function run(name: string, phase: RunPhase | undefined, minute?: number, opts: { created?: number; deleting?: boolean } = {}): PipelineRun {
  const time = (m: number) => new Date(Date.UTC(2025, 2, 1, 10, m)).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const r = makeRun({
    name,
    creationTimestamp: time(opts.created ?? Math.max(0, (minute ?? 1) - 1)),
    ...(phase ? { status: { phase, ...(minute !== undefined ? { completionTime: time(minute) } : {}) } } : {}),
  });
  if (opts.deleting) r.metadata.deletionTimestamp = time(59);
  return r;
}

describe('selectRunsToPrune', () => {
  it('keeps the newest N succeeded runs and returns the older ones, oldest first', () => {
    const runs = [run('s3', 'Succeeded', 30), run('s1', 'Succeeded', 10), run('s4', 'Succeeded', 40), run('s2', 'Succeeded', 20)];
    expect(selectRunsToPrune(runs, { succeeded: 2, failed: 2 }).names).to.deep.equal(['s1', 's2']);
  });

  it('counts Failed and Cancelled runs together, apart from Succeeded ones', () => {
    const runs = [
      run('f1', 'Failed', 10),
      run('c1', 'Cancelled', 15),
      run('f2', 'Failed', 20),
      run('s1', 'Succeeded', 5),
      run('s2', 'Succeeded', 25),
    ];
    expect(selectRunsToPrune(runs, { succeeded: 1, failed: 2 }).names).to.deep.equal(['s1', 'f1']);
  });

  it('never returns unfinished runs, however many there are', () => {
    const runs = [run('p', 'Pending'), run('r', 'Running'), run('new', undefined), run('s', 'Succeeded', 10)];
    expect(selectRunsToPrune(runs, { succeeded: 0, failed: 0 }).names).to.deep.equal(['s']);
  });

  it('orders by completionTime, not by creation', () => {
    const runs = [run('created-first-finished-last', 'Succeeded', 50, { created: 0 }), run('created-last-finished-first', 'Succeeded', 20, { created: 10 })];
    expect(selectRunsToPrune(runs, { succeeded: 1 }).names).to.deep.equal(['created-last-finished-first']);
  });

  it('falls back to creationTimestamp for a finished run without completionTime', () => {
    const runs = [run('no-completion-old', 'Failed', undefined, { created: 5 }), run('completed', 'Failed', 10), run('no-completion-new', 'Failed', undefined, { created: 30 })];
    expect(selectRunsToPrune(runs, { failed: 1 }).names).to.deep.equal(['no-completion-old', 'completed']);
  });

  it('keeps all of a kind whose limit is unset, and none whose limit is 0', () => {
    const runs = [run('s1', 'Succeeded', 10), run('s2', 'Succeeded', 20), run('f1', 'Failed', 15)];
    expect(selectRunsToPrune(runs, { failed: 0 }).names).to.deep.equal(['f1']);
    expect(selectRunsToPrune(runs, {}).names).to.deep.equal([]);
  });

  it('skips runs that are already being deleted', () => {
    const runs = [run('s1', 'Succeeded', 10, { deleting: true }), run('s2', 'Succeeded', 20), run('s3', 'Succeeded', 30)];
    expect(selectRunsToPrune(runs, { succeeded: 1 }).names).to.deep.equal(['s2']);
  });

  it('breaks ties of completion time by name, so every replica prunes the same runs', () => {
    const runs = [run('b', 'Succeeded', 10), run('a', 'Succeeded', 10), run('c', 'Succeeded', 10)];
    expect(selectRunsToPrune(runs, { succeeded: 1 }).names).to.deep.equal(['a', 'b']);
  });

  it('keeps a run still inside its replay window (keep-until), and says when it may go', () => {
    const kept = run('kept', 'Succeeded', 10);
    kept.metadata.annotations = { 'planasonix.io/keep-until': '2025-03-01T12:00:00Z' };
    const runs = [kept, run('old', 'Succeeded', 5), run('new', 'Succeeded', 40)];
    const at = (iso: string) => selectRunsToPrune(runs, { succeeded: 1 }, Date.parse(iso));
    expect(at('2025-03-01T11:00:00Z')).to.deep.equal({ names: ['old'], keptUntilMs: Date.parse('2025-03-01T12:00:00Z') });
    expect(at('2025-03-01T12:00:00Z')).to.deep.equal({ names: ['old', 'kept'] });
  });
});
