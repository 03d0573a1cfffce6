// What Kubernetes' controllers do with what a request configures, as far as the impact needs it (docs/concepts.md, Impact;
// "Pods count toward their owners"): how the garbage collector resolves an ownerReference, which pods a workload
// controls and which of them count as available, which pods a ReplicaSet, Deployment or Job scale-down removes, and
// which replica count a HorizontalPodAutoscaler imposes on its target. Pure: reads objects and the snapshot only.
import type { KubeObject, LabelSelector, OwnerReference } from '../api/types.js';
import { matchesLabelSelector } from './selectors.js';
import { groupOf } from './snapshot.js';
import type { Snapshot } from './types.js';

// ------------------------------------------------------------------------------------------------ small readers

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function at(obj: unknown, ...path: string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) cur = record(cur)[p];
  return cur;
}

function numberAt(obj: unknown, ...path: string[]): number | undefined {
  const v = at(obj, ...path);
  return typeof v === 'number' ? v : undefined;
}

function stringAt(obj: unknown, ...path: string[]): string | undefined {
  const v = at(obj, ...path);
  return typeof v === 'string' ? v : undefined;
}

export function isKind(obj: KubeObject, group: string, kind: string): boolean {
  return obj.kind === kind && groupOf(obj.apiVersion) === group;
}

// ------------------------------------------------------------------------------------------------ owners

/**
 * The owner an ownerReference names, resolved as the garbage collector resolves it (its dangling-owner check,
 * `isDangling`): the owner is looked up by the reference's kind (through its group), by the reference's name, in the
 * dependent's namespace when the owner kind is namespaced, and must carry the reference's uid. An object that has the
 * uid but another kind, group, name or namespace does not satisfy the reference: to the garbage collector it is
 * dangling, and a dependent whose references all dangle is deleted. A cluster-scoped dependent of a namespaced owner
 * is an error the garbage collector reports without deleting, so that owner counts as resolved.
 */
export function resolveOwner(ref: OwnerReference, dependent: KubeObject, snapshot: Snapshot): KubeObject | undefined {
  const owner = snapshot.getByUid(ref.uid);
  if (owner === undefined) return undefined;
  if (owner.kind !== ref.kind || groupOf(owner.apiVersion) !== groupOf(ref.apiVersion) || (owner.metadata.name ?? '') !== ref.name) return undefined;
  const ownerNamespace = owner.metadata.namespace ?? '';
  const dependentNamespace = dependent.metadata.namespace ?? '';
  if (ownerNamespace !== '' && dependentNamespace !== '' && ownerNamespace !== dependentNamespace) return undefined;
  return owner;
}

/** The object's managing controller (the ownerReference with controller: true), resolved like the garbage collector. */
export function controllerOf(obj: KubeObject, snapshot: Snapshot): KubeObject | undefined {
  const ref = (obj.metadata.ownerReferences ?? []).find((r) => r.controller === true);
  return ref === undefined ? undefined : resolveOwner(ref, obj, snapshot);
}

function controlledBy(obj: KubeObject, owner: KubeObject): boolean {
  const uid = owner.metadata.uid;
  return uid !== undefined && (obj.metadata.ownerReferences ?? []).some((r) => r.controller === true && r.uid === uid);
}

// ------------------------------------------------------------------------------------------------ pods

export function isTerminating(obj: KubeObject): boolean {
  const ts = obj.metadata.deletionTimestamp;
  return ts !== undefined && ts !== null && ts !== '';
}

function isReady(pod: KubeObject): boolean {
  const conditions = at(pod, 'status', 'conditions');
  return Array.isArray(conditions) && conditions.some((c) => record(c).type === 'Ready' && record(c).status === 'True');
}

/** A pod its controller still counts (controller.FilterActivePods): not terminating, not Succeeded or Failed. */
export function isActivePod(pod: KubeObject): boolean {
  const phase = stringAt(pod, 'status', 'phase');
  return !isTerminating(pod) && phase !== 'Succeeded' && phase !== 'Failed';
}

