// Admin-side object operations of a scenario: create setup and Suture objects (status through the status
// subresource, CRDs awaited), wait for Suture objects to be ready, and clean up.

import type { ApiResponse } from '../../src/scenario/classify.js';
import { statusMessage } from '../../src/scenario/classify.js';
import type { ObjectRef, ScenarioContext } from './context.js';
import { refText, SetupError } from './context.js';
import { CONTENT_TYPES } from '../../src/kube/client.js';
import type { ResourceInfo } from '../../src/scenario/kube.js';
import { resourcePath, UnknownKindError } from '../../src/scenario/kube.js';
import type { ScenarioObject } from '../../src/scenario/model.js';
import { pollWithin } from './poll.js';
import { sutureReadiness } from './readiness.js';
import { resolveTemplates } from '../../src/scenario/templates.js';

export const CRD_TIMEOUT_MS = 30_000;
export const SUTURE_READY_TIMEOUT_MS = 30_000;
export const CLEANUP_TIMEOUT_MS = 90_000;
/** After this long in deletion, finalizers whose controller does not run here (e.g. pvc-protection) are removed. */
export const FINALIZER_GRACE_MS = 10_000;
const CRD_KIND = 'CustomResourceDefinition';

/** A created object as the API server returned it. */
export interface Created {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; namespace?: string; uid?: string };
}

function failure(what: string, response: ApiResponse): SetupError {
  return new SetupError(`${what}: HTTP ${response.status}: ${statusMessage(response.body)}`);
}

async function pathOf(ctx: ScenarioContext, ref: ObjectRef): Promise<{ path: string; info: ResourceInfo }> {
  const info = await ctx.discovery.resolve(ref.apiVersion, ref.kind);
  return { info, path: resourcePath(ref.apiVersion, info, { namespace: ref.namespace ?? 'default', name: ref.name }) };
}

/** GET as admin; undefined on 404. */
export async function readObject(ctx: ScenarioContext, ref: ObjectRef): Promise<unknown> {
  const { path } = await pathOf(ctx, ref);
  const response = await ctx.api.exchange({ method: 'GET', path });
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw failure(`reading ${refText(ref)}`, response);
  return response.body;
}

async function writeStatus(ctx: ScenarioContext, path: string, object: ScenarioObject): Promise<void> {
  const response = await ctx.api.exchange({ method: 'PATCH', path: `${path}/status`, body: { status: object.status }, contentType: CONTENT_TYPES.merge });
  // 404: the kind has no status subresource, so the status was stored with the object itself.
  if (response.status !== 200 && response.status !== 404) throw failure(`writing the status of ${refText(refOf(object))}`, response);
}

export function refOf(object: ScenarioObject | Created): ObjectRef {
  return { apiVersion: object.apiVersion, kind: object.kind, namespace: object.metadata.namespace, name: object.metadata.name };
}

/** Creates one object as admin (templates resolved now), writes its status, records its uid and awaits what must be awaited. */
export async function createAsAdmin(ctx: ScenarioContext, raw: ScenarioObject): Promise<Created> {
  const object = withApprovalAnnotation(resolveTemplates(raw, ctx.templates));
  const info = await ctx.discovery.resolve(object.apiVersion, object.kind);
  const namespace = info.namespaced ? (object.metadata.namespace ?? 'default') : undefined;
  const collection = resourcePath(object.apiVersion, info, { namespace });
  const response = await ctx.api.exchange({ method: 'POST', path: collection, body: { ...object, metadata: { ...object.metadata, namespace } } });
  if (response.status !== 201 && response.status !== 200) throw failure(`creating ${refText(refOf(object))}`, response);
  const created = response.body as Created;
  const path = resourcePath(object.apiVersion, info, { namespace, name: object.metadata.name });
  if (object.status !== undefined) await writeStatus(ctx, path, object);
  ctx.templates.uids.record(object.kind, namespace, object.metadata.name, created.metadata.uid ?? '');
  if (object.kind === CRD_KIND) await awaitCrdServed(ctx, object);
  if (object.kind === 'Namespace' && object.apiVersion === 'v1') await awaitDefaultServiceAccount(ctx, object.metadata.name);
  return created;
}

