// What the API server cannot check about a trigger: that what it references exists and fits.
import { createPublicKey } from 'node:crypto';
import { Cron } from 'croner';
import type { V1Secret } from '@kubernetes/client-node';
import type { Pipeline, RotationSpec, WebhookTrigger } from '../../api/types.ts';
import { DEFAULT_SECRET_KEY, TRIGGER_REASONS } from '../../api/constants.ts';
import { validateSigningSecret } from '../../signing/secret-format.ts';
import { compilePayloadSchema } from '../../receiver/payload/payload-schema.ts';
import { parseDuration } from '../../util/duration.ts';
import { parseByteQuantity } from '../../util/quantity.ts';
import { MIN_ROTATION_INTERVAL_MS } from './rotation.ts';

export type TriggerValidation =
  | { valid: true; warning?: string }
  | { valid: false; reason: string; message: string };

export interface TriggerReferences {
  pipeline: Pipeline | undefined;
  /** The user's Secret named by spec.auth.secretRef, when there is one. */
  userSecret: V1Secret | undefined;
  /** The operator's ceiling on payload.maxBytes (--max-body-bytes). */
  maxBodyBytes?: number;
}


export function validateTrigger(trigger: WebhookTrigger, refs: TriggerReferences): TriggerValidation {
  const spec = trigger.spec;
  const auth = spec.auth ?? {};
  const scheme = auth.scheme ?? 'planasonix';
  const ref = spec.pipelineRef;

  if (!refs.pipeline) {
    return invalid(TRIGGER_REASONS.pipelineNotFound, `Pipeline "${ref.name}" not found in namespace "${trigger.metadata.namespace}"`);
  }
  if (ref.version && !(refs.pipeline.spec.versions ?? []).some((v) => v.name === ref.version)) {
    return invalid(TRIGGER_REASONS.versionNotFound, `Pipeline "${ref.name}" has no version "${ref.version}"`);
  }

  if (auth.secretRef) {
    const key = auth.secretRef.key ?? DEFAULT_SECRET_KEY;
    if (!refs.userSecret) {
      return invalid(TRIGGER_REASONS.secretNotFound, `Secret "${auth.secretRef.name}" (spec.auth.secretRef) not found`);
    }
    const raw = refs.userSecret.data?.[key];
    if (raw === undefined) {
      return invalid(TRIGGER_REASONS.secretKeyNotFound, `Secret "${auth.secretRef.name}" has no key "${key}"`);
    }
    const problem = validateSigningSecret(scheme, Buffer.from(raw, 'base64').toString('utf8'));
    if (problem) return invalid(TRIGGER_REASONS.invalidSpec, `Secret "${auth.secretRef.name}" key "${key}": ${problem}`);
    if (auth.rotation) {
      return invalid(TRIGGER_REASONS.invalidSpec, 'spec.auth.rotation needs a generated secret: remove spec.auth.secretRef or rotation');
    }
  }

  if (auth.rotation) {
    const problem = rotationProblem(auth.rotation);
    if (problem) return invalid(TRIGGER_REASONS.invalidSpec, problem);
  }

  if (auth.publicKey) {
    // createPublicKey also accepts a private key (and derives its public half): refuse it, since a
    // private key in a spec is readable by everyone who can read the trigger and must be replaced.
    if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(auth.publicKey)) {
      return invalid(TRIGGER_REASONS.invalidPublicKey, 'spec.auth.publicKey holds a PRIVATE key: put only the public key here, and replace the leaked key pair');
    }
    try {
      const key = createPublicKey(auth.publicKey);
      if (key.asymmetricKeyType !== 'ed25519') {
        return invalid(TRIGGER_REASONS.invalidPublicKey, `spec.auth.publicKey is a ${key.asymmetricKeyType} key; an Ed25519 key is required`);
      }
    } catch {
      return invalid(TRIGGER_REASONS.invalidPublicKey, 'spec.auth.publicKey is not a PEM-encoded public key');
    }
  }

  if (auth.signedParamsOnly) {
    const unsigned = (spec.params ?? []).filter((p) => p.from === 'header' || p.from === 'query').map((p) => p.name);
    if (unsigned.length > 0) {
      return invalid(
        TRIGGER_REASONS.invalidSpec,
        `spec.auth.signedParamsOnly: params ${unsigned.join(', ')} come from headers or query values, which no signature covers; map them from the body or drop signedParamsOnly`,
      );
    }
  }

  const declared = new Map((refs.pipeline.spec.params ?? []).map((p) => [p.name, p]));
  const mapped = new Map((spec.params ?? []).map((p) => [p.name, p]));
  const undeclared = [...mapped.keys()].filter((n) => !declared.has(n));
  if (undeclared.length > 0) {
    return invalid(TRIGGER_REASONS.paramsMismatch, `params not declared by Pipeline "${ref.name}": ${undeclared.join(', ')}`);
  }
  const unmapped = [...declared.values()]
    .filter((p) => p.required && p.default === undefined && !mapped.has(p.name))
    .map((p) => p.name);
  if (unmapped.length > 0) {
    return invalid(TRIGGER_REASONS.paramsMismatch, `required params of Pipeline "${ref.name}" not mapped: ${unmapped.join(', ')}`);
  }

  if (spec.payload?.maxBytes !== undefined && refs.maxBodyBytes !== undefined) {
    const asked = parseByteQuantity(spec.payload.maxBytes);
    if (asked > refs.maxBodyBytes) {
      return invalid(
        TRIGGER_REASONS.payloadLimitTooHigh,
        `spec.payload.maxBytes ${spec.payload.maxBytes} is more than this operator accepts (${formatBytes(refs.maxBodyBytes)}, --max-body-bytes): lower it, or ask the operator's administrator`,
      );
    }
  }

  if (spec.payload?.schema) {
    const problem = compilePayloadSchema(spec.payload.schema).error;
    if (problem) return invalid(TRIGGER_REASONS.invalidSpec, `spec.payload.schema: ${problem}`);
  }

  if (scheme === 'none') {
    return { valid: true, warning: 'auth scheme "none": anyone who knows the URL can start runs' };
  }
  return { valid: true };
}

/** What the CRD's schema cannot check about a rotation spec: that the cron schedule parses and ever fires. */
function rotationProblem(rotation: RotationSpec): string | undefined {
  for (const [field, value] of [['every', rotation.every], ['overlap', rotation.overlap]] as const) {
    if (value === undefined) continue;
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch (e) {
      return `spec.auth.rotation.${field}: ${(e as Error).message}`;
    }
    if (field === 'every' && ms < MIN_ROTATION_INTERVAL_MS) {
      return `spec.auth.rotation.every "${value}" is shorter than ${MIN_ROTATION_INTERVAL_MS / 1000}s; the secret is not rotated until it is longer`;
    }
  }
  if (rotation.schedule !== undefined) {
    let next: Date | null;
    try {
      next = new Cron(rotation.schedule, { timezone: 'UTC', paused: true }).nextRun();
    } catch (e) {
      return `spec.auth.rotation.schedule "${rotation.schedule}" is not a cron expression: ${(e as Error).message}`;
    }
    if (!next) return `spec.auth.rotation.schedule "${rotation.schedule}" never fires`;
  }
  return undefined;
}

/** Bytes as the flag would say them: 4Mi, 512Ki, or plain bytes. */
function formatBytes(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}Mi`;
  if (bytes % 1024 === 0) return `${bytes / 1024}Ki`;
  return `${bytes} bytes`;
}

function invalid(reason: string, message: string): TriggerValidation {
  return { valid: false, reason, message };
}
