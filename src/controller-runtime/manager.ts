// Wires informers and controllers together: one informer per resource and selector, shared by the
// receiver and every controller; controllers run only after the caches synced and, with leader
// election, only while this replica leads. A selector naming several namespaces gets one shared
// informer per namespace, handed out merged as one MultiNamespaceInformer.
import type { KubeObject } from '../kube/client.ts';
import type { ResourceType } from '../kube/resources.ts';
import type { Controller } from './controller.ts';
import { Informer, type InformerClient, type InformerOptions } from './informer.ts';
import { MultiNamespaceInformer } from './multi-namespace-informer.ts';
import type { SharedInformer } from './shared-informer.ts';
import { LeaderElector, type LeaderElectionOptions, type LeaseClient } from './leader-election.ts';
import { describeError, silentLogger, type Logger } from '../observability/logger.ts';

export type ManagerClient = InformerClient & LeaseClient;

export interface InformerSelector {
  /** Watch one namespace; all when neither this nor `namespaces` is given. */
  namespace?: string;
  /**
   * Watch exactly these namespaces: one informer each, read as one cache. Empty means what
   * `namespace` says (all namespaces when it is omitted); one namespace is the same as `namespace`.
   */
  namespaces?: readonly string[];
  labelSelector?: string;
  fieldSelector?: string;
}

/** How a cache stores what it watches. */
export interface CacheOptions<T extends KubeObject> {
  /**
   * What the cache keeps of each object (see InformerOptions.transform). Part of the cache's
   * identity: callers asking with another transform, or none, get a cache of their own.
   */
  transform?: (obj: T) => T;
}

type AnyTransform = NonNullable<InformerOptions['transform']>;

export interface ManagerOptions {
  /** Omit to run controllers on this replica unconditionally (a single replica). */
  leaderElection?: Omit<LeaderElectionOptions, 'onStartedLeading' | 'onStoppedLeading' | 'logger'>;
  /** Timing options applied to every informer. */
  informerOptions?: Omit<InformerOptions, 'namespace' | 'labelSelector' | 'fieldSelector' | 'name' | 'logger' | 'transform'>;
  logger?: Logger;
}

/** What addController needs of the primary informer. */
export interface KeySource {
  keys(): string[];
}

interface Registration {
  controller: Controller;
  primary: KeySource | undefined;
}

export class Manager {
  readonly elector: LeaderElector | undefined;
  private readonly client: ManagerClient;
  private readonly informerOptions: ManagerOptions['informerOptions'];
  private readonly log: Logger;
  /** Every informer running a list/watch, members of multi-namespace caches included. */
  private readonly sharedInformers = new Map<string, Informer>();
  private readonly transformIds = new Map<AnyTransform, number>();
  private readonly multiNamespaceInformers = new Map<string, MultiNamespaceInformer>();
  /** The caches handed out by informer(), once each, in order: what metrics report on. */
  private readonly caches: SharedInformer[] = [];
  private readonly registrations: Registration[] = [];
  private started = false;
  private stopping = false;
  private controllersStopped: Promise<void> = Promise.resolve();

  constructor(client: ManagerClient, opts: ManagerOptions = {}) {
    this.client = client;
    this.informerOptions = opts.informerOptions;
    this.log = opts.logger ?? silentLogger;
    if (opts.leaderElection) {
      this.elector = new LeaderElector(client, {
        ...opts.leaderElection,
        logger: this.log,
        onStartedLeading: () => this.startControllers(),
        onStoppedLeading: () => {
          this.controllersStopped = this.stopControllers();
        },
      });
    }
  }