const PROTECTED_GROUP = /(^|\.)(k8s\.io|kubernetes\.io)$/;
export const APPROVAL_ANNOTATION = 'api-approved.kubernetes.io';

/**
 * Old real CRDs in groups under k8s.io / kubernetes.io (cert-manager's certmanager.k8s.io) predate the API server's
 * approval rule; to replay them, such a CRD without the annotation gets `unapproved, …`, which the API server accepts.
 */
export function withApprovalAnnotation(object: ScenarioObject): ScenarioObject {
  const group = (object as CrdShape).spec?.group ?? '';
  if (object.kind !== CRD_KIND || !PROTECTED_GROUP.test(group)) return object;
  const annotations = (object.metadata.annotations ?? {}) as Record<string, string>;
  if (annotations[APPROVAL_ANNOTATION] !== undefined) return object;
  const approval = 'unapproved, replayed incident scenario';
  return { ...object, metadata: { ...object.metadata, annotations: { ...annotations, [APPROVAL_ANNOTATION]: approval } } };
}

interface CrdShape {
  spec?: { group?: string; names?: { kind?: string }; versions?: { name?: string; served?: boolean }[] };
  status?: { conditions?: { type?: string; status?: string }[] };
}

function established(crd: unknown): boolean {
  return ((crd as CrdShape | undefined)?.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
}

/** Waits until the CRD is Established and each served version's kind is in discovery. */
export async function awaitCrdServed(ctx: ScenarioContext, crd: ScenarioObject): Promise<void> {
  const spec = (crd as CrdShape).spec ?? {};
  const kind = spec.names?.kind ?? '';
  const versions = (spec.versions ?? []).filter((v) => v.served !== false).map((v) => `${spec.group ?? ''}/${v.name ?? ''}`);
  const ref: ObjectRef = { apiVersion: crd.apiVersion, kind: CRD_KIND, name: crd.metadata.name };
  const attempt = async (): Promise<{ ok: boolean; value: string }> => {
    if (!established(await readObject(ctx, ref))) return { ok: false, value: 'not Established' };
    for (const version of versions) if (!(await ctx.discovery.serves(version, kind))) return { ok: false, value: `${kind} not yet served in ${version}` };
    return { ok: true, value: 'served' };
  };
  const last = await pollWithin(attempt, { withinMs: CRD_TIMEOUT_MS, intervalMs: 200 }, ctx.timing);
  if (!last.ok) throw new SetupError(`CustomResourceDefinition ${crd.metadata.name}: ${last.value} after ${CRD_TIMEOUT_MS / 1000}s`);
}

/** Pods need their namespace's `default` ServiceAccount (the ServiceAccount admission plugin); best effort. */
async function awaitDefaultServiceAccount(ctx: ScenarioContext, namespace: string): Promise<void> {
  const ref: ObjectRef = { apiVersion: 'v1', kind: 'ServiceAccount', namespace, name: 'default' };
  const last = await pollWithin(async () => ({ ok: (await readObject(ctx, ref)) !== undefined, value: undefined }), { withinMs: 15_000, intervalMs: 100 }, ctx.timing);
  if (!last.ok) ctx.log(`  note: namespace ${namespace} has no default ServiceAccount after 15s (is the serviceaccount controller running?)`);
}

/** Waits until every Suture object is ready; throws naming the ones that are not, with what was seen. */
export async function awaitSutureReady(ctx: ScenarioContext, objects: readonly Created[], timeoutMs = SUTURE_READY_TIMEOUT_MS): Promise<void> {
  const attempt = async (): Promise<{ ok: boolean; value: string[] }> => {
    const waiting: string[] = [];
    for (const object of objects) {
      const readiness = sutureReadiness(object.kind, await readObject(ctx, refOf(object)));
      if (!readiness.ready) waiting.push(`${refText(refOf(object))}: ${readiness.state}`);
    }
    return { ok: waiting.length === 0, value: waiting };
  };
  const last = await pollWithin(attempt, { withinMs: timeoutMs, intervalMs: 250 }, ctx.timing);
  if (!last.ok) throw new SetupError(`Suture objects not ready after ${timeoutMs / 1000}s (is Suture running and reconciling?): ${last.value.join('; ')}`);
  if (objects.length > 0) await awaitWebhooksSettled(ctx);
}

const WEBHOOK_CONFIGS: readonly ObjectRef[] = [
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: 'suture' },
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', name: 'suture' },
];
/** How long Suture's webhook configurations must stay unchanged before the steps start. */
const WEBHOOKS_STABLE_MS = 1000;

