// URL path → compiled route, kept current from the trigger and Secret informers on every replica
// (no leadership needed). A look-up is one Map access, whatever the number of triggers.
import type { V1Secret } from '@kubernetes/client-node';
import type { RoutingTrigger } from './routing-view.ts';
import { CONDITION_TYPES, LABELS } from '../api/constants.ts';
import { compileRoute, type Route, type ServingRoute } from './compile-route.ts';
import { claimantOf, comparePathClaims, isWebhookSecretOf, webhookSecretName, type PathClaimant } from '../api/webhook-secret.ts';
import { TokenBucket } from './rate-limiter.ts';

export interface RoutingSources {
  trigger(namespace: string, name: string): RoutingTrigger | undefined;
  /** A generated webhook Secret; the receiver's cache holds no others (see WEBHOOK_SECRET_SELECTOR). */
  secret(namespace: string, name: string): V1Secret | undefined;
}

interface Claim {
  key: string;
  route: Route;
  claimant: PathClaimant;
}

/** What the table keeps per trigger, in one entry (a replica holds one per trigger it serves). */
interface TriggerEntry {
  /** What its route was compiled from, so status-only updates do not recompile it. */
  compiledFrom: string;
  /** The path it claims, if any. */
  path: string | undefined;
  limiter: TokenBucket | undefined;
}

export class RoutingTable {
  /** The route serving each path: the earliest of its claims. */
  private readonly byPath = new Map<string, Route>();
  /**
   * Every trigger whose owned Secret names a path. Normally one per path; two only when a Secret was
   * written by hand with another trigger's path, and then the later trigger is refused (and its
   * controller says so in its status) and deleting it leaves the earlier one's route in place.
   */
  private readonly claims = new Map<string, Claim[]>();
  private readonly triggers = new Map<string, TriggerEntry>();
  private readonly sources: RoutingSources;
  private readonly defaultMaxBytes: number;
  private readonly maxBodyBytes: number;
  private readonly replayWindowMs: number | undefined;
  private readonly onCompileError: (key: string, error: unknown) => void;

  constructor(sources: RoutingSources, opts: { defaultMaxBytes: number; maxBodyBytes?: number; replayWindowMs?: number; onCompileError?: (key: string, error: unknown) => void }) {
    this.sources = sources;
    this.defaultMaxBytes = opts.defaultMaxBytes;
    this.maxBodyBytes = opts.maxBodyBytes ?? Infinity;
    this.replayWindowMs = opts.replayWindowMs;
    this.onCompileError = opts.onCompileError ?? (() => {});
  }

  get size(): number {
    return this.byPath.size;
  }

  lookup(path: string): Route | undefined {
    return this.byPath.get(path);
  }

  /**
   * The token bucket of a route's trigger. Asked on every request to a serving route, rejected ones
   * included, so it only looks up what refreshTrigger decided: nothing at all without a rateLimit.
   */
  limiterFor(route: ServingRoute): TokenBucket | undefined {
    return route.rateLimit ? this.triggers.get(`${route.namespace}/${route.name}`)?.limiter : undefined;
  }

