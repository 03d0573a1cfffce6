// `kubectl suture audit`: per operator identity, its effective RBAC (every rule of every Role/ClusterRole bound to it,
// directly or through the groups Kubernetes gives it), what its leases need, and the excess with the binding that
// grants it — dangerous rights first. The measuring is the rights audit Suture's lease reconciler runs
// (core/generate/audit.ts, the same functions); this module only gathers the identities, ranks the excess by danger
// and prints it. Pure: leases, RBAC objects and the kind catalog come in.
import type { Subject, SutureLease } from '../api/types.js';
import { AUDITED_VERBS, type ExcessPermission, type RbacObjects, auditHolder, effectiveRules, impersonates } from '../core/generate/audit.js';
import type { KindCatalog } from '../core/generate/kinds.js';
import { type PolicyRule, type ScopedRules, leaseNeeds } from '../core/generate/rbac.js';
import { GROUP } from '../api/schema.js';
import { holderName } from './leases.js';
import { renderTable } from './output.js';

/**
 * Kinds of danger, most dangerous first: the order of the report. `impersonate` leads (issue 9): admission sees only
 * the impersonated identity, so an operator that can impersonate is no longer bound by its leases or the governed
 * pipeline at all; only the effect guard (protect, floors) still holds. A `*` verb on the impersonated resources
 * counts as impersonate too.
 */
export const DANGERS = ['impersonate', 'wildcard', 'escalate/bind', 'secrets cluster-wide', 'admission configuration', 'CRDs', 'RBAC', 'Suture objects'] as const;
export type Danger = (typeof DANGERS)[number];

const READ_VERBS = ['get', 'list', 'watch'];
const ADMISSION_RESOURCES = ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations', 'validatingadmissionpolicies', 'validatingadmissionpolicybindings', 'mutatingadmissionpolicies', 'mutatingadmissionpolicybindings'];

export interface Excess extends ExcessPermission {
  /** Why it is dangerous, most dangerous first; empty for excess that is only more than needed. */
  readonly dangers: readonly Danger[];
}

export interface EffectiveRule extends PolicyRule {
  /** The namespace the rule applies in; undefined = cluster-wide. */
  readonly namespace?: string;
  readonly via: string;
}

export interface IdentityAudit {
  /** As Kubernetes names it (what `--as` takes). */
  readonly identity: string;
  readonly subject: Subject;
  /** `namespace/name (phase)` of the leases it holds. */
  readonly leases: readonly { namespace: string; name: string; phase: string }[];
  readonly effective: readonly EffectiveRule[];
  readonly needs: readonly ScopedRules[];
  /** Dangerous first, then by binding. */
  readonly excess: readonly Excess[];
  /** Kinds the catalog does not know (a lease naming a CRD not installed). */
  readonly notes: readonly string[];
}

function includesAny(list: readonly string[], values: readonly string[]): boolean {
  return list.some((v) => values.includes(v));
}

const anyResource = (e: ExcessPermission): boolean => e.resources.includes('*');
const inGroup = (e: ExcessPermission, group: string): boolean => e.apiGroups.includes(group) || e.apiGroups.includes('*');
const touches = (e: ExcessPermission, group: string, resources: readonly string[]): boolean => inGroup(e, group) && (anyResource(e) || includesAny(e.resources, resources));

/** Each danger and when an excess entry has it, in DANGERS order. */
const DANGER_RULES: readonly { danger: Danger; has: (e: ExcessPermission) => boolean }[] = [
  { danger: 'impersonate', has: impersonates },
  { danger: 'wildcard', has: (e) => e.verbs.includes('*') || anyResource(e) || e.apiGroups.includes('*') },
  { danger: 'escalate/bind', has: (e) => includesAny(e.verbs, ['escalate', 'bind']) || (e.verbs.includes('*') && touches(e, 'rbac.authorization.k8s.io', ['roles', 'clusterroles', 'rolebindings', 'clusterrolebindings'])) },
  { danger: 'secrets cluster-wide', has: (e) => e.namespace === undefined && touches(e, '', ['secrets']) },
  { danger: 'admission configuration', has: (e) => touches(e, 'admissionregistration.k8s.io', ADMISSION_RESOURCES) },
  { danger: 'CRDs', has: (e) => touches(e, 'apiextensions.k8s.io', ['customresourcedefinitions']) },
  { danger: 'RBAC', has: (e) => inGroup(e, 'rbac.authorization.k8s.io') },
  { danger: 'Suture objects', has: (e) => inGroup(e, GROUP) },
];

/** The dangers of one excess entry, most dangerous first. */
export function dangersOf(e: ExcessPermission): Danger[] {
  return DANGER_RULES.filter((r) => r.has(e)).map((r) => r.danger);
}

function rank(e: Excess): number {
  const first = e.dangers[0];
  return first === undefined ? DANGERS.length : DANGERS.indexOf(first);
}

function sameSubject(a: Subject, b: Subject): boolean {
  return a.kind === b.kind && a.name === b.name && (a.namespace ?? '') === (b.namespace ?? '');
}

/** Subjects to audit: the holders of `leases`, each once, by name. */
export function holdersOf(leases: readonly SutureLease[]): Subject[] {
  const out: Subject[] = [];
  for (const l of leases) if (!out.some((s) => sameSubject(s, l.spec.holder))) out.push(l.spec.holder);
  return out.sort((a, b) => holderName(a).localeCompare(holderName(b)));
}

