// A scenario step as the API server would turn it into admission requests: the AdmissionRequest each write sends to
// the webhooks (CREATE, UPDATE for update and patch, one DELETE per item of a deletecollection; scale and status
// subresources as Kubernetes sends them), and how to store its outcome once admitted.
import jsonpatch from 'fast-json-patch';
import type { KubeObject } from '../../api/types.js';
import { computeImpact } from '../../core/impact.js';
import { valueAt } from '../../core/json.js';
import { matchesLabelSelector, parseLabelSelector } from '../../core/selectors.js';
import type { AdmissionOperation, AdmissionRequest, UserInfo } from '../../core/types.js';
import { stepName, stepNamespace } from '../../scenario/describe.js';
import { mergePatch } from '../../scenario/merge.js';
import type { RequestStep } from '../../scenario/model.js';
import { ApiError, type SimCluster, type SimKind } from './cluster.js';

/** One write the API server would admit: its request, and what storing it does. */
export interface Write {
  readonly request: AdmissionRequest;
  /** Stores the write as admitted (`final` carries the object after mutating webhooks); returns what was stored. */
  commit(final: AdmissionRequest): KubeObject | undefined;
}

export interface PlanContext {
  readonly cluster: SimCluster;
  readonly userInfo: UserInfo;
  /** The request uid (decision id); deletecollection items get `-1`, `-2`, … appended. */
  readonly uid: string;
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

interface RequestParts {
  operation: AdmissionOperation;
  name: string;
  namespace: string | undefined;
  object: KubeObject | null;
  oldObject: KubeObject | null;
  subResource?: string;
  /** The kind of the object sent (autoscaling/v1 Scale for scale); default: the target's. */
  sent?: { group: string; version: string; kind: string };
  options?: Json;
}

/** The AdmissionRequest for a write on `kind` (version as the step wrote it). */
function admissionRequest(kind: SimKind, version: string, parts: RequestParts, ctx: { userInfo: UserInfo; uid: string }): AdmissionRequest {
  const target = { group: kind.group, version, kind: kind.kind };
  const resource = { group: kind.group, version, resource: kind.resource };
  const sent = parts.sent ?? target;
  const request: AdmissionRequest = {
    uid: ctx.uid,
    kind: sent,
    resource,
    requestKind: sent,
    requestResource: resource,
    name: parts.name,
    operation: parts.operation,
    userInfo: ctx.userInfo,
    object: parts.object,
    oldObject: parts.oldObject,
    dryRun: false,
  };
  if (parts.namespace !== undefined) request.namespace = parts.namespace;
  if (parts.subResource !== undefined) request.subResource = parts.subResource;
  if (parts.options !== undefined) request.options = parts.options;
  return request;
}

function stepVersion(step: RequestStep, kind: SimKind): string {
  return step.apiVersion.includes('/') ? (step.apiVersion.split('/')[1] ?? kind.version) : step.apiVersion;
}

// ------------------------------------------------------------------------------------------------ bodies

/** The object after a patch step: merge (and strategic, approximated as merge) or JSON patch. */
export function patched(current: unknown, step: RequestStep): unknown {
  if (step.do === 'update' || step.patchType !== 'json') return mergePatch(current, step.body);
  try {
    return jsonpatch.applyPatch(current, step.body as jsonpatch.Operation[], true, false).newDocument;
  } catch (error) {
    throw new ApiError(422, 'Invalid', `the JSON patch does not apply: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
}

/** The next version of `current`: identity fields kept, as the API server keeps them. */
function nextVersion(current: KubeObject, step: RequestStep): KubeObject {
  const next = patched(current, step);
  if (!isRecord(next) || !isRecord(next.metadata)) throw new ApiError(422, 'Invalid', 'the request body does not leave an object with metadata');
  const metadata = { ...next.metadata, name: current.metadata.name, namespace: current.metadata.namespace, uid: current.metadata.uid };
  if (metadata.namespace === undefined) delete metadata.namespace;
  return { ...next, apiVersion: current.apiVersion, kind: current.kind, metadata };
}

// ------------------------------------------------------------------------------------------------ effects

/** Stores an admitted UPDATE: the object replaced, and whatever its impact removes (scale-down, hand-over to GC). */
function commitUpdate(cluster: SimCluster, stored: { next: KubeObject; previous: KubeObject }, final: AdmissionRequest): KubeObject | undefined {
  const impact = computeImpact(final, cluster.snapshot);
  const targetGone = impact.deleted.some((o) => o.metadata.uid === stored.previous.metadata.uid);
  const result = targetGone ? undefined : cluster.replace(stored.next, stored.previous);
  cluster.remove(impact.deleted);
  return result;
}

/** Stores an admitted DELETE: the target and its cascade (the garbage collector's and namespace controller's work). */
function commitDelete(cluster: SimCluster, final: AdmissionRequest): undefined {
  // An object with finalizers is only marked (deletionTimestamp) and stays until an update removes the last one.
  const target = final.oldObject ?? undefined;
  if (target !== undefined && (target.metadata.finalizers ?? []).length > 0) {
    if (target.metadata.deletionTimestamp === undefined) cluster.replace({ ...target, metadata: { ...target.metadata, deletionTimestamp: cluster.timestamp() } }, target);
    return undefined;
  }
  cluster.remove(computeImpact(final, cluster.snapshot).deleted);
  return undefined;
}

// ------------------------------------------------------------------------------------------------ verbs

interface Target {
  step: RequestStep;
  kind: SimKind;
  namespace: string | undefined;
  name: string;
}

function planCreate(t: Target, ctx: PlanContext): Write[] {
  const { step, kind } = t;
  if (step.subresource !== undefined) throw new ApiError(405, 'MethodNotAllowed', `create on the ${step.subresource} subresource is not a write Kubernetes serves`);
  ctx.cluster.checkNamespace(kind, t.namespace);
  const body = step.body as Json;
  const metadata: Json = { ...(isRecord(body.metadata) ? body.metadata : {}) };
  if (t.namespace !== undefined) metadata.namespace = t.namespace;
  if (metadata.name === undefined && typeof metadata.generateName !== 'string') throw new ApiError(422, 'Invalid', 'metadata.name: Required value: name or generateName is required');
  const object = { apiVersion: step.apiVersion, ...body, kind: kind.kind, metadata } as KubeObject;
  if (kind.statusSubresource) delete object.status;
  const request = admissionRequest(kind, stepVersion(step, kind), { operation: 'CREATE', name: t.name, namespace: t.namespace, object, oldObject: null, options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' } }, ctx);
  const commit = (final: AdmissionRequest): KubeObject => {
    const obj = final.object as KubeObject;
    const name = obj.metadata.name ?? ctx.cluster.generateName(obj.metadata.generateName ?? '');
    return ctx.cluster.create({ ...obj, metadata: { ...obj.metadata, name } });
  };
  return [{ request, commit }];
}

/** A CRD's `.spec.replicas` path as a JSON pointer. */
function specReplicasPointer(path: string): string {
  return `/${path.replace(/^\./, '').split('.').join('/')}`;
}

function numberAtPointer(obj: unknown, pointer: string): number | undefined {
  const value = valueAt(obj, pointer);
  return typeof value === 'number' ? value : undefined;
}

function withNumberAt(obj: KubeObject, pointer: string, value: number): KubeObject {
  const copy = structuredClone(obj) as Json;
  const tokens = pointer.slice(1).split('/');
  let cur = copy;
  tokens.slice(0, -1).forEach((token) => {
    if (!isRecord(cur[token])) cur[token] = {};
    cur = cur[token] as Json;
  });
  cur[tokens[tokens.length - 1] ?? ''] = value;
  return copy as KubeObject;
}

/** The autoscaling/v1 Scale the API server serves for an object's scale subresource. */
export function scaleOf(parent: KubeObject, scale: NonNullable<SimKind['scale']>): KubeObject {
  const { name, namespace, uid, resourceVersion, creationTimestamp } = parent.metadata;
  const found = scale.labelSelectorPath === undefined ? undefined : valueAt(parent, specReplicasPointer(scale.labelSelectorPath));
  const selector = typeof found === 'string' ? found : undefined;
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
    spec: { replicas: numberAtPointer(parent, specReplicasPointer(scale.specReplicasPath)) ?? 0 },
    status: { replicas: numberAtPointer(parent, specReplicasPointer(scale.statusReplicasPath)) ?? 0, ...(selector === undefined ? {} : { selector }) },
  };
}

function planScale(t: Target, ctx: PlanContext): Write[] {
  const { step, kind } = t;
  const parent = ctx.cluster.mustGet(kind, t.namespace, t.name);
  if (kind.scale === undefined) throw new ApiError(404, 'NotFound', `${kind.resource} have no scale subresource`);
  const scaleSpec = kind.scale;
  const old = scaleOf(parent, scaleSpec);
  const next = nextVersion(old, step);
  const parts: RequestParts = { operation: 'UPDATE', name: t.name, namespace: t.namespace, object: next, oldObject: old, subResource: 'scale', sent: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, options: { apiVersion: 'meta.k8s.io/v1', kind: step.do === 'patch' ? 'PatchOptions' : 'UpdateOptions' } };
  const request = admissionRequest(kind, stepVersion(step, kind), parts, ctx);
  const commit = (final: AdmissionRequest): KubeObject | undefined => {
    const replicas = numberAtPointer(final.object, '/spec/replicas') ?? 0;
    const updated = withNumberAt(parent, specReplicasPointer(scaleSpec.specReplicasPath), replicas);
    return commitUpdate(ctx.cluster, { next: updated, previous: parent }, final);
  };
  return [{ request, commit }];
}

function planUpdate(t: Target, ctx: PlanContext): Write[] {
  const { step, kind } = t;
  if (step.subresource === 'scale') return planScale(t, ctx);
  const current = ctx.cluster.mustGet(kind, t.namespace, t.name);
  if (step.subresource === 'status' && !kind.statusSubresource) throw new ApiError(404, 'NotFound', `${kind.resource} have no status subresource`);
  const next = nextVersion(current, step);
  // The status subresource changes only status; the object itself everything but status (when status is a subresource).
  const object: KubeObject = step.subresource === 'status' ? { ...current, status: next.status } : kind.statusSubresource ? { ...next, status: current.status } : next;
  if (object.status === undefined) delete object.status;
  const parts: RequestParts = { operation: 'UPDATE', name: t.name, namespace: t.namespace, object, oldObject: current, options: { apiVersion: 'meta.k8s.io/v1', kind: step.do === 'patch' ? 'PatchOptions' : 'UpdateOptions' } };
  if (step.subresource !== undefined) parts.subResource = step.subresource;
  const request = admissionRequest(kind, stepVersion(step, kind), parts, ctx);
  const commit = (final: AdmissionRequest): KubeObject | undefined => commitUpdate(ctx.cluster, { next: final.object as KubeObject, previous: current }, final);
  return [{ request, commit }];
}

function deleteOptions(step: RequestStep): Json {
  return { apiVersion: 'meta.k8s.io/v1', kind: 'DeleteOptions', ...(step.propagationPolicy === undefined ? {} : { propagationPolicy: step.propagationPolicy }) };
}

function deleteWrite(t: Target, current: KubeObject, ctx: PlanContext): Write {
  const namespace = t.kind.namespaced ? current.metadata.namespace : undefined;
  const parts: RequestParts = { operation: 'DELETE', name: current.metadata.name ?? '', namespace, object: null, oldObject: current, options: deleteOptions(t.step) };
  const request = admissionRequest(t.kind, stepVersion(t.step, t.kind), parts, ctx);
  return { request, commit: (final) => commitDelete(ctx.cluster, final) };
}

function planDelete(t: Target, ctx: PlanContext): Write[] {
  if (t.step.subresource !== undefined) throw new ApiError(405, 'MethodNotAllowed', `delete on the ${t.step.subresource} subresource is not a write Kubernetes serves`);
  return [deleteWrite(t, ctx.cluster.mustGet(t.kind, t.namespace, t.name), ctx)];
}

/** One DELETE per item, in the API server's list order (it deletes them one by one and stops at the first refusal). */
function planDeleteCollection(t: Target, ctx: PlanContext): Write[] {
  ctx.cluster.checkNamespace(t.kind, t.namespace);
  const selector = parseLabelSelector(t.step.labelSelector ?? '');
  const items = ctx.cluster.list(t.kind, t.namespace).filter((o) => matchesLabelSelector(selector, o.metadata.labels));
  return items.map((item, i) => deleteWrite(t, item, { ...ctx, uid: `${ctx.uid}-${i + 1}` }));
}

const PLANS: Readonly<Record<RequestStep['do'], (t: Target, ctx: PlanContext) => Write[]>> = {
  create: planCreate,
  update: planUpdate,
  patch: planUpdate,
  delete: planDelete,
  deletecollection: planDeleteCollection,
};

/** The writes a request step makes, in order. Throws ApiError for what the API server refuses before admission. */
export function planWrites(step: RequestStep, ctx: PlanContext): Write[] {
  const kind = ctx.cluster.require(step.apiVersion, step.kind);
  const namespace = kind.namespaced ? stepNamespace(step) : undefined;
  const t: Target = { step, kind, namespace, name: stepName(step) ?? '' };
  return PLANS[step.do](t, ctx);
}
