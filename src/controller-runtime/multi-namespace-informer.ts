// One cache over several namespaces (`--namespaces a,b,c`): one Informer per namespace, each with
// its own list/watch, read as a single cache. Kubernetes has no "these namespaces" selector, and a
// cluster-wide watch would need cluster-wide RBAC and would see objects outside the set; so the
// members are independent, and only their reads, indexes and handlers are merged.
import type { KubeObject } from '../kube/client.ts';
import type { ResourceType } from '../kube/resources.ts';
import type { Informer } from './informer.ts';
import { splitKey } from './keys.ts';
import type { IndexFunc, InformerStats, SharedInformer } from './shared-informer.ts';

export class MultiNamespaceInformer<T extends KubeObject = KubeObject> implements SharedInformer<T> {
  readonly resource: ResourceType;
  readonly name: string;
  /** namespace → the informer watching it. */
  private readonly members: ReadonlyMap<string, Informer<T>>;

  /**
   * Merges informers that each watch one distinct namespace. They may be shared with other callers
   * (the Manager hands out the same per-namespace informer to everyone who asks for it).
   */
  constructor(resource: ResourceType, members: readonly Informer<T>[], opts: { name?: string } = {}) {
    if (members.length === 0) throw new Error(`a multi-namespace informer of ${resource.plural} needs at least one namespace`);
    const byNamespace = new Map<string, Informer<T>>();
    for (const member of members) {
      const ns = member.namespace;
      if (!ns) throw new Error(`informer ${member.name} watches every namespace; a multi-namespace informer needs one informer per namespace`);
      if (member.resource !== resource) throw new Error(`informer ${member.name} caches ${member.resource.plural}, not ${resource.plural}`);
      if (byNamespace.has(ns)) throw new Error(`two informers of ${resource.plural} watch namespace ${ns}`);
      byNamespace.set(ns, member);
    }
    this.resource = resource;
    this.name = opts.name ?? resource.plural;
    this.members = byNamespace;
  }

  /** The watched namespaces, in the order given. */
  get namespaces(): string[] {
    return [...this.members.keys()];
  }

  /** The per-namespace informers, for per-namespace detail (logs, debugging). */
  get informers(): Informer<T>[] {
    return [...this.members.values()];
  }

  /** Summed over the members; each counter only grows, so the sum does too. */
  get stats(): InformerStats {
    const sum: InformerStats = { lists: 0, connects: 0, restarts: 0, errors: 0, expired: 0, handlerErrors: 0 };
    for (const m of this.members.values()) {
      for (const k of Object.keys(sum) as (keyof InformerStats)[]) sum[k] += m.stats[k];
    }
    return sum;
  }

  // ---------------------------------------------------------------- handlers and indexes

  onAdd(handler: (obj: T) => void): () => void {
    return this.onEveryMember((m) => m.onAdd(handler));
  }

  onUpdate(handler: (oldObj: T, newObj: T) => void): () => void {
    return this.onEveryMember((m) => m.onUpdate(handler));
  }

  onDelete(handler: (obj: T) => void): () => void {
    return this.onEveryMember((m) => m.onDelete(handler));
  }

  /** Registers the index on every member; throws, adding it nowhere, if any member already has one by that name. */
  addIndex(name: string, fn: IndexFunc<T>): void {
    for (const m of this.members.values()) {
      if (m.hasIndex(name)) throw new Error(`informer ${this.name} already has an index named ${name} (in namespace ${m.namespace})`);
    }
    for (const m of this.members.values()) m.addIndex(name, fn);
  }

  /** True when every member has the index. */
  hasIndex(name: string): boolean {
    for (const m of this.members.values()) if (!m.hasIndex(name)) return false;
    return true;
  }

  // ---------------------------------------------------------------- cache reads

  /** Routed by the key's namespace; objects of other namespaces (and cluster-scoped keys) are never found. */
  get(key: string): T | undefined {
    const { namespace } = splitKey(key);
    if (namespace === undefined) return undefined;
    return this.members.get(namespace)?.get(key);
  }

  list(): T[] {
    return this.informers.flatMap((m) => m.list());
  }

  keys(): string[] {
    return this.informers.flatMap((m) => m.keys());
  }

  get size(): number {
    let n = 0;
    for (const m of this.members.values()) n += m.size;
    return n;
  }

  /** Asks every member: an index function may map an object to a value naming another namespace. */
  byIndex(indexName: string, value: string): T[] {
    if (!this.hasIndex(indexName)) throw new Error(`informer ${this.name} has no index named ${indexName}`);
    return this.informers.flatMap((m) => m.byIndex(indexName, value));
  }

  // ---------------------------------------------------------------- lifecycle

  /** True once every member has loaded its first list. */
  hasSynced(): boolean {
    for (const m of this.members.values()) if (!m.hasSynced()) return false;
    return true;
  }

  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all(this.informers.map((m) => m.waitForSync(signal)));
  }

  /** True while every member runs. */
  get running(): boolean {
    for (const m of this.members.values()) if (!m.running) return false;
    return true;
  }

  /** Starts every member (the Manager starts shared members itself; starting twice is harmless). */
  start(): void {
    for (const m of this.members.values()) m.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((m) => m.stop()));
  }

  private onEveryMember(subscribe: (m: Informer<T>) => () => void): () => void {
    const unsubscribes = this.informers.map(subscribe);
    return () => {
      for (const unsubscribe of unsubscribes) unsubscribe();
    };
  }
}
