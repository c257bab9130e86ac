import { expect } from 'chai';
import fc from 'fast-check';
import type { RotationSpec } from '../../../../src/api/types.ts';
import { decideRotation, nextRotationTime, overlapMs, rotationRequeueAfterMs } from '../../../../src/controllers/webhook-trigger/rotation.ts';

const at = (iso: string) => new Date(iso);

describe('nextRotationTime', () => {
  it('is `every` after the current secret became current', () => {
    expect(nextRotationTime({ every: '2160h' }, at('2026-01-01T00:00:00Z'))).to.deep.equal(at('2026-04-01T00:00:00Z'));
    expect(nextRotationTime({ every: '1.5s' }, at('2026-01-01T00:00:00Z'))).to.deep.equal(at('2026-01-01T00:00:01.500Z'));
  });

  it('is the next cron time (UTC) strictly after the current secret became current', () => {
    // 2026-01-04 is a Sunday.
    expect(nextRotationTime({ schedule: '0 3 * * SUN' }, at('2026-01-01T12:00:00Z'))).to.deep.equal(at('2026-01-04T03:00:00Z'));
    // Rotated exactly on the slot, or a little late: the next rotation is a week later, not the same slot again.
    expect(nextRotationTime({ schedule: '0 3 * * SUN' }, at('2026-01-04T03:00:00Z'))).to.deep.equal(at('2026-01-11T03:00:00Z'));
    expect(nextRotationTime({ schedule: '0 3 * * SUN' }, at('2026-01-04T03:00:00.050Z'))).to.deep.equal(at('2026-01-11T03:00:00Z'));
  });

  it('is undefined without rotation, and for a schedule that cannot be used instead of throwing', () => {
    expect(nextRotationTime(undefined, at('2026-01-01T00:00:00Z'))).to.equal(undefined);
    expect(nextRotationTime({ overlap: '1h' }, at('2026-01-01T00:00:00Z'))).to.equal(undefined);
    expect(nextRotationTime({ schedule: '61 * * * *' }, at('2026-01-01T00:00:00Z'))).to.equal(undefined);
    expect(nextRotationTime({ schedule: '0 0 30 2 *' }, at('2026-01-01T00:00:00Z'))).to.equal(undefined);
    expect(nextRotationTime({ every: 'soon' }, at('2026-01-01T00:00:00Z'))).to.equal(undefined);
    // Shorter than a second would be a write loop, not a rotation schedule.
    expect(nextRotationTime({ every: '999ms' }, at('2026-01-01T00:00:00Z'))).to.equal(undefined);
    expect(nextRotationTime({ every: '1s' }, at('2026-01-01T00:00:00Z'))).to.deep.equal(at('2026-01-01T00:00:01Z'));
  });
});

describe('overlapMs', () => {
  it('reads the overlap, 0 when unset or unusable', () => {
    expect(overlapMs({ every: '1h', overlap: '90s' })).to.equal(90_000);
    expect(overlapMs({ every: '1h' })).to.equal(0);
    expect(overlapMs(undefined)).to.equal(0);
    expect(overlapMs({ overlap: 'a while' })).to.equal(0);
  });
});

