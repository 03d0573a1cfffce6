// The impact of a request: every object it creates, changes or removes, the cascades the API server's controllers
// will carry out included (docs/concepts.md, Impact). Pure: reads the request and the snapshot, nothing else.
//
// Where the cluster's behaviour cannot be known from the snapshot, the impact errs towards "more is removed":
// - an owner that is not in the snapshot counts as gone, so a dependent whose other owners are all unknown to the
//   snapshot is listed as removed with its deleted owner (the garbage collector deletes a dependent only when all its
//   owners are gone, but an owner Suture does not cache cannot be proven to exist);
// - an UPDATE whose new ownerReferences all dangle hands the object to the garbage collector, which deletes it; a
//   reference dangles when no object in the snapshot has its uid AND its kind, name and (for a namespaced owner) the
//   dependent's namespace, as in the garbage collector's own check (controllers.ts resolveOwner); removing the last
//   ownerReference does not (the object is orphaned);
// - configuring a controller is judged by what the controller then does (controllers.ts): scaling a ReplicaSet,
//   ReplicationController, Deployment or Job down removes its active pods beyond the new count, in the controller's
//   deletion order; a HorizontalPodAutoscaler (created or changed) sets its target's replicas within
//   [minReplicas, maxReplicas], with the pods that removes;
// - every removed pod lowers its controller's ready count: the owning workload (and a ReplicaSet's Deployment) is
//   listed as changed with `statusOnly` and its projected ready count, unless the request removes or changes it anyway;
// - an UPDATE that removes the last finalizer of an object being deleted (deletionTimestamp set) completes the
//   deletion: the object and its cascade are removed;
// - Orphan propagation keeps the target's own dependents (they only lose an ownerReference, which is not listed);
//   a Namespace's content and a CRD's custom resources are removed whatever the propagation policy.
import type { KubeObject, OwnerReference } from '../api/types.js';
import {
  isKind,
  autoscaledReplicas,
  autoscalerTarget,
  controllerOf,
  isAutoscaler,
  isAvailablePod,
  isTerminating,
  isWorkload,
  podsRemovedByScaleDown,
  resolveOwner,
} from './controllers.js';
import { jsonEqual } from './json.js';
import { describeObject, groupOf, objectKeyOf } from './snapshot.js';
import type { AdmissionRequest, Affected, Impact, ObjectKey, Snapshot } from './types.js';

export interface ImpactLimits {
  /** Keep at most this many objects in the lists (counts stay complete). Default: no cap. */
  maxObjects?: number;
}

/** Collects affected objects once each, counts them all, keeps the first `max`. */
class Collector {
  readonly kept: Affected[] = [];
  readonly counts = { created: 0, changed: 0, deleted: 0 };
  /** Every pod removed, capped lists or not: their owners' ready counts drop. */
  readonly removedPods: KubeObject[] = [];
  /** The target pod, when the request changes whether it counts as available (Affected.podAvailability). */
  podAvailability: { pod: KubeObject; change: 'lowered' | 'raised' | 'relabelled' } | undefined;
  private readonly seen = new Set<string>();
  private readonly deleted = new Set<string>();

  constructor(private readonly max: number) {}

  /** Adds the object unless it was added before; returns whether it was new. */
  add(entry: Affected): boolean {
    const id = identity(entry.before ?? entry.object);
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (entry.effect === 'CREATE') this.counts.created++;
    else if (entry.effect === 'UPDATE') this.counts.changed++;
    else {
      this.counts.deleted++;
      this.deleted.add(id);
      if (entry.object.kind === 'Pod' && groupOf(entry.object.apiVersion) === '') this.removedPods.push(entry.object);
    }
    if (this.kept.length < this.max) this.kept.push(entry);
    return true;
  }

  has(obj: KubeObject): boolean {
    return this.seen.has(identity(obj));
  }

  isDeleted(obj: KubeObject): boolean {
    return this.deleted.has(identity(obj));
  }
}

function identity(obj: KubeObject): string {
  const uid = obj.metadata.uid;
  if (uid !== undefined && uid !== '') return uid;
  const k = objectKeyOf(obj);
  return `${k.group}/${k.kind}/${k.namespace}/${k.name}`;
}

