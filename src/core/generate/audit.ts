// The rights audit: what a lease holder can write through RBAC beyond what its leases need. RBAC is static and
// admission cannot see everything (docs/concepts.md, "What admission cannot see"): the API server sends no admission
// request for webhook configurations or admission policies, so an identity that can write them, CRDs, RBAC or
// Suture's own objects can switch Suture off. Those are flagged `sensitive`.
// Pure: the RBAC objects are passed in. Aggregated ClusterRoles are read by their rules as stored (the controller
// manager's aggregation controller has filled them in).
import { GROUP } from '../../api/schema.js';
import type { KubeObject, Subject, SutureLeaseStatus } from '../../api/types.js';
import type { PolicyRule, ScopedRules } from './rbac.js';

export type ExcessPermission = NonNullable<SutureLeaseStatus['excessPermissions']>[number];

export interface RbacObjects {
  roles: readonly KubeObject[];
  clusterRoles: readonly KubeObject[];
  roleBindings: readonly KubeObject[];
  clusterRoleBindings: readonly KubeObject[];
}

export interface AuditResult {
  /** Write access beyond the leases' needs, one entry per granting rule. */
  excess: ExcessPermission[];
  /** The subset that reaches admission configuration, CRDs, RBAC, Suture's objects, or escalate/bind/impersonate. */
  sensitive: ExcessPermission[];
}

/** Verbs the audit counts: writes, and the verbs that grant more rights. Reads are not audited. */
export const AUDITED_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection', 'escalate', 'bind', 'impersonate', 'approve', 'sign', '*'] as const;

/** Resources `impersonate` (or `*`) is granted on to act as another identity: core users/groups/serviceaccounts, and the authentication group's uids/userextras. */
const IMPERSONATED_RESOURCES = ['users', 'groups', 'serviceaccounts', 'uids', 'userextras', 'userextras/*', '*'];

/** Whether a verb impersonates: `impersonate`, or a constrained-impersonation verb (KEP-5284: `impersonate:<mode>`, `impersonate-on:<mode>:<verb>`). */
export function isImpersonationVerb(verb: string): boolean {
  return verb === 'impersonate' || verb.startsWith('impersonate:') || verb.startsWith('impersonate-on:');
}

/**
 * Whether a grant lets its holder act as another identity — the most dangerous right there is against Suture:
 * admission sees only the impersonated user (a garbage collector, system:admin), so leases and the governed pipeline
 * no longer bind. `*` verbs include it wherever they reach the impersonated resources.
 */
export function impersonates(e: Pick<ExcessPermission, 'verbs' | 'apiGroups' | 'resources'>): boolean {
  if (e.verbs.some(isImpersonationVerb)) return true;
  const groups = e.apiGroups.some((g) => g === '' || g === 'authentication.k8s.io' || g === '*');
  return e.verbs.includes('*') && groups && e.resources.some((r) => IMPERSONATED_RESOURCES.includes(r));
}
/** Groups whose writes can switch Suture off or widen rights. */
export const SENSITIVE_GROUPS = ['*', 'admissionregistration.k8s.io', 'apiextensions.k8s.io', 'rbac.authorization.k8s.io', GROUP] as const;
const ESCALATING_VERBS = ['*', 'escalate', 'bind', 'impersonate'];

interface Binding {
  namespace: string;
  via: string;
  roleRef: { kind: string; name: string };
  subjects: readonly { kind?: string; name?: string; namespace?: string }[];
}

function asBinding(obj: KubeObject, cluster: boolean): Binding {
  const roleRef = (obj['roleRef'] ?? {}) as { kind?: string; name?: string };
  const subjects = (obj['subjects'] ?? []) as Binding['subjects'];
  const namespace = cluster ? '' : (obj.metadata.namespace ?? '');
  // The kind from where the binding came, not obj.kind: the items of a list from the API server carry no kind.
  const via = `${cluster ? 'ClusterRoleBinding' : 'RoleBinding'}/${namespace === '' ? '' : `${namespace}/`}${obj.metadata.name ?? ''}`;
  return { namespace, via, roleRef: { kind: roleRef.kind ?? '', name: roleRef.name ?? '' }, subjects };
}

