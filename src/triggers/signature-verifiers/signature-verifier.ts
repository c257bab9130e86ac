// The contract every signature scheme implements: pure, synchronous, over the exact raw bytes.
import type { KeyObject } from 'node:crypto';
import type { AuthScheme } from '../../api/types.ts';

/** Incoming headers as Node.js gives them: lowercase names, a string or (when repeated) an array. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface VerificationRequest {
  /** The body exactly as received, before any parsing. */
  rawBody: Buffer;
  headers: RequestHeaders;
  nowMs: number;
}

export interface VerificationKeys {
  /** The current secret, then any unexpired previous one: each is accepted. */
  secrets: readonly string[];
  /** Ed25519 public key that v1a signatures are checked against. */
  publicKey?: KeyObject;
  /** How far (past or future) a signed timestamp may be from now. */
  toleranceSeconds: number;
}

export type VerificationFailure =
  | 'missing_signature' // a header the scheme needs for its signature is absent
  | 'malformed_signature' // present but not in the scheme's format
  | 'invalid_signature' // well-formed, but no configured key produced it
  | 'missing_timestamp'
  | 'stale_timestamp' // validly signed, but outside the tolerance (past or future)
  | 'missing_token'
  | 'invalid_token';

export type VerificationResult =
  | {
      ok: true;
      /** The sender's delivery ID, when the scheme carries one (signed only by standard-webhooks). */
      deliveryId?: string;
      /**
       * SHA-256 (hex) of the signed content (scheme, timestamp, id, body), present when a signature
       * binds the body: the same value means a replay of the same signed request, whatever was
       * changed in unsigned headers. Derived from no secret.
       */
      replayKey?: string;
    }
  | { ok: false; failure: VerificationFailure };

export interface SignatureVerifier {
  readonly scheme: AuthScheme;
  /** True when the scheme signs a timestamp, so stale deliveries are refused. */
  readonly timestamped: boolean;
  /**
   * Whether the delivery ID it returns is covered by the signature; undefined leaves it to the
   * receiver's list of schemes (planasonix and github send it outside the signature).
   */
  readonly signsDeliveryId?: boolean;
  /** Never throws: any input yields a result. */
  verify(req: VerificationRequest, keys: VerificationKeys): VerificationResult;
}
