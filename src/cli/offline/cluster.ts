// An in-memory stand-in for the API server's storage, for `kubectl suture test`: objects by key in a LiveSnapshot
// (the same structure Suture decides on), kinds as discovery would list them (CRDs register theirs), and what the
// API server fills in on create (uid, creationTimestamp, resourceVersion, generation, a Namespace's phase, a CRD's
// Established condition). What controllers add to every namespace is added too (the `default` ServiceAccount and
// the `kube-root-ca.crt` ConfigMap), since a live cluster has them and they count in a namespace's cascade.
// No validation, no defaulting of specs, no RBAC: see docs/cli.md for what offline cannot model.
import type { KubeObject } from '../../api/types.js';
import { jsonEqual } from '../../core/json.js';
import { LiveSnapshot } from '../../core/live-snapshot.js';
import { BUILTIN_KINDS, groupOf } from '../../core/snapshot.js';
import type { KindInfo } from '../../core/types.js';

/** A kind as the simulated API server serves it. */
export interface SimKind extends KindInfo {
  /** Versions served; undefined: any (built-in kinds: the version of a request is not checked). */
  versions?: readonly string[];
  /** JSON pointers of the scale subresource; undefined: the kind has none. */
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  /** Whether status is a subresource: writes to the object then leave status alone, and create drops it. */
  statusSubresource: boolean;
}

/** A refusal of the simulated API server, with the HTTP status it would answer. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const SCALE_REPLICAS = { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' };
const SCALABLE = new Set(['apps/Deployment', 'apps/StatefulSet', 'apps/ReplicaSet', '/ReplicationController']);
const NO_STATUS = new Set(['/ConfigMap', '/Secret', '/ServiceAccount', '/Endpoints', '/Event', '/LimitRange', 'apps/ControllerRevision', 'discovery.k8s.io/EndpointSlice', 'coordination.k8s.io/Lease', 'storage.k8s.io/StorageClass', 'scheduling.k8s.io/PriorityClass', 'networking.k8s.io/IngressClass']);
const RBAC_GROUP = 'rbac.authorization.k8s.io';
const ADMISSION_GROUP = 'admissionregistration.k8s.io';

function builtinKind(info: KindInfo): SimKind {
  const gk = `${info.group}/${info.kind}`;
  const statusSubresource = !NO_STATUS.has(gk) && info.group !== RBAC_GROUP && info.group !== ADMISSION_GROUP;
  return { ...info, statusSubresource, ...(SCALABLE.has(gk) ? { scale: SCALE_REPLICAS } : {}) };
}

/** The namespaces every cluster starts with. */
export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;

function versionOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
}

