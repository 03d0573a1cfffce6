// A supervised informer for any kind, over client-node's ListWatch.
//
// client-node's ListWatch lists, then watches; it relists on 410 Gone and reconnects after timeouts and clean
// closes, but on any other error (a 5xx, a refused connection, a 403 while RBAC catches up, a CRD not yet
// established) it calls its error handlers and stops for good. This wrapper restarts it with capped exponential
// backoff, strips what Suture never reads (managedFields, kubectl's last-applied annotation) before anything is
// cached, reports sync, and answers "has the cache seen resourceVersion X yet?" for freshness checks.
import { ListWatch, Watch } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { KubeObject } from '../api/types.js';
import type { KubeList } from '../kube/client.js';
import { RawObjectApi, objectKey, resourcePath } from '../kube/client.js';
import { toKubeError } from '../kube/errors.js';
import { METADATA_LIST_ACCEPT, metadataWatch } from '../kube/metadata.js';
import { compareResourceVersions } from '../kube/resource-version.js';
import { LogKeys } from '../observability/keys.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Clock } from '../runtime/clock.js';
import { sleep, systemClock } from '../runtime/clock.js';
import { backoffDelay } from '../runtime/backoff.js';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

export interface InformerTarget {
  apiVersion: string;
  kind: string;
  /** Plural resource name, e.g. deployments. */
  resource: string;
  /** Watch one namespace only; undefined = all namespaces (or a cluster-scoped kind). */
  namespace?: string;
  labelSelector?: string;
  /**
   * Metadata only (PartialObjectMetadata list and watch, kube/metadata.ts): uid, owners, labels, finalizers,
   * deletionTimestamp of every object, without spec or status. Objects then carry the target's apiVersion and kind.
   */
  metadataOnly?: boolean;
}

export type InformerEventType = 'add' | 'update' | 'delete';

export interface InformerEvent<T extends KubeObject = KubeObject> {
  type: InformerEventType;
  /** "namespace/name", or "name" for cluster-scoped objects. */
  key: string;
  object: T;
}

export type InformerHandler<T extends KubeObject = KubeObject> = (event: InformerEvent<T>) => void;

export interface InformerDeps {
  kubeConfig: KubeConfig;
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
  /** Waits between restarts (and ListWatch's reconnect delays). Default: sleep on `clock`. */
  delay?: (ms: number) => Promise<void>;
  /** The watch implementation; tests wrap it to break connections. Default new Watch(kubeConfig). */
  watch?: Watch;
}

export interface InformerOptions {
  /** First restart delay after an error. Default 1 s. */
  restartBaseMs?: number;
  /** Cap of the restart delay. Default 60 s. */
  restartMaxMs?: number;
  /**
   * Replaces each listed or watched object before anything stores it (after stripping): e.g. a lean projection of
   * metadata-only objects. Must keep metadata.name, namespace and resourceVersion.
   */
  transform?: (object: KubeObject) => KubeObject;
  /** Items per page of the initial list (and of relists). Default 500. */
  pageSize?: number;
}

export interface Informer<T extends KubeObject = KubeObject> {
  readonly target: InformerTarget;
  /** Starts listing and watching; resolves after the first attempt (see waitForSync). */
  start(): Promise<void>;
  /** Stops watching and restarting; the cache keeps its last state. */
  stop(): Promise<void>;
  /** True once the first list has been stored (and stays true until stop). */
  hasSynced(): boolean;
  /** Resolves true once synced, false when `timeoutMs` passes first or the informer stops. */
  waitForSync(timeoutMs: number): Promise<boolean>;
  /** Adds a handler; returns its removal. Handlers run synchronously and must not throw (errors are logged). */
  onEvent(handler: InformerHandler<T>): () => void;
  get(key: string): T | undefined;
  list(namespace?: string): readonly T[];
  /** The resourceVersion of the last list or watch event processed ("" before the first list). */
  lastSyncResourceVersion(): string;
}

/** Drops managedFields and kubectl's last-applied annotation, in place; returns the object. */
export function stripObject<T extends { metadata?: unknown }>(object: T): T {
  const metadata = object.metadata as { managedFields?: unknown; annotations?: Record<string, string> } | undefined;
  if (metadata === undefined || metadata === null) return object;
  delete metadata.managedFields;
  const annotations = metadata.annotations;
  if (annotations !== undefined && LAST_APPLIED_ANNOTATION in annotations) {
    delete annotations[LAST_APPLIED_ANNOTATION];
    if (Object.keys(annotations).length === 0) delete metadata.annotations;
  }
  return object;
}

