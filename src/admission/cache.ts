// The cluster state every replica decides on: informers for the kinds that policies and leases need, feeding one
// LiveSnapshot. Kinds come and go as policies do (custom resources included); the owners of cached objects are
// cached too, so cascades through kinds no policy names (Deployment → ReplicaSet → Pod) are still followed.
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject, LeaseResource, ObjectSelector } from '../api/types.js';
import type { Clock } from '../runtime/clock.js';
import { createInformer, type Informer } from '../state/informer.js';
import { LiveSnapshot } from '../core/live-snapshot.js';
import { groupOf } from '../core/snapshot.js';
import type { Snapshot } from '../core/types.js';
import type { ObjectClient } from '../kube/client.js';
import type { DiscoveredKind, Discovery } from '../kube/discovery.js';
import { quorumResourceVersion } from '../kube/quorum.js';
import { LogKeys } from '../observability/keys.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

/** `group/Kind`, or `group/*` for every kind of a group, or `*` for every kind. */
export type KindPattern = string;

/** Kinds never cached: they change constantly and no cascade or policy can sensibly depend on them. */
const NEVER_CACHED = new Set(['/Event', 'events.k8s.io/Event', 'coordination.k8s.io/Lease', 'authorization.k8s.io/SubjectAccessReview']);

export interface ClusterCacheDeps {
  kubeConfig: KubeConfig;
  client: ObjectClient;
  discovery: Discovery;
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
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

export class ClusterCache {
  readonly snapshot = new LiveSnapshot();
  private readonly informers = new Map<string, Informer>();
  private wanted = new Set<KindPattern>(['/Namespace']);
  private readonly ownerKinds = new Set<KindPattern>();
  private syncing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: ClusterCacheDeps) {}

  /**
   * Caches exactly the kinds these patterns name, plus Namespaces, the owners of cached objects, and the kinds that
   * remove a wanted kind without owning it (StatefulSets delete their PVCs under a retention policy).
   */
  want(patterns: Iterable<KindPattern>): Promise<void> {
    const wanted = new Set(['/Namespace', ...patterns]);
    for (const [removed, remover] of REMOVERS) if ([...wanted].some((p) => patternCovers(p, removed))) wanted.add(remover);
    this.wanted = wanted;
    return this.reconcile();
  }

  /** True when every informer has listed once. */
  synced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced());
  }

  /** Names of informers that have not listed yet, for /readyz. */
  unsynced(): string[] {
    return [...this.informers.entries()].filter(([, i]) => !i.hasSynced()).map(([k]) => k);
  }

  /** Kinds cached now, as `group/Kind`. */
  cachedKinds(): string[] {
    return [...this.informers.keys()].sort();
  }

  /**
   * Waits until every cache reflects the cluster at least as of now (a quorum read's resourceVersion), so that a
   * decision taken next is on state no older than the request. False when that cannot be had before `deadline`.
   */
  async freshen(deadline: number): Promise<boolean> {
    const rv = await quorumResourceVersion(this.deps.client, { apiVersion: 'v1', kind: 'Namespace' });
    const results = await Promise.all([...this.informers.values()].map((i) => i.waitForResourceVersion(rv, deadline)));
    return results.every(Boolean);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
    this.informers.clear();
  }

  /** Starts the informers wanted and not running, stops those no longer wanted. Serialised. */
  private reconcile(): Promise<void> {
    this.syncing = this.syncing.then(() => this.apply()).catch((error: unknown) => this.deps.logger.error('Failed to update the caches', { [LogKeys.error]: error }));
    return this.syncing;
  }

  private async apply(): Promise<void> {
    await this.deps.discovery.refresh();
    const all = this.deps.discovery.all().filter(listable);
    this.snapshot.addKinds(all);
    const patterns = [...this.wanted, ...this.ownerKinds];
    const desired = new Map(all.filter((k) => patterns.some((p) => matchesPattern(p, k))).map((k) => [`${k.group}/${k.kind}`, k]));
    for (const [key, informer] of this.informers) {
      if (desired.has(key)) continue;
      await informer.stop();
      this.informers.delete(key);
      this.snapshot.removeKind(informer.target.apiVersion.includes('/') ? groupOf(informer.target.apiVersion) : '', informer.target.kind);
      this.deps.logger.info('Stopped informer cache', { [LogKeys.kind]: key });
    }
    for (const [key, kind] of desired) if (!this.informers.has(key)) await this.startInformer(key, kind);
  }

  private async startInformer(key: string, kind: DiscoveredKind): Promise<void> {
    const apiVersion = kind.group === '' ? kind.version : `${kind.group}/${kind.version}`;
    const informer = createInformer({ apiVersion, kind: kind.kind, resource: kind.resource }, this.deps);
    informer.onEvent((event) => {
      if (event.type === 'delete') this.snapshot.remove(event.object);
      else this.observe(stripSecret(event.object));
    });
    this.informers.set(key, informer);
    await informer.start();
    this.deps.logger.info('Started informer cache', { [LogKeys.kind]: key });
  }

  /** Caches an object and, the first time an owner kind shows up, starts caching that kind too. */
  private observe(obj: KubeObject): void {
    this.snapshot.upsert(obj);
    let added = false;
    for (const ref of obj.metadata.ownerReferences ?? []) {
      const pattern = `${groupOf(ref.apiVersion)}/${ref.kind}`;
      if (this.informers.has(pattern) || this.ownerKinds.has(pattern)) continue;
      this.ownerKinds.add(pattern);
      added = true;
    }
    if (added) void this.reconcile();
  }

  /** The snapshot as the Snapshot interface (read-only to callers). */
  view(): Snapshot {
    return this.snapshot;
  }
}
