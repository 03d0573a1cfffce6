// Small builders of cluster objects, identities, leases and admission requests for the core's unit tests.
// Objects get deterministic uids (uidOf) so that ownerReferences and lookups read plainly in tests.
import type { KubeObject, LeaseResource, Subject, SutureLease, SutureLeaseSpec, SutureLeaseStatus } from '../../../src/api/types.js';
import { BUILTIN_KINDS, groupOf } from '../../../src/core/snapshot.js';
import type { AdmissionRequest, DeleteOptions, LeaseState, UserInfo } from '../../../src/core/types.js';

type Labels = Record<string, string>;

export function uidOf(kind: string, namespace: string, name: string): string {
  return `uid:${kind}:${namespace}:${name}`.toLowerCase();
}

/** Any object; `at` is "namespace/name", or "name" for a cluster-scoped one. */
export function object(apiVersion: string, kind: string, at: string, fields: Record<string, unknown> = {}): KubeObject {
  const slash = at.indexOf('/');
  const namespace = slash < 0 ? '' : at.slice(0, slash);
  const name = at.slice(slash + 1);
  const metadata: KubeObject['metadata'] = { name, uid: uidOf(kind, namespace, name) };
  if (namespace !== '') metadata.namespace = namespace;
  return { apiVersion, kind, metadata, ...fields };
}

export function labelled<T extends KubeObject>(obj: T, labels: Labels): T {
  return { ...obj, metadata: { ...obj.metadata, labels: { ...obj.metadata.labels, ...labels } } };
}

/** The object with ownerReferences to the owners (the first is the controller). */
export function owned<T extends KubeObject>(obj: T, ...owners: KubeObject[]): T {
  const refs = owners.map((o, i) => ({
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.metadata.name ?? '',
    uid: o.metadata.uid ?? '',
    ...(i === 0 ? { controller: true } : {}),
  }));
  return { ...obj, metadata: { ...obj.metadata, ownerReferences: [...(obj.metadata.ownerReferences ?? []), ...refs] } };
}

export function ns(name: string, labels?: Labels): KubeObject {
  const o = object('v1', 'Namespace', name);
  return labels === undefined ? o : labelled(o, labels);
}

export function pod(namespace: string, name: string, labels?: Labels, ready = true): KubeObject {
  const o = object('v1', 'Pod', `${namespace}/${name}`, {
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });
  return labels === undefined ? o : labelled(o, labels);
}

export function pvc(namespace: string, name: string, labels?: Labels): KubeObject {
  const o = object('v1', 'PersistentVolumeClaim', `${namespace}/${name}`, { spec: { resources: { requests: { storage: '1Gi' } } } });
  return labels === undefined ? o : labelled(o, labels);
}

export function secret(namespace: string, name: string, labels?: Labels): KubeObject {
  const o = object('v1', 'Secret', `${namespace}/${name}`, { data: {} });
  return labels === undefined ? o : labelled(o, labels);
}

export function configMap(namespace: string, name: string, labels?: Labels): KubeObject {
  const o = object('v1', 'ConfigMap', `${namespace}/${name}`, { data: {} });
  return labels === undefined ? o : labelled(o, labels);
}

export interface StatefulSetOptions {
  replicas?: number;
  labels?: Labels;
  /** volumeClaimTemplates by name. */
  claims?: string[];
  whenDeleted?: 'Retain' | 'Delete';
  whenScaled?: 'Retain' | 'Delete';
}

export function sts(namespace: string, name: string, opts: StatefulSetOptions = {}): KubeObject {
  const spec: Record<string, unknown> = { replicas: opts.replicas ?? 1, serviceName: name, selector: { matchLabels: { app: name } } };
  if (opts.claims !== undefined) spec.volumeClaimTemplates = opts.claims.map((c) => ({ metadata: { name: c } }));
  if (opts.whenDeleted !== undefined || opts.whenScaled !== undefined) {
    spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: opts.whenDeleted ?? 'Retain', whenScaled: opts.whenScaled ?? 'Retain' };
  }
  const o = object('apps/v1', 'StatefulSet', `${namespace}/${name}`, { spec });
  return opts.labels === undefined ? o : labelled(o, opts.labels);
}

