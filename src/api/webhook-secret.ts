// The Secret the trigger controller owns for each trigger (`<trigger>-webhook`): the capability URL,
// its path, and — unless the user brings their own — the signing secret with its rotation state.
import { createHash, randomBytes } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { ObjectMeta, WebhookTrigger, WebhookTriggerStatus } from './types.ts';
import { ANNOTATIONS, KINDS, LABELS, MANAGED_BY, WEBHOOK_PATH_PREFIX, WEBHOOK_SECRET_KEYS as KEYS } from './constants.ts';
import { buildOwnedSecret } from './owner-reference.ts';

export interface WebhookSecretState {
  path: string;
  url: string;
  signingSecret?: string;
  currentSince?: Date;
  previousSigningSecret?: string;
  previousExpiresAt?: Date;
  /**
   * The last value of the rotate-requested annotation that was acted on. Kept in the Secret, written
   * together with the rotation it caused, so a crash in between cannot rotate twice for one request.
   */
  handledRotateRequest?: string;
}

const WEBHOOK_SECRET_SUFFIX = '-webhook';

export function webhookSecretName(triggerName: string): string {
  return triggerName + WEBHOOK_SECRET_SUFFIX;
}

/** The trigger a Secret of that name would be generated for (the inverse of webhookSecretName), if any. */
export function triggerNameOfWebhookSecret(secretName: string): string | undefined {
  return secretName.endsWith(WEBHOOK_SECRET_SUFFIX) && secretName.length > WEBHOOK_SECRET_SUFFIX.length ? secretName.slice(0, -WEBHOOK_SECRET_SUFFIX.length) : undefined;
}

/** 32 random bytes (256 bits), base64url: unguessable, and safe in a URL path. */
export function generateWebhookPath(): string {
  return WEBHOOK_PATH_PREFIX + randomBytes(32).toString('base64url');
}

export function webhookUrl(externalUrl: string, path: string): string {
  return externalUrl.replace(/\/+$/, '') + path;
}

export function readWebhookSecret(secret: V1Secret): WebhookSecretState | undefined {
  const data = secret.data ?? {};
  const text = (key: string) => (data[key] === undefined ? undefined : Buffer.from(data[key]!, 'base64').toString('utf8'));
  const path = text(KEYS.path);
  if (!path || !path.startsWith(WEBHOOK_PATH_PREFIX)) return undefined;
  const since = secret.metadata?.annotations?.[ANNOTATIONS.secretCreatedAt];
  const handled = secret.metadata?.annotations?.[ANNOTATIONS.rotateHandled];
  const expires = text(KEYS.previousExpiresAt);
  const state: WebhookSecretState = { path, url: text(KEYS.url) ?? '' };
  const signing = text(KEYS.signingSecret);
  if (signing) state.signingSecret = signing;
  if (since && !Number.isNaN(Date.parse(since))) state.currentSince = new Date(since);
  if (handled) state.handledRotateRequest = handled;
  const previous = text(KEYS.previousSigningSecret);
  if (previous && expires && !Number.isNaN(Date.parse(expires))) {
    state.previousSigningSecret = previous;
    state.previousExpiresAt = new Date(expires);
  }
  return state;
}

export function buildWebhookSecret(trigger: WebhookTrigger, state: WebhookSecretState, resourceVersion?: string): V1Secret {
  const data: Record<string, string> = {
    [KEYS.url]: state.url,
    [KEYS.path]: state.path,
  };
  if (state.signingSecret) data[KEYS.signingSecret] = state.signingSecret;
  if (state.previousSigningSecret && state.previousExpiresAt) {
    data[KEYS.previousSigningSecret] = state.previousSigningSecret;
    data[KEYS.previousExpiresAt] = state.previousExpiresAt.toISOString();
  }
  const annotations: Record<string, string> = {};
  if (state.currentSince) annotations[ANNOTATIONS.secretCreatedAt] = state.currentSince.toISOString();
  if (state.handledRotateRequest) annotations[ANNOTATIONS.rotateHandled] = state.handledRotateRequest;
  return buildOwnedSecret(
    {
      name: webhookSecretName(trigger.metadata.name!),
      owner: { kind: KINDS.webhookTrigger, name: trigger.metadata.name!, namespace: trigger.metadata.namespace!, uid: trigger.metadata.uid! },
      labels: { [LABELS.trigger]: trigger.metadata.name! },
      annotations,
      ...(resourceVersion ? { resourceVersion } : {}),
    },
    data,
  );

}

