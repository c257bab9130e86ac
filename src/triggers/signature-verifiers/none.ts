// No authentication: the trigger accepts any request (the controller marks it ServingUnauthenticated).
import type { SignatureVerifier } from './signature-verifier.ts';

export const noneVerifier: SignatureVerifier = {
  scheme: 'none',
  timestamped: false,
  verify: () => ({ ok: true }),
};
