// Fresh where it matters (docs/architecture.md): one round of consistent reads of just the objects a verdict rests
// on, merged over the cache by resourceVersion into an overlay snapshot the decision is then taken on.
//
// - scopes (core/freshness.ts): what the policies that could judge a destructive request protect, per kind,
//   namespace and label selector: one consistent LIST each, in parallel; an object listed that the cache lacks or
//   holds at another resourceVersion is put in place, one the cache holds and the list lacks is gone;
// - owners: an ownerReference the cache cannot resolve (a just-created owner; a kind not cached) is read live
//   (a consistent GET), and so is the owner's own owner, never taken as missing;
// - lookups: CEL reads are read live too (whole objects).
import type { KubeObject } from '../api/types.js';
import { matchSelectorString } from '../core/cel.js';
import type { StateScope } from '../core/freshness.js';
import { groupOf, objectKeyString, projectSnapshot } from '../core/snapshot.js';
import type { Affected, KindInfo, LabelTest, Lookup, Snapshot } from '../core/types.js';
import type { LiveReader } from '../kube/live.js';
import { Coverages, type Coverage } from './cache.js';
import { projectMetadata } from './project.js';

export interface FreshDeps {
  reader: LiveReader;
  /** How the cache holds a kind (cache.ts ClusterCache.coverage). */
  coverage(group: string, kind: string): Coverage | undefined;
  /** A kind the snapshot does not know yet (a CRD created a moment ago): asks discovery. */
  discover(group: string, kind: string): Promise<KindInfo | undefined>;
}

export interface FreshRequest {
  scopes: readonly StateScope[];
  /** Objects whose ownerReferences must resolve (the request's object). */
  ownersOf: readonly KubeObject[];
  lookups: readonly Lookup[];
  /** Namespaces whose Namespace object is read too (their labels decide namespaceSelectors). */
  namespaces?: readonly string[];
}

export interface FreshState {
  snapshot: Snapshot;
  /** Whether anything read differs from the cache. */
  changed: boolean;
  /** API reads made. */
  reads: number;
}

/** How many owner-chain levels are followed live. */
const MAX_OWNER_DEPTH = 8;

function apiVersionOf(info: KindInfo): string {
  return info.group === '' ? info.version : `${info.group}/${info.version}`;
}

/** What the reads found, against the cache. */
class Delta {
  readonly upserts = new Map<string, KubeObject>();
  readonly removed = new Map<string, KubeObject>();
  private readonly uids = new Map<string, KubeObject>();
  reads = 0;

  constructor(private readonly base: Snapshot) {}

  put(obj: KubeObject): void {
    const key = objectKeyString(obj);
    if (obj.metadata.uid !== undefined) this.uids.set(obj.metadata.uid, obj);
    const cached = this.base.get({ group: groupOf(obj.apiVersion), kind: obj.kind, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name ?? '' });
    if (cached !== undefined && cached.metadata.resourceVersion === obj.metadata.resourceVersion && cached.metadata.uid === obj.metadata.uid) return;
    this.removed.delete(key);
    this.upserts.set(key, obj);
  }

  drop(obj: KubeObject): void {
    const key = objectKeyString(obj);
    if (!this.upserts.has(key)) this.removed.set(key, obj);
  }

  resolves(uid: string): boolean {
    if (this.uids.has(uid)) return true;
    const cached = this.base.getByUid(uid);
    return cached !== undefined && !this.removed.has(objectKeyString(cached));
  }

  snapshot(): Snapshot {
    if (this.upserts.size === 0 && this.removed.size === 0) return this.base;
    const created: KubeObject[] = [];
    const changed: Affected[] = [];
    for (const obj of this.upserts.values()) {
      const before = this.base.get({ group: groupOf(obj.apiVersion), kind: obj.kind, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name ?? '' });
      if (before === undefined) created.push(obj);
      else changed.push({ object: obj, before, effect: 'UPDATE', via: 'fresh read' });
    }
    return projectSnapshot(this.base, { affected: [], created, changed, deleted: [...this.removed.values()] });
  }
}

/** The reads of one decision: the cache they overlay, how to read, and what they found. */
interface Reads {
  base: Snapshot;
  deps: FreshDeps;
  delta: Delta;
}

/** Compiled label selectors by their string form (policies' and lookups' selectors: a small, stable set). */
const labelTests = new Map<string, LabelTest>();

function labelTest(selector: string): LabelTest {
  let test = labelTests.get(selector);
  if (test === undefined) {
    test = { key: selector, matches: matchSelectorString(selector) };
    labelTests.set(selector, test);
  }
  return test;
}

