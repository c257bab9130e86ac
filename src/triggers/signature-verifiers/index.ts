// One verifier per auth scheme, looked up by spec.auth.scheme.
import type { AuthScheme } from '../../api/types.ts';
import { bearerVerifier } from './bearer.ts';
import { githubVerifier } from './github.ts';
import { noneVerifier } from './none.ts';
import { planasonixSignedIdVerifier, planasonixVerifier } from './planasonix.ts';
import type { SignatureVerifier } from './signature-verifier.ts';
import { standardWebhooksVerifier } from './standard-webhooks.ts';

export { planasonixSignedIdVerifier };

export type {
  RequestHeaders,
  SignatureVerifier,
  VerificationFailure,
  VerificationKeys,
  VerificationRequest,
  VerificationResult,
} from './signature-verifier.ts';

/** The fixed schemes; hmac gets a verifier per trigger from its spec.auth.hmac (compile-auth.ts). */
export const verifiers: Readonly<Record<Exclude<AuthScheme, 'hmac'>, SignatureVerifier>> = {
  planasonix: planasonixVerifier,
  'standard-webhooks': standardWebhooksVerifier,
  github: githubVerifier,
  bearer: bearerVerifier,
  none: noneVerifier,
};
