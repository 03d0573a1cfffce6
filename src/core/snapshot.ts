// The core's view of the cluster: plain objects indexed for the lookups decide() makes (by key, uid, kind and
// namespace, owner, namespace), and a cheap overlay of the state after a request. Pure: no I/O, no clock.
import { GROUP, KINDS, VERSION } from '../api/schema.js';
import type { KubeObject } from '../api/types.js';
import type { Impact, KindInfo, LabelTest, ObjectKey, Snapshot } from './types.js';

// ------------------------------------------------------------------------------------------------ object helpers

/** The API group of an apiVersion: "apps/v1" → "apps", "v1" → "" (core). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The key of an object: group from its apiVersion, namespace "" when cluster-scoped. */
export function objectKeyOf(obj: KubeObject): ObjectKey {
  return {
    group: groupOf(obj.apiVersion),
    kind: obj.kind,
    namespace: obj.metadata.namespace ?? '',
    name: obj.metadata.name ?? '',
  };
}

/** A key as one string, for maps: `group/kind/namespace/name`. */
export function keyString(key: ObjectKey): string {
  return `${key.group}/${key.kind}/${key.namespace}/${key.name}`;
}

/** The map key of an object (keyString of objectKeyOf, without the intermediate object). */
export function objectKeyString(obj: KubeObject): string {
  return `${groupOf(obj.apiVersion)}/${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

/** A readable reference: "apps/StatefulSet db/pg", "PersistentVolumeClaim zk/data-0", "Namespace zk". */
export function describeKey(key: ObjectKey): string {
  const kind = key.group === '' ? key.kind : `${key.group}/${key.kind}`;
  return key.namespace === '' ? `${kind} ${key.name}` : `${kind} ${key.namespace}/${key.name}`;
}

export function describeObject(obj: KubeObject): string {
  const key = objectKeyOf(obj);
  if (key.name === '' && obj.metadata.generateName !== undefined) key.name = `${obj.metadata.generateName}*`;
  return describeKey(key);
}

/** The inverse of keyString (names and namespaces hold no "/"; a group or kind never does). */
function parseKey(key: string): ObjectKey {
  const [group = '', kind = '', namespace = '', ...name] = key.split('/');
  return { group, kind, namespace, name: name.join('/') };
}

function kindKey(group: string, kind: string): string {
  return `${group}/${kind}`;
}

// ------------------------------------------------------------------------------------------------ the kind table

const core = (kind: string, resource: string, namespaced = true): KindInfo => ({ group: '', version: 'v1', kind, resource, namespaced });
const inGroup =
  (group: string, version: string) =>
  (kind: string, resource: string, namespaced = true): KindInfo => ({ group, version, kind, resource, namespaced });

const apps = inGroup('apps', 'v1');
const batch = inGroup('batch', 'v1');
const rbac = inGroup('rbac.authorization.k8s.io', 'v1');
const networking = inGroup('networking.k8s.io', 'v1');
const admission = inGroup('admissionregistration.k8s.io', 'v1');

/**
 * The common built-in kinds, as discovery reports them on a current Kubernetes. The admission edge adds what
 * discovery finds (custom resources included); tests and `kubectl suture test` use this table as is.
 */
export const BUILTIN_KINDS: readonly KindInfo[] = [
  core('Namespace', 'namespaces', false),
  core('Node', 'nodes', false),
  core('PersistentVolume', 'persistentvolumes', false),
  core('Pod', 'pods'),
  core('Service', 'services'),
  core('ConfigMap', 'configmaps'),
  core('Secret', 'secrets'),
  core('ServiceAccount', 'serviceaccounts'),
  core('PersistentVolumeClaim', 'persistentvolumeclaims'),
  core('Endpoints', 'endpoints'),
  core('Event', 'events'),
  core('LimitRange', 'limitranges'),
  core('ResourceQuota', 'resourcequotas'),
  core('ReplicationController', 'replicationcontrollers'),
  apps('Deployment', 'deployments'),
  apps('StatefulSet', 'statefulsets'),
  apps('ReplicaSet', 'replicasets'),
  apps('DaemonSet', 'daemonsets'),
  apps('ControllerRevision', 'controllerrevisions'),
  batch('Job', 'jobs'),
  batch('CronJob', 'cronjobs'),
  rbac('Role', 'roles'),
  rbac('RoleBinding', 'rolebindings'),
  rbac('ClusterRole', 'clusterroles', false),
  rbac('ClusterRoleBinding', 'clusterrolebindings', false),
  networking('NetworkPolicy', 'networkpolicies'),
  networking('Ingress', 'ingresses'),
  networking('IngressClass', 'ingressclasses', false),
  inGroup('discovery.k8s.io', 'v1')('EndpointSlice', 'endpointslices'),
  inGroup('apiextensions.k8s.io', 'v1')('CustomResourceDefinition', 'customresourcedefinitions', false),
  admission('ValidatingWebhookConfiguration', 'validatingwebhookconfigurations', false),
  admission('MutatingWebhookConfiguration', 'mutatingwebhookconfigurations', false),
  admission('ValidatingAdmissionPolicy', 'validatingadmissionpolicies', false),
  admission('ValidatingAdmissionPolicyBinding', 'validatingadmissionpolicybindings', false),
  inGroup('coordination.k8s.io', 'v1')('Lease', 'leases'),
  inGroup('policy', 'v1')('PodDisruptionBudget', 'poddisruptionbudgets'),
  inGroup('autoscaling', 'v2')('HorizontalPodAutoscaler', 'horizontalpodautoscalers'),
  inGroup('storage.k8s.io', 'v1')('StorageClass', 'storageclasses', false),
  inGroup('scheduling.k8s.io', 'v1')('PriorityClass', 'priorityclasses', false),
  ...KINDS.map((k): KindInfo => ({ group: GROUP, version: VERSION, kind: k.kind, resource: k.plural, namespaced: k.scope === 'Namespaced' })),
];

// ---------------------------------------------------------------------------------------------------- indexes

interface Indexes {
  kinds: Map<string, KindInfo>;
  resources: Map<string, KindInfo>;
  byKey: Map<string, KubeObject>;
  byUid: Map<string, KubeObject>;
  /** group/kind → namespace → objects. */
  byKind: Map<string, Map<string, KubeObject[]>>;
  /** group/kind → every object of the kind. */
  allOfKind: Map<string, KubeObject[]>;
  byOwner: Map<string, KubeObject[]>;
  byNamespace: Map<string, KubeObject[]>;
  namespaceLabels: Map<string, Readonly<Record<string, string>>>;
  /** apiVersion → kind → group/kind. */
  kindKeys: Map<string, Map<string, string>>;
}

const EMPTY: readonly KubeObject[] = Object.freeze([]);

function push<K>(map: Map<K, KubeObject[]>, key: K, obj: KubeObject): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [obj]);
  else list.push(obj);
}

function indexKinds(kinds: readonly KindInfo[], ix: Indexes): void {
  for (const info of kinds) {
    ix.kinds.set(kindKey(info.group, info.kind), info);
    ix.resources.set(kindKey(info.group, info.resource), info);
  }
}

/** group/kind of an apiVersion and kind, memoised: a snapshot holds few distinct pairs and many objects. */
function kindKeyOf(obj: KubeObject, ix: Indexes): string {
  let byKind = ix.kindKeys.get(obj.apiVersion);
  if (byKind === undefined) {
    byKind = new Map();
    ix.kindKeys.set(obj.apiVersion, byKind);
  }
  let kk = byKind.get(obj.kind);
  if (kk === undefined) {
    kk = kindKey(groupOf(obj.apiVersion), obj.kind);
    byKind.set(obj.kind, kk);
  }
  return kk;
}

function indexObject(obj: KubeObject, ix: Indexes): void {
  const namespace = obj.metadata.namespace ?? '';
  const kk = kindKeyOf(obj, ix);
  ix.byKey.set(`${kk}/${namespace}/${obj.metadata.name ?? ''}`, obj);
  if (obj.metadata.uid !== undefined) ix.byUid.set(obj.metadata.uid, obj);
  let perNamespace = ix.byKind.get(kk);
  if (perNamespace === undefined) {
    perNamespace = new Map();
    ix.byKind.set(kk, perNamespace);
  }
  push(perNamespace, namespace, obj);
  push(ix.allOfKind, kk, obj);
  if (namespace !== '') push(ix.byNamespace, namespace, obj);
  for (const ref of obj.metadata.ownerReferences ?? []) push(ix.byOwner, ref.uid, obj);
  if (obj.kind === 'Namespace' && obj.apiVersion === 'v1' && obj.metadata.name !== undefined) {
    ix.namespaceLabels.set(obj.metadata.name, obj.metadata.labels ?? {});
  }
}

function emptyIndexes(): Indexes {
  return {
    kinds: new Map(),
    resources: new Map(),
    byKey: new Map(),
    byUid: new Map(),
    byKind: new Map(),
    allOfKind: new Map(),
    byOwner: new Map(),
    byNamespace: new Map(),
    namespaceLabels: new Map(),
    kindKeys: new Map(),
  };
}

class IndexedSnapshot implements Snapshot {
  constructor(private readonly ix: Indexes) {}

  get size(): number {
    return this.ix.byKey.size;
  }

  kindOf(group: string, kind: string): KindInfo | undefined {
    return this.ix.kinds.get(kindKey(group, kind));
  }

  kindOfResource(group: string, resource: string): KindInfo | undefined {
    return this.ix.resources.get(kindKey(group, resource));
  }

  get(key: ObjectKey): KubeObject | undefined {
    return this.ix.byKey.get(keyString(key));
  }

  getByUid(uid: string): KubeObject | undefined {
    return this.ix.byUid.get(uid);
  }

  list(group: string, kind: string, namespace?: string): readonly KubeObject[] {
    const kk = kindKey(group, kind);
    if (namespace === undefined) return this.ix.allOfKind.get(kk) ?? EMPTY;
    return this.ix.byKind.get(kk)?.get(namespace) ?? EMPTY;
  }

  listMatching(group: string, kind: string, namespace: string | undefined, selector: LabelTest): readonly KubeObject[] {
    return this.list(group, kind, namespace).filter((o) => selector.matches(o.metadata.labels ?? {}));
  }

  dependents(uid: string): readonly KubeObject[] {
    return this.ix.byOwner.get(uid) ?? EMPTY;
  }

  inNamespace(namespace: string): readonly KubeObject[] {
    return this.ix.byNamespace.get(namespace) ?? EMPTY;
  }

  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined {
    return this.ix.namespaceLabels.get(namespace);
  }
}

/**
 * Indexes plain objects. An object's group comes from its apiVersion; its namespace is "" when it has none. When two
 * objects share a key, the later one wins for get() (the lists would hold both: give each object once). O(n).
 * Callers must not mutate the objects or the returned lists.
 */
export function createSnapshot(objects: readonly KubeObject[], kinds: readonly KindInfo[] = BUILTIN_KINDS): Snapshot {
  const ix = emptyIndexes();
  indexKinds(kinds, ix);
  for (const obj of objects) indexObject(obj, ix);
  return new IndexedSnapshot(ix);
}

// ---------------------------------------------------------------------------------------------------- overlay

interface Overlay {
  /** key → the object after the request, or null when the request removes it. */
  byKey: Map<string, KubeObject | null>;
  /** uid → the object after the request, or null when removed. */
  byUid: Map<string, KubeObject | null>;
  /** group/kind of every touched object: lists of other kinds are passed through untouched. */
  kinds: Set<string>;
  namespaces: Set<string>;
  /** Objects present after the request that are new or replaced. */
  present: KubeObject[];
}

function touch(overlay: Overlay, obj: KubeObject, after: KubeObject | null): void {
  overlay.byKey.set(objectKeyString(obj), after);
  if (obj.metadata.uid !== undefined) overlay.byUid.set(obj.metadata.uid, after);
  overlay.kinds.add(kindKey(groupOf(obj.apiVersion), obj.kind));
  overlay.namespaces.add(obj.metadata.namespace ?? '');
}

function buildOverlay(impact: Impact): Overlay {
  const overlay: Overlay = { byKey: new Map(), byUid: new Map(), kinds: new Set(), namespaces: new Set(), present: [] };
  for (const obj of impact.deleted) touch(overlay, obj, null);
  for (const change of impact.changed) touch(overlay, change.object, change.object);
  for (const obj of impact.created) touch(overlay, obj, obj);
  for (const after of overlay.byKey.values()) if (after !== null) overlay.present.push(after);
  return overlay;
}

class ProjectedSnapshot implements Snapshot {
  private counted: number | undefined;

  constructor(
    private readonly before: Snapshot,
    private readonly overlay: Overlay,
  ) {}

  /** Counted on first use: objects before, less those removed, plus those new. */
  get size(): number {
    this.counted ??= this.countSize();
    return this.counted;
  }

  private countSize(): number {
    let size = this.before.size;
    for (const [key, after] of this.overlay.byKey) {
      const existed = this.before.get(parseKey(key)) !== undefined;
      if (existed && after === null) size--;
      else if (!existed && after !== null) size++;
    }
    return size;
  }

  kindOf(group: string, kind: string): KindInfo | undefined {
    return this.before.kindOf(group, kind);
  }

  kindOfResource(group: string, resource: string): KindInfo | undefined {
    return this.before.kindOfResource(group, resource);
  }

  get(key: ObjectKey): KubeObject | undefined {
    const after = this.overlay.byKey.get(keyString(key));
    if (after === null) return undefined;
    return after ?? this.before.get(key);
  }

  getByUid(uid: string): KubeObject | undefined {
    const after = this.overlay.byUid.get(uid);
    if (after === null) return undefined;
    return after ?? this.before.getByUid(uid);
  }

  list(group: string, kind: string, namespace?: string): readonly KubeObject[] {
    const base = this.before.list(group, kind, namespace);
    if (!this.overlay.kinds.has(kindKey(group, kind))) return base;
    const inScope = (o: KubeObject): boolean =>
      groupOf(o.apiVersion) === group && o.kind === kind && (namespace === undefined || (o.metadata.namespace ?? '') === namespace);
    return this.merge(base, inScope);
  }

  listMatching(group: string, kind: string, namespace: string | undefined, selector: LabelTest): readonly KubeObject[] {
    const base = this.before.listMatching(group, kind, namespace, selector);
    if (!this.overlay.kinds.has(kindKey(group, kind))) return base;
    const inScope = (o: KubeObject): boolean =>
      groupOf(o.apiVersion) === group && o.kind === kind && (namespace === undefined || (o.metadata.namespace ?? '') === namespace) && selector.matches(o.metadata.labels ?? {});
    return this.merge(base, inScope);
  }

  dependents(uid: string): readonly KubeObject[] {
    const owns = (o: KubeObject): boolean => (o.metadata.ownerReferences ?? []).some((ref) => ref.uid === uid);
    return this.merge(this.before.dependents(uid), owns);
  }

  inNamespace(namespace: string): readonly KubeObject[] {
    const base = this.before.inNamespace(namespace);
    if (!this.overlay.namespaces.has(namespace)) return base;
    return this.merge(base, (o) => o.metadata.namespace === namespace);
  }

  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined {
    const ns = this.get({ group: '', kind: 'Namespace', namespace: '', name: namespace });
    if (ns !== undefined) return ns.metadata.labels ?? {};
    return this.overlay.byKey.has(`/Namespace//${namespace}`) ? undefined : this.before.namespaceLabels(namespace);
  }

  /** The base list without what the request touched, plus what the request leaves in place that belongs to it. */
  private merge(base: readonly KubeObject[], belongs: (o: KubeObject) => boolean): readonly KubeObject[] {
    const kept = base.filter((o) => !this.overlay.byKey.has(objectKeyString(o)));
    for (const o of this.overlay.present) if (belongs(o)) kept.push(o);
    return kept;
  }
}

/**
 * The state after a request: `before` with the impact's deleted objects removed and its created and changed objects
 * put in place. An overlay, not a copy: building it is O(impact); lookups cost what they cost on `before`, plus the
 * impact's size for lists of kinds, namespaces and owners the request touched.
 */
export function projectSnapshot(before: Snapshot, impact: Impact): Snapshot {
  return new ProjectedSnapshot(before, buildOverlay(impact));
}
