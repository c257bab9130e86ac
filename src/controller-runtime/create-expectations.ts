// Objects a controller created that its cache does not show yet. Each kind has its own watch, so
// the trigger our status write updated can wake the next reconcile before the Secret we created
// reached the Secret cache: deciding from that cache would create the Secret again and earn
// AlreadyExists (and a retry with backoff). Like kube-controller-manager's expectations, a pending
// create is given up after a while, so a watch event that never comes cannot stall a key.
import { CacheBehindError } from './status-writer.ts';

export class CreateExpectations {
  /** key → when to stop waiting for the cache to show it (performance.now() milliseconds). */
  private readonly pending = new Map<string, number>();

  private readonly ttlMs: number;
  private readonly clock: () => number;

  constructor(ttlMs = 30_000, clock: () => number = () => performance.now()) {
    this.ttlMs = ttlMs;
    this.clock = clock;
  }

  /** Records that this controller just created the object `key`. */
  created(key: string): void {
    this.pending.set(key, this.clock() + this.ttlMs);
  }

  /** Throws CacheBehindError while `key` is one we created and the cache does not show it yet. */
  expectSeen(key: string, inCache: boolean): void {
    const until = this.pending.get(key);
    if (until === undefined) return;
    if (inCache || this.clock() > until) {
      this.pending.delete(key);
      return;
    }
    throw new CacheBehindError(key);
  }
}
