// The cluster state every replica decides on, shared by admission and the reconcilers: a metadata graph of every
// listable kind (PartialObjectMetadata list/watch, like the garbage collector's graph builder: uid, owners, labels,
// finalizers, deletion timestamp) and full objects only for the kinds that policies' `match`, leases and CEL
// lookups need. Both feed one LiveSnapshot; a kind with a full informer has no metadata informer. Discovery is
// refreshed when a CustomResourceDefinition changes (rate-limited), never on policy or lease events.
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject, LeaseResource, ObjectSelector } from '../api/types.js';
import type { Clock } from '../runtime/clock.js';
import { createInformer, type Informer } from './informer.js';
import { LiveSnapshot } from '../core/live-snapshot.js';
import { groupOf } from '../core/snapshot.js';
import type { Snapshot } from '../core/types.js';
import type { DiscoveredKind, Discovery } from '../kube/discovery.js';
import { LogKeys } from '../observability/keys.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { projectMetadata } from './project.js';

/** `group/Kind`, or `group/*` for every kind of a group, or `*` for every kind. */
export type KindPattern = string;

/** How a kind is cached: whole objects, or the metadata graph only. */
export const Coverages = { Full: 'full', Metadata: 'metadata' } as const;
export type Coverage = (typeof Coverages)[keyof typeof Coverages];

/** Kinds never cached: they change constantly and no cascade or policy can sensibly depend on them. */
const NEVER_CACHED = new Set(['/Event', 'events.k8s.io/Event', 'coordination.k8s.io/Lease', 'authorization.k8s.io/SubjectAccessReview']);

const CRD_KEY = 'apiextensions.k8s.io/CustomResourceDefinition';

export interface ClusterCacheDeps {
  kubeConfig: KubeConfig;
  discovery: Discovery;
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
}

export interface ClusterCacheOptions {
  /** Least time between two discovery refreshes caused by CRD changes (the last change is always followed). Default 2 s. */
  discoveryIntervalMs?: number;
}

/** The kind patterns a set of selectors needs: each (group, kind) pair, with empty lists meaning "any". */
export function kindPatterns(selectors: readonly (ObjectSelector | LeaseResource)[]): Set<KindPattern> {
  const out = new Set<KindPattern>();
  for (const sel of selectors) {
    const groups = sel.apiGroups !== undefined && sel.apiGroups.length > 0 && !sel.apiGroups.includes('*') ? sel.apiGroups : ['*'];
    const kinds = sel.kinds !== undefined && sel.kinds.length > 0 && !sel.kinds.includes('*') ? sel.kinds : ['*'];
    for (const g of groups) for (const k of kinds) out.add(g === '*' && k === '*' ? '*' : `${g}/${k}`);
  }
  return out;
}

/** Kinds another kind removes without an ownerReference: [removed, remover]. */
const REMOVERS: readonly [string, KindPattern][] = [['/PersistentVolumeClaim', 'apps/StatefulSet']];

/** Whether a pattern covers the `group/Kind` given. */
function patternCovers(pattern: KindPattern, groupKind: string): boolean {
  const slash = groupKind.lastIndexOf('/');
  return matchesPattern(pattern, { group: groupKind.slice(0, slash), kind: groupKind.slice(slash + 1) });
}

function matchesPattern(pattern: KindPattern, kind: { group: string; kind: string }): boolean {
  if (pattern === '*') return true;
  const slash = pattern.lastIndexOf('/');
  const group = pattern.slice(0, slash);
  const name = pattern.slice(slash + 1);
  if (group !== '*' && group !== kind.group) return false;
  return name === '*' || name === kind.kind;
}

function listable(kind: DiscoveredKind): boolean {
  return kind.preferred && kind.verbs.includes('list') && kind.verbs.includes('watch') && !kind.resource.includes('/') && !NEVER_CACHED.has(`${kind.group}/${kind.kind}`);
}

/** Secrets are cached without their data: no decision reads a secret's contents. */
function stripSecret(obj: KubeObject): KubeObject {
  if (obj.kind !== 'Secret' || groupOf(obj.apiVersion) !== '') return obj;
  const { data: _data, stringData: _stringData, ...rest } = obj;
  return rest;
}

interface Cached {
  informer: Informer;
  coverage: Coverage;
}

export class ClusterCache {
  readonly snapshot = new LiveSnapshot();
  private readonly informers = new Map<string, Cached>();
  private wanted = new Set<KindPattern>(['/Namespace']);
  private syncing: Promise<void> = Promise.resolve();
  private discoveryStale = true;
  private discoveryTimer: NodeJS.Timeout | undefined;
  private lastDiscovery = Number.NEGATIVE_INFINITY;
  private stopped = false;
  /** Whether the informers were started once. */
  private applied = false;
  /** Kinds whose objects some informer has listed (in either form). */
  private readonly listedOnce = new Set<string>();

  constructor(
    private readonly deps: ClusterCacheDeps,
    private readonly options: ClusterCacheOptions = {},
  ) {}

  /**
   * Caches in full exactly the kinds these patterns name, plus Namespaces and the kinds that remove a wanted kind
   * without owning it (StatefulSets delete their PVCs under a retention policy); every other listable kind by its
   * metadata. Resolves once the informers this needs were started (not synced: see synced()).
   */
  want(patterns: Iterable<KindPattern>): Promise<void> {
    const wanted = new Set(['/Namespace', ...patterns]);
    for (const [removed, remover] of REMOVERS) if ([...wanted].some((p) => patternCovers(p, removed))) wanted.add(remover);
    const same = wanted.size === this.wanted.size && [...wanted].every((p) => this.wanted.has(p));
    this.wanted = wanted;
    // A policy naming a kind discovery has not seen (its CRD just created): refresh discovery now.
    const known = new Set(this.deps.discovery.all().map((k) => `${k.group}/${k.kind}`));
    const unknown = [...wanted].some((p) => !p.includes('*') && !known.has(p));
    if (unknown && Date.now() - this.lastDiscovery >= (this.options.discoveryIntervalMs ?? 2000)) this.discoveryStale = true;
    return same && !this.discoveryStale ? this.syncing : this.reconcile();
  }

