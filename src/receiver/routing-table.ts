// URL path → compiled route, kept current from the trigger and Secret informers on every replica
// (no leadership needed). A look-up is one Map access, whatever the number of triggers.
import type { V1Secret } from '@kubernetes/client-node';
import type { WebhookTrigger } from '../api/types.ts';
import { CONDITION_TYPES, LABELS } from '../api/constants.ts';
import { compileRoute, type Route, type ServingRoute } from './compile-route.ts';
import { claimantOf, comparePathClaims, isWebhookSecretOf, webhookSecretName, type PathClaimant } from '../api/webhook-secret.ts';
import { TokenBucket } from './rate-limiter.ts';

export interface RoutingSources {
  trigger(namespace: string, name: string): WebhookTrigger | undefined;
  /** A generated webhook Secret; the receiver's cache holds no others (see WEBHOOK_SECRET_SELECTOR). */
  secret(namespace: string, name: string): V1Secret | undefined;
}

interface Claim {
  route: Route;
  claimant: PathClaimant;
}

export class RoutingTable {
  /** The route serving each path: the earliest of its claims. */
  private readonly byPath = new Map<string, Route>();
  /**
   * Every trigger whose owned Secret names a path. Normally one per path; two only when a Secret was
   * written by hand with another trigger's path, and then the later trigger is refused (and its
   * controller says so in its status) and deleting it leaves the earlier one's route in place.
   */
  private readonly claims = new Map<string, Map<string, Claim>>();
  private readonly pathByTrigger = new Map<string, string>();
  private readonly limiters = new Map<string, TokenBucket>();
  /** What each trigger's route was compiled from, so status-only updates do not recompile it. */
  private readonly compiledFrom = new Map<string, string>();
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

  /** The token bucket of a route's trigger, created or reconfigured when the limit changed. */
  limiterFor(route: ServingRoute): TokenBucket | undefined {
    const key = `${route.namespace}/${route.name}`;
    if (!route.rateLimit) {
      this.limiters.delete(key);
      return undefined;
    }
    const existing = this.limiters.get(key);
    if (existing && existing.limit.requestsPerMinute === route.rateLimit.requestsPerMinute && existing.limit.burst === route.rateLimit.burst) {
      return existing;
    }
    const bucket = new TokenBucket(route.rateLimit);
    this.limiters.set(key, bucket);
    return bucket;
  }

  /** Recompiles one trigger's route from the current informer caches (or removes it). */
  refreshTrigger(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const trigger = this.sources.trigger(namespace, name);
    let route: Route | undefined;
    if (trigger && !trigger.metadata.deletionTimestamp) {
      const candidate = this.sources.secret(namespace, webhookSecretName(name));
      // Only the Secret this very trigger owns: not one written by hand in its name, nor one left
      // by a deleted trigger of the same name.
      const webhookSecret = candidate && isWebhookSecretOf(candidate, trigger) ? candidate : undefined;
      // Every delivery-status flush updates the trigger; recompiling (a JSON Schema, keys, ranges)
      // for each of those would cost milliseconds and memory for nothing.
      const inputs = fingerprintOf(trigger, webhookSecret);
      if (inputs === this.compiledFrom.get(key)) return;
      this.compiledFrom.set(key, inputs);
      try {
        route = compileRoute({
          trigger,
          webhookSecret,
          limits: { defaultMaxBytes: this.defaultMaxBytes, maxBodyBytes: this.maxBodyBytes, ...(this.replayWindowMs !== undefined ? { replayWindowMs: this.replayWindowMs } : {}) },
        });
      } catch (e) {
        // A trigger we cannot compile serves nothing; the controller reports why in its status.
        this.onCompileError(key, e);
        route = undefined;
      }
    } else {
      this.compiledFrom.delete(key);
    }
    const oldPath = this.pathByTrigger.get(key);
    if (oldPath !== undefined && oldPath !== route?.path) {
      this.claims.get(oldPath)?.delete(key);
      this.settle(oldPath);
    }
    // A path the trigger's status does not vouch for (its Secret was edited to hold it) is no claim.
    const claimant = route && trigger ? claimantOf(trigger, route.path) : undefined;
    if (route && claimant) {
      let claims = this.claims.get(route.path);
      if (!claims) this.claims.set(route.path, (claims = new Map()));
      claims.set(key, { route, claimant });
      this.pathByTrigger.set(key, route.path);
      this.settle(route.path);
    } else {
      this.pathByTrigger.delete(key);
      this.limiters.delete(key);
    }
  }

  /** Serves a path from its earliest claim, or from nothing once no trigger claims it. */
  private settle(path: string): void {
    const claims = this.claims.get(path);
    let winner: Claim | undefined;
    for (const claim of claims?.values() ?? []) {
      if (!winner || comparePathClaims(claim.claimant, winner.claimant) < 0) winner = claim;
    }
    if (winner) this.byPath.set(path, winner.route);
    else {
      this.byPath.delete(path);
      this.claims.delete(path);
    }
  }

  /** Refreshes the trigger a generated Secret belongs to; any other Secret feeds no route. */
  refreshSecret(secret: V1Secret): void {
    const owner = secret.metadata?.labels?.[LABELS.trigger];
    if (owner && secret.metadata?.name === webhookSecretName(owner)) this.refreshTrigger(secret.metadata.namespace ?? '', owner);
  }
}


/**
 * Everything compileRoute reads that can change: the spec (its generation), the Ready condition,
 * and the generated Secret (its resourceVersion). The rest of the status is ignored.
 */
function fingerprintOf(trigger: WebhookTrigger, webhookSecret: V1Secret | undefined): string {
  const ready = trigger.status?.conditions?.find((c) => c.type === CONDITION_TYPES.ready)?.status ?? '';
  return JSON.stringify([
    trigger.metadata.uid,
    trigger.metadata.generation,
    trigger.metadata.generation === undefined ? trigger.spec : null,
    ready,
    webhookSecret?.metadata?.resourceVersion ?? (webhookSecret ? webhookSecret.data : null),
  ]);
}
