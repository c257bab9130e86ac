// The one way every controller writes an object's status:
// - only the fields the controller owns, and only when one of them differs (no write, no event);
// - as a merge patch to /status over the resourceVersion the status was derived from, so a replica
//   that decided from a stale cache (or lost the lease while paused) cannot overwrite newer state:
//   the API server answers 409 Conflict, and the Controller requeues the key with backoff;
// - with status.observedGeneration set to the generation the status was derived from;
// - never from a copy older than its own last write: our Secret write can wake the next reconcile
//   before the watch delivered our status write, and a write from that copy would only earn a
//   Conflict (at 200 new triggers, 150 wasted requests). The writer remembers which version each
//   of its writes replaced and, while the cache still shows that version, throws CacheBehindError:
//   the Controller requeues quietly, without asking the API server, and wakeWhenCaughtUp() wakes
//   the key the moment the cache shows the write: controllers that ignore their own status writes
//   would otherwise wait for the retry's backoff, which other events for the key keep doubling.
import type { ObjectMeta } from '../api/types.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import type { ResourceType } from '../kube/resources.ts';

interface WithStatus<S> {
  metadata: ObjectMeta;
  status?: S;
}

export interface StatusWriterOptions<S> {
  client: KubeClient;
  resource: ResourceType;
  /** The status fields this controller owns; any other field is left as it is. */
  fields: readonly (keyof S & string)[];
}

/** The cache does not show this controller's last write yet: decide again once it does. */
export class CacheBehindError extends Error {
  constructor(key: string) {
    super(`the cache does not show our last write to ${key} yet`);
    this.name = 'CacheBehindError';
  }
}

export class StatusWriter<S extends { observedGeneration?: number }> {
  private readonly opts: StatusWriterOptions<S>;
  /** uid → the resourceVersion our last write replaced, until the cache shows a newer one. */
  private readonly replaced = new Map<string, string>();
  /** uids whose reconcile was deferred with CacheBehindError, until the cache shows our write. */
  private readonly deferred = new Set<string>();

  constructor(opts: StatusWriterOptions<S>) {
    this.opts = opts;
  }

  /**
   * Writes the owned fields of `desired` over `obj`'s status. Returns the object as written, or
   * undefined when nothing differed. Throws the API server's Conflict when obj is not current.
   */
  async write<T extends WithStatus<S>>(obj: T, desired: Omit<S, 'observedGeneration'>): Promise<T | undefined> {
    const uid = uidOf(obj);
    const rv = obj.metadata.resourceVersion;
    const behind = this.replaced.get(uid);
    if (behind !== undefined) {
      if (behind === rv) {
        this.deferred.add(uid);
        throw new CacheBehindError(`${obj.metadata.namespace}/${obj.metadata.name}`);
      }
      this.replaced.delete(uid); // the cache moved on: it shows our write, or something newer
    }
    const generation = obj.metadata.generation;
    const wanted = { ...desired, ...(generation !== undefined ? { observedGeneration: generation } : {}) } as S;
    const patch = statusPatch(obj.status, wanted, this.opts.fields);
    if (!patch) return undefined;
    const written = await this.opts.client.patchStatus<KubeObject>(this.opts.resource, obj.metadata.namespace, obj.metadata.name!, patch, { resourceVersion: rv });
    // A patch the server found to change nothing keeps the version: nothing newer will arrive.
    if (rv !== undefined && written.metadata?.resourceVersion !== rv) this.replaced.set(uid, rv);
    return written as unknown as T;
  }

  /** Forgets a deleted object. */
  forget(obj: ObjectIdentity): void {
    const uid = uidOf(obj);
    this.replaced.delete(uid);
    this.deferred.delete(uid);
  }

  /**
   * Calls `wake` with each object whose reconcile was deferred with CacheBehindError, as soon as
   * the informer shows a version other than the one our last write replaced.
   */
  wakeWhenCaughtUp<T extends ObjectIdentity>(informer: { onUpdate(handler: (before: T, after: T) => void): unknown }, wake: (obj: T) => void): void {
    informer.onUpdate((_, after) => {
      const uid = uidOf(after);
      if (!this.deferred.has(uid) || this.replaced.get(uid) === after.metadata?.resourceVersion) return;
      this.deferred.delete(uid);
      wake(after);
    });
  }
}

interface ObjectIdentity {
  metadata?: { uid?: string; namespace?: string; name?: string; resourceVersion?: string };
}

const uidOf = (obj: ObjectIdentity): string => obj.metadata?.uid ?? `${obj.metadata?.namespace}/${obj.metadata?.name}`;

/** A merge patch that turns the current owned fields into the desired ones (null removes a field). */
export function statusPatch<S>(current: S | undefined, desired: S, fields: readonly (keyof S & string)[]): Record<string, unknown> | undefined {
  const patch: Record<string, unknown> = {};
  for (const key of fields) {
    const want = desired[key];
    const have = current?.[key];
    if (!sameJson(want ?? null, have ?? null)) patch[key] = want ?? null;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/**
 * Deep equality of JSON values that ignores the order of object keys: the API server returns a
 * custom resource's fields sorted by name, so comparing JSON.stringify output would see a change
 * on every reconcile and write the status again each time.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  // Absent and undefined are the same in JSON.
  const left = Object.entries(a).filter(([, v]) => v !== undefined);
  const right = new Map(Object.entries(b).filter(([, v]) => v !== undefined));
  return left.length === right.size && left.every(([k, v]) => right.has(k) && sameJson(v, right.get(k)));
}
