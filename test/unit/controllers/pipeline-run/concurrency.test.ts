import { expect } from 'chai';
import fc from 'fast-check';
import type { PipelineRun, PipelineRunStatus } from '../../../../src/api/types.ts';
import { compareReceiptOrder, decideAdmission, isActiveRun } from '../../../../src/controllers/pipeline-run/concurrency.ts';
import { makeRun } from './fixtures.ts';

const RUNNING: PipelineRunStatus = { phase: 'Running', jobRef: { name: 'job' } };

/** A run of export-loader received `second` seconds after 10:00. */
function run(name: string, second: number, status?: PipelineRunStatus, extra: { cancelled?: boolean; pipeline?: string } = {}): PipelineRun {
  const at = new Date(Date.UTC(2025, 2, 1, 10, 0, second)).toISOString();
  const r = makeRun({
    name,
    receivedAt: at,
    creationTimestamp: at.replace(/\.\d{3}Z$/, 'Z'),
    spec: { pipelineRef: { name: extra.pipeline ?? 'export-loader' }, ...(extra.cancelled ? { cancelled: true } : {}) },
    ...(status ? { status } : {}),
  });
  return r;
}

describe('isActiveRun', () => {
  const cases: [string, PipelineRunStatus | undefined, boolean][] = [
    ['a new run without status', undefined, false],
    ['a Pending run waiting for admission', { phase: 'Pending', reason: 'Queued' }, false],
    ['a Pending run with a Job', { phase: 'Pending', reason: 'JobPending', jobRef: { name: 'j' } }, true],
    ['a Running run', RUNNING, true],
    ['a Succeeded run', { phase: 'Succeeded', jobRef: { name: 'j' } }, false],
    ['a Failed run', { phase: 'Failed', jobRef: { name: 'j' } }, false],
    ['a Cancelled run', { phase: 'Cancelled', jobRef: { name: 'j' } }, false],
  ];
  for (const [what, status, active] of cases) {
    it(`${what} is ${active ? '' : 'not '}active`, () => {
      expect(isActiveRun(run('a', 0, status))).to.equal(active);
    });
  }
});

describe('compareReceiptOrder', () => {
  it('orders by the time the delivery was received', () => {
    expect(compareReceiptOrder(run('b', 1), run('a', 2))).to.be.lessThan(0);
    expect(compareReceiptOrder(run('a', 2), run('b', 1))).to.be.greaterThan(0);
  });

  it('compares times as instants, not as text', () => {
    const whole = makeRun({ name: 'whole', receivedAt: '2025-03-01T10:00:00Z' });
    const half = makeRun({ name: 'half', receivedAt: '2025-03-01T10:00:00.500Z' });
    const offset = makeRun({ name: 'offset', receivedAt: '2025-03-01T11:00:00.250+01:00' });
    expect([half, offset, whole].sort(compareReceiptOrder).map((r) => r.metadata.name)).to.deep.equal(['whole', 'offset', 'half']);
  });

  it('breaks a tie by creationTimestamp, then by name', () => {
    const a = makeRun({ name: 'a', receivedAt: '2025-03-01T10:00:00Z', creationTimestamp: '2025-03-01T10:00:02Z' });
    const b = makeRun({ name: 'b', receivedAt: '2025-03-01T10:00:00Z', creationTimestamp: '2025-03-01T10:00:01Z' });
    const c = makeRun({ name: 'c', receivedAt: '2025-03-01T10:00:00Z', creationTimestamp: '2025-03-01T10:00:01Z' });
    expect([c, a, b].sort(compareReceiptOrder).map((r) => r.metadata.name)).to.deep.equal(['b', 'c', 'a']);
  });

  it('uses creationTimestamp for a run created by hand, and sorts a run without any time last', () => {
    const byHand = makeRun({ name: 'by-hand', creationTimestamp: '2025-03-01T09:00:00Z' });
    delete byHand.spec.trigger;
    const timeless = makeRun({ name: 'timeless' });
    delete timeless.spec.trigger;
    delete timeless.metadata.creationTimestamp;
    const received = makeRun({ name: 'received', receivedAt: '2025-03-01T09:30:00Z' });
    expect([timeless, received, byHand].sort(compareReceiptOrder).map((r) => r.metadata.name)).to.deep.equal(['by-hand', 'received', 'timeless']);
  });
});