function serviceAccountBound(holder: Subject, s: Binding['subjects'][number]): boolean {
  const ns = holder.namespace ?? '';
  if (s.kind === 'ServiceAccount') return s.name === holder.name && s.namespace === ns;
  if (s.kind === 'User') return s.name === `system:serviceaccount:${ns}:${holder.name}`;
  return s.kind === 'Group' && ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'].includes(s.name ?? '');
}

/** Whether a binding subject names the holder: itself, or a group every such identity belongs to. */
function bindsHolder(holder: Subject, s: Binding['subjects'][number]): boolean {
  if (holder.kind === 'ServiceAccount') return serviceAccountBound(holder, s);
  if (holder.kind === 'User') return (s.kind === 'User' && s.name === holder.name) || (s.kind === 'Group' && s.name === 'system:authenticated');
  return s.kind === 'Group' && s.name === holder.name;
}

/** Whether a RoleBinding or ClusterRoleBinding names the holder (itself, or a group every such identity is in). */
export function bindsSubject(binding: KubeObject, holder: Subject): boolean {
  return asBinding(binding, binding.kind === 'ClusterRoleBinding').subjects.some((s) => bindsHolder(holder, s));
}

/** Whether a binding refers to this Role or ClusterRole (a Role only from its own namespace). */
export function bindingUsesRole(binding: KubeObject, role: KubeObject): boolean {
  const b = asBinding(binding, binding.kind === 'ClusterRoleBinding');
  if (b.roleRef.kind !== role.kind || b.roleRef.name !== role.metadata.name) return false;
  return role.kind === 'ClusterRole' || b.namespace === (role.metadata.namespace ?? '');
}

function rulesOf(role: KubeObject | undefined): PolicyRule[] {
  const rules = (role?.['rules'] ?? []) as PolicyRule[];
  return rules.filter((r) => Array.isArray(r.resources) && r.resources.length > 0);
}

function roleOf(binding: Binding, rbac: RbacObjects): KubeObject | undefined {
  if (binding.roleRef.kind === 'ClusterRole') return rbac.clusterRoles.find((r) => r.metadata.name === binding.roleRef.name);
  return rbac.roles.find((r) => r.metadata.name === binding.roleRef.name && r.metadata.namespace === binding.namespace);
}

/** Every rule the holder has, with the scope it applies in ("" = cluster-wide) and the binding that grants it. */
export function effectiveRules(holder: Subject, rbac: RbacObjects): { namespace: string; via: string; rule: PolicyRule }[] {
  const bindings = [...rbac.clusterRoleBindings.map((b) => asBinding(b, true)), ...rbac.roleBindings.map((b) => asBinding(b, false))];
  return bindings
    .filter((b) => b.subjects.some((s) => bindsHolder(holder, s)))
    .flatMap((b) => rulesOf(roleOf(b, rbac)).map((rule) => ({ namespace: b.namespace, via: b.via, rule })));
}

// ------------------------------------------------------------------------------------------------ coverage

function has(list: readonly string[] | undefined, value: string): boolean {
  return list !== undefined && (list.includes('*') || list.includes(value));
}

function namesWithin(granted: readonly string[] | undefined, needed: readonly string[] | undefined): boolean {
  if (needed === undefined || needed.length === 0) return true;
  return granted !== undefined && granted.length > 0 && granted.every((n) => needed.includes(n));
}

interface Token {
  verb: string;
  group: string;
  resource: string;
}

function covers(need: PolicyRule, t: Token, names: readonly string[] | undefined): boolean {
  return has(need.verbs, t.verb) && has(need.apiGroups, t.group) && has(need.resources, t.resource) && namesWithin(names, need.resourceNames);
}

