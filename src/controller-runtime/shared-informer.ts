// What the controllers, the receiver and the metrics use of an informer: a read-only cache with
// indexes, event handlers and sync state. An Informer (one list/watch, one namespace or all) and a
// MultiNamespaceInformer (one Informer per namespace, read as one cache) both provide it, so callers
// never need to know how many namespaces are watched.
import type { KubeObject } from '../kube/client.ts';
import type { ResourceType } from '../kube/resources.ts';

/** The values an object is indexed under. */
export type IndexFunc<T> = (obj: T) => string[];

export interface InformerStats {
  /** Full lists that completed. */
  lists: number;
  /** Watch requests opened. */
  connects: number;
  /** Watches reopened after an error, a 410 or silence. */
  restarts: number;
  /** Failed lists and watches. */
  errors: number;
  /** 410 Gone answers that forced a relist. */
  expired: number;
  /** Exceptions thrown by event handlers or index functions (and swallowed). */
  handlerErrors: number;
}

export interface SharedInformer<T extends KubeObject = KubeObject> {
  readonly resource: ResourceType;
  /** Names the cache in logs and labels its metrics. */
  readonly name: string;
  /** Counters of the list/watch loop(s) behind this cache; summed over the members of a multi-namespace cache. */
  readonly stats: InformerStats;

  /** Handlers run synchronously after the cache changed; they should only enqueue keys. Returns an unsubscribe. */
  onAdd(handler: (obj: T) => void): () => void;
  onUpdate(handler: (oldObj: T, newObj: T) => void): () => void;
  onDelete(handler: (obj: T) => void): () => void;

  /** Registers an index; objects already cached are indexed at once. Throws if the name is taken. */
  addIndex(name: string, fn: IndexFunc<T>): void;
  hasIndex(name: string): boolean;

  /** The cached object under `namespace/name` (or `name` for cluster-scoped objects). */
  get(key: string): T | undefined;
  list(): T[];
  keys(): string[];
  readonly size: number;
  /** Cached objects whose index function returned `value`; throws for an unknown index. */
  byIndex(indexName: string, value: string): T[];

  /** True once the first full list has been loaded into the cache. */
  hasSynced(): boolean;
  /** Resolves once synced; rejects if the cache is stopped first or `signal` aborts. */
  waitForSync(signal?: AbortSignal): Promise<void>;

  readonly running: boolean;
  start(): void;
  stop(): Promise<void>;
}
