// Which cluster state a verdict must read fresh (docs/concepts.md, How Suture knows the cluster). Pure: the edge performs
// the reads (state/fresh.ts).
//
// A request that removes or can remove something — a DELETE, an eviction, an UPDATE that changes ownerReferences,
// removes a finalizer or lowers replicas — may be allowed only on state at least as new as the request: a dependent
// created a moment ago must stop the deletion of its owner. The objects such a verdict rests on are those the
// policies (and leases) that could judge the request protect, in the namespaces the request reaches: one consistent
// read per (kind, namespace, label selector) finds them all, however new, without listing a whole kind.
import type { AdmissionRequest, DecisionInput } from './types.js';
import type { KubeObject, LabelSelector, ObjectSelector } from '../api/types.js';
import { exemptReason, policyBinds } from './decide.js';

/** One set of objects to read consistently: a kind in one namespace (or all), narrowed by a label selector. */
export interface StateScope {
  group: string;
  kind: string;
  /** undefined: every namespace, or a cluster-scoped kind. */
  namespace?: string;
  /** kubectl form; "" selects every object. */
  labelSelector: string;
  /** Whether a policy behind it fails closed (failurePolicy Fail) or a lease does (always). */
  failClosed: boolean;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function replicasOf(obj: unknown): number | undefined {
  const r = record(record(obj).spec).replicas;
  return typeof r === 'number' ? r : undefined;
}

function uids(refs: readonly { uid: string }[] | undefined): string {
  return (refs ?? []).map((r) => r.uid).sort().join(',');
}

/** Whether an UPDATE lowers replicas, changes owners, drops a finalizer or starts a deletion. */
function updateRemoves(after: KubeObject, before: KubeObject): boolean {
  const [a, b] = [replicasOf(after), replicasOf(before)];
  if (a !== undefined && b !== undefined && a < b) return true;
  if (uids(after.metadata.ownerReferences) !== uids(before.metadata.ownerReferences)) return true;
  if ((after.metadata.finalizers ?? []).length < (before.metadata.finalizers ?? []).length) return true;
  return after.metadata.deletionTimestamp !== undefined && before.metadata.deletionTimestamp === undefined;
}

/** Whether the request removes, or can remove, objects: what must be judged on fresh state. */
export function isDestructive(request: AdmissionRequest): boolean {
  if (request.operation === 'DELETE') return true;
  if (request.operation === 'CREATE') return request.subResource === 'eviction';
  const after = request.object;
  const before = request.oldObject;
  if (request.operation !== 'UPDATE' || after === undefined || after === null || before === undefined || before === null) return false;
  return updateRemoves(after, before);
}

/** A label selector in kubectl's string form. */
export function selectorString(selector: LabelSelector | undefined): string {
  if (selector === undefined) return '';
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${(e.values ?? []).join(',')})`);
  }
  return parts.join(',');
}

/** The namespaces the request reaches: its own, a deleted Namespace's, or every one (a cluster-scoped target). */
function reachedNamespaces(request: AdmissionRequest): (string | undefined)[] {
  if (request.kind.group === '' && request.kind.kind === 'Namespace') return [request.name ?? request.oldObject?.metadata.name ?? ''];
  if (request.namespace !== undefined && request.namespace !== '') return [request.namespace];
  return [undefined];
}

/**
 * The namespaces whose Namespace object a destructive verdict also rests on: a policy's namespaceSelector reads its
 * labels, and a namespace created a moment ago may not have reached the cache yet.
 */
export function reachedNamespaceNames(request: AdmissionRequest): string[] {
  return reachedNamespaces(request).filter((ns): ns is string => ns !== undefined && ns !== '');
}

function scopesOf(sel: ObjectSelector, reached: readonly (string | undefined)[], input: DecisionInput, failClosed: boolean): StateScope[] {
  const kinds = (sel.kinds ?? []).filter((k) => k !== '*');
  const groups = (sel.apiGroups ?? []).filter((g) => g !== '*');
  if (kinds.length === 0 || groups.length === 0) return []; // wildcard selectors: judged on the cache (docs/architecture.md)
  const labelSelector = selectorString(sel.selector);
  const out: StateScope[] = [];
  for (const group of groups) {
    for (const kind of kinds) {
      const namespaced = input.snapshot.kindOf(group, kind)?.namespaced ?? true;
      const spaces = !namespaced ? [undefined] : reached.flatMap((ns) => (ns === undefined ? (sel.namespaces?.length ? sel.namespaces : [undefined]) : sel.namespaces?.length && !sel.namespaces.includes(ns) ? [] : [ns]));
      for (const namespace of spaces) out.push({ group, kind, ...(namespace === undefined ? {} : { namespace }), labelSelector, failClosed });
    }
  }
  return out;
}

/**
 * The sets of objects a destructive request's verdict rests on: what the policies that bind the requester (and the
 * granted leases) protect, in the namespaces the request reaches. Empty for requests that remove nothing.
 */
export function freshScopes(request: AdmissionRequest, input: DecisionInput): StateScope[] {
  if (!isDestructive(request) || exemptReason(request, input) !== undefined) return [];
  const reached = reachedNamespaces(request);
  const out = new Map<string, StateScope>();
  const add = (scopes: StateScope[]): void => {
    for (const s of scopes) {
      const key = `${s.group}/${s.kind}/${s.namespace ?? '*'}/${s.labelSelector}`;
      const known = out.get(key);
      out.set(key, known === undefined ? s : { ...known, failClosed: known.failClosed || s.failClosed });
    }
  };
  for (const policy of input.policies) {
    if (!policyBinds(policy, request) || (!policy.operations.includes('DELETE') && request.operation !== 'UPDATE')) continue;
    for (const sel of policy.match) add(scopesOf(sel, reached, input, policy.failurePolicy === 'Fail'));
  }
  for (const l of input.leases) if (l.granted) for (const res of l.lease.spec.resources) add(scopesOf({ ...res, namespaces: [l.lease.metadata.namespace ?? ''] }, reached, input, true));
  return [...out.values()];
}
