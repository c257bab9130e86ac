// URL path → compiled route, kept current from the trigger and Secret informers on every replica
// (no leadership needed). A look-up is one Map access, whatever the number of triggers.
import type { V1Secret } from '@kubernetes/client-node';
import type { WebhookTrigger } from '../api/types.ts';
import { CONDITION_TYPES, LABELS } from '../api/constants.ts';
import { compileRoute, type Route, type ServingRoute } from './compile-route.ts';
import { webhookSecretName } from '../api/webhook-secret.ts';
import { TokenBucket } from './rate-limiter.ts';

export interface RoutingSources {
  trigger(namespace: string, name: string): WebhookTrigger | undefined;
  secret(namespace: string, name: string): V1Secret | undefined;
  /** Keys (`namespace/name`) of triggers whose spec.auth.secretRef names this Secret. */
  triggersUsingSecret(namespace: string, name: string): string[];
}

export class RoutingTable {
  private readonly byPath = new Map<string, Route>();
  private readonly pathByTrigger = new Map<string, string>();
  private readonly limiters = new Map<string, TokenBucket>();
  /** What each trigger's route was compiled from, so status-only updates do not recompile it. */
  private readonly compiledFrom = new Map<string, string>();
  private readonly sources: RoutingSources;
  private readonly defaultMaxBytes: number;
  private readonly onCompileError: (key: string, error: unknown) => void;

  constructor(sources: RoutingSources, opts: { defaultMaxBytes: number; onCompileError?: (key: string, error: unknown) => void }) {
    this.sources = sources;
    this.defaultMaxBytes = opts.defaultMaxBytes;
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
      const secretRef = trigger.spec.auth?.secretRef;
      const webhookSecret = this.sources.secret(namespace, webhookSecretName(name));
      const userSecret = secretRef ? this.sources.secret(namespace, secretRef.name) : undefined;
      // Every delivery-status flush updates the trigger; recompiling (a JSON Schema, keys, ranges)
      // for each of those would cost milliseconds and memory for nothing.
      const inputs = fingerprintOf(trigger, webhookSecret, userSecret);
      if (inputs === this.compiledFrom.get(key)) return;
      this.compiledFrom.set(key, inputs);
      try {
        route = compileRoute({ trigger, webhookSecret, userSecret, limits: { defaultMaxBytes: this.defaultMaxBytes } });
      } catch (e) {
        // A trigger we cannot compile serves nothing; the controller reports why in its status.
        this.onCompileError(key, e);
        route = undefined;
      }
    } else {
      this.compiledFrom.delete(key);
    }
    const oldPath = this.pathByTrigger.get(key);
    if (oldPath && oldPath !== route?.path) this.byPath.delete(oldPath);
    if (route) {
      this.byPath.set(route.path, route);
      this.pathByTrigger.set(key, route.path);
    } else {
      this.pathByTrigger.delete(key);
      this.limiters.delete(key);
    }
  }

  /** Refreshes the triggers a Secret feeds: its owner (generated Secret) or its users (secretRef). */
  refreshSecret(secret: V1Secret): void {
    const namespace = secret.metadata?.namespace ?? '';
    const name = secret.metadata?.name ?? '';
    const owner = secret.metadata?.labels?.[LABELS.trigger];
    if (owner && name === webhookSecretName(owner)) this.refreshTrigger(namespace, owner);
    for (const key of this.sources.triggersUsingSecret(namespace, name)) {
      const [ns, triggerName] = key.split('/') as [string, string];
      this.refreshTrigger(ns, triggerName);
    }
  }
}

/**
 * Everything compileRoute reads that can change: the spec (its generation), the Ready condition,
 * and the two Secrets (their resourceVersions). The rest of the status is ignored.
 */
function fingerprintOf(trigger: WebhookTrigger, webhookSecret: V1Secret | undefined, userSecret: V1Secret | undefined): string {
  const ready = trigger.status?.conditions?.find((c) => c.type === CONDITION_TYPES.ready)?.status ?? '';
  return JSON.stringify([
    trigger.metadata.uid,
    trigger.metadata.generation,
    trigger.metadata.generation === undefined ? trigger.spec : null,
    ready,
    webhookSecret?.metadata?.resourceVersion ?? (webhookSecret ? webhookSecret.data : null),
    userSecret?.metadata?.resourceVersion ?? (userSecret ? userSecret.data : null),
  ]);
}
