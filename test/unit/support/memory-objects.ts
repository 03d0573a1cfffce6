// The one in-memory ObjectClient of the unit tests: objects by apiVersion, kind and key, with resourceVersions and
// uids stamped as the API server does, its conflict rules (AlreadyExists on create, NotFound on replace of nothing,
// Conflict on a stale resourceVersion), JSON merge patch (RFC 7386) for patches and status, and a record of every
// write. It stands in for the API server only where the logic over the ObjectClient interface is under test (leader
// election, reconcilers, the certificate Secret); what the real API server answers is tested on the real control
// plane (test/integration).
import type { KubeObject } from '../../../src/api/types.js';
import type { KubeList, ObjectClient, ObjectRef, PatchStatusOptions } from '../../../src/kube/client.js';
import { objectKey } from '../../../src/kube/client.js';
import { KubeError } from '../../../src/kube/errors.js';

type Ref = { apiVersion: string; kind: string; namespace?: string | undefined; name?: string | undefined };
const keyOf = (ref: Ref): string => `${ref.apiVersion}/${ref.kind}/${objectKey(ref)}`;
const refOf = (o: KubeObject): ObjectRef => ({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name ?? '' });
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** RFC 7386: objects merge key by key, null removes a key, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return structuredClone(patch);
  const merged: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = mergePatch(merged[key], value);
  }
  return merged;
}

type WriteVerb = 'create' | 'replace' | 'apply' | 'patch' | 'status' | 'delete';

export class MemoryObjects implements ObjectClient {
  readonly objects = new Map<string, KubeObject>();
  revision = 1;
  /** When set, every call fails with this error (an unreachable API server). */
  failWith: Error | undefined;
  /** Every write that succeeded, as "verb Kind namespace/name" (verb: create, replace, apply, patch, status, delete). */
  readonly writes: string[] = [];
  /** Runs once, before the next write: "another replica" writes first. */
  beforeNextWrite: (() => Promise<void> | void) | undefined;

  get<T extends KubeObject>(ref: ObjectRef): Promise<T> {
    return this.run(() => structuredClone(this.current(ref)) as T);
  }

  async find<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    try {
      return await this.get<T>(ref);
    } catch (error) {
      if (error instanceof KubeError && error.kind === 'NotFound') return undefined;
      throw error;
    }
  }

  list<T extends KubeObject>(apiVersion: string, kind: string, options: { namespace?: string } = {}): Promise<KubeList<T>> {
    return this.run(() => ({
      apiVersion,
      kind: `${kind}List`,
      metadata: { resourceVersion: String(this.revision) },
      items: [...this.objects.values()]
        .filter((o) => o.apiVersion === apiVersion && o.kind === kind && (options.namespace === undefined || o.metadata.namespace === options.namespace))
        .map((o) => structuredClone(o) as T),
    }));
  }

  create<T extends KubeObject>(object: T): Promise<T> {
    return this.write('create', refOf(object), () => {
      const key = keyOf(refOf(object));
      if (this.objects.has(key)) throw new KubeError('Conflict', `${key} already exists`, { code: 409, reason: 'AlreadyExists' });
      return this.store(object);
    });
  }

  replace<T extends KubeObject>(object: T): Promise<T> {
    return this.write('replace', refOf(object), () => {
      const current = this.current(refOf(object));
      const rv = object.metadata.resourceVersion;
      if (rv !== undefined && rv !== current.metadata.resourceVersion) throw new KubeError('Conflict', `${keyOf(refOf(object))} was modified`, { code: 409, reason: 'Conflict' });
      return this.store(object, current);
    });
  }

  /** Server-side apply, simplified: the applied object becomes the whole object. */
  apply<T extends KubeObject>(object: T): Promise<T> {
    return this.write('apply', refOf(object), () => this.store(object, this.objects.get(keyOf(refOf(object)))));
  }

  mergePatch<T extends KubeObject>(ref: ObjectRef, patch: object): Promise<T> {
    return this.write('patch', ref, () => {
      const current = this.current(ref);
      return this.store(mergePatch(current, patch) as T, current);
    });
  }

  patchStatus<T extends KubeObject>(ref: ObjectRef, status: unknown, options?: PatchStatusOptions): Promise<T> {
    return this.write('status', ref, () => {
      const current = this.current(ref);
      const rv = options?.resourceVersion;
      if (rv !== undefined && rv !== current.metadata.resourceVersion) throw new KubeError('Conflict', `${keyOf(ref)} was modified`, { code: 409, reason: 'Conflict' });
      return this.store(mergePatch(current, { status }) as T, current);
    });
  }

  delete(ref: ObjectRef): Promise<boolean> {
    return this.write('delete', ref, () => this.objects.delete(keyOf(ref)));
  }

  private current(ref: Ref): KubeObject {
    const found = this.objects.get(keyOf(ref));
    if (found === undefined) throw new KubeError('NotFound', `${keyOf(ref)} not found`, { code: 404, reason: 'NotFound' });
    return found;
  }

  /** Stores a copy with the next resourceVersion, keeping the uid the object had (or giving it one). */
  private store<T extends KubeObject>(object: T, previous?: KubeObject): T {
    this.revision += 1;
    const uid = previous?.metadata.uid ?? object.metadata.uid ?? `uid-${this.revision}`;
    const stored = structuredClone({ ...object, metadata: { ...object.metadata, uid, resourceVersion: String(this.revision) } });
    this.objects.set(keyOf(refOf(stored)), stored);
    return structuredClone(stored);
  }

  private async write<T>(verb: WriteVerb, ref: Ref, body: () => T): Promise<T> {
    const before = this.beforeNextWrite;
    this.beforeNextWrite = undefined;
    await before?.();
    const result = await this.run(body);
    this.writes.push(`${verb} ${ref.kind} ${objectKey(ref)}`);
    return result;
  }

  private async run<T>(body: () => T): Promise<T> {
    await Promise.resolve();
    if (this.failWith !== undefined) throw this.failWith;
    return body();
  }
}
