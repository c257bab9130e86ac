// How an hmac-scheme sender signs, fully resolved (a preset with the user's overrides): what the
// receiver's verifier checks (triggers/compile-hmac.ts builds it) and what the CLI signs with.
import type { HmacAlgorithm, HmacEncoding } from '../api/types.ts';

export interface ResolvedHmac {
  mode: 'signature' | 'token';
  /** Lower-case, as Node.js presents incoming headers. */
  header: string;
  algorithm: HmacAlgorithm;
  encoding: HmacEncoding;
  prefix: string;
  separator: string | undefined;
  /** The template around {body}: `before` and `after` have {timestamp} and {id} still to fill. */
  before: string;
  after: string;
  timestamp: { header: string } | { prefix: string } | undefined;
  deliveryIdHeader: string | undefined;
  signsTimestamp: boolean;
  signsDeliveryId: boolean;
  secretEncoding: 'text' | 'base64';
}