type WatchCallback = (phase: string, object: unknown, raw?: unknown) => void;

/**
 * Passes every watch event through `observe` after ListWatch handled it, strips objects first, and asks for
 * bookmarks (which advance the cache's resourceVersion for quiet kinds).
 */
class ObservedWatch extends Watch {
  constructor(
    kc: KubeConfig,
    private readonly inner: Watch,
    private readonly observe: (phase: string, object: unknown) => void,
    private readonly transform: (object: KubeObject) => KubeObject,
  ) {
    super(kc);
  }

  override watch(path: string, query: Record<string, string | number | boolean | undefined>, callback: WatchCallback, done: (err: unknown) => void): Promise<AbortController> {
    const wrapped: WatchCallback = (phase, object, raw) => {
      const isObject = typeof object === 'object' && object !== null && phase !== 'ERROR';
      const stripped = isObject ? this.transform(stripObject(object as KubeObject)) : object;
      callback(phase, stripped, raw);
      this.observe(phase, stripped);
    };
    return this.inner.watch(path, { ...query, allowWatchBookmarks: true }, wrapped, done);
  }
}

const resourceVersionOf = (object: unknown): string | undefined =>
  (object as { metadata?: { resourceVersion?: string } } | null | undefined)?.metadata?.resourceVersion;

/** The later of two resourceVersions when comparable, else the newer one reported. */
function laterVersion(current: string, next: string | undefined): string {
  if (next === undefined || next === '') return current;
  const order = compareResourceVersions(current, next);
  return order === undefined || order < 0 ? next : current;
}

class SupervisedInformer<T extends KubeObject> implements Informer<T> {
  private readonly lw: ListWatch<KubernetesObject>;
  private readonly api: RawObjectApi;
  private readonly clock: Clock;
  private readonly delay: (ms: number) => Promise<void>;
  private readonly logger: Logger;
  private readonly handlers = new Set<InformerHandler<T>>();
  private readonly observers = new Set<() => void>();
  private synced = false;
  private stopped = true;
  private failures = 0;
  private restartPending = false;
  private seen = '';
  private readonly transform: (object: KubeObject) => KubeObject;