  /** Recompiles one trigger's route from the current informer caches (or removes it). */
  refreshTrigger(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const trigger = this.sources.trigger(namespace, name);
    const entry = this.triggers.get(key);
    if (!trigger || trigger.metadata.deletionTimestamp) {
      if (entry?.path !== undefined) this.withdraw(entry.path, key);
      this.triggers.delete(key);
      return;
    }
    const candidate = this.sources.secret(namespace, webhookSecretName(name));
    // Only the Secret this very trigger owns: not one written by hand in its name, nor one left by a
    // deleted trigger of the same name.
    const webhookSecret = candidate && isWebhookSecretOf(candidate, trigger) ? candidate : undefined;
    // Every delivery-status flush updates the trigger; recompiling (a JSON Schema, keys, ranges) for
    // each of those would cost milliseconds and memory for nothing.
    const inputs = fingerprintOf(trigger, webhookSecret);
    if (inputs === entry?.compiledFrom) return;
    const route = this.compile(key, trigger, webhookSecret);
    // A path the trigger's status does not vouch for (its Secret was edited to hold it) is no claim.
    const claimant = route && claimantOf(trigger, route.path);
    const path = route && claimant ? route.path : undefined;
    if (entry?.path !== undefined && entry.path !== path) this.withdraw(entry.path, key);
    this.triggers.set(key, { compiledFrom: inputs, path, limiter: route && path !== undefined ? bucketFor(route, entry?.limiter) : undefined });
    if (route && claimant) {
      const others = this.claims.get(route.path)?.filter((c) => c.key !== key) ?? [];
      this.claims.set(route.path, [...others, { key, route, claimant }]);
      this.settle(route.path);
    }
  }

  private compile(key: string, trigger: RoutingTrigger, webhookSecret: V1Secret | undefined): Route | undefined {
    try {
      return compileRoute({
        trigger,
        webhookSecret,
        limits: { defaultMaxBytes: this.defaultMaxBytes, maxBodyBytes: this.maxBodyBytes, ...(this.replayWindowMs !== undefined ? { replayWindowMs: this.replayWindowMs } : {}) },
      });
    } catch (e) {
      // A trigger we cannot compile serves nothing; the controller reports why in its status.
      this.onCompileError(key, e);
      return undefined;
    }
  }

  /** Drops a trigger's claim on a path it no longer holds. */
  private withdraw(path: string, key: string): void {
    const claims = this.claims.get(path)?.filter((c) => c.key !== key);
    if (claims?.length) this.claims.set(path, claims);
    else this.claims.delete(path);
    this.settle(path);
  }

  /** Serves a path from its earliest claim, or from nothing once no trigger claims it. */
  private settle(path: string): void {
    let winner: Claim | undefined;
    for (const claim of this.claims.get(path) ?? []) {
      if (!winner || comparePathClaims(claim.claimant, winner.claimant) < 0) winner = claim;
    }
    if (winner) this.byPath.set(path, winner.route);
    else this.byPath.delete(path);
  }

  /** Refreshes the trigger a generated Secret belongs to; any other Secret feeds no route. */
  refreshSecret(secret: V1Secret): void {
    const owner = secret.metadata?.labels?.[LABELS.trigger];
    if (owner && secret.metadata?.name === webhookSecretName(owner)) this.refreshTrigger(secret.metadata.namespace ?? '', owner);
  }
}


/**
 * A serving route's token bucket: the one it had while its limit is unchanged (a rotated secret or
 * an edited param grants no fresh burst), a new one when the limit changed, none without a limit.
 * A closed route keeps its bucket for when it serves again.
 */
function bucketFor(route: Route, previous: TokenBucket | undefined): TokenBucket | undefined {
  if (route.state !== 'serving') return previous;
  const limit = route.rateLimit;
  if (!limit) return undefined;
  const unchanged = previous && previous.limit.requestsPerMinute === limit.requestsPerMinute && previous.limit.burst === limit.burst;
  return unchanged ? previous : new TokenBucket(limit);
}

/**
 * Everything compileRoute reads that can change: the spec (its generation), the Ready condition,
 * and the generated Secret (its resourceVersion). The rest of the status is ignored.
 */
function fingerprintOf(trigger: RoutingTrigger, webhookSecret: V1Secret | undefined): string {
  const ready = trigger.status?.conditions?.find((c) => c.type === CONDITION_TYPES.ready)?.status ?? '';
  return JSON.stringify([
    trigger.metadata.uid,
    trigger.metadata.generation,
    trigger.metadata.generation === undefined ? trigger.spec : null,
    ready,
    webhookSecret?.metadata?.resourceVersion ?? (webhookSecret ? webhookSecret.data : null),
  ]);
}