/** Objects of a scope the cache holds: from the snapshot's selector view, not a scan of the kind. */
function cachedInScope(base: Snapshot, scope: { group: string; kind: string; labelSelector: string }, namespace: string | undefined): readonly KubeObject[] {
  if (scope.labelSelector === '') return base.list(scope.group, scope.kind, namespace);
  return base.listMatching(scope.group, scope.kind, namespace, labelTest(scope.labelSelector));
}

async function readScope(reads: Reads, scope: { group: string; kind: string; namespace?: string; labelSelector: string }, full: boolean): Promise<void> {
  const { base, deps, delta } = reads;
  const info = base.kindOf(scope.group, scope.kind) ?? (await deps.discover(scope.group, scope.kind));
  if (info === undefined) return; // not served: nothing of it exists
  const apiVersion = apiVersionOf(info);
  const namespace = info.namespaced ? scope.namespace : undefined;
  delta.reads++;
  const metadataOnly = !full && deps.coverage(scope.group, scope.kind) !== Coverages.Full;
  const items = await deps.reader.list({ apiVersion, kind: info.kind, resource: info.resource, ...(namespace === undefined ? {} : { namespace }), labelSelector: scope.labelSelector }, metadataOnly);
  const fresh = new Set<string>();
  for (const item of items) {
    const obj = metadataOnly ? projectMetadata(item, apiVersion, info.kind) : item;
    fresh.add(objectKeyString(obj));
    delta.put(obj);
  }
  for (const cached of cachedInScope(base, scope, namespace)) if (!fresh.has(objectKeyString(cached))) delta.drop(cached);
}

async function readObject(reads: Reads, ref: { apiVersion: string; kind: string; namespace: string; name: string }, full: boolean): Promise<KubeObject | undefined> {
  const { base, deps, delta } = reads;
  const group = groupOf(ref.apiVersion);
  const info = base.kindOf(group, ref.kind) ?? (await deps.discover(group, ref.kind));
  if (info === undefined) return undefined;
  const apiVersion = apiVersionOf(info);
  const metadataOnly = !full && deps.coverage(group, ref.kind) !== Coverages.Full;
  delta.reads++;
  const namespace = info.namespaced ? ref.namespace : '';
  const found = await deps.reader.get({ apiVersion, kind: info.kind, resource: info.resource, namespace, name: ref.name }, metadataOnly);
  if (found === undefined) {
    const cached = base.get({ group, kind: ref.kind, namespace, name: ref.name });
    if (cached !== undefined) delta.drop(cached);
    return undefined;
  }
  const obj = metadataOnly ? projectMetadata(found, apiVersion, info.kind) : found;
  delta.put(obj);
  return obj;
}

/** Follows ownerReferences the cache and the reads so far cannot resolve, level by level, live. */
async function readOwners(reads: Reads, from: readonly KubeObject[]): Promise<void> {
  const { delta } = reads;
  let level = [...from];
  for (let depth = 0; depth < MAX_OWNER_DEPTH && level.length > 0; depth++) {
    const wanted = level.flatMap((obj) =>
      (obj.metadata.ownerReferences ?? []).filter((ref) => !delta.resolves(ref.uid)).map((ref) => ({ ref, namespace: obj.metadata.namespace ?? '' })),
    );
    const found = await Promise.all(wanted.map(({ ref, namespace }) => readObject(reads, { apiVersion: ref.apiVersion, kind: ref.kind, namespace, name: ref.name }, false)));
    level = found.filter((o, i) => o !== undefined && o.metadata.uid === wanted[i]?.ref.uid) as KubeObject[];
  }
}

/** Reads what the request names, consistently, and lays it over `base`. Rejects when a read fails. */
export async function readFresh(base: Snapshot, request: FreshRequest, deps: FreshDeps): Promise<FreshState> {
  const delta = new Delta(base);
  const reads: Reads = { base, deps, delta };
  await Promise.all([
    ...request.scopes.map((s) => readScope(reads, s, false)),
    ...(request.namespaces ?? []).map((name) => readObject(reads, { apiVersion: 'v1', kind: 'Namespace', namespace: '', name }, true)),
    ...request.lookups.map((l) =>
      l.name !== undefined
        ? readObject(reads, { apiVersion: l.apiVersion, kind: l.kind, namespace: l.namespace, name: l.name }, true)
        : readScope(reads, { group: groupOf(l.apiVersion), kind: l.kind, ...(l.namespace === '' ? {} : { namespace: l.namespace }), labelSelector: l.labelSelector ?? '' }, true),
    ),
  ]);
  await readOwners(reads, [...request.ownersOf, ...delta.upserts.values()]);
  return { snapshot: delta.snapshot(), changed: delta.upserts.size > 0 || delta.removed.size > 0, reads: delta.reads };
}
