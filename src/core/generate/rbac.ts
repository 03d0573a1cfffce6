// Scoped RBAC for the holder of a granted lease with `rbac: Generate`: a Role per namespace the lease names (or a
// ClusterRole for cluster-scoped kinds and for resources without namespaces) and a binding of it to the holder.
// Pure: the same lease and catalog give the same objects, names included.
//
// What RBAC cannot say, and what Suture does about it:
//  - `names` become resourceNames, but the API server authorizes `create` before the object has a name, so create
//    cannot be restricted by resourceNames: it is granted without them, for the kinds and namespaces of the lease.
//    Admission (the lease and the policies) bounds what the holder may create.
//  - `namePrefixes`, `selector` and `namespaceSelector` have no RBAC equivalent: the rules cover the whole kind in the
//    namespace (or cluster-wide when no namespaces are named).
//  - Kinds the catalog does not know (a CRD not installed yet) get no rules; they are reported in `notes`.
import type { KubeObject, LeaseResource, Subject, SutureLease } from '../../api/types.js';
import { type KindCatalog, type ResolvedResource, resolveResources } from './kinds.js';
import { generatedName, leaseLabels, leaseOwnerReference } from './names.js';

export const RBAC_API_VERSION = 'rbac.authorization.k8s.io/v1';
export const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** Verbs on the leased resources. */
export const LEASE_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] as const;
/** Subresources that count as writes to their object (docs/concepts.md, Objects and selectors), and the verbs on them. */
export const LEASE_SUBRESOURCES = ['scale', 'status'] as const;
export const SUBRESOURCE_VERBS = ['get', 'update', 'patch'] as const;

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** Rules in one scope: a namespace, or "" for cluster-wide. */
export interface ScopedRules {
  namespace: string;
  rules: PolicyRule[];
}

export interface RbacPlan {
  /** Roles and ClusterRoles first, then their bindings; sorted by kind, namespace and name. */
  objects: KubeObject[];
  /** What the lease needs, per scope (for the rights audit), whether or not RBAC is generated. */
  needs: ScopedRules[];
  /** Things the rules could not express (unknown kinds). */
  notes: string[];
}

// ------------------------------------------------------------------------------------------------ rules

function named(list: readonly string[] | undefined): string[] | undefined {
  if (list === undefined || list.length === 0 || list.includes('*')) return undefined;
  return [...new Set(list)].sort();
}

function subresourcesOf(resource: string): string[] {
  return LEASE_SUBRESOURCES.map((s) => `${resource}/${s}`);
}

/** The rules for one resolved resource: names restrict every verb but create (see the file comment). */
function rulesFor(r: ResolvedResource, names: string[] | undefined): PolicyRule[] {
  const sub: PolicyRule = { apiGroups: [r.group], resources: subresourcesOf(r.resource), verbs: [...SUBRESOURCE_VERBS] };
  if (names === undefined) return [{ apiGroups: [r.group], resources: [r.resource], verbs: [...LEASE_VERBS] }, sub];
  return [
    { apiGroups: [r.group], resources: [r.resource], verbs: LEASE_VERBS.filter((v) => v !== 'create'), resourceNames: [...names] },
    { apiGroups: [r.group], resources: [r.resource], verbs: ['create'] },
    { ...sub, resourceNames: [...names] },
  ];
}

/** The scopes a resolved resource gets: cluster-scoped kinds and resources without namespaces are cluster-wide. */
function scopesFor(r: ResolvedResource, res: LeaseResource): string[] {
  const namespaces = named(res.namespaces);
  return r.namespaced === false || namespaces === undefined ? [''] : namespaces;
}

function ruleKey(rule: PolicyRule): string {
  return JSON.stringify([rule.apiGroups, rule.verbs, rule.resourceNames ?? null]);
}

/** Merges rules that differ only in resources, and sorts everything, so equal leases give byte-equal rules. */
export function normalizeRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const merged = new Map<string, PolicyRule>();
  for (const rule of rules) {
    const key = ruleKey(rule);
    const existing = merged.get(key);
    if (existing === undefined) merged.set(key, { ...rule, resources: [...rule.resources] });
    else existing.resources.push(...rule.resources);
  }
  const out = [...merged.values()].map((r) => ({ ...r, resources: [...new Set(r.resources)].sort() }));
  return out.sort((a, b) => JSON.stringify([a.apiGroups, a.resources, a.verbs]).localeCompare(JSON.stringify([b.apiGroups, b.resources, b.verbs])));
}

