// What the receiver holds for requests in progress, bounded before any body is read: how many
// requests and how many body bytes, in all and per trigger. A trigger's share is half of each, so
// that a flood of slow or maximum-size bodies against one URL (the caller must know it: unknown
// paths are answered 404 before a byte of body is read) leaves room for every other trigger.
// Node.js Buffers live outside the V8 heap, so --max-old-space-size does not bound them: this does.

export interface RequestBudgetLimits {
  /** Requests between admission and answer, across all triggers. */
  maxRequests: number;
  /** Raw body bytes held by those requests (declared by Content-Length, or read so far). */
  maxBodyBytes: number;
}

/** One admitted request's hold on the budget; released once, however the request ends. */
export interface BudgetTicket {
  /** Takes `bytes` more body bytes (a chunked body, as it arrives); false when that would exceed a limit. */
  grow(bytes: number): boolean;
  release(): void;
}

interface Usage {
  requests: number;
  bytes: number;
}

export class RequestBudget {
  readonly limits: RequestBudgetLimits;
  private readonly total: Usage = { requests: 0, bytes: 0 };
  private readonly byTrigger = new Map<string, Usage>();

  constructor(limits: RequestBudgetLimits) {
    this.limits = limits;
  }

  get inUse(): Readonly<Usage> {
    return { ...this.total };
  }

  /** Admits a request for `trigger` holding `bytes` to start with, or returns undefined when it would not fit. */
  admit(trigger: string, bytes: number): BudgetTicket | undefined {
    const own = this.byTrigger.get(trigger) ?? { requests: 0, bytes: 0 };
    if (!this.fits(own, 1, bytes)) return undefined;
    this.byTrigger.set(trigger, own);
    this.take(own, 1, bytes);
    let held = bytes;
    let released = false;
    return {
      grow: (more) => {
        if (released) return false;
        if (!this.fits(own, 0, more)) return false;
        this.take(own, 0, more);
        held += more;
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        this.take(own, -1, -held);
        if (own.requests === 0) this.byTrigger.delete(trigger);
      },
    };
  }

  private fits(own: Usage, requests: number, bytes: number): boolean {
    const { maxRequests, maxBodyBytes } = this.limits;
    return (
      this.total.requests + requests <= maxRequests &&
      this.total.bytes + bytes <= maxBodyBytes &&
      own.requests + requests <= Math.max(1, Math.floor(maxRequests / 2)) &&
      own.bytes + bytes <= Math.floor(maxBodyBytes / 2)
    );
  }

  private take(own: Usage, requests: number, bytes: number): void {
    this.total.requests += requests;
    this.total.bytes += bytes;
    own.requests += requests;
    own.bytes += bytes;
  }
}
