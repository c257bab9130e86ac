// A token bucket per trigger, in memory: each replica enforces the limit on the traffic it receives.

export interface RateLimit {
  requestsPerMinute: number;
  burst: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly ratePerMs: number;
  readonly limit: RateLimit;

  constructor(limit: RateLimit, now = Date.now()) {
    this.limit = limit;
    this.ratePerMs = limit.requestsPerMinute / 60_000;
    this.tokens = limit.burst;
    this.last = now;
  }

  /** Takes a token; returns 0 when allowed, else the seconds until one is available. */
  take(now = Date.now()): number {
    this.tokens = Math.min(this.limit.burst, this.tokens + (now - this.last) * this.ratePerMs);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return (1 - this.tokens) / this.ratePerMs / 1000;
  }
}
