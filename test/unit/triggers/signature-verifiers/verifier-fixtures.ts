// Shared values for the verifier tests: a fixed clock, bodies and a key pair.
import { generateKeyPairSync } from 'node:crypto';
import type { RequestHeaders, VerificationKeys, VerificationRequest } from '../../../../src/triggers/signature-verifiers/signature-verifier.ts';

export const NOW_SECONDS = 1_760_000_000;
export const NOW_MS = NOW_SECONDS * 1000 + 250;
export const TOLERANCE_SECONDS = 300;

export const BODY = Buffer.from(JSON.stringify({ export_id: 'exp_8f3c21', location: 's3://exports-bucket/exp_8f3c21/' }));

export function request(headers: RequestHeaders, rawBody: Buffer = BODY, nowMs: number = NOW_MS): VerificationRequest {
  return { rawBody, headers, nowMs };
}

export function keys(secrets: readonly string[], extra: Partial<VerificationKeys> = {}): VerificationKeys {
  return { secrets, toleranceSeconds: TOLERANCE_SECONDS, ...extra };
}

export function ed25519KeyPair() {
  return generateKeyPairSync('ed25519');
}