function toImpact(c: Collector): Impact {
  const created: KubeObject[] = [];
  const changed: Affected[] = [];
  const deleted: KubeObject[] = [];
  for (const a of c.kept) {
    if (a.effect === 'CREATE') created.push(a.object);
    else if (a.effect === 'UPDATE') changed.push(a);
    else deleted.push(a.object);
  }
  return { affected: c.kept, created, changed, deleted, counts: { ...c.counts } };
}

// ------------------------------------------------------------------------------------------------ small readers

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function numberAt(obj: unknown, ...path: string[]): number | undefined {
  let cur: unknown = obj;
  for (const p of path) cur = record(cur)[p];
  return typeof cur === 'number' ? cur : undefined;
}

function stringAt(obj: unknown, ...path: string[]): string | undefined {
  let cur: unknown = obj;
  for (const p of path) cur = record(cur)[p];
  return typeof cur === 'string' ? cur : undefined;
}

/** The key of the request's target: group of the request kind (the parent's resource group for subresources). */
function targetKey(request: AdmissionRequest, kind: string): ObjectKey {
  return { group: request.resource.group, kind, namespace: request.namespace ?? '', name: request.name ?? '' };
}

/** A stand-in for an object the request names but nobody has: enough to match selectors by kind and name. */
function stub(request: AdmissionRequest, kind: string): KubeObject {
  const { group, version } = request.kind;
  const metadata: KubeObject['metadata'] = { name: request.name ?? '' };
  if (request.namespace !== undefined && request.namespace !== '') metadata.namespace = request.namespace;
  return { apiVersion: group === '' ? version : `${group}/${version}`, kind, metadata };
}

// ------------------------------------------------------------------------------------------------ the cascade

function ownersGone(obj: KubeObject, deleting: Collector, snapshot: Snapshot): boolean {
  return (obj.metadata.ownerReferences ?? []).every((ref) => {
    const owner = snapshot.getByUid(ref.uid);
    return owner === undefined || deleting.isDeleted(owner);
  });
}

/**
 * Breadth-first over ownerReferences from `roots` (objects already collected as deleted). A dependent goes when all
 * its owners are gone; it is re-examined each time one of its owners is removed, so the last owner to go takes it
 * along. `orphan` names an object whose own dependents are kept (Orphan propagation). The queue is kept apart from
 * the collector's lists, which may be capped.
 */
function cascadeAll(c: Collector, roots: readonly KubeObject[], snapshot: Snapshot, orphan?: KubeObject): void {
  const queue: KubeObject[] = [...roots];
  for (let i = 0; i < queue.length; i++) {
    const owner = queue[i];
    if (owner === undefined || owner === orphan || owner.metadata.uid === undefined) continue;
    let via: string | undefined;
    for (const dep of snapshot.dependents(owner.metadata.uid)) {
      if (c.has(dep) || !ownersGone(dep, c, snapshot)) continue;
      via ??= `ownerReference of ${describeObject(owner)}`;
      if (c.add({ object: dep, before: dep, effect: 'DELETE', via })) queue.push(dep);
    }
  }
}
// -------------------------------------------------------------------------------------------- what DELETE removes

function namespaceContent(ns: KubeObject, snapshot: Snapshot): readonly KubeObject[] {
  return snapshot.inNamespace(ns.metadata.name ?? '');
}

function crdInstances(crd: KubeObject, snapshot: Snapshot): readonly KubeObject[] {
  const group = stringAt(crd, 'spec', 'group');
  const kind = stringAt(crd, 'spec', 'names', 'kind');
  return group === undefined || kind === undefined ? [] : snapshot.list(group, kind);
}

interface VolumeClaimTemplate {
  metadata?: { name?: string };
}

/** PVC names of a StatefulSet's ordinals [from, to): `<template>-<statefulset>-<ordinal>`. */
function claimNames(sts: KubeObject, from: number, to: number): string[] {
  const templates = (record(sts.spec).volumeClaimTemplates ?? []) as VolumeClaimTemplate[];
  const start = numberAt(sts, 'spec', 'ordinals', 'start') ?? 0;
  const names: string[] = [];
  for (const t of Array.isArray(templates) ? templates : []) {
    const template = t.metadata?.name;
    if (template === undefined) continue;
    for (let i = from; i < to; i++) names.push(`${template}-${sts.metadata.name ?? ''}-${start + i}`);
  }
  return names;
}

