// The lean form of an object known by its metadata only (the garbage collector's graph node): what impact, owners
// and selectors read — uid, name, namespace, labels, ownerReferences, finalizers, deletionTimestamp,
// resourceVersion — and nothing else. Strings every object of a kind repeats (apiVersion, kind, namespace, owner
// kinds) are interned, so 100,000 objects share a handful of them.
import type { KubeObject, ObjectMeta, OwnerReference } from '../api/types.js';

const strings = new Map<string, string>();

/** One shared copy of a string that many objects repeat. */
export function intern(value: string): string {
  const known = strings.get(value);
  if (known !== undefined) return known;
  strings.set(value, value);
  return value;
}

function ownerReference(ref: OwnerReference): OwnerReference {
  const out: OwnerReference = { apiVersion: intern(ref.apiVersion), kind: intern(ref.kind), name: ref.name, uid: ref.uid };
  if (ref.controller === true) out.controller = true;
  if (ref.blockOwnerDeletion === true) out.blockOwnerDeletion = true;
  return out;
}

/** Labels, ownerReferences and finalizers, when there are any. */
function copyLists(m: ObjectMeta, into: ObjectMeta): void {
  if (m.labels !== undefined && Object.keys(m.labels).length > 0) into.labels = m.labels;
  if (m.ownerReferences !== undefined && m.ownerReferences.length > 0) into.ownerReferences = m.ownerReferences.map(ownerReference);
  if (m.finalizers !== undefined && m.finalizers.length > 0) into.finalizers = m.finalizers.map(intern);
}

/** The graph node of an object: `apiVersion` and `kind` as given (the kind the informer lists), lean metadata. */
export function projectMetadata(object: KubeObject, apiVersion: string, kind: string): KubeObject {
  const m = object.metadata;
  const metadata: ObjectMeta = { name: m.name ?? '' };
  if (m.namespace !== undefined && m.namespace !== '') metadata.namespace = intern(m.namespace);
  metadata.uid = m.uid ?? '';
  metadata.resourceVersion = m.resourceVersion ?? '';
  if (m.deletionTimestamp !== undefined) metadata.deletionTimestamp = m.deletionTimestamp;
  copyLists(m, metadata);
  return { apiVersion: intern(apiVersion), kind: intern(kind), metadata };
}