/** What a lease needs in each scope, and the kinds that could not be resolved. */
export function leaseNeeds(lease: SutureLease, catalog: KindCatalog): { needs: ScopedRules[]; notes: string[] } {
  const byScope = new Map<string, PolicyRule[]>();
  const notes: string[] = [];
  for (const res of lease.spec.resources) {
    const { resources, unknown } = resolveResources(res, catalog);
    for (const kind of unknown) notes.push(`kind ${kind} is not served by the API server; no RBAC generated for it`);
    for (const r of resources) {
      const rules = rulesFor(r, named(res.names));
      for (const scope of scopesFor(r, res)) byScope.set(scope, [...(byScope.get(scope) ?? []), ...rules]);
    }
  }
  const needs = [...byScope.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([namespace, rules]) => ({ namespace, rules: normalizeRules(rules) }));
  return { needs, notes };
}

// ------------------------------------------------------------------------------------------------ objects

/** An RBAC subject for the holder. */
export function rbacSubject(holder: Subject): Record<string, string> {
  if (holder.kind === 'ServiceAccount') return { kind: 'ServiceAccount', name: holder.name, namespace: holder.namespace ?? '' };
  return { kind: holder.kind, apiGroup: RBAC_GROUP, name: holder.name };
}

function metadataFor(lease: SutureLease, name: string, namespace: string): KubeObject['metadata'] {
  const owners = leaseOwnerReference(lease, namespace);
  return {
    name,
    ...(namespace === '' ? {} : { namespace }),
    labels: leaseLabels(lease),
    ...(owners === undefined ? {} : { ownerReferences: owners }),
  };
}

/** The role name for a scope: `suture-<lease namespace>-<lease name>[-<namespace>]-<hash>`. */
export function roleName(lease: SutureLease, namespace: string): string {
  const parts = ['suture', lease.metadata.namespace ?? '', lease.metadata.name ?? ''];
  return generatedName(namespace === '' ? parts : [...parts, namespace]);
}

function scopeObjects(lease: SutureLease, scope: ScopedRules): KubeObject[] {
  const name = roleName(lease, scope.namespace);
  const cluster = scope.namespace === '';
  const role: KubeObject = { apiVersion: RBAC_API_VERSION, kind: cluster ? 'ClusterRole' : 'Role', metadata: metadataFor(lease, name, scope.namespace), rules: scope.rules };
  const binding: KubeObject = {
    apiVersion: RBAC_API_VERSION,
    kind: cluster ? 'ClusterRoleBinding' : 'RoleBinding',
    metadata: metadataFor(lease, name, scope.namespace),
    roleRef: { apiGroup: RBAC_GROUP, kind: role.kind, name },
    subjects: [rbacSubject(lease.spec.holder)],
  };
  return [role, binding];
}

const KIND_ORDER = ['ClusterRole', 'Role', 'ClusterRoleBinding', 'RoleBinding'];

function objectOrder(a: KubeObject, b: KubeObject): number {
  const byKind = KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind);
  if (byKind !== 0) return byKind;
  return `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`);
}

/**
 * The RBAC a lease's holder gets: for `rbac: Generate` (the default), a Role and RoleBinding per namespace the lease
 * names, and a ClusterRole and ClusterRoleBinding for cluster-scoped kinds and resources without namespaces. Objects
 * in the lease's own namespace are owned by it; the others carry only the labels and are deleted by label.
 * With `rbac: None`, no objects (needs and notes are still computed).
 */
export function buildLeaseRbac(lease: SutureLease, catalog: KindCatalog): RbacPlan {
  const { needs, notes } = leaseNeeds(lease, catalog);
  if ((lease.spec.rbac ?? 'Generate') !== 'Generate') return { objects: [], needs, notes };
  const objects = needs.filter((s) => s.rules.length > 0).flatMap((s) => scopeObjects(lease, s));
  return { objects: objects.sort(objectOrder), needs, notes };
}