function retentionDeletes(sts: KubeObject, when: 'whenDeleted' | 'whenScaled'): boolean {
  return stringAt(sts, 'spec', 'persistentVolumeClaimRetentionPolicy', when) === 'Delete';
}

function isStatefulSet(obj: KubeObject): boolean {
  return obj.kind === 'StatefulSet' && groupOf(obj.apiVersion) === 'apps';
}

function claimsOf(sts: KubeObject, names: readonly string[], snapshot: Snapshot): KubeObject[] {
  const namespace = sts.metadata.namespace ?? '';
  const found: KubeObject[] = [];
  for (const name of names) {
    const pvc = snapshot.get({ group: '', kind: 'PersistentVolumeClaim', namespace, name });
    if (pvc !== undefined) found.push(pvc);
  }
  return found;
}

/** PVCs the StatefulSet controller deletes with the StatefulSet (whenDeleted: Delete). */
function retainedClaimsOnDelete(sts: KubeObject, snapshot: Snapshot): KubeObject[] {
  if (!isStatefulSet(sts) || !retentionDeletes(sts, 'whenDeleted')) return [];
  return claimsOf(sts, claimNames(sts, 0, numberAt(sts, 'spec', 'replicas') ?? 1), snapshot);
}

function addAll(c: Collector, objects: readonly KubeObject[], via: string): KubeObject[] {
  const added: KubeObject[] = [];
  for (const o of objects) if (c.add({ object: o, before: o, effect: 'DELETE', via })) added.push(o);
  return added;
}


/** Deletes `target` and everything that goes with it. */
function deleteWithCascade(c: Collector, target: KubeObject, opts: { snapshot: Snapshot; orphan: boolean; via: string }): void {
  const { snapshot } = opts;
  if (!c.add({ object: target, before: target, effect: 'DELETE', via: opts.via })) return;
  const roots: KubeObject[] = [target];
  if (isKind(target, '', 'Namespace')) roots.push(...addAll(c, namespaceContent(target, snapshot), `namespace ${target.metadata.name ?? ''}`));
  if (isKind(target, 'apiextensions.k8s.io', 'CustomResourceDefinition')) {
    roots.push(...addAll(c, crdInstances(target, snapshot), `CRD ${target.metadata.name ?? ''}`));
  }
  roots.push(...addAll(c, retainedClaimsOnDelete(target, snapshot), `PVC retention of ${target.kind} ${nsName(target)}`));
  cascadeAll(c, roots, snapshot, opts.orphan ? target : undefined);
}

function nsName(obj: KubeObject): string {
  const ns = obj.metadata.namespace ?? '';
  return ns === '' ? (obj.metadata.name ?? '') : `${ns}/${obj.metadata.name ?? ''}`;
}

function impactOfDelete(c: Collector, request: AdmissionRequest, snapshot: Snapshot): void {
  const kind = request.kind.kind;
  const target = request.oldObject ?? snapshot.get(targetKey(request, kind)) ?? stub(request, kind);
  const orphan = request.options?.propagationPolicy === 'Orphan';
  deleteWithCascade(c, target, { snapshot, orphan, via: 'target' });
}

// -------------------------------------------------------------------------------------------- what UPDATE changes

function withReplicas(obj: KubeObject, replicas: number | undefined): KubeObject {
  if (replicas === undefined) return obj;
  return { ...obj, spec: { ...record(obj.spec), replicas } };
}

/**
 * The parent of a subresource request, found by resource → kind: from the snapshot, else a stand-in of that kind
 * (a kind discovery does not know leaves it undefined).
 */
function parentOf(request: AdmissionRequest, snapshot: Snapshot): KubeObject | undefined {
  const info = snapshot.kindOfResource(request.resource.group, request.resource.resource);
  if (info === undefined) return undefined;
  const key = { group: info.group, kind: info.kind, namespace: request.namespace ?? '', name: request.name ?? '' };
  const found = snapshot.get(key);
  if (found !== undefined) return found;
  const apiVersion = info.group === '' ? info.version : `${info.group}/${info.version}`;
  const metadata: KubeObject['metadata'] = key.namespace === '' ? { name: key.name } : { name: key.name, namespace: key.namespace };
  // A Scale carries its parent's metadata, uid included: enough to find the pods the parent controls.
  const uid = request.oldObject?.metadata.uid ?? request.object?.metadata.uid;
  if (uid !== undefined && uid !== '') metadata.uid = uid;
  return { apiVersion, kind: info.kind, metadata };
}