/** The subject an identity names: system:serviceaccount:<ns>:<name>, group:<name>, else a user. */
export function subjectOf(identity: string): Subject {
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(identity);
  if (sa !== null) return { kind: 'ServiceAccount', namespace: sa[1] ?? '', name: sa[2] ?? '' };
  if (identity.startsWith('group:')) return { kind: 'Group', name: identity.slice('group:'.length) };
  return { kind: 'User', name: identity };
}

/** Reads of secrets beyond the needs: the write audit does not count reads, but cluster-wide secrets are a key ring. */
function secretReads(subject: Subject, rbac: RbacObjects, needs: readonly ScopedRules[]): ExcessPermission[] {
  return auditHolder(subject, rbac, needs, READ_VERBS).excess.filter(
    (e) => e.namespace === undefined && (e.apiGroups.includes('') || e.apiGroups.includes('*')) && (e.resources.includes('secrets') || e.resources.includes('*')),
  );
}

/** The audit of one identity against every lease it holds (whatever their phase: a lease states what it needs). */
export function auditIdentity(subject: Subject, leases: readonly SutureLease[], rbac: RbacObjects, catalog: KindCatalog): IdentityAudit {
  const held = leases.filter((l) => sameSubject(l.spec.holder, subject));
  const resolved = held.map((l) => leaseNeeds(l, catalog));
  const needs = resolved.flatMap((r) => r.needs);
  const writes = auditHolder(subject, rbac, needs, AUDITED_VERBS).excess;
  const excess = [...writes, ...secretReads(subject, rbac, needs)].map((e) => ({ ...e, dangers: dangersOf(e) }));
  excess.sort((a, b) => rank(a) - rank(b) || a.via.localeCompare(b.via));
  const effective = effectiveRules(subject, rbac).map(({ namespace, via, rule }) => ({ ...rule, ...(namespace === '' ? {} : { namespace }), via }));
  return {
    identity: holderName(subject),
    subject,
    leases: held.map((l) => ({ namespace: l.metadata.namespace ?? '', name: l.metadata.name ?? '', phase: l.status?.phase ?? 'Pending' })),
    effective,
    needs,
    excess,
    notes: [...new Set(resolved.flatMap((r) => r.notes))],
  };
}

function groups(list: readonly string[] | undefined): string {
  return (list ?? []).map((g) => (g === '' ? 'core' : g)).join(',');
}

function resources(rule: { resources: readonly string[]; resourceNames?: readonly string[] | undefined }): string {
  const names = rule.resourceNames === undefined || rule.resourceNames.length === 0 ? '' : ` [${rule.resourceNames.join(',')}]`;
  return `${rule.resources.join(',')}${names}`;
}

function scope(namespace: string | undefined): string {
  return namespace === undefined || namespace === '' ? '(cluster)' : namespace;
}

/** The text report of one identity: header, excess (dangerous first); with wide also effective RBAC and needs. */
export function auditText(a: IdentityAudit, wide: boolean): string[] {
  const dangerous = a.excess.filter((e) => e.dangers.length > 0).length;
  const lines = [
    `IDENTITY  ${a.identity}`,
    `LEASES    ${a.leases.length === 0 ? '<none>' : a.leases.map((l) => `${l.namespace}/${l.name} (${l.phase})`).join(', ')}`,
    `RBAC      ${a.effective.length} rule(s) from ${new Set(a.effective.map((r) => r.via)).size} binding(s); leases need ${a.needs.reduce((n, s) => n + s.rules.length, 0)} rule(s) in ${a.needs.length} scope(s)`,
    `EXCESS    ${a.excess.length === 0 ? 'none: every right it has, its leases need' : `${a.excess.length} grant(s) beyond the leases, ${dangerous} dangerous`}`,
  ];
  for (const note of a.notes) lines.push(`NOTE      ${note}`);
  if (a.excess.length > 0) {
    lines.push('');
    const rows = a.excess.map((e) => [e.dangers.join(', ') || '-', e.verbs.join(','), resources(e), groups(e.apiGroups), scope(e.namespace), e.via]);
    lines.push(...renderTable(['DANGER', 'VERBS', 'RESOURCES', 'API-GROUPS', 'SCOPE', 'GRANTED-BY'], rows));
  }
  if (wide) {
    lines.push('', 'Effective RBAC:');
    lines.push(...renderTable(['VERBS', 'RESOURCES', 'API-GROUPS', 'SCOPE', 'GRANTED-BY'], a.effective.map((r) => [r.verbs.join(','), resources(r), groups(r.apiGroups), scope(r.namespace), r.via])));
    lines.push('', 'Needed by its leases:');
    const needRows = a.needs.flatMap((s) => s.rules.map((r) => [r.verbs.join(','), resources(r), groups(r.apiGroups), scope(s.namespace)]));
    lines.push(...renderTable(['VERBS', 'RESOURCES', 'API-GROUPS', 'SCOPE'], needRows));
  }
  return lines;
}

/** Whether the audit should fail a pipeline: `dangerous` on any dangerous excess, `any` on any excess. */
export function auditFails(audits: readonly IdentityAudit[], failOn: 'dangerous' | 'any' | undefined): boolean {
  if (failOn === undefined) return false;
  return audits.some((a) => a.excess.some((e) => failOn === 'any' || e.dangers.length > 0));
}
