// A trigger's route: where it is served (the path in its generated Secret), whether it serves now,
// and — when it does — the compiled trigger (src/triggers/compile.ts) every later step reads.
import type { V1Secret } from '@kubernetes/client-node';
import type { RoutingTrigger } from './routing-view.ts';
import { CONDITION_TYPES } from '../api/constants.ts';
import { readWebhookSecret } from '../api/webhook-secret.ts';
import { compileAllowedSources, compileTrigger, type TriggerLimits } from '../triggers/compile.ts';
import type { CompiledTrigger } from '../triggers/compiled-trigger.ts';

export type RouteState = 'serving' | 'suspended' | 'not-ready';

interface RouteIdentity {
  namespace: string;
  name: string;
  uid: string;
  path: string;
  /**
   * Checked before availability, so a caller outside the ranges learns nothing about the trigger's
   * state; undefined allows every address. Ranges that do not parse allow none.
   */
  allowsAddress: ((ip: string) => boolean) | undefined;
}

/** A route that accepts deliveries: everything after check-availability reads this shape. */
export type ServingRoute = RouteIdentity & CompiledTrigger & { state: 'serving' };
/** A route answered 503: suspended, not Ready, or a trigger that does not compile. */
export type ClosedRoute = RouteIdentity & { state: 'suspended' | 'not-ready' };
export type Route = ServingRoute | ClosedRoute;

export interface RouteInputs {
  /** What a receiver's cache keeps of the trigger (a whole trigger will do). */
  trigger: RoutingTrigger;
  /**
   * The generated `<trigger>-webhook` Secret. With spec.auth.secretRef it carries the controller's
   * copy of the user's secret: the receiver never reads a Secret the operator does not manage.
   */
  webhookSecret: V1Secret | undefined;
  limits: TriggerLimits;
}

/** Returns undefined while the trigger has no URL yet (its generated Secret does not exist). */
export function compileRoute(inputs: RouteInputs): Route | undefined {
  const { trigger } = inputs;
  const generated = inputs.webhookSecret ? readWebhookSecret(inputs.webhookSecret) : undefined;
  if (!generated) return undefined;
  const identity: RouteIdentity = {
    namespace: trigger.metadata.namespace!,
    name: trigger.metadata.name!,
    uid: trigger.metadata.uid!,
    path: generated.path,
    allowsAddress: undefined,
  };
  const compiled = trigger.spec.suspend ? undefined : compileTrigger({ trigger, generated }, inputs.limits);
  if (compiled?.ok && compiled.trigger.hasKeys && isReady(trigger)) return { ...identity, ...compiled.trigger, state: 'serving' };
  // The controller reports a trigger's problems in its status; here it only stays closed.
  const ranges = compileAllowedSources(trigger.spec.allowedSourceRanges, []);
  const closed = { ...identity, allowsAddress: ranges === 'invalid' ? () => false : ranges };
  return { ...closed, state: trigger.spec.suspend ? 'suspended' : 'not-ready' };
}

function isReady(trigger: RoutingTrigger): boolean {
  return (trigger.status?.conditions ?? []).some((c) => c.type === CONDITION_TYPES.ready && c.status === 'True');
}
