// An eviction holds only to the pod Suture judged. The API server calls admission with the Eviction, and only then
// reads the pod and removes it: whatever the pod became in between — ready, labelled into a floor or into `protect`,
// adopted by a workload with a floor — is removed on a verdict about what it was (finding 6 of the randomised safety
// test, docs/security.md). A PodDisruptionBudget closes the same window with a resourceVersion precondition on the
// delete. Suture's mutating webhook `evictions.suture.dev` sets one too: the resourceVersion of the pod as a
// consistent read found it before the validating webhooks judge (on state at least as new). A pod changed since
// makes the eviction fail with 409 Conflict, and the client asks again, to be judged on the pod as it is.
// A precondition the client set already is kept: the API server honours it, and it is at least as strict.
import type { KubeObject } from '../api/types.js';
import type { AdmissionRequest, JsonPatchOperation } from './types.js';

/** Whether the request is an eviction (a CREATE of pods/eviction). */
export function isEviction(request: AdmissionRequest): boolean {
  return request.operation === 'CREATE' && request.subResource === 'eviction' && request.resource.group === '' && request.resource.resource === 'pods';
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * The JSON patch that makes eviction `eviction` remove `pod` only at the resourceVersion read (none when the pod is
 * gone — the eviction then fails with 404 — or when the client set a resourceVersion precondition itself).
 */
export function evictionPrecondition(eviction: KubeObject, pod: KubeObject | undefined): JsonPatchOperation[] {
  const resourceVersion = pod?.metadata.resourceVersion;
  if (resourceVersion === undefined || resourceVersion === '') return [];
  const options = record((eviction as Record<string, unknown>)['deleteOptions']);
  if (options === undefined) return [{ op: 'add', path: '/deleteOptions', value: { preconditions: { resourceVersion } } }];
  const preconditions = record(options['preconditions']);
  if (preconditions === undefined) return [{ op: 'add', path: '/deleteOptions/preconditions', value: { resourceVersion } }];
  const set = preconditions['resourceVersion'];
  if (typeof set === 'string' && set !== '') return [];
  return [{ op: 'add', path: '/deleteOptions/preconditions/resourceVersion', value: resourceVersion }];
}

/**
 * Whether the pod a request removes may be other than the pod judged: only an eviction without a resourceVersion
 * precondition (one that reached no `evictions.suture.dev`). A DELETE is admitted again by the API server with the
 * object it deletes whenever that object changed after the first call; a pinned eviction fails instead.
 */
export function removesUnpinned(request: AdmissionRequest): boolean {
  if (!isEviction(request)) return false;
  const options = record(record(request.object)?.['deleteOptions']);
  const set = record(options?.['preconditions'])?.['resourceVersion'];
  return !(typeof set === 'string' && set !== '');
}
