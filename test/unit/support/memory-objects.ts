// An in-memory ObjectClient with resourceVersions and the API server's conflict rules, for unit tests.
import type { KubeObject } from '../../../src/api/types.js';
import type { KubeList, ObjectClient, ObjectRef } from '../../../src/kube/client.js';
import { objectKey } from '../../../src/kube/client.js';
import { KubeError } from '../../../src/kube/errors.js';

const keyOf = (ref: { apiVersion: string; kind: string; namespace?: string | undefined; name?: string | undefined }): string => `${ref.apiVersion}/${ref.kind}/${objectKey(ref)}`;
const refOf = (o: KubeObject): ObjectRef => ({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name ?? '' });

export class MemoryObjects implements ObjectClient {
  readonly objects = new Map<string, KubeObject>();
  revision = 1;
  /** When set, every call fails with this error (an unreachable API server). */
  failWith: Error | undefined;
  readonly calls: string[] = [];

  get<T extends KubeObject>(ref: ObjectRef): Promise<T> {
    return this.run('get', () => {
      const found = this.objects.get(keyOf(ref));
      if (found === undefined) throw new KubeError('NotFound', `${keyOf(ref)} not found`, { code: 404, reason: 'NotFound' });
      return structuredClone(found) as T;
    });
  }

  async find<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    try {
      return await this.get<T>(ref);
    } catch (error) {
      if (error instanceof KubeError && error.kind === 'NotFound') return undefined;
      throw error;
    }
  }

  list<T extends KubeObject>(apiVersion: string, kind: string): Promise<KubeList<T>> {
    return this.run('list', () => ({
      apiVersion,
      kind: `${kind}List`,
      metadata: { resourceVersion: String(this.revision) },
      items: [...this.objects.values()].filter((o) => o.apiVersion === apiVersion && o.kind === kind).map((o) => structuredClone(o) as T),
    }));
  }

  create<T extends KubeObject>(object: T): Promise<T> {
    return this.run('create', () => {
      const key = keyOf(refOf(object));
      if (this.objects.has(key)) throw new KubeError('Conflict', `${key} already exists`, { code: 409, reason: 'AlreadyExists' });
      return this.store(object);
    });
  }

  replace<T extends KubeObject>(object: T): Promise<T> {
    return this.run('replace', () => {
      const key = keyOf(refOf(object));
      const current = this.objects.get(key);
      if (current === undefined) throw new KubeError('NotFound', `${key} not found`, { code: 404, reason: 'NotFound' });
      const rv = object.metadata.resourceVersion;
      if (rv !== undefined && rv !== current.metadata.resourceVersion) throw new KubeError('Conflict', `${key} was modified`, { code: 409, reason: 'Conflict' });
      return this.store(object);
    });
  }

  apply<T extends KubeObject>(object: T): Promise<T> {
    return this.run('apply', () => this.store(object));
  }

  async mergePatch<T extends KubeObject>(ref: ObjectRef, patch: object): Promise<T> {
    const current = await this.get<T>(ref);
    return this.run('patch', () => this.store({ ...current, ...patch }));
  }

  async patchStatus<T extends KubeObject>(ref: ObjectRef, status: unknown): Promise<T> {
    const current = await this.get<T>(ref);
    return this.run('patchStatus', () => this.store({ ...current, status }));
  }

  delete(ref: ObjectRef): Promise<boolean> {
    return this.run('delete', () => this.objects.delete(keyOf(ref)));
  }

  private store<T extends KubeObject>(object: T): T {
    this.revision += 1;
    const stored = structuredClone({ ...object, metadata: { ...object.metadata, resourceVersion: String(this.revision) } });
    this.objects.set(keyOf(refOf(stored)), stored);
    return structuredClone(stored);
  }

  private async run<T>(verb: string, body: () => T): Promise<T> {
    this.calls.push(verb);
    await Promise.resolve();
    if (this.failWith !== undefined) throw this.failWith;
    return body();
  }
}