  /** True when every informer has listed once. */
  synced(): boolean {
    return [...this.informers.values()].every((c) => c.informer.hasSynced());
  }

  /**
   * Kinds not served yet, for /readyz: before the first discovery, and kinds whose informer has not listed yet — except
   * a kind moving between metadata and full objects, whose earlier objects keep being served meanwhile (otherwise a
   * policy naming every kind would make the replica unready, and its webhook configuration unpublished, while all
   * kinds relist).
   */
  unsynced(): string[] {
    if (!this.applied) return ['discovery'];
    return [...this.informers.entries()].filter(([k, c]) => !c.informer.hasSynced() && !this.listedOnce.has(k)).map(([k]) => k);
  }

  /** Kinds cached now, as `group/Kind`, with how. */
  cachedKinds(): Map<string, Coverage> {
    return new Map([...this.informers.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, c]) => [k, c.coverage]));
  }

  /** How a kind is cached now; undefined when it is not (not listable, never cached, or not discovered yet). */
  coverage(group: string, kind: string): Coverage | undefined {
    const cached = this.informers.get(`${group}/${kind}`);
    return cached?.informer.hasSynced() === true ? cached.coverage : undefined;
  }

  /** The snapshot as the Snapshot interface (read-only to callers). */
  view(): Snapshot {
    return this.snapshot;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.discoveryTimer);
    await this.syncing;
    await Promise.all([...this.informers.values()].map((c) => c.informer.stop()));
    this.informers.clear();
  }

  /** Starts the informers wanted and not running, stops those no longer wanted. Serialised. */
  private reconcile(): Promise<void> {
    this.syncing = this.syncing.then(() => this.apply()).catch((error: unknown) => this.deps.logger.error('Failed to update the caches', { [LogKeys.error]: error }));
    return this.syncing;
  }

  private async apply(): Promise<void> {
    if (this.stopped) return;
    if (this.discoveryStale) {
      this.discoveryStale = false;
      this.lastDiscovery = Date.now();
      await this.deps.discovery.refresh();
    }
    const all = this.deps.discovery.all().filter(listable);
    this.snapshot.addKinds(all);
    const desired = new Map(all.map((k) => [`${k.group}/${k.kind}`, { kind: k, coverage: [...this.wanted].some((p) => matchesPattern(p, k)) ? Coverages.Full : Coverages.Metadata }]));
    for (const [key, cached] of this.informers) {
      const want = desired.get(key);
      if (want !== undefined && want.coverage === cached.coverage) continue;
      await cached.informer.stop();
      this.informers.delete(key);
      if (want === undefined) {
        this.listedOnce.delete(key);
        this.snapshot.removeKind(groupOf(cached.informer.target.apiVersion), cached.informer.target.kind);
        this.deps.logger.info('Stopped informer cache', { [LogKeys.kind]: key });
      }
    }
    // Started together: each start lists its kind first, and readiness waits for all of them.
    await Promise.all([...desired].filter(([key]) => !this.informers.has(key)).map(([key, want]) => this.startInformer(key, want.kind, want.coverage)));
    this.applied = true;
  }

  private async startInformer(key: string, kind: DiscoveredKind, coverage: Coverage): Promise<void> {
    const apiVersion = kind.group === '' ? kind.version : `${kind.group}/${kind.version}`;
    const metadataOnly = coverage === Coverages.Metadata;
    const transform = metadataOnly ? (o: KubeObject): KubeObject => projectMetadata(o, apiVersion, kind.kind) : stripSecret;
    const informer = createInformer({ apiVersion, kind: kind.kind, resource: kind.resource, metadataOnly }, this.deps, { transform });
    informer.onEvent((event) => {
      if (event.type === 'delete') this.snapshot.remove(event.object);
      else this.snapshot.upsert(event.object);
      if (key === CRD_KEY) this.discoveryChanged();
    });
    // A kind cached before in the other form: once this informer listed, drop what it no longer holds.
    const replaces = this.snapshot.list(kind.group, kind.kind).length > 0;
    void informer.waitForSync(86_400_000).then((ok) => {
      if (!ok) return;
      this.listedOnce.add(key);
      if (replaces) this.prune(kind, informer);
    });
    this.informers.set(key, { informer, coverage });
    await informer.start();
    this.deps.logger.debug('Started informer cache', { [LogKeys.kind]: key, coverage });
  }

  private prune(kind: DiscoveredKind, informer: Informer): void {
    for (const obj of this.snapshot.list(kind.group, kind.kind)) {
      const ns = obj.metadata.namespace ?? '';
      const key = ns === '' ? (obj.metadata.name ?? '') : `${ns}/${obj.metadata.name ?? ''}`;
      if (informer.get(key) === undefined) this.snapshot.remove(obj);
    }
  }

  /** A CRD changed: refresh discovery and the informers, at most every discoveryIntervalMs, always after the last change. */
  private discoveryChanged(): void {
    if (this.discoveryTimer !== undefined || this.stopped) return;
    const wait = Math.max(0, this.lastDiscovery + (this.options.discoveryIntervalMs ?? 2000) - Date.now());
    this.discoveryTimer = setTimeout(() => {
      this.discoveryTimer = undefined;
      this.discoveryStale = true;
      void this.reconcile();
    }, wait);
    this.discoveryTimer.unref();
  }
}