  constructor(
    readonly target: InformerTarget,
    private readonly deps: InformerDeps,
    private readonly options: InformerOptions,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.delay = deps.delay ?? ((ms): Promise<void> => sleep(this.clock, ms));
    this.logger = deps.logger.child({ [LogKeys.component]: 'informer', [LogKeys.kind]: target.kind, [LogKeys.apiVersion]: target.apiVersion });
    this.api = RawObjectApi.fromKubeConfig(deps.kubeConfig);
    const inner = deps.watch ?? (target.metadataOnly === true ? metadataWatch(deps.kubeConfig) : new Watch(deps.kubeConfig));
    this.transform = options.transform ?? ((object): KubeObject => object);
    const watch = new ObservedWatch(deps.kubeConfig, inner, (phase, object) => this.onWatchEvent(phase, object), this.transform);
    const path = resourcePath({ apiVersion: target.apiVersion, resource: target.resource, ...(target.namespace === undefined ? {} : { namespace: target.namespace }) });
    this.lw = new ListWatch(path, watch, () => this.listFn(path), false, target.labelSelector, undefined, { delayFn: this.delay });
    this.lw.on('add', (object) => this.emit('add', object));
    this.lw.on('update', (object) => this.emit('update', object));
    this.lw.on('delete', (object) => this.emit('delete', object));
    this.lw.on('error', (error: unknown) => this.onError(error));
  }

  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.logger.debug('Started informer');
    await this.runListWatch();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.synced = false;
    this.deps.metrics?.informerSynced.set({ kind: this.target.kind }, 0);
    await this.lw.stop();
    this.notify();
    this.logger.debug('Stopped informer');
  }

  hasSynced(): boolean {
    return this.synced;
  }

  async waitForSync(timeoutMs: number): Promise<boolean> {
    const deadline = this.clock.now() + timeoutMs;
    while (!this.synced && !this.stopped && this.clock.now() < deadline) await this.nextObservation(deadline);
    return this.synced;
  }

  onEvent(handler: InformerHandler<T>): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  get(key: string): T | undefined {
    const slash = key.indexOf('/');
    const found = slash < 0 ? this.lw.get(key) : this.lw.get(key.slice(slash + 1), key.slice(0, slash));
    return found as T | undefined;
  }

  list(namespace?: string): readonly T[] {
    return this.lw.list(namespace) as unknown as readonly T[];
  }

  lastSyncResourceVersion(): string {
    return laterVersion(this.lw.latestResourceVersion(), this.seen);
  }

  // ---------------------------------------------------------------------------------------------- internals

  /** Lists in pages (a consistent snapshot: later pages are served at the first page's resourceVersion). */
  private async listPages(path: string): Promise<KubeList> {
    const accept = this.target.metadataOnly === true ? METADATA_LIST_ACCEPT : undefined;
    const items: KubeObject[] = [];
    let page: KubeList | undefined;
    let first: KubeList | undefined;
    do {
      const query = { labelSelector: this.target.labelSelector, limit: this.options.pageSize ?? 500, continue: page?.metadata.continue };
      page = await this.api.request<KubeList>({ method: 'GET', path, query, ...(accept === undefined ? {} : { accept }) });
      first ??= page;
      // Items of a list carry no apiVersion or kind (metadata-only items say PartialObjectMetadata): set the target's.
      for (const item of page.items ?? []) {
        item.apiVersion = this.target.apiVersion;
        item.kind = this.target.kind;
        items.push(this.transform(stripObject(item)));
      }
    } while (page.metadata.continue !== undefined && page.metadata.continue !== '');
    return { ...first, items };
  }

  private async listFn(path: string): Promise<KubernetesListObject<KubernetesObject>> {
    const list = await this.listPages(path);
    // ListWatch stores the items synchronously once this promise resolves; mark the sync after that.
    setImmediate(() => this.onListed(list.metadata.resourceVersion));
    return list as unknown as KubernetesListObject<KubernetesObject>;
  }

  private onListed(resourceVersion: string | undefined): void {
    if (this.stopped) return;
    this.seen = laterVersion(this.seen, resourceVersion);
    this.failures = 0;
    if (!this.synced) {
      this.synced = true;
      this.deps.metrics?.informerSynced.set({ kind: this.target.kind }, 1);
      this.logger.info('Synced informer cache', { [LogKeys.count]: this.lw.list().length, [LogKeys.resourceVersion]: resourceVersion });
    }
    this.notify();
  }

  private onWatchEvent(phase: string, object: unknown): void {
    if (phase === 'ERROR') return;
    this.failures = 0;
    this.seen = laterVersion(this.seen, resourceVersionOf(object));
    this.notify();
  }

  private emit(type: InformerEventType, object: KubernetesObject): void {
    const event: InformerEvent<T> = { type, key: objectKey(object.metadata ?? {}), object: object as unknown as T };
    for (const handler of this.handlers) {
      try {
        handler(event);
      } catch (error) {
        this.logger.error('Informer handler failed', { [LogKeys.key]: event.key, error });
      }
    }
  }

  private onError(error: unknown): void {
    if (this.stopped || this.restartPending) return;
    const delayMs = backoffDelay(this.failures, this.options.restartBaseMs ?? 1000, this.options.restartMaxMs ?? 60_000);
    this.failures += 1;
    this.restartPending = true;
    this.deps.metrics?.informerRestarts.inc({ kind: this.target.kind });
    const cause = toKubeError(error, `list/watch ${this.target.resource}`);
    this.logger.warn('Informer stopped on an error; restarting', { [LogKeys.error]: cause, [LogKeys.delayMs]: delayMs, [LogKeys.attempt]: this.failures });
    void this.restartAfter(delayMs);
  }

  private async restartAfter(delayMs: number): Promise<void> {
    await this.delay(delayMs);
    this.restartPending = false;
    if (!this.stopped) await this.runListWatch();
  }

  private async runListWatch(): Promise<void> {
    try {
      await this.lw.start();
    } catch (error) {
      this.onError(error);
    }
  }

  /** Resolves at the next list or watch event, on stop, or at `until` (epoch ms), whichever comes first. */
  private nextObservation(until: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.observers.delete(wake);
        this.clock.clearTimeout(handle);
        resolve();
      };
      const handle = this.clock.setTimeout(wake, Math.max(0, until - this.clock.now()));
      this.observers.add(wake);
    });
  }

  private notify(): void {
    const observers = [...this.observers];
    this.observers.clear();
    for (const observer of observers) observer();
  }
}

export function createInformer<T extends KubeObject = KubeObject>(target: InformerTarget, deps: InformerDeps, options: InformerOptions = {}): Informer<T> {
  return new SupervisedInformer<T>(target, deps, options);
}
