// A Snapshot that is kept up to date object by object, for the admission edge: informer events call upsert() and
// remove(); decide() reads it between events (Node runs one at a time, so a decision never sees half an update).
// Pure data structure: no I/O. Lists are built on demand and cached until their bucket changes.
import type { KubeObject } from '../api/types.js';
import { BUILTIN_KINDS, groupOf, keyString, objectKeyString } from './snapshot.js';
import type { KindInfo, LabelTest, ObjectKey, Snapshot } from './types.js';

/** A set of objects by key, with its array form cached until the next change. */
class Bucket {
  private readonly items = new Map<string, KubeObject>();
  private array: readonly KubeObject[] | undefined;

  set(key: string, obj: KubeObject): void {
    this.items.set(key, obj);
    this.array = undefined;
  }

  delete(key: string): boolean {
    const had = this.items.delete(key);
    if (had) this.array = undefined;
    return had;
  }

  get size(): number {
    return this.items.size;
  }

  values(): readonly KubeObject[] {
    this.array ??= Object.freeze([...this.items.values()]);
    return this.array;
  }
}

const EMPTY: readonly KubeObject[] = Object.freeze([]);

class Buckets {
  private readonly map = new Map<string, Bucket>();

  add(bucket: string, key: string, obj: KubeObject): void {
    let b = this.map.get(bucket);
    if (b === undefined) {
      b = new Bucket();
      this.map.set(bucket, b);
    }
    b.set(key, obj);
  }

  remove(bucket: string, key: string): void {
    const b = this.map.get(bucket);
    if (b === undefined) return;
    b.delete(key);
    if (b.size === 0) this.map.delete(bucket);
  }

  values(bucket: string): readonly KubeObject[] {
    return this.map.get(bucket)?.values() ?? EMPTY;
  }
}

export class LiveSnapshot implements Snapshot {
  private readonly kinds = new Map<string, KindInfo>();
  private readonly resources = new Map<string, KindInfo>();
  private readonly byKey = new Map<string, KubeObject>();
  private readonly byUid = new Map<string, KubeObject>();
  /** `group/kind/namespace` and `group/kind/*`. */
  private readonly byKind = new Buckets();
  private readonly byOwner = new Buckets();
  private readonly byNamespace = new Buckets();
  /** `group/kind/namespace` (or `/*`) → selector key → the objects of that bucket the selector matches. */
  private readonly views = new Map<string, Map<string, { test: LabelTest; bucket: Bucket }>>();

  constructor(kinds: readonly KindInfo[] = BUILTIN_KINDS) {
    this.addKinds(kinds);
  }

  /** Adds (or replaces) kind information, e.g. from discovery or a new CRD. */
  addKinds(kinds: readonly KindInfo[]): void {
    for (const info of kinds) {
      this.kinds.set(`${info.group}/${info.kind}`, info);
      this.resources.set(`${info.group}/${info.resource}`, info);
    }
  }

  /** Adds or replaces an object. */
  upsert(obj: KubeObject): void {
    const key = objectKeyString(obj);
    const old = this.byKey.get(key);
    if (old !== undefined) this.unindex(key, old);
    this.byKey.set(key, obj);
    if (obj.metadata.uid !== undefined) this.byUid.set(obj.metadata.uid, obj);
    const kk = `${groupOf(obj.apiVersion)}/${obj.kind}`;
    const namespace = obj.metadata.namespace ?? '';
    this.byKind.add(`${kk}/${namespace}`, key, obj);
    this.byKind.add(`${kk}/*`, key, obj);
    if (namespace !== '') this.byNamespace.add(namespace, key, obj);
    for (const ref of obj.metadata.ownerReferences ?? []) this.byOwner.add(ref.uid, key, obj);
    this.updateViews([`${kk}/${namespace}`, `${kk}/*`], key, obj);
  }

  /** Removes an object (by its key); a no-op when absent. */
  remove(obj: KubeObject): void {
    const key = objectKeyString(obj);
    const old = this.byKey.get(key);
    if (old === undefined) return;
    this.unindex(key, old);
    this.byKey.delete(key);
  }

  /** Removes every object of a kind, e.g. when its informer is stopped. */
  removeKind(group: string, kind: string): void {
    for (const obj of this.byKind.values(`${group}/${kind}/*`)) this.remove(obj);
  }

  private unindex(key: string, obj: KubeObject): void {
    if (obj.metadata.uid !== undefined && this.byUid.get(obj.metadata.uid) === obj) this.byUid.delete(obj.metadata.uid);
    const kk = `${groupOf(obj.apiVersion)}/${obj.kind}`;
    const namespace = obj.metadata.namespace ?? '';
    this.byKind.remove(`${kk}/${namespace}`, key);
    this.byKind.remove(`${kk}/*`, key);
    if (namespace !== '') this.byNamespace.remove(namespace, key);
    for (const ref of obj.metadata.ownerReferences ?? []) this.byOwner.remove(ref.uid, key);
    this.updateViews([`${kk}/${namespace}`, `${kk}/*`], key, undefined);
  }

  /** Puts the object into (or takes it out of) the selector views of its buckets. */
  private updateViews(buckets: readonly string[], key: string, obj: KubeObject | undefined): void {
    if (this.views.size === 0) return;
    for (const b of buckets) {
      const views = this.views.get(b);
      if (views === undefined) continue;
      for (const view of views.values()) {
        if (obj !== undefined && view.test.matches(obj.metadata.labels ?? {})) view.bucket.set(key, obj);
        else view.bucket.delete(key);
      }
    }
  }

  get size(): number {
    return this.byKey.size;
  }

  kindOf(group: string, kind: string): KindInfo | undefined {
    return this.kinds.get(`${group}/${kind}`);
  }

  kindOfResource(group: string, resource: string): KindInfo | undefined {
    return this.resources.get(`${group}/${resource}`);
  }

  get(key: ObjectKey): KubeObject | undefined {
    return this.byKey.get(keyString(key));
  }

  getByUid(uid: string): KubeObject | undefined {
    return this.byUid.get(uid);
  }

  list(group: string, kind: string, namespace?: string): readonly KubeObject[] {
    return this.byKind.values(`${group}/${kind}/${namespace ?? '*'}`);
  }

  /** Kept up to date from the first call on: later calls cost the matching objects, not the kind's size. */
  listMatching(group: string, kind: string, namespace: string | undefined, selector: LabelTest): readonly KubeObject[] {
    const bucket = `${group}/${kind}/${namespace ?? '*'}`;
    let views = this.views.get(bucket);
    if (views === undefined) {
      views = new Map();
      this.views.set(bucket, views);
    }
    let view = views.get(selector.key);
    if (view === undefined) {
      view = { test: selector, bucket: new Bucket() };
      for (const obj of this.byKind.values(bucket)) if (selector.matches(obj.metadata.labels ?? {})) view.bucket.set(objectKeyString(obj), obj);
      views.set(selector.key, view);
    }
    return view.bucket.values();
  }

  dependents(uid: string): readonly KubeObject[] {
    return this.byOwner.values(uid);
  }

  inNamespace(namespace: string): readonly KubeObject[] {
    return this.byNamespace.values(namespace);
  }

  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined {
    const ns = this.byKey.get(`/Namespace//${namespace}`);
    return ns === undefined ? undefined : (ns.metadata.labels ?? {});
  }
}
