// One error type for everything the API server (or the network to it) can say, so that callers ask
// one question — "would retrying help?" — instead of inspecting three different error shapes.

export class KubeError extends Error {
  /** HTTP status, or 0 when no response arrived (network error, timeout). */
  readonly status: number;
  /** The API server's machine-readable reason (AlreadyExists, NotFound, Conflict, ...) or a network code. */
  readonly reason: string;
  /** True when the same request may succeed later (network trouble, 429, 5xx, conflicts). */
  readonly retryable: boolean;
  /** Seconds the server asked us to wait (Retry-After), if any. */
  readonly retryAfterSeconds: number | undefined;
  /** The types of the Status's causes (details.causes[].reason), such as NamespaceTerminating. */
  readonly causes: readonly string[];

  constructor(status: number, reason: string, message: string, retryAfterSeconds?: number, causes: readonly string[] = []) {
    super(message);
    this.name = 'KubeError';
    this.status = status;
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
    this.causes = causes;
    this.retryable = status === 0 || status === 409 || status === 429 || status >= 500;
  }

  get notFound(): boolean {
    return this.status === 404;
  }
  get alreadyExists(): boolean {
    return this.status === 409 && this.reason === 'AlreadyExists';
  }
  get conflict(): boolean {
    return this.status === 409 && this.reason !== 'AlreadyExists';
  }
  get gone(): boolean {
    return this.status === 410;
  }
  get invalid(): boolean {
    return this.status === 422 || this.status === 400;
  }
  /** A create refused because the namespace is being deleted: it will never succeed, nor need to. */
  get namespaceTerminating(): boolean {
    return this.status === 403 && this.causes.includes('NamespaceTerminating');
  }
}

export function isNamespaceTerminating(e: unknown): boolean {
  return e instanceof KubeError && e.namespaceTerminating;
}

export function isKubeError(e: unknown): e is KubeError {
  return e instanceof KubeError;
}

export function isNotFound(e: unknown): boolean {
  return e instanceof KubeError && e.notFound;
}

export function isAlreadyExists(e: unknown): boolean {
  return e instanceof KubeError && e.alreadyExists;
}

/** Turns anything thrown while talking to the API server into a KubeError. */
export function toKubeError(e: unknown): KubeError {
  if (e instanceof KubeError) return e;
  const err = e as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'AbortError' || err?.name === 'TimeoutError') {
    return new KubeError(0, 'Timeout', 'request to the API server timed out');
  }
  const code = err?.cause?.code ?? err?.code ?? 'NetworkError';
  return new KubeError(0, String(code), `API server unreachable: ${err?.cause?.message ?? err?.message ?? String(e)}`);
}

/** Builds a KubeError from a non-2xx response whose body is usually a metav1.Status. */
export function errorFromStatus(status: number, bodyText: string, retryAfter: string | null): KubeError {
  let reason = '';
  let message = bodyText.slice(0, 500);
  let causes: string[] = [];
  try {
    const body = JSON.parse(bodyText) as { reason?: string; message?: string; details?: { causes?: { reason?: string }[] } };
    reason = body.reason ?? '';
    message = body.message ?? message;
    causes = (body.details?.causes ?? []).flatMap((c) => (typeof c.reason === 'string' ? [c.reason] : []));
  } catch {
    // Not a Status object (a proxy's HTML page, for example): keep the text.
  }
  if (!reason) reason = defaultReason(status);
  const retrySeconds = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
  return new KubeError(status, reason, message, retrySeconds, causes);
}

function defaultReason(status: number): string {
  switch (status) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 409:
      return 'Conflict';
    case 410:
      return 'Expired';
    case 422:
      return 'Invalid';
    case 429:
      return 'TooManyRequests';
    default:
      return status >= 500 ? 'InternalError' : `HTTP${status}`;
  }
}
