// Every answer the receiver gives other than success, as a typed error thrown by one middleware and
// turned into a JSON response in exactly one place (respond-with-errors.ts).
import type { WebhookOutcome } from '../api/constants.ts';

export interface Problem {
  path: string;
  message: string;
}

export class WebhookError extends Error {
  readonly status: number;
  /** Machine-readable code callers can switch on. */
  readonly code: string;
  readonly outcome: WebhookOutcome;
  readonly headers: Record<string, string>;
  readonly problems: Problem[] | undefined;

  constructor(status: number, outcome: WebhookOutcome, code: string, message: string, opts: { headers?: Record<string, string>; problems?: Problem[] } = {}) {
    // An answer, not a bug: no stack trace, which was the largest cost of creating one (about 5% of a
    // rejected request's CPU), and which the logs never show.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'WebhookError';
    this.status = status;
    this.outcome = outcome;
    this.code = code;
    this.headers = opts.headers ?? {};
    this.problems = opts.problems;
  }
}

export const notFound = () => new WebhookError(404, 'not_found', 'not_found', 'no webhook at this URL');
export const methodNotAllowed = () =>
  new WebhookError(405, 'method_not_allowed', 'method_not_allowed', 'webhooks accept POST only', { headers: { Allow: 'POST' } });
export const unavailable = (code: string, message: string, retryAfterSeconds = 5) =>
  new WebhookError(503, 'unavailable', code, message, { headers: { 'Retry-After': String(retryAfterSeconds) } });
/** The receiver holds as many requests or body bytes as it may: retry in a moment. */
export const busy = () => unavailable('receiver_busy', 'the receiver is at its limit of requests in progress; retry shortly', 1);
export const forbidden = () => new WebhookError(403, 'forbidden', 'source_address_not_allowed', 'requests from this address are not allowed');
export const rateLimited = (retryAfterSeconds: number) =>
  new WebhookError(429, 'rate_limited', 'rate_limited', 'too many requests for this webhook', {
    headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
  });
export const tooLarge = (limit: number) =>
  new WebhookError(413, 'too_large', 'payload_too_large', `the body exceeds this webhook's limit of ${limit} bytes`);
export const unsupportedMediaType = () =>
  new WebhookError(415, 'unsupported_media_type', 'unsupported_media_type', 'this webhook accepts application/json bodies only');
export const badRequest = (code: string, message: string, problems?: Problem[]) =>
  new WebhookError(400, 'bad_request', code, message, problems ? { problems } : {});
/** One message for every signature failure, so a caller cannot tell a wrong secret from a wrong signature. */
export const unauthorized = (code: string, stale: boolean) =>
  new WebhookError(401, stale ? 'stale' : 'unauthorized', code, 'the request is not signed or authenticated as this webhook requires');