describe('decideRotation', () => {
  const spec: RotationSpec = { every: '1h', overlap: '10m' };
  const since = at('2026-01-01T00:00:00Z');

  it('does nothing before the rotation is due', () => {
    expect(decideRotation(spec, { currentSince: since }, at('2026-01-01T00:59:59.999Z'), false)).to.deep.equal({ action: 'none' });
  });

  it('rotates when due, keeping the previous secret for the overlap from now', () => {
    const now = at('2026-01-01T01:00:00.050Z');
    expect(decideRotation(spec, { currentSince: since }, now, false)).to.deep.equal({ action: 'rotate', reason: 'scheduled', previousExpiresAt: at('2026-01-01T01:10:00.050Z') });
  });

  it('rotates once, not once per missed period, when overdue by many periods', () => {
    const now = at('2026-01-02T00:30:00Z');
    const decision = decideRotation(spec, { currentSince: since }, now, false);
    expect(decision.action).to.equal('rotate');
    // After it the new secret is current since now, so nothing is due until an hour from now.
    expect(decideRotation(spec, { currentSince: now }, at('2026-01-02T00:30:01Z'), false)).to.deep.equal({ action: 'none' });
  });

  it('rotates at once on request, whatever the schedule, and without a rotation spec too', () => {
    const now = at('2026-01-01T00:10:00Z');
    expect(decideRotation(spec, { currentSince: since }, now, true)).to.deep.equal({ action: 'rotate', reason: 'requested', previousExpiresAt: at('2026-01-01T00:20:00Z') });
    expect(decideRotation(undefined, { currentSince: since }, now, true)).to.deep.equal({ action: 'rotate', reason: 'requested', previousExpiresAt: now });
  });

  it('expires the previous secret at its expiry', () => {
    const state = { currentSince: since, previousExpiresAt: at('2026-01-01T00:10:00Z') };
    expect(decideRotation(spec, state, at('2026-01-01T00:09:59Z'), false)).to.deep.equal({ action: 'none' });
    expect(decideRotation(spec, state, at('2026-01-01T00:10:00Z'), false)).to.deep.equal({ action: 'expire-previous' });
  });

  it('never rotates without a schedule or a request', () => {
    expect(decideRotation(undefined, { currentSince: at('2000-01-01T00:00:00Z') }, at('2026-01-01T00:00:00Z'), false)).to.deep.equal({ action: 'none' });
  });
});

describe('rotationRequeueAfterMs', () => {
  const since = at('2026-01-01T00:00:00Z');

  it('wakes just after the next rotation or the previous secret’s expiry, whichever is first', () => {
    expect(rotationRequeueAfterMs({ every: '1h' }, { currentSince: since }, at('2026-01-01T00:30:00Z'))).to.equal(30 * 60_000 + 50);
    expect(rotationRequeueAfterMs({ every: '1h' }, { currentSince: since, previousExpiresAt: at('2026-01-01T00:40:00Z') }, at('2026-01-01T00:30:00Z'))).to.equal(10 * 60_000 + 50);
  });

  it('wakes soon (not in the past) when something is already due, and never without rotation or a previous secret', () => {
    expect(rotationRequeueAfterMs({ every: '1h' }, { currentSince: since }, at('2026-01-01T05:00:00Z'))).to.equal(50);
    expect(rotationRequeueAfterMs(undefined, { currentSince: since }, at('2026-01-01T05:00:00Z'))).to.equal(undefined);
  });
});

describe('rotation over time (property)', () => {
  // A controller that reconciles at arbitrary moments (including long outages) and applies each
  // decision, as desiredSecretState does: the secret never rotates twice within one period, and
  // after any reconcile nothing is overdue.
  it('rotates at most once per period and never leaves a rotation overdue', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_000, max: 100_000 }),
        fc.array(fc.integer({ min: 1, max: 400_000 }), { minLength: 1, maxLength: 60 }),
        (periodMs, gaps) => {
          const spec: RotationSpec = { every: `${periodMs}ms`, overlap: `${Math.floor(periodMs / 2)}ms` };
          let now = Date.parse('2026-01-01T00:00:00Z');
          let state: { currentSince: Date; previousExpiresAt?: Date } = { currentSince: new Date(now) };
          const rotations: number[] = [];
          for (const gap of gaps) {
            now += gap;
            const decision = decideRotation(spec, state, new Date(now), false);
            if (decision.action === 'rotate') {
              rotations.push(now);
              state = { currentSince: new Date(now), previousExpiresAt: decision.previousExpiresAt };
            } else if (decision.action === 'expire-previous') {
              state = { currentSince: state.currentSince };
            }
            expect(nextRotationTime(spec, state.currentSince)!.getTime()).to.be.above(now);
            if (state.previousExpiresAt) expect(state.previousExpiresAt.getTime()).to.be.above(now);
          }
          for (let i = 1; i < rotations.length; i++) expect(rotations[i]! - rotations[i - 1]!).to.be.at.least(periodMs);
        },
      ),
    );
  });
});
