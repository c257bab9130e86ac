import { expect } from 'chai';
import type { AuthSpec } from '../../../../src/api/types.ts';
import { desiredSecretState } from '../../../../src/controllers/webhook-trigger/desired-secret-state.ts';
import type { WebhookSecretState } from '../../../../src/api/webhook-secret.ts';
import { makeTrigger } from './fixtures.ts';

const BASE = 'https://hooks.example.com';
const T0 = new Date('2026-01-01T00:00:00Z');
const later = (ms: number) => new Date(T0.getTime() + ms);
const ROTATE = 'planasonix.io/rotate-requested-at';

const trigger = (auth: AuthSpec = {}, annotations?: Record<string, string>) => makeTrigger({ auth }, annotations ? { annotations } : {});

describe('desiredSecretState', () => {
  it('generates a URL path and a scheme-shaped signing secret for a new trigger', () => {
    const { state, rotated } = desiredSecretState(trigger(), undefined, BASE, T0);
    expect(rotated).to.equal('initial');
    expect(state.path).to.match(/^\/hooks\/[A-Za-z0-9_-]{43}$/);
    expect(state.url).to.equal(BASE + state.path);
    expect(state.signingSecret).to.match(/^pxs_[A-Za-z0-9_-]{43}$/);
    expect(state.currentSince).to.deep.equal(T0);
    expect(desiredSecretState(trigger({ scheme: 'standard-webhooks' }), undefined, BASE, T0).state.signingSecret).to.match(/^whsec_/);
    expect(desiredSecretState(trigger({ scheme: 'github' }), undefined, BASE, T0).state.signingSecret).to.match(/^[0-9a-f]{64}$/);
  });

  it('keeps everything as it is on later reconciles', () => {
    const first = desiredSecretState(trigger({ rotation: { every: '1h' } }), undefined, BASE, T0).state;
    const again = desiredSecretState(trigger({ rotation: { every: '1h' } }), first, BASE, later(60_000));
    expect(again.rotated).to.equal(undefined);
    expect(again.state).to.deep.equal(first);
  });

  it('keeps the path when the external URL changes, and only the url follows it', () => {
    const first = desiredSecretState(trigger(), undefined, BASE, T0).state;
    const moved = desiredSecretState(trigger(), first, 'https://new.example.com', T0).state;
    expect(moved.path).to.equal(first.path);
    expect(moved.url).to.equal('https://new.example.com' + first.path);
  });

  it('holds a copy of a user-managed secret (never rotated), and no signing secret with scheme none', () => {
    const byo = desiredSecretState(trigger({ secretRef: { name: 'mine' } }), undefined, BASE, T0, 'pxs_users_own');
    expect(byo.state).to.have.all.keys('path', 'url', 'signingSecret');
    expect(byo.state.signingSecret).to.equal('pxs_users_own');
    expect(byo.rotated).to.equal(undefined);
    // The user's Secret missing or invalid: no copy, so the receiver serves nothing for it.
    expect(desiredSecretState(trigger({ secretRef: { name: 'mine' } }), undefined, BASE, T0).state).to.have.all.keys('path', 'url');
    expect(desiredSecretState(trigger({ scheme: 'none' }), undefined, BASE, T0).state).to.have.all.keys('path', 'url');
    // Switching to a user-managed secret drops the generated one, and keeps the path.
    const generated = desiredSecretState(trigger(), undefined, BASE, T0).state;
    const switched = desiredSecretState(trigger({ secretRef: { name: 'mine' } }), generated, BASE, T0, 'pxs_users_own').state;
    expect(switched).to.deep.equal({ path: generated.path, url: generated.url, signingSecret: 'pxs_users_own' });
  });

  it('regenerates the secret when the scheme changes, without an overlap, keeping the path', () => {
    const planasonix = desiredSecretState(trigger(), undefined, BASE, T0).state;
    const toStandard = desiredSecretState(trigger({ scheme: 'standard-webhooks' }), planasonix, BASE, later(1_000));
    expect(toStandard.rotated).to.equal('scheme-changed');
    expect(toStandard.state.signingSecret).to.match(/^whsec_/);
    expect(toStandard.state.path).to.equal(planasonix.path);
    expect(toStandard.state.previousSigningSecret).to.equal(undefined);
    const back = desiredSecretState(trigger(), toStandard.state, BASE, later(2_000));
    expect(back.rotated).to.equal('scheme-changed');
    expect(back.state.signingSecret).to.match(/^pxs_/);
  });

  it('rotates on schedule: current becomes previous, with its expiry, in the same state', () => {
    const auth: AuthSpec = { rotation: { every: '1h', overlap: '10m' } };
    const first = desiredSecretState(trigger(auth), undefined, BASE, T0).state;
    const due = later(3_600_000 + 50);
    const { state, rotated } = desiredSecretState(trigger(auth), first, BASE, due);
    expect(rotated).to.equal('scheduled');
    expect(state.signingSecret).to.match(/^pxs_/).and.not.equal(first.signingSecret);
    expect(state.previousSigningSecret).to.equal(first.signingSecret);
    expect(state.previousExpiresAt).to.deep.equal(later(3_600_000 + 50 + 600_000));
    expect(state.currentSince).to.deep.equal(due);
    expect(state.path).to.equal(first.path);

    // At the expiry the previous secret goes, nothing else changes.
    const expired = desiredSecretState(trigger(auth), state, BASE, state.previousExpiresAt!);
    expect(expired.rotated).to.equal(undefined);
    expect(expired.state).to.deep.equal({ path: first.path, url: first.url, signingSecret: state.signingSecret, currentSince: due });
  });

  it('rotates once per value of the rotate-requested-at annotation', () => {
    const auth: AuthSpec = { rotation: { every: '24h', overlap: '1h' } };
    const first = desiredSecretState(trigger(auth), undefined, BASE, T0).state;
    const requested = desiredSecretState(trigger(auth, { [ROTATE]: 'one' }), first, BASE, later(1_000));
    expect(requested.rotated).to.equal('requested');
    expect(requested.state.handledRotateRequest).to.equal('one');
    expect(requested.state.previousSigningSecret).to.equal(first.signingSecret);

    const same = desiredSecretState(trigger(auth, { [ROTATE]: 'one' }), requested.state, BASE, later(2_000));
    expect(same.rotated).to.equal(undefined);
    expect(same.state).to.deep.equal(requested.state);

    // Removing the annotation rotates nothing and remembers the last value handled.
    const removed = desiredSecretState(trigger(auth), requested.state, BASE, later(3_000));
    expect(removed.rotated).to.equal(undefined);
    expect(removed.state.handledRotateRequest).to.equal('one');

    const next = desiredSecretState(trigger(auth, { [ROTATE]: 'two' }), requested.state, BASE, later(4_000));
    expect(next.rotated).to.equal('requested');
    expect(next.state.previousSigningSecret).to.equal(requested.state.signingSecret);
  });

  it('does not rotate for an annotation that was there when the trigger was created', () => {
    const first = desiredSecretState(trigger({}, { [ROTATE]: 'old' }), undefined, BASE, T0);
    expect(first.rotated).to.equal('initial');
    const again = desiredSecretState(trigger({}, { [ROTATE]: 'old' }), first.state, BASE, later(1_000));
    expect(again.rotated).to.equal(undefined);
  });

  it('without an overlap, a rotation drops the old secret at once instead of keeping it with an expiry of now', () => {
    const first = desiredSecretState(trigger(), undefined, BASE, T0).state;
    const { state, rotated } = desiredSecretState(trigger({}, { [ROTATE]: 'leaked' }), first, BASE, later(1_000));
    expect(rotated).to.equal('requested');
    expect(state.previousSigningSecret).to.equal(undefined);
    expect(state.previousExpiresAt).to.equal(undefined);
    expect(state.signingSecret).not.to.equal(first.signingSecret);
  });

  it('replaces a signing secret that the scheme cannot use, and dates a secret whose date was lost to now', () => {
    const broken: WebhookSecretState = { path: '/hooks/p', url: BASE + '/hooks/p', signingSecret: 'whsec_!!not-base64' };
    const fixed = desiredSecretState(trigger({ scheme: 'standard-webhooks' }), broken, BASE, T0);
    expect(fixed.rotated).to.equal('scheme-changed');
    expect(fixed.state.signingSecret).to.match(/^whsec_/);

    const undated: WebhookSecretState = { path: '/hooks/p', url: BASE + '/hooks/p', signingSecret: 'pxs_ok' };
    const dated = desiredSecretState(trigger(), undated, BASE, T0);
    expect(dated.rotated).to.equal(undefined);
    expect(dated.state).to.deep.equal({ ...undated, currentSince: T0 });
  });
});
