import { expect } from 'chai';
import type { PipelineRunStatus, RunPhase } from '../../../../src/api/types.ts';
import type { JobStatus } from '../../../../src/controllers/pipeline-run/job.ts';
import {
  cancelledStatus,
  deriveRunStatus,
  describeRunDuration,
  failedStatus,
  isTerminal,
  statusEquals,
  waitingStatus,
} from '../../../../src/controllers/pipeline-run/run-status.ts';
import { makeJob, makeRun } from './fixtures.ts';

const NOW = new Date('2025-03-01T10:05:00.750Z');
const NOW_TEXT = '2025-03-01T10:05:00Z';
const JOB = 'export-completed-5f2c9a01b7e4d3c2';
const STARTED = '2025-03-01T10:00:02Z';
const ENDED = '2025-03-01T10:00:43Z';

function succeededCondition(status: PipelineRunStatus) {
  return status.conditions?.find((c) => c.type === 'Succeeded');
}

describe('deriveRunStatus', () => {
  interface Case {
    title: string;
    job: JobStatus | undefined | 'none';
    expected: Partial<PipelineRunStatus>;
    condition: 'True' | 'False' | 'Unknown';
  }
  const cases: Case[] = [
    {
      title: 'no Job yet: Pending, Created',
      job: 'none',
      expected: { phase: 'Pending', reason: 'Created', message: 'creating the Job' },
      condition: 'Unknown',
    },
    {
      title: 'a Job without pods or start time: Pending, JobPending',
      job: {},
      expected: { phase: 'Pending', reason: 'JobPending', message: "waiting for the Job's pod to start", jobRef: { name: JOB } },
      condition: 'Unknown',
    },
    {
      title: 'a Job with an active pod: Running from its start time',
      job: { active: 1, startTime: STARTED },
      expected: { phase: 'Running', reason: 'JobActive', message: "the Job's pod is running", startTime: STARTED, jobRef: { name: JOB }, attempts: 1 },
      condition: 'Unknown',
    },
    {
      title: 'a started Job between pods: Running',
      job: { active: 0, startTime: STARTED, failed: 1 },
      expected: { phase: 'Running', reason: 'JobActive', startTime: STARTED, attempts: 1 },
      condition: 'Unknown',
    },
    {
      title: 'a retry after a failed pod: Running, attempt 2',
      job: { active: 1, failed: 1, startTime: STARTED },
      expected: { phase: 'Running', attempts: 2, message: "the Job's pod is running (attempt 2, after 1 failed)" },
      condition: 'Unknown',
    },
    {
      title: 'an active pod before the start time is recorded: Running since now',
      job: { active: 1 },
      expected: { phase: 'Running', startTime: NOW_TEXT },
      condition: 'Unknown',
    },
    {
      title: 'Complete=True: Succeeded with the completion time',
      job: {
        succeeded: 1,
        startTime: STARTED,
        completionTime: ENDED,
        conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: ENDED }],
      },
      expected: { phase: 'Succeeded', reason: 'Completed', message: `Job ${JOB} completed`, startTime: STARTED, completionTime: ENDED, attempts: 1 },
      condition: 'True',
    },
    {
      title: 'Complete=True after a failed pod: 2 attempts',
      job: { succeeded: 1, failed: 1, startTime: STARTED, completionTime: ENDED, conditions: [{ type: 'Complete', status: 'True' }] },
      expected: { phase: 'Succeeded', attempts: 2 },
      condition: 'True',
    },
    {
      title: 'Failed=True, BackoffLimitExceeded: Failed with its message, ended when the condition was set',
      job: {
        failed: 3,
        startTime: STARTED,
        conditions: [
          { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastTransitionTime: ENDED },
        ],
      },
      expected: {
        phase: 'Failed',
        reason: 'BackoffLimitExceeded',
        message: 'Job has reached the specified backoff limit',
        startTime: STARTED,
        completionTime: ENDED,
        attempts: 3,
      },
      condition: 'False',
    },
    {
      title: 'Failed=True, DeadlineExceeded: Failed, DeadlineExceeded',
      job: {
        failed: 1,
        startTime: STARTED,
        conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline', lastTransitionTime: ENDED }],
      },
      expected: { phase: 'Failed', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline', attempts: 1 },
      condition: 'False',
    },
    {
      title: 'Failed=True for another reason: Failed, JobFailed',
      job: { failed: 1, startTime: STARTED, conditions: [{ type: 'Failed', status: 'True', reason: 'PodFailurePolicy', message: 'Container load exited with 42' }] },
      expected: { phase: 'Failed', reason: 'JobFailed', message: 'Container load exited with 42', completionTime: NOW_TEXT },
      condition: 'False',
    },
    {
      title: 'Failed=True without a message or a start: a message of our own, 1 attempt',
      job: { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] },
      expected: { phase: 'Failed', message: `Job ${JOB} failed`, attempts: 1 },
      condition: 'False',
    },
    {
      title: 'Kubernetes 1.31+: FailureTarget=True alone is not final yet (pods terminating)',
      job: { active: 0, terminating: 1, failed: 1, startTime: STARTED, conditions: [{ type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded' }] },
      expected: { phase: 'Running', reason: 'JobActive', message: 'the Job is failing (BackoffLimitExceeded); waiting for its pods to terminate' },
      condition: 'Unknown',
    },
    {
      title: 'Kubernetes 1.31+: FailureTarget then Failed is final',
      job: {
        failed: 1,
        startTime: STARTED,
        conditions: [
          { type: 'FailureTarget', status: 'True', reason: 'DeadlineExceeded' },
          { type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline', lastTransitionTime: ENDED },
        ],
      },
      expected: { phase: 'Failed', reason: 'DeadlineExceeded', completionTime: ENDED },
      condition: 'False',
    },
    {
      title: 'Kubernetes 1.31+: SuccessCriteriaMet=True alone is not final yet',
      job: { succeeded: 1, active: 0, terminating: 1, startTime: STARTED, conditions: [{ type: 'SuccessCriteriaMet', status: 'True' }] },
      expected: { phase: 'Running', message: 'the Job succeeded; waiting for its pods to terminate' },
      condition: 'Unknown',
    },
    {
      title: 'Kubernetes 1.31+: SuccessCriteriaMet then Complete is final',
      job: {
        succeeded: 1,
        startTime: STARTED,
        completionTime: ENDED,
        conditions: [
          { type: 'SuccessCriteriaMet', status: 'True' },
          { type: 'Complete', status: 'True' },
        ],
      },
      expected: { phase: 'Succeeded', completionTime: ENDED },
      condition: 'True',
    },
    {
      title: 'a Failed condition with status False is no failure',
      job: { active: 1, startTime: STARTED, conditions: [{ type: 'Failed', status: 'False' }] },
      expected: { phase: 'Running' },
      condition: 'Unknown',
    },
    {
      title: 'a suspended Job that never started: Pending',
      job: { conditions: [{ type: 'Suspended', status: 'True' }] },
      expected: { phase: 'Pending', reason: 'JobPending' },
      condition: 'Unknown',
    },
  ];

  for (const c of cases) {
    it(c.title, () => {
      const job = c.job === 'none' ? undefined : makeJob(c.job);
      const status = deriveRunStatus(makeRun({ generation: 3 }), job, NOW);
      expect(status).to.deep.include(c.expected);
      expect(status.observedGeneration).to.equal(3);
      const condition = succeededCondition(status);
      expect(condition).to.deep.include({ type: 'Succeeded', status: c.condition, reason: status.reason, message: status.message, observedGeneration: 3 });
      // kstatus's reading: Ready once succeeded; Reconciling while it waits or runs; Stalled once failed.
      const kstatus = Object.fromEntries((status.conditions ?? []).filter((x) => x.type !== 'Succeeded').map((x) => [x.type, [x.status, x.reason, x.observedGeneration]]));
      const ready = [c.condition === 'True' ? 'True' : 'False', status.reason, 3];
      if (c.condition === 'True') expect(kstatus).to.deep.equal({ Ready: ready });
      else if (c.condition === 'False') expect(kstatus).to.deep.equal({ Ready: ready, Stalled: ['True', status.reason, 3] });
      else expect(kstatus).to.deep.equal({ Ready: ready, Reconciling: ['True', status.reason, 3] });
    });
  }

  it('keeps lastTransitionTime while the condition stays Unknown, and moves it at the end', () => {
    const created = deriveRunStatus(makeRun(), undefined, new Date('2025-03-01T10:00:00Z'));
    const running = deriveRunStatus(makeRun({ status: created }), makeJob({ active: 1, startTime: STARTED }), new Date('2025-03-01T10:00:03Z'));
    expect(succeededCondition(running)!.lastTransitionTime).to.equal('2025-03-01T10:00:00Z');
    const done = deriveRunStatus(
      makeRun({ status: running }),
      makeJob({ succeeded: 1, startTime: STARTED, completionTime: ENDED, conditions: [{ type: 'Complete', status: 'True' }] }),
      new Date('2025-03-01T10:00:44Z'),
    );
    expect(succeededCondition(done)!.lastTransitionTime).to.equal('2025-03-01T10:00:44Z');
  });

  it('keeps the start time it recorded when the Job does not report one', () => {
    const run = makeRun({ status: { phase: 'Running', startTime: STARTED, jobRef: { name: JOB } } });
    expect(deriveRunStatus(run, makeJob({ active: 1 }), NOW).startTime).to.equal(STARTED);
  });

  it('never leaves a finished run: a Job deleted later changes nothing', () => {
    const finished = deriveRunStatus(
      makeRun(),
      makeJob({ succeeded: 1, startTime: STARTED, completionTime: ENDED, conditions: [{ type: 'Complete', status: 'True' }] }),
      NOW,
    );
    const later = deriveRunStatus(makeRun({ status: finished }), undefined, new Date('2025-03-02T00:00:00Z'));
    expect(later).to.deep.equal(finished);
    expect(statusEquals(later, finished)).to.equal(true);
  });

  it('moves only observedGeneration of a finished run whose spec changed', () => {
    const failed = failedStatus(makeRun({ generation: 1 }), 'InvalidParams', 'missing required param "export_id"', NOW);
    const later = deriveRunStatus(makeRun({ generation: 2, status: failed }), undefined, new Date('2025-03-02T00:00:00Z'));
    expect(later).to.deep.include({ phase: 'Failed', reason: 'InvalidParams', observedGeneration: 2, completionTime: NOW_TEXT });
    expect(succeededCondition(later)).to.deep.include({ status: 'False', observedGeneration: 2, lastTransitionTime: NOW_TEXT });
  });

  it('cancels a run whose spec.cancelled is set while its Job runs', () => {
    const run = makeRun({ spec: { cancelled: true }, status: { phase: 'Running', startTime: STARTED, jobRef: { name: JOB }, attempts: 1 } });
    const status = deriveRunStatus(run, makeJob({ active: 1, startTime: STARTED }), NOW);
    expect(status).to.deep.include({ phase: 'Cancelled', reason: 'Cancelled', startTime: STARTED, completionTime: NOW_TEXT, jobRef: { name: JOB } });
    expect(succeededCondition(status)!.status).to.equal('False');
  });

  it('lets a Job that already finished win over a cancellation that came too late', () => {
    const run = makeRun({ spec: { cancelled: true } });
    const job = makeJob({ succeeded: 1, startTime: STARTED, completionTime: ENDED, conditions: [{ type: 'Complete', status: 'True' }] });
    expect(deriveRunStatus(run, job, NOW).phase).to.equal('Succeeded');
  });

  it('gives the same status when nothing changed, so the controller can skip the write', () => {
    const job = makeJob({ active: 1, startTime: STARTED });
    const first = deriveRunStatus(makeRun(), job, NOW);
    const second = deriveRunStatus(makeRun({ status: first }), job, new Date(NOW.getTime() + 60_000));
    expect(statusEquals(first, second)).to.equal(true);
  });

  it('leaves out fields that have no value', () => {
    const status = deriveRunStatus(makeRun(), undefined, NOW);
    expect(Object.keys(status)).to.have.members(['observedGeneration', 'phase', 'reason', 'message', 'conditions']);
  });
});

describe('terminal helpers', () => {
  it('failedStatus ends the run, keeping what it knew about its Job', () => {
    const run = makeRun({ status: { phase: 'Running', startTime: STARTED, jobRef: { name: JOB }, attempts: 2 } });
    const status = failedStatus(run, 'PipelineNotFound', 'Pipeline "export-loader" not found', NOW);
    expect(status).to.deep.include({
      phase: 'Failed',
      reason: 'PipelineNotFound',
      message: 'Pipeline "export-loader" not found',
      startTime: STARTED,
      completionTime: NOW_TEXT,
      jobRef: { name: JOB },
      attempts: 2,
    });
    expect(succeededCondition(status)).to.deep.include({ status: 'False', reason: 'PipelineNotFound', lastTransitionTime: NOW_TEXT });
  });

  it('cancelledStatus ends the run Cancelled, or Replaced when asked', () => {
    expect(cancelledStatus(makeRun(), NOW)).to.deep.include({ phase: 'Cancelled', reason: 'Cancelled', message: 'cancelled: spec.cancelled is true' });
    const replaced = cancelledStatus(makeRun(), NOW, { reason: 'Replaced', message: 'replaced by the newer run b' });
    expect(replaced).to.deep.include({ phase: 'Cancelled', reason: 'Replaced', message: 'replaced by the newer run b', completionTime: NOW_TEXT });
  });

  it('waitingStatus keeps a run Pending with the reason of its wait', () => {
    const status = waitingStatus(makeRun(), 'Queued', 'position 2 in the queue of Pipeline "export-loader"', NOW);
    expect(status).to.deep.include({ phase: 'Pending', reason: 'Queued', message: 'position 2 in the queue of Pipeline "export-loader"' });
    expect(succeededCondition(status)!.status).to.equal('Unknown');
  });

  const phases: [RunPhase | undefined, boolean][] = [
    [undefined, false],
    ['Pending', false],
    ['Running', false],
    ['Succeeded', true],
    ['Failed', true],
    ['Cancelled', true],
  ];
  for (const [phase, terminal] of phases) {
    it(`isTerminal(${phase}) is ${terminal}`, () => {
      expect(isTerminal(phase)).to.equal(terminal);
    });
  }
});

describe('statusEquals', () => {
  const base: PipelineRunStatus = {
    observedGeneration: 1,
    phase: 'Running',
    reason: 'JobActive',
    message: 'm',
    startTime: STARTED,
    jobRef: { name: JOB },
    attempts: 1,
    conditions: [
      { type: 'Succeeded', status: 'Unknown', reason: 'JobActive', message: 'm', lastTransitionTime: STARTED },
      { type: 'Other', status: 'True', reason: 'R', message: '', lastTransitionTime: STARTED },
    ],
  };

  it('ignores key order, condition order and fields set to undefined', () => {
    const reordered: PipelineRunStatus = {
      conditions: [base.conditions![1]!, base.conditions![0]!],
      attempts: 1,
      jobRef: { name: JOB },
      startTime: STARTED,
      message: 'm',
      reason: 'JobActive',
      phase: 'Running',
      observedGeneration: 1,
      completionTime: undefined,
    };
    expect(statusEquals(base, reordered)).to.equal(true);
  });

  const changes: [string, PipelineRunStatus][] = [
    ['phase', { ...base, phase: 'Succeeded' }],
    ['attempts', { ...base, attempts: 2 }],
    ['jobRef', { ...base, jobRef: { name: 'other' } }],
    ['observedGeneration', { ...base, observedGeneration: 2 }],
    ['a missing field', { ...base, startTime: undefined }],
    ['a condition', { ...base, conditions: [{ ...base.conditions![0]!, status: 'True' }, base.conditions![1]!] }],
  ];
  for (const [what, changed] of changes) {
    it(`sees a change of ${what}`, () => {
      expect(statusEquals(base, changed)).to.equal(false);
    });
  }

  it('treats no status and an empty one alike', () => {
    expect(statusEquals(undefined, {})).to.equal(true);
    expect(statusEquals(undefined, base)).to.equal(false);
  });
});

describe('describeRunDuration', () => {
  const cases: [PipelineRunStatus, string | undefined][] = [
    [{}, undefined],
    [{ startTime: '2025-03-01T10:00:00Z', completionTime: '2025-03-01T10:00:41Z' }, '41s'],
    [{ startTime: '2025-03-01T10:00:00Z', completionTime: '2025-03-01T10:02:05Z' }, '2m5s'],
    [{ startTime: '2025-03-01T10:00:00Z', completionTime: '2025-03-01T10:02:00Z' }, '2m'],
    [{ startTime: '2025-03-01T10:00:00Z', completionTime: '2025-03-01T11:03:09Z' }, '1h3m'],
    [{ startTime: '2025-03-01T10:00:00Z', completionTime: '2025-03-03T14:00:00Z' }, '2d4h'],
    [{ startTime: '2025-03-01T10:00:00Z' }, '5m'],
    [{ startTime: 'garbage' }, undefined],
  ];
  for (const [status, expected] of cases) {
    it(`gives ${expected} for ${JSON.stringify(status)}`, () => {
      expect(describeRunDuration(status, NOW)).to.equal(expected);
    });
  }
});