/**
 * Suture rewrites its webhook configurations as policies and leases arrive, and the API server takes a moment to
 * load a new configuration. Before the steps, wait until both configurations have stayed unchanged for a second
 * (they exist and carry the objects just applied), at most 15 s.
 */
async function awaitWebhooksSettled(ctx: ScenarioContext): Promise<void> {
  let last = '';
  let since = Date.now();
  const attempt = async (): Promise<{ ok: boolean; value: string }> => {
    const versions = await Promise.all(WEBHOOK_CONFIGS.map(async (ref) => (await readObject(ctx, ref)) as { metadata?: { resourceVersion?: string } } | undefined));
    const now = versions.map((v) => v?.metadata?.resourceVersion ?? 'absent').join('/');
    if (now !== last) {
      last = now;
      since = Date.now();
    }
    return { ok: !now.includes('absent') && Date.now() - since >= WEBHOOKS_STABLE_MS, value: now };
  };
  const settled = await pollWithin(attempt, { withinMs: 15_000, intervalMs: 200 }, ctx.timing);
  if (!settled.ok) throw new SetupError(`Suture's webhook configurations did not settle within 15s (resourceVersions ${settled.value})`);
}

async function deleteOne(ctx: ScenarioContext, ref: ObjectRef): Promise<void> {
  try {
    const { path } = await pathOf(ctx, ref);
    const response = await ctx.api.exchange({ method: 'DELETE', path, body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' } });
    if (response.status >= 300 && response.status !== 404) ctx.log(`  cleanup: deleting ${refText(ref)}: HTTP ${response.status}: ${statusMessage(response.body)}`);
  } catch (error) {
    if (!(error instanceof UnknownKindError)) throw error;
  }
}

async function stillPresent(ctx: ScenarioContext, ref: ObjectRef): Promise<boolean> {
  try {
    return (await readObject(ctx, ref)) !== undefined;
  } catch (error) {
    if (error instanceof UnknownKindError) return false;
    throw error;
  }
}

/** Removes finalizers of an object stuck in deletion (a finalizer whose controller is not running here). */
async function dropFinalizers(ctx: ScenarioContext, ref: ObjectRef): Promise<void> {
  if (ref.kind === 'Namespace') return;
  const { path } = await pathOf(ctx, ref);
  await ctx.api.exchange({ method: 'PATCH', path, body: { metadata: { finalizers: null } }, contentType: CONTENT_TYPES.merge });
}

/**
 * Deletes the objects (the first ones first: callers put Suture's objects first) and awaits their removal. Objects
 * inside a namespace that is itself deleted go with it. Returns what is still there after `timeoutMs`.
 */
export async function cleanup(ctx: ScenarioContext, refs: readonly ObjectRef[], timeoutMs = CLEANUP_TIMEOUT_MS): Promise<string[]> {
  const namespaces = new Set(refs.filter((r) => r.kind === 'Namespace' && r.apiVersion === 'v1').map((r) => r.name));
  for (const ref of refs) if (ref.namespace === undefined || !namespaces.has(ref.namespace)) await deleteOne(ctx, ref);
  const started = ctx.timing.now();
  let finalizersDropped = false;
  const attempt = async (): Promise<{ ok: boolean; value: ObjectRef[] }> => {
    const left: ObjectRef[] = [];
    for (const ref of refs) if (await stillPresent(ctx, ref)) left.push(ref);
    if (left.length > 0 && !finalizersDropped && ctx.timing.now() - started > Math.min(FINALIZER_GRACE_MS, timeoutMs / 3)) {
      finalizersDropped = true;
      for (const ref of left) await dropFinalizers(ctx, ref);
    }
    return { ok: left.length === 0, value: left };
  };
  const last = await pollWithin(attempt, { withinMs: timeoutMs, intervalMs: 250 }, ctx.timing);
  return last.value.map(refText);
}