/**
 * The replica count a Scale states. autoscaling/v1 `ScaleSpec.Replicas` is an `int32` with `omitempty`, so the API
 * server sends a Scale to 0 as `spec: {}`: a Scale without `spec.replicas` says 0 (read as "unchanged", every
 * scale-to-0 through /scale passed unjudged — found by the randomised safety test, test/safety).
 */
function scaleReplicas(scale: KubeObject | null | undefined): number | undefined {
  if (scale === null || scale === undefined) return undefined;
  return numberAt(scale, 'spec', 'replicas') ?? 0;
}

/** A scale through /scale: the parent with spec.replicas set to the Scale's. */
function scaleChange(request: AdmissionRequest, snapshot: Snapshot): Affected | undefined {
  const parent = parentOf(request, snapshot);
  if (parent === undefined) return undefined;
  const before = withReplicas(parent, scaleReplicas(request.oldObject));
  const after = withReplicas(parent, scaleReplicas(request.object));
  return { object: after, before, effect: 'UPDATE', via: 'target' };
}

/** The object the request changes, before and after. */
function targetChange(request: AdmissionRequest, snapshot: Snapshot): Affected | undefined {
  if (request.subResource === 'scale') return scaleChange(request, snapshot);
  const after = request.object ?? undefined;
  if (after === undefined) return undefined;
  const before = request.oldObject ?? snapshot.get(objectKeyOf(after)) ?? undefined;
  return before === undefined ? { object: after, effect: 'UPDATE', via: 'target' } : { object: after, before, effect: 'UPDATE', via: 'target' };
}

/** Pods and PVCs a StatefulSet scale-down removes: ordinals [after, before) (PVCs only with whenScaled: Delete). */
function scaleDownRemovals(change: Affected, snapshot: Snapshot): { pods: KubeObject[]; claims: KubeObject[] } {
  const sts = change.object;
  const from = numberAt(sts, 'spec', 'replicas');
  const to = numberAt(change.before, 'spec', 'replicas');
  if (!isStatefulSet(sts) || from === undefined || to === undefined || from >= to) return { pods: [], claims: [] };
  const start = numberAt(sts, 'spec', 'ordinals', 'start') ?? 0;
  const namespace = sts.metadata.namespace ?? '';
  const pods: KubeObject[] = [];
  for (let i = from; i < to; i++) {
    const pod = snapshot.get({ group: '', kind: 'Pod', namespace, name: `${sts.metadata.name ?? ''}-${start + i}` });
    if (pod !== undefined) pods.push(pod);
  }
  const claims = retentionDeletes(sts, 'whenScaled') ? claimsOf(sts, claimNames(sts, from, to), snapshot) : [];
  return { pods, claims };
}

/** The ownerReferences as the garbage collector reads them: uid, group, kind and name (order does not matter). */
function refCoordinates(refs: readonly OwnerReference[] | undefined): string {
  return (refs ?? [])
    .map((r) => JSON.stringify([r.uid, groupOf(r.apiVersion), r.kind, r.name]))
    .sort()
    .join(',');
}

/**
 * Whether the owner is on its way out taking its dependents along: being deleted, and not with the `orphan` finalizer
 * (which has the garbage collector release the dependents first). Once it is gone its dependents dangle.
 */
function ownerLeaving(owner: KubeObject): boolean {
  return isTerminating(owner) && !(owner.metadata.finalizers ?? []).includes('orphan');
}

/**
 * Whether the update hands the object to the garbage collector: its ownerReferences changed (uid, kind, group or
 * name) and now every one dangles — names no owner the snapshot holds with that uid, kind, name and namespace — or
 * names an owner already being deleted, whose dependents the collector deletes once it is gone (issue 9, item 6a: an
 * adoption sent after the owner's delete was admitted). Removing every ownerReference orphans the object and is not
 * a deletion.
 */
function handedToCollector(change: Affected, snapshot: Snapshot): boolean {
  const refs = change.object.metadata.ownerReferences ?? [];
  if (refs.length === 0 || refCoordinates(refs) === refCoordinates(change.before?.metadata.ownerReferences)) return false;
  return refs.every((r) => {
    const owner = resolveOwner(r, change.object, snapshot);
    return owner === undefined || ownerLeaving(owner);
  });
}