describe('decideAdmission', () => {
  it('lets a run that already has a Job go on, whatever the policy', () => {
    const me = run('me', 5, { phase: 'Pending', reason: 'JobPending', jobRef: { name: 'me' } });
    for (const policy of ['Allow', 'Forbid', 'Queue', 'Replace'] as const) {
      expect(decideAdmission(me, [run('old', 1, RUNNING), run('new', 9)], policy)).to.deep.equal({ action: 'start' });
    }
  });

  describe('Allow', () => {
    it('starts while others run', () => {
      expect(decideAdmission(run('me', 5), [run('a', 1, RUNNING), run('b', 2)], 'Allow')).to.deep.equal({ action: 'start' });
    });

    it('is the default', () => {
      expect(decideAdmission(run('me', 5), [run('a', 1, RUNNING)])).to.deep.equal({ action: 'start' });
    });
  });

  describe('Forbid', () => {
    it('waits, ConcurrencyLimited and not failed, while another run is active', () => {
      expect(decideAdmission(run('me', 5), [run('a', 1, RUNNING)], 'Forbid')).to.deep.equal({
        action: 'wait',
        reason: 'ConcurrencyLimited',
        message: 'waiting for run a of Pipeline "export-loader" to finish (concurrencyPolicy Forbid: one run at a time)',
      });
    });

    it('counts a Pending run with a Job as active', () => {
      const decision = decideAdmission(run('me', 5), [run('a', 1, { phase: 'Pending', jobRef: { name: 'a' } })], 'Forbid');
      expect(decision.action).to.equal('wait');
    });

    it('starts when the others are finished, or belong to another Pipeline', () => {
      const others = [
        run('done', 1, { phase: 'Succeeded', jobRef: { name: 'done' } }),
        run('failed', 2, { phase: 'Failed', jobRef: { name: 'failed' } }),
        run('elsewhere', 3, RUNNING, { pipeline: 'other-pipeline' }),
      ];
      expect(decideAdmission(run('me', 5), others, 'Forbid')).to.deep.equal({ action: 'start' });
    });

    it('ignores itself in the list', () => {
      const me = run('me', 5);
      expect(decideAdmission(me, [me], 'Forbid')).to.deep.equal({ action: 'start' });
    });

    it('lets an older waiting run start first, so two runs cannot both start from a stale cache', () => {
      const decision = decideAdmission(run('me', 5), [run('older', 1)], 'Forbid');
      expect(decision).to.deep.include({ action: 'wait', reason: 'ConcurrencyLimited' });
      expect(decideAdmission(run('older', 1), [run('me', 5)], 'Forbid')).to.deep.equal({ action: 'start' });
    });

    it('does not wait for an older run that is being cancelled', () => {
      expect(decideAdmission(run('me', 5), [run('older', 1, undefined, { cancelled: true })], 'Forbid')).to.deep.equal({ action: 'start' });
    });
  });

  describe('Queue', () => {
    it('starts the oldest unfinished run when none is active', () => {
      const others = [run('b', 2), run('c', 3), run('done', 0, { phase: 'Succeeded', jobRef: { name: 'done' } })];
      expect(decideAdmission(run('a', 1), others, 'Queue')).to.deep.equal({ action: 'start' });
    });

    it('keeps a younger run Queued, with its position', () => {
      expect(decideAdmission(run('c', 3), [run('a', 1), run('b', 2)], 'Queue')).to.deep.equal({
        action: 'wait',
        reason: 'Queued',
        message: 'position 3 in the queue of Pipeline "export-loader"',
      });
    });

    it('keeps even the oldest waiting run Queued while another is active', () => {
      expect(decideAdmission(run('b', 2), [run('a', 1, RUNNING), run('c', 3)], 'Queue')).to.deep.equal({
        action: 'wait',
        reason: 'Queued',
        message: 'position 1 in the queue of Pipeline "export-loader"; waiting for run a to finish',
      });
    });

    it('waits for an active run even if it arrived later', () => {
      expect(decideAdmission(run('a', 1), [run('b', 2, RUNNING)], 'Queue')).to.deep.include({ action: 'wait', reason: 'Queued' });
    });

    it('breaks ties of receipt time by name, the same way on every replica', () => {
      const x = run('run-x', 1);
      const y = run('run-y', 1);
      expect(decideAdmission(x, [y], 'Queue')).to.deep.equal({ action: 'start' });
      expect(decideAdmission(y, [x], 'Queue')).to.deep.include({ action: 'wait', reason: 'Queued' });
    });

    it('skips a run being cancelled', () => {
      expect(decideAdmission(run('b', 2), [run('a', 1, undefined, { cancelled: true })], 'Queue')).to.deep.equal({ action: 'start' });
    });

    it('whatever order the cache lists them in, exactly the oldest of the waiting runs starts', () => {
      fc.assert(
        fc.property(
          fc.uniqueArray(fc.record({ name: fc.stringMatching(/^[a-z]{1,6}$/), second: fc.integer({ min: 0, max: 5 }) }), {
            minLength: 1,
            maxLength: 8,
            selector: (r) => r.name,
          }),
          fc.boolean(),
          (specs, withActive) => {
            const runs = specs.map((s) => run(s.name, s.second));
            const all = withActive ? [...runs, run('zz-active', 9, RUNNING)] : runs;
            const started = runs.filter((r) => decideAdmission(r, [...all].reverse(), 'Queue').action === 'start');
            const oldest = [...runs].sort(compareReceiptOrder)[0]!;
            expect(started.map((r) => r.metadata.name)).to.deep.equal(withActive ? [] : [oldest.metadata.name]);
          },
        ),
      );
    });
  });

  describe('Replace', () => {
    it('cancels every older unfinished run, oldest first, then starts', () => {
      const others = [
        run('running', 2, RUNNING),
        run('pending-job', 1, { phase: 'Pending', jobRef: { name: 'pending-job' } }),
        run('waiting', 3),
        run('done', 0, { phase: 'Succeeded', jobRef: { name: 'done' } }),
        run('cancelling', 1, RUNNING, { cancelled: true }),
        run('elsewhere', 1, RUNNING, { pipeline: 'other' }),
      ];
      expect(decideAdmission(run('me', 5), others, 'Replace')).to.deep.equal({ action: 'replace', cancel: ['pending-job', 'running', 'waiting'] });
    });

    it('waits while a run it already cancelled still has its Job, and starts once that run has stopped', () => {
      const cancelling = run('old', 1, RUNNING, { cancelled: true });
      expect(decideAdmission(run('me', 5), [cancelling], 'Replace')).to.deep.equal({
        action: 'wait',
        reason: 'ConcurrencyLimited',
        message: 'cancelling run old (concurrencyPolicy Replace)',
      });
      const stopped = run('old', 1, { phase: 'Cancelled', jobRef: { name: 'old' } }, { cancelled: true });
      expect(decideAdmission(run('me', 5), [stopped], 'Replace')).to.deep.equal({ action: 'start' });
    });

    it('just starts when there is nothing to replace', () => {
      expect(decideAdmission(run('me', 5), [run('done', 1, { phase: 'Failed' })], 'Replace')).to.deep.equal({ action: 'start' });
    });

    it('cancels a run that a newer one supersedes, naming the newest', () => {
      expect(decideAdmission(run('me', 1), [run('newer', 3), run('newest', 4)], 'Replace')).to.deep.equal({
        action: 'cancel',
        reason: 'Replaced',
        message: 'replaced by the newer run newest (concurrencyPolicy Replace)',
      });
    });

    it('is not superseded by a newer run that is itself cancelled or finished', () => {
      const others = [run('newer', 3, undefined, { cancelled: true }), run('newest', 4, { phase: 'Failed' })];
      expect(decideAdmission(run('me', 1), others, 'Replace')).to.deep.equal({ action: 'start' });
    });
  });
});