/**
 * A pod that counts as available: Ready, not already terminating, not finished. Kubernetes' disruption controller
 * does not count a pod with a deletionTimestamp, Ready or not: it is leaving; nor a Succeeded or Failed one, which a
 * StatefulSet's controller replaces.
 */
export function isAvailablePod(pod: KubeObject): boolean {
  return isReady(pod) && isActivePod(pod);
}

/** Kinds whose controllers own pods directly; a Deployment owns them through its ReplicaSets. */
const POD_OWNERS: readonly (readonly [string, string])[] = [
  ['apps', 'ReplicaSet'],
  ['apps', 'StatefulSet'],
  ['apps', 'DaemonSet'],
  ['batch', 'Job'],
  ['', 'ReplicationController'],
];

export function ownsPods(obj: KubeObject): boolean {
  return POD_OWNERS.some(([g, k]) => isKind(obj, g, k));
}

/** Workloads whose ready count pods make up: the pod owners and Deployments. */
export function isWorkload(obj: KubeObject): boolean {
  return ownsPods(obj) || isKind(obj, 'apps', 'Deployment');
}

function isPod(obj: KubeObject): boolean {
  return isKind(obj, '', 'Pod');
}

/** A workload's pod selector: spec.selector, a ReplicationController's as a map of labels; undefined when unset. */
function podSelector(workload: KubeObject): LabelSelector | undefined {
  const selector = at(workload, 'spec', 'selector');
  if (typeof selector !== 'object' || selector === null || Array.isArray(selector)) return undefined;
  if (isKind(workload, '', 'ReplicationController')) return { matchLabels: selector as Record<string, string> };
  return selector;
}

/**
 * Whether the workload keeps a pod it controls: its labels still match the workload's selector. A controller
 * releases a pod whose labels no longer match (ClaimPods) and starts a replacement, so for its availability the pod
 * is gone.
 */
function keeps(workload: KubeObject, pod: KubeObject): boolean {
  const selector = podSelector(workload);
  return selector === undefined || matchesLabelSelector(selector, pod.metadata.labels);
}

/** The pods a workload controls in `snapshot`: its own, or a Deployment's through the ReplicaSets it controls. */
export function podsOf(workload: KubeObject, snapshot: Snapshot): KubeObject[] {
  const uid = workload.metadata.uid;
  if (uid === undefined || uid === '') return [];
  const children = snapshot.dependents(uid).filter((o) => controlledBy(o, workload));
  if (!isKind(workload, 'apps', 'Deployment')) return children.filter((p) => isPod(p) && keeps(workload, p));
  return children.filter((o) => isKind(o, 'apps', 'ReplicaSet')).flatMap((rs) => snapshot.dependents(rs.metadata.uid ?? '').filter((p) => isPod(p) && controlledBy(p, rs) && keeps(rs, p)));
}

// ------------------------------------------------------------------------------------------------ scale-downs

/**
 * The pod count a workload's controller maintains: spec.replicas (default 1) of a ReplicaSet, ReplicationController
 * or Deployment; a Job's spec.parallelism (default 1), 0 while suspended. Undefined for other kinds.
 */
export function desiredPods(obj: KubeObject): number | undefined {
  if (isKind(obj, 'apps', 'ReplicaSet') || isKind(obj, '', 'ReplicationController') || isKind(obj, 'apps', 'Deployment')) return numberAt(obj, 'spec', 'replicas') ?? 1;
  if (isKind(obj, 'batch', 'Job')) return at(obj, 'spec', 'suspend') === true ? 0 : (numberAt(obj, 'spec', 'parallelism') ?? 1);
  return undefined;
}

const PHASE_RANK: Readonly<Record<string, number>> = { Pending: 0, Unknown: 1, Running: 2 };

