// What a WebhookTrigger means once it has been read: the one shape the trigger controller
// (validation, status) and the receiver (routing, verification, mapping) both consume, so that
// neither re-reads the spec nor imports the other.
import type { AuthScheme, ParamMapping } from '../api/types.ts';
import type { SignatureVerifier, VerificationKeys } from './signature-verifiers/index.ts';
import type { PayloadValidator } from './payload-schema.ts';
import type { CompiledFilter } from './filter/compile-filter.ts';

/**
 * One thing wrong with a trigger, precise enough to fix: the status reason (TRIGGER_REASONS), the
 * spec field at fault, and a message that names the field and never quotes a secret.
 */
export interface TriggerProblem {
  reason: string;
  field: string;
  message: string;
}

/** A param mapping with its JSON Pointer parsed once, when the trigger is read. */
export type CompiledParam = ParamMapping & {
  /** Reference tokens of `path` (from: body); [] is the whole body. */
  readonly pointer?: readonly string[];
};

/** Where a delivery's identity comes from, with a body pointer already parsed. */
export type CompiledIdempotency =
  | { from: 'scheme' }
  | { from: 'header'; header: string }
  | { from: 'body'; path: string; pointer: readonly string[] };

/** One Pipeline a delivery starts (spec.targets[], or spec.pipelineRef as the one-target shorthand). */
export interface CompiledTarget {
  name: string;
  /** spec.pipelineRef: runs carry no target, and their names hash the delivery key alone. */
  shorthand: boolean;
  pipelineName: string;
  pipelineVersion: string | undefined;
  /** The trigger's params with the target's own (which win by name). */
  params: readonly CompiledParam[];
  filter: CompiledFilter | undefined;
}

export interface CompiledTrigger {
  scheme: AuthScheme;
  verifier: SignatureVerifier;
  /** Keys valid at a moment: a rotated-out secret only until its expiry. */
  keysAt(nowMs: number): VerificationKeys;
  /** True when some key exists to verify with (always for scheme none). */
  hasKeys: boolean;
  /** Undefined when every address is allowed. */
  allowsAddress: ((ip: string) => boolean) | undefined;
  params: readonly CompiledParam[];
  strict: boolean;
  maxBytes: number;
  schema: PayloadValidator | undefined;
  /** The body must parse as JSON: body params, a body delivery key, a schema or strict mode need it. */
  needsJsonBody: boolean;
  idempotency: CompiledIdempotency;
  /**
   * How long a delivery key keeps deduplicating (its run kept in history, its replay key claimed):
   * twice the tolerance for schemes that sign a timestamp, else the operator's --replay-window.
   */
  replayWindowMs: number;
  rateLimit: { requestsPerMinute: number; burst: number } | undefined;
  /** spec.filter: a delivery it does not match is answered 200 filtered and creates nothing. */
  filter: CompiledFilter | undefined;
  /** What a delivery starts, at least one: spec.targets, or spec.pipelineRef. */
  targets: readonly CompiledTarget[];
  /** Serving, but the user should know (scheme none); shown in the Ready condition. */
  warning: string | undefined;
}

export type TriggerCompilation = { ok: true; trigger: CompiledTrigger } | { ok: false; problems: TriggerProblem[] };