export function deployment(namespace: string, name: string, replicas = 1, labels?: Labels): KubeObject {
  const o = object('apps/v1', 'Deployment', `${namespace}/${name}`, { spec: { replicas, selector: { matchLabels: { app: name } }, template: {} } });
  return labels === undefined ? o : labelled(o, labels);
}

export function replicaSet(namespace: string, name: string, replicas = 1): KubeObject {
  return object('apps/v1', 'ReplicaSet', `${namespace}/${name}`, { spec: { replicas } });
}

export function crd(group: string, kind: string, plural: string, scope: 'Namespaced' | 'Cluster' = 'Namespaced'): KubeObject {
  return object('apiextensions.k8s.io/v1', 'CustomResourceDefinition', `${plural}.${group}`, {
    spec: { group, scope, names: { kind, plural, singular: kind.toLowerCase() }, versions: [{ name: 'v1', served: true, storage: true }] },
  });
}

export function custom(apiVersion: string, kind: string, namespace: string, name: string): KubeObject {
  return object(apiVersion, kind, `${namespace}/${name}`, { spec: {} });
}

// ------------------------------------------------------------------------------------------------ identities

export function saSubject(namespace: string, name: string): Subject {
  return { kind: 'ServiceAccount', namespace, name };
}

export function saUser(namespace: string, name: string): UserInfo {
  return {
    username: `system:serviceaccount:${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
  };
}

export function human(name: string, groups: string[] = []): UserInfo {
  return { username: name, groups: [...groups, 'system:authenticated'] };
}

// ------------------------------------------------------------------------------------------------ leases

export interface LeaseOptions {
  created?: string;
  status?: SutureLeaseStatus;
  deleting?: boolean;
}

export function lease(
  namespace: string,
  name: string,
  spec: Partial<SutureLeaseSpec> & { holder: Subject; resources: LeaseResource[] },
  opts: LeaseOptions = {},
): SutureLease {
  const metadata: KubeObject['metadata'] = {
    name,
    namespace,
    uid: uidOf('SutureLease', namespace, name),
    creationTimestamp: opts.created ?? '2026-01-01T00:00:00Z',
  };
  if (opts.deleting === true) metadata.deletionTimestamp = '2026-01-02T00:00:00Z';
  const l: SutureLease = { apiVersion: 'suture.dev/v1alpha1', kind: 'SutureLease', metadata, spec };
  if (opts.status !== undefined) l.status = opts.status;
  return l;
}

export function grantedLease(l: SutureLease, granted = true): LeaseState {
  return { lease: l, granted };
}

// ------------------------------------------------------------------------------------------------ requests

function gvk(obj: KubeObject): { group: string; version: string; kind: string } {
  const group = groupOf(obj.apiVersion);
  return { group, version: obj.apiVersion.slice(obj.apiVersion.indexOf('/') + 1), kind: obj.kind };
}

export function resourceOf(group: string, kind: string): string {
  return BUILTIN_KINDS.find((k) => k.group === group && k.kind === kind)?.resource ?? `${kind.toLowerCase()}s`;
}

function base(obj: KubeObject, user: UserInfo): Pick<AdmissionRequest, 'uid' | 'kind' | 'resource' | 'name' | 'namespace' | 'userInfo'> {
  const k = gvk(obj);
  const r: Pick<AdmissionRequest, 'uid' | 'kind' | 'resource' | 'name' | 'namespace' | 'userInfo'> = {
    uid: `req-${obj.metadata.name ?? obj.metadata.generateName ?? ''}`,
    kind: k,
    resource: { group: k.group, version: k.version, resource: resourceOf(k.group, k.kind) },
    userInfo: user,
  };
  if (obj.metadata.name !== undefined) r.name = obj.metadata.name;
  if (obj.metadata.namespace !== undefined) r.namespace = obj.metadata.namespace;
  return r;
}

export function createRequest(obj: KubeObject, user: UserInfo): AdmissionRequest {
  return { ...base(obj, user), operation: 'CREATE', object: obj };
}

export function updateRequest(before: KubeObject, after: KubeObject, user: UserInfo, subResource?: string): AdmissionRequest {
  const r: AdmissionRequest = { ...base(after, user), operation: 'UPDATE', object: after, oldObject: before };
  if (subResource !== undefined) r.subResource = subResource;
  return r;
}

export function deleteRequest(obj: KubeObject, user: UserInfo, options: DeleteOptions & Record<string, unknown> = {}): AdmissionRequest {
  return { ...base(obj, user), operation: 'DELETE', oldObject: obj, options };
}

/**
 * An UPDATE of `parent`'s scale subresource: the objects are autoscaling/v1 Scales, as the API server sends them —
 * `spec.replicas` is `omitempty`, so a Scale to 0 has `spec: {}`.
 */
export function scaleRequest(parent: KubeObject, replicas: number, user: UserInfo): AdmissionRequest {
  const scale = (n: number): KubeObject => ({
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name: parent.metadata.name ?? '', namespace: parent.metadata.namespace ?? '' },
    spec: n === 0 ? {} : { replicas: n },
  });
  const current = (parent.spec as { replicas?: number } | undefined)?.replicas ?? 1;
  return {
    ...base(parent, user),
    kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
    subResource: 'scale',
    operation: 'UPDATE',
    object: scale(replicas),
    oldObject: scale(current),
  };
}

/** A deep copy with `change` applied, for building the `after` of an update. */
export function edited<T extends KubeObject>(obj: T, change: (copy: T) => void): T {
  const copy = structuredClone(obj);
  change(copy);
  return copy;
}

// ================================================================================================================
// Policies, exceptions, impacts, budgets and metrics — for the cel/policy/validate/conditions/invariants tests.
// (Kept as its own section; the builders above are shared.)
// ================================================================================================================

import type { SutureException, SuturePolicy } from '../../../src/api/types.js';
import type { Affected, BudgetLedger, Impact, MetricReader, MetricSample } from '../../../src/core/types.js';

export function policyObject(name: string, spec: Record<string, unknown>): SuturePolicy {
  return { apiVersion: 'suture.dev/v1alpha1', kind: 'SuturePolicy', metadata: { name, uid: uidOf('SuturePolicy', '', name) }, spec } as never;
}

export function exceptionObject(name: string, spec: Record<string, unknown>): SutureException {
  return { apiVersion: 'suture.dev/v1alpha1', kind: 'SutureException', metadata: { name }, spec } as never;
}

export function affected(obj: KubeObject, effect: 'CREATE' | 'UPDATE' | 'DELETE', before?: KubeObject, via = 'target'): Affected {
  return before === undefined ? { object: obj, effect, via } : { object: obj, effect, before, via };
}

/** An Impact from affected entries (target first). */
export function impactOf(...entries: Affected[]): Impact {
  return {
    affected: entries,
    created: entries.filter((a) => a.effect === 'CREATE').map((a) => a.object),
    changed: entries.filter((a) => a.effect === 'UPDATE'),
    deleted: entries.filter((a) => a.effect === 'DELETE').map((a) => a.object),
  };
}

/** A BudgetLedger answering from a table keyed `policy/invariant/key`. */
export function ledger(used: Record<string, number> = {}): BudgetLedger {
  return { used: (policy, invariant, key) => used[`${policy}/${invariant}/${key}`] ?? 0 };
}

/** A MetricReader answering from a table keyed by query. */
export function metricReader(samples: Record<string, MetricSample>): MetricReader {
  return { read: (_url, query) => samples[query] };
}