/** Whether the update lets a pending deletion finish: the object is terminating and its last finalizer goes. */
function finishesDeletion(change: Affected): boolean {
  const before = change.before;
  if (before === undefined || change.object.metadata.deletionTimestamp === undefined) return false;
  return (before.metadata.finalizers ?? []).length > 0 && (change.object.metadata.finalizers ?? []).length === 0;
}

function impactOfUpdate(c: Collector, request: AdmissionRequest, snapshot: Snapshot): void {
  const change = targetChange(request, snapshot);
  if (change === undefined) return;
  if (handedToCollector(change, snapshot)) {
    deleteWithCascade(c, change.object, { snapshot, orphan: false, via: 'target (ownerReferences name only missing or deleted owners)' });
    return;
  }
  if (finishesDeletion(change)) {
    deleteWithCascade(c, change.object, { snapshot, orphan: false, via: 'target (last finalizer removed)' });
    return;
  }
  const availability = availabilityChange(change);
  if (availability === undefined) c.add(change);
  else {
    c.add({ ...change, podAvailability: availability });
    c.podAvailability = { pod: change.object, change: availability };
  }
  controllerEffects(c, change, snapshot);
}

/**
 * Whether an update changes whether a pod counts as available: a status write setting its Ready condition or its
 * phase (the API server keeps a pod's status on any other update), or new labels on an available pod, which can take
 * it out of a floor that counts pods by label. Found by the randomised safety test: a pod marked Ready by a governed
 * identity before its kubelet did was counted, and an HPA capping its StatefulSet crossed a floor.
 */
function availabilityChange(change: Affected): 'lowered' | 'raised' | 'relabelled' | undefined {
  if (change.before === undefined || !isKind(change.object, '', 'Pod')) return undefined;
  const was = isAvailablePod(change.before);
  const is = isAvailablePod(change.object);
  if (was !== is) return was ? 'lowered' : 'raised';
  if (was && !jsonEqual(change.before.metadata.labels ?? {}, change.object.metadata.labels ?? {})) return 'relabelled';
  return undefined;
}

/** What controllers do about a changed object: the pods (and PVCs) a scale-down removes; an HPA's scaling. */
function controllerEffects(c: Collector, change: Affected, snapshot: Snapshot): void {
  const { pods, claims } = scaleDownRemovals(change, snapshot);
  pods.push(...podsRemovedByScaleDown(change.before, change.object, snapshot));
  const roots = [...addAll(c, pods, `scale-down of ${describeObject(change.object)}`)];
  roots.push(...addAll(c, claims, `PVC retention of ${change.object.kind} ${nsName(change.object)}`));
  cascadeAll(c, roots, snapshot);
  if (isAutoscaler(change.object)) autoscaling(c, change.object, snapshot);
}

/** An HPA sets its target's replicas within its bounds: the target changes, and a scale-down removes pods. */
function autoscaling(c: Collector, hpa: KubeObject, snapshot: Snapshot): void {
  const target = autoscalerTarget(hpa, snapshot);
  if (target === undefined || c.has(target)) return;
  const replicas = autoscaledReplicas(hpa, target);
  if (replicas === undefined) return;
  const change: Affected = { object: withReplicas(target, replicas), before: target, effect: 'UPDATE', via: `HorizontalPodAutoscaler ${nsName(hpa)}` };
  c.add(change);
  controllerEffects(c, change, snapshot);
}

// ----------------------------------------------------------------------------------- pods count toward their owners

function withReadyLowered(owner: KubeObject, lost: number): KubeObject {
  const status = record(owner['status']);
  const field = owner.kind === 'DaemonSet' ? 'numberReady' : 'readyReplicas';
  const ready = typeof status[field] === 'number' ? status[field] : 0;
  return { ...owner, status: { ...status, [field]: Math.max(0, ready - lost) } };
}

/**
 * Every removed pod lowers its workload's ready count (and a ReplicaSet's, its Deployment's), and so does a pod made
 * unavailable (one made available raises it): each such owner the request does not itself remove or change is listed
 * as a `statusOnly` change with the projected ready count. Linear in the removed pods.
 */