/** Needs that apply to a grant in `namespace`: cluster-wide needs, and that namespace's (a cluster-wide grant: only cluster-wide needs). */
function applicable(needs: readonly ScopedRules[], namespace: string): PolicyRule[] {
  return needs.filter((s) => s.namespace === '' || (namespace !== '' && s.namespace === namespace)).flatMap((s) => s.rules);
}

/**
 * What every authenticated identity may create to ask the API server about itself (ClusterRole system:basic-user):
 * questions, not writes; never excess.
 */
const SELF_REVIEWS: readonly string[] = ['authorization.k8s.io/selfsubjectaccessreviews', 'authorization.k8s.io/selfsubjectrulesreviews', 'authentication.k8s.io/selfsubjectreviews'];

function uncovered(rule: PolicyRule, needs: readonly PolicyRule[], audited: readonly string[]): Token[] {
  const tokens: Token[] = [];
  const verbs = rule.verbs.filter((v) => audited.includes(v) || (audited.includes('impersonate') && isImpersonationVerb(v)));
  for (const verb of verbs) {
    for (const group of rule.apiGroups ?? ['']) {
      for (const resource of rule.resources) {
        const t = { verb, group, resource };
        if (SELF_REVIEWS.includes(`${group}/${resource}`)) continue;
        if (!needs.some((n) => covers(n, t, rule.resourceNames))) tokens.push(t);
      }
    }
  }
  return tokens;
}

function isSensitive(t: Token): boolean {
  return ESCALATING_VERBS.includes(t.verb) || isImpersonationVerb(t.verb) || (SENSITIVE_GROUPS as readonly string[]).includes(t.group);
}

function unique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

function toExcess(tokens: readonly Token[], namespace: string, via: string): ExcessPermission {
  return {
    verbs: unique(tokens.map((t) => t.verb)),
    apiGroups: unique(tokens.map((t) => t.group)),
    resources: unique(tokens.map((t) => t.resource)),
    ...(namespace === '' ? {} : { namespace }),
    via,
  };
}

/**
 * What the holder can write beyond `needs` (from leaseNeeds of every lease it holds): for each rule of each binding
 * that names the holder (directly, or through system:serviceaccounts[:<ns>] and system:authenticated), the verbs,
 * groups and resources not covered. A grant restricted by resourceNames is covered by a need with the same or more
 * names; a cluster-wide grant only by a cluster-wide need. Sorted by binding, then namespace (`sensitive`: the grants
 * that impersonate first). `verbs` are the verbs
 * audited (default AUDITED_VERBS: writes and escalation; `kubectl suture audit` also asks about reads of secrets).
 */
export function auditHolder(holder: Subject, rbac: RbacObjects, needs: readonly ScopedRules[], verbs: readonly string[] = AUDITED_VERBS): AuditResult {
  const excess: ExcessPermission[] = [];
  const sensitive: ExcessPermission[] = [];
  for (const { namespace, via, rule } of effectiveRules(holder, rbac)) {
    const tokens = uncovered(rule, applicable(needs, namespace), verbs);
    if (tokens.length === 0) continue;
    excess.push(toExcess(tokens, namespace, via));
    const risky = tokens.filter(isSensitive);
    if (risky.length > 0) sensitive.push(toExcess(risky, namespace, via));
  }
  const order = (a: ExcessPermission, b: ExcessPermission): number => `${a.via} ${a.namespace ?? ''}`.localeCompare(`${b.via} ${b.namespace ?? ''}`);
  // Sensitive grants that impersonate first: they are the most dangerous (see impersonates()).
  const impersonationFirst = (a: ExcessPermission, b: ExcessPermission): number => Number(impersonates(b)) - Number(impersonates(a)) || order(a, b);
  return { excess: excess.sort(order), sensitive: sensitive.sort(impersonationFirst) };
}