function readySince(pod: KubeObject): number {
  const conditions: unknown = at(pod, 'status', 'conditions');
  const ready: unknown = Array.isArray(conditions) ? (conditions as unknown[]).find((c) => record(c).type === 'Ready' && record(c).status === 'True') : undefined;
  const t = Date.parse(stringAt(ready, 'lastTransitionTime') ?? '');
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

function deletionCost(pod: KubeObject): number {
  const cost = Number(pod.metadata.annotations?.['controller.kubernetes.io/pod-deletion-cost'] ?? 0);
  return Number.isFinite(cost) ? cost : 0;
}

function createdAt(pod: KubeObject): number {
  const t = Date.parse(pod.metadata.creationTimestamp ?? '');
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

/**
 * The order in which a ReplicaSet or Job controller deletes pods (controller.ActivePodsWithRanks): unscheduled
 * first, then Pending before Unknown before Running, not ready before ready, lower pod-deletion-cost first, ready for
 * less time first, newer first.
 */
export function deletionOrder(a: KubeObject, b: KubeObject): number {
  const keys = (p: KubeObject): number[] => [
    stringAt(p, 'spec', 'nodeName') === undefined || stringAt(p, 'spec', 'nodeName') === '' ? 0 : 1,
    PHASE_RANK[stringAt(p, 'status', 'phase') ?? 'Pending'] ?? 0,
    isReady(p) ? 1 : 0,
    deletionCost(p),
    -readySince(p),
    -createdAt(p),
  ];
  const ka = keys(a);
  const kb = keys(b);
  for (let i = 0; i < ka.length; i++) {
    const x = ka[i] ?? 0;
    const y = kb[i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * The pods a ReplicaSet, ReplicationController, Deployment or Job controller deletes once `after` replaces `before`:
 * its active pods beyond the new count, in the controller's deletion order. (StatefulSets remove by ordinal: see
 * impact.ts.) Empty when the count does not go down.
 */
export function podsRemovedByScaleDown(before: KubeObject | undefined, after: KubeObject, snapshot: Snapshot): KubeObject[] {
  const target = desiredPods(after);
  if (target === undefined) return [];
  const previous = before === undefined ? undefined : desiredPods(before);
  if (previous !== undefined && target >= previous) return [];
  const active = podsOf(before ?? after, snapshot).filter(isActivePod);
  if (active.length <= target) return [];
  return [...active].sort(deletionOrder).slice(0, active.length - target);
}

// ------------------------------------------------------------------------------------------------ autoscalers

export function isAutoscaler(obj: KubeObject): boolean {
  return isKind(obj, 'autoscaling', 'HorizontalPodAutoscaler');
}

/** The object an HPA scales (spec.scaleTargetRef in the HPA's namespace), if the snapshot holds it. */
export function autoscalerTarget(hpa: KubeObject, snapshot: Snapshot): KubeObject | undefined {
  const ref = record(at(hpa, 'spec', 'scaleTargetRef'));
  const apiVersion = typeof ref.apiVersion === 'string' ? ref.apiVersion : '';
  if (typeof ref.kind !== 'string' || typeof ref.name !== 'string') return undefined;
  return snapshot.get({ group: groupOf(apiVersion), kind: ref.kind, namespace: hpa.metadata.namespace ?? '', name: ref.name });
}

/**
 * The replica count the HPA controller gives its target: the current spec.replicas held to [minReplicas (default 1),
 * maxReplicas]. Undefined when it leaves the count alone: the count is already within bounds, or 0 (autoscaling is
 * off for a target scaled to zero).
 */
export function autoscaledReplicas(hpa: KubeObject, target: KubeObject): number | undefined {
  const current = numberAt(target, 'spec', 'replicas') ?? 1;
  const max = numberAt(hpa, 'spec', 'maxReplicas');
  if (current === 0 || max === undefined) return undefined;
  const min = numberAt(hpa, 'spec', 'minReplicas') ?? 1;
  const projected = Math.max(min, Math.min(max, current));
  return projected === current ? undefined : projected;
}
