// "Build desired, compare observed, write only if different" for the objects Suture generates, and status writes
// that clear what is no longer desired. Log messages name the type, capitalised, past tense ("Created ClusterRole").
import { API_VERSION } from '../../api/constants.js';
import type { KubeObject } from '../../api/types.js';
import type { ObjectClient, ObjectRef } from '../../kube/client.js';
import { LogKeys } from '../../observability/keys.js';
import type { Logger } from '../../observability/logger.js';
import { jsonEqual } from '../../core/json.js';

/** The fields of a generated object that Suture owns, besides labels and ownerReferences. */
const CONTENT_FIELDS = ['rules', 'roleRef', 'subjects', 'spec', 'webhooks'] as const;
/** Fields the API server will not change in place: a difference means delete and create. */
const IMMUTABLE_FIELDS = ['roleRef'] as const;

/** Drops empty arrays and objects and undefined members, so an omitted field equals one the server dropped or defaulted empty. */
export function pruneEmpty(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pruneEmpty);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const pruned = pruneEmpty(v);
    if (pruned === undefined) continue;
    if (Array.isArray(pruned) && pruned.length === 0) continue;
    if (typeof pruned === 'object' && pruned !== null && !Array.isArray(pruned) && Object.keys(pruned).length === 0) continue;
    out[key] = pruned;
  }
  return out;
}

export function refOf(obj: KubeObject): ObjectRef {
  return { apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name ?? '' };
}

/** A reference to one of Suture's own objects (informer list items may lack apiVersion and kind). */
export function sutureRef(kind: 'SutureLease' | 'SuturePolicy' | 'SutureException', obj: KubeObject): ObjectRef {
  return { apiVersion: API_VERSION, kind, namespace: obj.metadata.namespace, name: obj.metadata.name ?? '' };
}

export function describeRef(obj: { kind: string; metadata: { namespace?: string; name?: string } }): string {
  const ns = obj.metadata.namespace;
  return `${obj.kind} ${ns === undefined || ns === '' ? '' : `${ns}/`}${obj.metadata.name ?? ''}`;
}

function labelsHeld(desired: KubeObject, observed: KubeObject): boolean {
  const have = observed.metadata.labels ?? {};
  return Object.entries(desired.metadata.labels ?? {}).every(([k, v]) => have[k] === v);
}

function ownersHeld(desired: KubeObject, observed: KubeObject): boolean {
  const want = desired.metadata.ownerReferences ?? [];
  const have = observed.metadata.ownerReferences ?? [];
  return want.every((w) => have.some((h) => h.uid === w.uid && h.controller === w.controller));
}

/** Why the observed object differs from the desired one, or undefined when it does not. */
export function difference(desired: KubeObject, observed: KubeObject): string | undefined {
  for (const field of CONTENT_FIELDS) {
    if (!jsonEqual(pruneEmpty(desired[field]), pruneEmpty(observed[field]))) return field;
  }
  if (!labelsHeld(desired, observed)) return 'labels';
  return ownersHeld(desired, observed) ? undefined : 'ownerReferences';
}

function needsRecreate(desired: KubeObject, observed: KubeObject): boolean {
  return IMMUTABLE_FIELDS.some((f) => desired[f] !== undefined && !jsonEqual(pruneEmpty(desired[f]), pruneEmpty(observed[f])));
}

/** The desired object carrying what the observed one has that Suture does not own (other labels, annotations). */
function merged(desired: KubeObject, observed: KubeObject): KubeObject {
  const metadata = {
    ...observed.metadata,
    labels: { ...observed.metadata.labels, ...desired.metadata.labels },
    ...(desired.metadata.ownerReferences === undefined ? {} : { ownerReferences: desired.metadata.ownerReferences }),
  };
  return { ...desired, metadata };
}

export type EnsureOutcome = 'created' | 'updated' | 'recreated' | 'unchanged';

/**
 * Creates the object when it is missing, replaces it (optimistic concurrency on the observed resourceVersion) when
 * it differs, deletes and creates it when an immutable field differs; logs what it did.
 */
export async function ensureObject(client: ObjectClient, desired: KubeObject, logger: Logger): Promise<EnsureOutcome> {
  const observed = await client.find(refOf(desired));
  const fields = { [LogKeys.kind]: desired.kind, [LogKeys.namespace]: desired.metadata.namespace, [LogKeys.name]: desired.metadata.name };
  if (observed === undefined) {
    await client.create(desired);
    logger.info(`Created ${desired.kind}`, fields);
    return 'created';
  }
  const why = difference(desired, observed);
  if (why === undefined) return 'unchanged';
  if (needsRecreate(desired, observed)) {
    await client.delete(refOf(desired), { preconditions: { uid: observed.metadata.uid ?? '' } });
    await client.create(desired);
    logger.info(`Recreated ${desired.kind}`, { ...fields, [LogKeys.reason]: `${why} changed` });
    return 'recreated';
  }
  await client.replace(merged(desired, observed));
  logger.info(`Updated ${desired.kind}`, { ...fields, [LogKeys.reason]: `${why} differed` });
  return 'updated';
}

/** Deletes a generated object; logs when it existed. */
export async function deleteObject(client: ObjectClient, obj: KubeObject, logger: Logger): Promise<boolean> {
  const deleted = await client.delete(refOf(obj));
  if (deleted) logger.info(`Deleted ${obj.kind}`, { [LogKeys.kind]: obj.kind, [LogKeys.namespace]: obj.metadata.namespace, [LogKeys.name]: obj.metadata.name });
  return deleted;
}

/**
 * A merge patch of status that sets `desired` and removes every top-level field of `observed` that `desired` lacks
 * (JSON merge patch removes with null). Undefined when nothing differs.
 */
export function statusPatch(observed: Record<string, unknown> | undefined, desired: Record<string, unknown>): Record<string, unknown> | undefined {
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(desired)) if (value !== undefined && !jsonEqual(value, observed?.[key])) patch[key] = value;
  for (const key of Object.keys(observed ?? {})) if (desired[key] === undefined && Object.hasOwn(desired, key)) patch[key] = null;
  return Object.keys(patch).length === 0 ? undefined : patch;
}