function ownersOfRemovedPods(c: Collector, snapshot: Snapshot): void {
  const lost = new Map<string, { owner: KubeObject; ready: number }>();
  const count = (pod: KubeObject, ready: number): void => {
    let owner = controllerOf(pod, snapshot);
    for (let depth = 0; owner !== undefined && depth < 2 && isWorkload(owner); depth++) {
      const uid = owner.metadata.uid ?? '';
      const entry = lost.get(uid) ?? { owner, ready: 0 };
      entry.ready += ready;
      lost.set(uid, entry);
      owner = controllerOf(owner, snapshot);
    }
  };
  for (const pod of c.removedPods) count(pod, isAvailablePod(pod) ? 1 : 0);
  const availability = c.podAvailability;
  // A relabelled pod may leave its workload (its controller releases a pod its selector no longer matches): the
  // workload is listed, and its floor counts the pods it keeps (controllers.ts podsOf).
  if (availability !== undefined) count(availability.pod, { lowered: 1, raised: -1, relabelled: 0 }[availability.change]);
  for (const { owner, ready } of lost.values()) {
    if (c.has(owner)) continue;
    const entry: Affected = { object: withReadyLowered(owner, ready), before: owner, effect: 'UPDATE', via: 'its pods removed', statusOnly: true };
    if (availability === undefined) c.add(entry);
    else c.add({ ...entry, via: `its pod ${nsName(availability.pod)} ${{ lowered: 'made unready', raised: 'made ready', relabelled: 'relabelled' }[availability.change]}`, podAvailability: availability.change });
  }
}

// -------------------------------------------------------------------------------------------- CREATE and the rest

function impactOfCreate(c: Collector, request: AdmissionRequest, snapshot: Snapshot): void {
  if (request.subResource === 'eviction') {
    // An Eviction is a CREATE on pods/eviction that deletes the pod.
    const pod = snapshot.get(targetKey(request, 'Pod'));
    if (pod !== undefined) deleteWithCascade(c, pod, { snapshot, orphan: false, via: 'target (eviction)' });
    return;
  }
  // Other subresources created (serviceaccounts/token, pods/binding) leave no object behind that matters here.
  if (request.subResource !== undefined && request.subResource !== '') return;
  if (request.object === undefined || request.object === null) return;
  const created = inRequestNamespace(request.object, request);
  c.add({ object: created, effect: 'CREATE', via: 'target' });
  if (isAutoscaler(created)) autoscaling(c, created, snapshot);
}

/** The object with the request's namespace when its body leaves metadata.namespace out (a namespaced CREATE). */
export function inRequestNamespace(obj: KubeObject, request: AdmissionRequest): KubeObject {
  const namespace = request.namespace ?? '';
  if (namespace === '' || (obj.metadata.namespace ?? '') !== '') return obj;
  return { ...obj, metadata: { ...obj.metadata, namespace } };
}

/**
 * The objects a request creates, changes and removes (docs/concepts.md, Impact): the target first, then cascades
 * breadth-first. CREATE: the object (an eviction removes its pod). UPDATE: the changed object (through /scale: the
 * parent with the new spec.replicas; a StatefulSet scale-down adds the removed ordinals' pods, and their PVCs under
 * `whenScaled: Delete`), or a removal when the update hands the object to the garbage collector. DELETE: the target,
 * its dependents through ownerReferences (none of its own with Orphan), a Namespace's content, a CRD's custom
 * resources, a StatefulSet's PVCs under `whenDeleted: Delete`, and the cascades of all of them. CONNECT: nothing.
 * With `maxObjects`, the lists keep the first N objects and `counts` tells the totals.
 */
export function computeImpact(request: AdmissionRequest, snapshot: Snapshot, limits: ImpactLimits = {}): Impact {
  const c = new Collector(limits.maxObjects ?? Number.POSITIVE_INFINITY);
  if (request.operation === 'CREATE') impactOfCreate(c, request, snapshot);
  else if (request.operation === 'UPDATE') impactOfUpdate(c, request, snapshot);
  else if (request.operation === 'DELETE') impactOfDelete(c, request, snapshot);
  ownersOfRemovedPods(c, snapshot);
  return toImpact(c);
}

/**
 * The affected entries grouped by group, kind and namespace (of the object before the request), in first-seen
 * order: selectors that decide on those alone are then judged once per group instead of once per object.
 */
export function groupAffected(impact: Impact): Affected[][] {
  const groups = new Map<string, Affected[]>();
  for (const a of impact.affected) {
    const o = a.before ?? a.object;
    const key = `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}`;
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [a]);
    else list.push(a);
  }
  return [...groups.values()];
}