export function sameSecretState(a: WebhookSecretState | undefined, b: WebhookSecretState): boolean {
  return (
    a !== undefined &&
    a.path === b.path &&
    a.url === b.url &&
    a.signingSecret === b.signingSecret &&
    a.currentSince?.getTime() === b.currentSince?.getTime() &&
    a.previousSigningSecret === b.previousSigningSecret &&
    a.previousExpiresAt?.getTime() === b.previousExpiresAt?.getTime() &&
    a.handledRotateRequest === b.handledRotateRequest
  );
}

// ------------------------------------------------------------------ route ownership
// The controller and the receiver decide who may serve a path by these same rules: a route comes
// only from a generated Secret whose controller owner reference is the trigger it is named after
// (UID checked, so a Secret written by hand for another trigger, or left from a deleted one of the
// same name, serves nothing); and the path must be the one the controller gave the trigger, whose
// digest it records in the trigger's status (status.pathDigest, which tenants cannot write): a
// Secret edited to hold another trigger's path serves nothing, however old its trigger. Between two
// claims that both pass (a trigger not yet given its digest, after an upgrade), the one with the
// digest, then the earlier trigger, keeps the path.

/** Whether this is `trigger`'s generated Secret, owned by exactly that trigger (its UID). */
export function isWebhookSecretOf(secret: V1Secret, trigger: { metadata: Pick<ObjectMeta, 'name' | 'namespace' | 'uid'> }): boolean {
  const labels = secret.metadata?.labels ?? {};
  return (
    secret.metadata?.name === webhookSecretName(trigger.metadata.name!) &&
    secret.metadata?.namespace === trigger.metadata.namespace &&
    labels[LABELS.managedBy] === MANAGED_BY &&
    labels[LABELS.trigger] === trigger.metadata.name &&
    (secret.metadata?.ownerReferences ?? []).some((o) => o.controller === true && o.kind === KINDS.webhookTrigger.kind && o.uid === trigger.metadata.uid)
  );
}

/** The capability path a generated Secret holds, for indexing; undefined for any other Secret. */
export function webhookPathOf(secret: V1Secret): string | undefined {
  const owner = secret.metadata?.labels?.[LABELS.trigger];
  if (!owner || secret.metadata?.name !== webhookSecretName(owner) || secret.metadata?.labels?.[LABELS.managedBy] !== MANAGED_BY) return undefined;
  const raw = secret.data?.[KEYS.path];
  const path = raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8');
  return path?.startsWith(WEBHOOK_PATH_PREFIX) ? path : undefined;
}

/**
 * A capability path's digest, as recorded in status.pathDigest: enough to recognise the path,
 * nothing to call it with (the path holds 256 random bits).
 */
export function webhookPathDigest(path: string): string {
  return createHash('sha256').update(path).digest('hex').slice(0, 32);
}

/** What decides between two triggers claiming one path: the digest, then the older one, then the smaller UID. */
export interface PathClaimant {
  /** The trigger's status records this path's digest (the controller gave it this path). */
  recorded: boolean;
  createdAtMs: number;
  uid: string;
}

/**
 * The trigger's claim to `path`, or undefined when it has none: its status records the digest of
 * another path (its Secret was edited to hold this one).
 */
export function claimantOf(trigger: { metadata: Pick<ObjectMeta, 'creationTimestamp' | 'uid'>; status?: Pick<WebhookTriggerStatus, 'pathDigest'> }, path: string): PathClaimant | undefined {
  const recorded = trigger.status?.pathDigest;
  if (recorded !== undefined && recorded !== webhookPathDigest(path)) return undefined;
  const created = Date.parse(trigger.metadata.creationTimestamp ?? '');
  return { recorded: recorded !== undefined, createdAtMs: Number.isNaN(created) ? Number.MAX_SAFE_INTEGER : created, uid: trigger.metadata.uid ?? '' };
}

/** Negative when `a` keeps the path over `b`. The same on every replica: no arrival order involved. */
export function comparePathClaims(a: PathClaimant, b: PathClaimant): number {
  return Number(b.recorded) - Number(a.recorded) || a.createdAtMs - b.createdAtMs || (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0);
}