/** A fixed-width, valid-looking uid from a counter: deterministic runs, readable in messages. */
function uidFor(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** The 5-character suffix the API server appends to a generateName, from a counter instead of randomness. */
function nameSuffix(n: number): string {
  let out = '';
  let rest = n;
  for (let i = 0; i < 5; i++) {
    out += NAME_CHARS[rest % NAME_CHARS.length] ?? 'x';
    rest = Math.floor(rest / NAME_CHARS.length);
  }
  return out;
}

interface CrdShape {
  spec?: {
    group?: string;
    scope?: string;
    names?: { kind?: string; plural?: string };
    versions?: { name?: string; served?: boolean; storage?: boolean; subresources?: { status?: unknown; scale?: SimKind['scale'] } }[];
  };
}

type CrdVersion = NonNullable<NonNullable<CrdShape['spec']>['versions']>[number];

/** The version a CRD stores (else its first served one), and the names of all it serves. */
function crdVersions(spec: NonNullable<CrdShape['spec']>): { stored: CrdVersion | undefined; served: string[] } {
  const served = (spec.versions ?? []).filter((v) => v.served !== false && v.name !== undefined);
  return { stored: served.find((v) => v.storage === true) ?? served[0], served: served.map((v) => v.name ?? '') };
}

/** The kind a CustomResourceDefinition serves, or undefined when it lacks the names that make one. */
export function kindOfCrd(crd: KubeObject): SimKind | undefined {
  const spec = (crd as CrdShape).spec ?? {};
  const kind = spec.names?.kind;
  const plural = spec.names?.plural;
  if (spec.group === undefined || kind === undefined || plural === undefined) return undefined;
  const { stored, served } = crdVersions(spec);
  const subresources = stored?.subresources ?? {};
  const info: SimKind = { group: spec.group, version: stored?.name ?? 'v1', kind, resource: plural, namespaced: spec.scope !== 'Cluster', versions: served, statusSubresource: subresources.status !== undefined };
  if (subresources.scale !== undefined) info.scale = subresources.scale;
  return info;
}

export class SimCluster {
  readonly snapshot = new LiveSnapshot();
  private readonly kinds = new Map<string, SimKind>();
  private counter = 0;

  /** `now`: epoch milliseconds, the creationTimestamp of everything created. */
  constructor(private readonly now: number) {
    for (const info of BUILTIN_KINDS) this.kinds.set(`${info.group}/${info.kind}`, builtinKind(info));
    for (const name of SYSTEM_NAMESPACES) this.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }

  /** The kind an apiVersion and kind name mean (exact first, then case-insensitive), or undefined when not served. */
  resolve(apiVersion: string, kind: string): SimKind | undefined {
    const group = groupOf(apiVersion);
    const version = versionOf(apiVersion);
    const exact = this.kinds.get(`${group}/${kind}`);
    const found = exact ?? [...this.kinds.values()].find((k) => k.group === group && k.kind.toLowerCase() === kind.toLowerCase());
    if (found === undefined || (found.versions !== undefined && !found.versions.includes(version))) return undefined;
    return found;
  }

  /** Like resolve(), but a kind that is not served is a 404, as discovery would answer. */
  require(apiVersion: string, kind: string): SimKind {
    const found = this.resolve(apiVersion, kind);
    if (found === undefined) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (kind ${kind} of ${apiVersion} is not served: not a built-in kind, and no CustomResourceDefinition created earlier defines it)`);
    return found;
  }

  get(kind: SimKind, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.snapshot.get({ group: kind.group, kind: kind.kind, namespace: kind.namespaced ? (namespace ?? '') : '', name });
  }

  /** The object or a 404 with the API server's wording. */
  mustGet(kind: SimKind, namespace: string | undefined, name: string): KubeObject {
    const found = this.get(kind, namespace, name);
    if (found === undefined) throw new ApiError(404, 'NotFound', `${kind.resource}${kind.group === '' ? '' : `.${kind.group}`} "${name}" not found`);
    return found;
  }

  /** Objects of a kind, in the API server's list order (namespace, then name). */
  list(kind: SimKind, namespace: string | undefined): KubeObject[] {
    const items = this.snapshot.list(kind.group, kind.kind, kind.namespaced ? namespace : undefined);
    return [...items].sort((a, b) => keyOrder(a).localeCompare(keyOrder(b)));
  }

  /** The API server's checks before admission: the namespace exists (NamespaceLifecycle). */
  checkNamespace(kind: SimKind, namespace: string | undefined): void {
    if (!kind.namespaced) return;
    if (namespace === undefined || namespace === '') throw new ApiError(400, 'BadRequest', `${kind.kind} is namespaced: the request names no namespace`);
    if (this.snapshot.get({ group: '', kind: 'Namespace', namespace: '', name: namespace }) === undefined) {
      throw new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`);
    }
  }

  /** A name for a generateName. */
  generateName(prefix: string): string {
    this.counter++;
    return `${prefix}${nameSuffix(this.counter)}`;
  }

  /** Stores a new object as the API server would (409 when it exists); returns what was stored. */
  create(object: KubeObject): KubeObject {
    const kind = this.require(object.apiVersion, object.kind);
    const namespace = kind.namespaced ? object.metadata.namespace : undefined;
    this.checkNamespace(kind, namespace);
    const name = object.metadata.name ?? '';
    if (this.get(kind, namespace, name) !== undefined) throw new ApiError(409, 'AlreadyExists', `${kind.resource} "${name}" already exists`);
    const stored = this.stamp({ ...structuredClone(object), kind: kind.kind }, namespace);
    this.snapshot.upsert(stored);
    this.afterCreate(stored);
    return stored;
  }

  /** Replaces a stored object (same key): a new resourceVersion, generation moved when more than metadata and status changed. */
  replace(object: KubeObject, previous: KubeObject): KubeObject {
    const changed = Object.keys({ ...object, ...previous }).some((k) => k !== 'metadata' && k !== 'status' && !jsonEqual(object[k], previous[k]));
    const generation = (previous.metadata.generation ?? 1) + (changed ? 1 : 0);
    const stored: KubeObject = { ...object, metadata: { ...object.metadata, uid: previous.metadata.uid, creationTimestamp: previous.metadata.creationTimestamp, generation, resourceVersion: this.nextVersion() } };
    this.snapshot.upsert(stored);
    return stored;
  }

  /** The simulated clock as an RFC 3339 time, as the API server writes timestamps. */
  timestamp(): string {
    return new Date(this.now).toISOString().replace('.000Z', 'Z');
  }

  /** Removes objects (the garbage collector's and the namespace controller's work done at once). */
  remove(objects: readonly KubeObject[]): void {
    const gone = new Set<string>();
    for (const o of objects) {
      this.snapshot.remove(o);
      if (o.metadata.uid !== undefined) gone.add(o.metadata.uid);
      if (o.kind === 'CustomResourceDefinition') this.unregister(o);
    }
    this.dropOwnerReferences(gone);
  }

  /** Dependents that outlive an owner (Orphan, or other owners left) lose their ownerReference to it. */
  private dropOwnerReferences(gone: ReadonlySet<string>): void {
    for (const uid of gone) {
      for (const dependent of [...this.snapshot.dependents(uid)]) {
        const { ownerReferences, ...rest } = dependent.metadata;
        const kept = (ownerReferences ?? []).filter((r) => !gone.has(r.uid));
        this.snapshot.upsert({ ...dependent, metadata: kept.length > 0 ? { ...rest, ownerReferences: kept } : rest });
      }
    }
  }

  private nextVersion(): string {
    this.counter++;
    return String(this.counter);
  }

  private stamp(object: KubeObject, namespace: string | undefined): KubeObject {
    this.counter++;
    const metadata = { ...object.metadata, uid: uidFor(this.counter), creationTimestamp: new Date(this.now).toISOString().replace('.000Z', 'Z'), resourceVersion: String(this.counter), generation: 1 };
    if (namespace !== undefined) metadata.namespace = namespace;
    else delete metadata.namespace;
    const stored: KubeObject = { ...object, metadata };
    if (object.kind === 'Namespace' && groupOf(object.apiVersion) === '') stored.status = { phase: 'Active' };
    if (object.kind === 'CustomResourceDefinition') stored.status = { conditions: [{ type: 'Established', status: 'True' }, { type: 'NamesAccepted', status: 'True' }] };
    return stored;
  }

  private afterCreate(stored: KubeObject): void {
    if (stored.kind === 'CustomResourceDefinition') this.register(stored);
    if (stored.kind === 'Namespace' && groupOf(stored.apiVersion) === '') this.populateNamespace(stored.metadata.name ?? '');
  }

  /** What the serviceaccount and root-ca-cert-publisher controllers put in every namespace. */
  private populateNamespace(namespace: string): void {
    for (const object of [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace }, data: { 'ca.crt': '(offline)' } },
    ]) {
      this.snapshot.upsert(this.stamp(object, namespace));
    }
  }

  private register(crd: KubeObject): void {
    const kind = kindOfCrd(crd);
    if (kind === undefined) return;
    this.kinds.set(`${kind.group}/${kind.kind}`, kind);
    this.snapshot.addKinds([kind]);
  }

  private unregister(crd: KubeObject): void {
    const kind = kindOfCrd(crd);
    if (kind !== undefined) this.kinds.delete(`${kind.group}/${kind.kind}`);
  }
}

function keyOrder(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
}