  /**
   * The cache for this resource and selector, created on first request and shared afterwards.
   * With several `namespaces` it is a MultiNamespaceInformer whose per-namespace members are shared
   * with anyone asking for one of those namespaces alone.
   */
  informer<T extends KubeObject>(resource: ResourceType, selector?: InformerSelector & { namespaces?: undefined }, cacheOptions?: CacheOptions<T>): Informer<T>;
  informer<T extends KubeObject>(resource: ResourceType, selector: InformerSelector, cacheOptions?: CacheOptions<T>): SharedInformer<T>;
  informer<T extends KubeObject>(resource: ResourceType, selector: InformerSelector = {}, cacheOptions: CacheOptions<T> = {}): SharedInformer<T> {
    const namespaces = [...new Set(selector.namespaces ?? [])];
    if (namespaces.length > 0 && selector.namespace !== undefined) {
      throw new Error(`informer of ${resource.plural}: give namespace or namespaces, not both`);
    }
    const { labelSelector, fieldSelector } = selector;
    // The caches are untyped inside; T only narrows what callers read, so the transform is too.
    const transform = cacheOptions.transform as AnyTransform | undefined;
    let cache: SharedInformer;
    if (namespaces.length <= 1) {
      cache = this.sharedInformer(resource, { namespace: namespaces[0] ?? selector.namespace, labelSelector, fieldSelector, transform });
    } else {
      const id = JSON.stringify([resource.group, resource.version, resource.plural, [...namespaces].sort(), labelSelector ?? '', fieldSelector ?? '', this.transformId(transform)]);
      let multi = this.multiNamespaceInformers.get(id);
      if (!multi) {
        // Named by the resource alone, like a single informer, so the metric label stays bounded.
        const name = this.uniqueName(resource.plural);
        const members = namespaces.map((namespace) => this.sharedInformer(resource, { namespace, labelSelector, fieldSelector, transform }, `${name}/${namespace}`));
        multi = new MultiNamespaceInformer(resource, members, { name });
        this.multiNamespaceInformers.set(id, multi);
      }
      cache = multi;
    }
    if (!this.caches.includes(cache)) this.caches.push(cache);
    // One cache serves every caller; T only narrows how they read its objects.
    return cache as unknown as SharedInformer<T>;
  }

  /**
   * Runs the controller while this replica leads. Each time it starts, every key cached by
   * `primary` is queued, so a new leader reconciles everything once.
   */
  addController(controller: Controller, primary?: KeySource): void {
    this.registrations.push({ controller, primary });
  }

  /**
   * The caches handed out, one entry per informer() result (a multi-namespace cache is one entry,
   * its stats summed over its namespaces).
   */
  get informers(): SharedInformer[] {
    return [...this.caches];
  }

  get controllers(): Controller[] {
    return this.registrations.map((r) => r.controller);
  }

  /** For /readyz: every informer has loaded its first list. */
  ready(): boolean {
    return [...this.sharedInformers.values()].every((i) => i.hasSynced());
  }

  isLeader(): boolean {
    return this.elector ? this.elector.isLeader() : this.started;
  }

  /** Starts the informers, waits until they synced, then campaigns for leadership or starts the controllers. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const informer of this.sharedInformers.values()) informer.start();
    try {
      await Promise.all([...this.sharedInformers.values()].map((i) => i.waitForSync()));
    } catch (e) {
      if (this.stopping) return;
      throw e;
    }
    if (this.stopping) return;
    if (this.elector) this.elector.start();
    else this.startControllers();
  }

  /** Stops the controllers (waiting for in-flight reconciles), releases the lease, stops the informers. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    // Controllers stop before the lease is released, so the next leader never overlaps with them.
    await this.stopControllers();
    await this.controllersStopped;
    if (this.elector) await this.elector.release();
    await Promise.all([...this.sharedInformers.values()].map((i) => i.stop()));
  }

  /** The one informer with this exact selector, created (and started, if the manager runs) on first request. */
  private sharedInformer(resource: ResourceType, selector: Omit<InformerSelector, 'namespaces'> & { transform: AnyTransform | undefined }, name?: string): Informer {
    const id = JSON.stringify([resource.group, resource.version, resource.plural, selector.namespace ?? '', selector.labelSelector ?? '', selector.fieldSelector ?? '', this.transformId(selector.transform)]);
    let informer = this.sharedInformers.get(id);
    if (!informer) {
      informer = new Informer(this.client, resource, { ...this.informerOptions, ...selector, name: name ?? this.uniqueName(resource.plural), logger: this.log });
      this.sharedInformers.set(id, informer);
      if (this.started) informer.start();
    }
    return informer;
  }

  /** Tells transforms apart in a cache's identity: 0 for none, then one number per function. */
  private transformId(transform: AnyTransform | undefined): number {
    if (!transform) return 0;
    let id = this.transformIds.get(transform);
    if (id === undefined) this.transformIds.set(transform, (id = this.transformIds.size + 1));
    return id;
  }

  /** Informer names label metrics, so a second informer of one resource gets a suffix. */
  private uniqueName(plural: string): string {
    const taken = new Set([...this.sharedInformers.values(), ...this.caches].map((i) => i.name));
    let name = plural;
    for (let n = 2; taken.has(name); n++) name = `${plural}-${n}`;
    return name;
  }

  private startControllers(): void {
    if (this.stopping) return;
    for (const { controller, primary } of this.registrations) {
      controller.start();
      for (const key of primary?.keys() ?? []) controller.enqueue(key);
    }
  }

  private async stopControllers(): Promise<void> {
    await Promise.all(
      this.registrations.map((r) =>
        r.controller.stop().catch((e: unknown) => {
          this.log.error({ controller: r.controller.name, ...describeError(e) }, 'stopping controller failed');
        }),
      ),
    );
  }
}
