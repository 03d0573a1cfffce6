// In-memory stand-ins for an informer and the ObjectClient, for the reconcilers' unit tests.
/* eslint-disable @typescript-eslint/require-await -- the fakes implement async interfaces synchronously */
import type { KubeObject } from '../../../../src/api/types.js';
import type { Informer, InformerEvent, InformerHandler, InformerTarget } from '../../../../src/state/informer.js';
import type { KubeList, ObjectClient, ObjectRef } from '../../../../src/kube/client.js';
import { KubeError } from '../../../../src/kube/errors.js';

const keyOf = (o: { metadata: { namespace?: string; name?: string } }): string => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name ?? ''}` : (o.metadata.name ?? ''));

export class FakeInformer<T extends KubeObject> implements Informer<T> {
  private readonly objects = new Map<string, T>();
  private readonly handlers = new Set<InformerHandler<T>>();
  synced = false;

  constructor(readonly target: InformerTarget) {}

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  hasSynced(): boolean {
    return this.synced;
  }
  async waitForSync(): Promise<boolean> {
    return this.synced;
  }
  onEvent(handler: InformerHandler<T>): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }
  get(key: string): T | undefined {
    return this.objects.get(key);
  }
  list(): readonly T[] {
    return [...this.objects.values()];
  }
  lastSyncResourceVersion(): string {
    return '1';
  }
  async waitForResourceVersion(): Promise<boolean> {
    return true;
  }

  /** Stores the object and tells the handlers (add or update). */
  put(object: T): void {
    const key = keyOf(object);
    const type = this.objects.has(key) ? 'update' : 'add';
    this.objects.set(key, object);
    this.emit({ type, key, object });
  }

  remove(key: string): void {
    const object = this.objects.get(key);
    if (object === undefined) return;
    this.objects.delete(key);
    this.emit({ type: 'delete', key, object });
  }

  private emit(event: InformerEvent<T>): void {
    for (const h of this.handlers) h(event);
  }
}

function notFound(what: string): KubeError {
  return new KubeError('NotFound', `${what} not found`, { code: 404 });
}

/** An ObjectClient over a map; records every write as "verb Kind key". */
export class FakeClient implements ObjectClient {
  readonly objects = new Map<string, KubeObject>();
  readonly writes: string[] = [];
  private rv = 1;

  private static id(ref: ObjectRef): string {
    return `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
  }

  private stamp<T extends KubeObject>(o: T): T {
    this.rv += 1;
    return { ...o, metadata: { ...o.metadata, resourceVersion: String(this.rv), uid: o.metadata.uid ?? `uid-${this.rv}` } };
  }

  async get<T extends KubeObject>(ref: ObjectRef): Promise<T> {
    const o = this.objects.get(FakeClient.id(ref));
    if (o === undefined) throw notFound(FakeClient.id(ref));
    return structuredClone(o) as T;
  }
  async find<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    const o = this.objects.get(FakeClient.id(ref));
    return o === undefined ? undefined : (structuredClone(o) as T);
  }
  async list<T extends KubeObject>(_apiVersion: string, kind: string): Promise<KubeList<T>> {
    return { apiVersion: 'v1', kind: `${kind}List`, metadata: {}, items: [...this.objects.values()].filter((o) => o.kind === kind) as T[] };
  }
  async create<T extends KubeObject>(object: T): Promise<T> {
    const ref = { ...object, name: object.metadata.name ?? '', namespace: object.metadata.namespace };
    const stored = this.stamp(object);
    this.objects.set(FakeClient.id(ref), stored);
    this.writes.push(`create ${object.kind} ${keyOf(object)}`);
    return structuredClone(stored);
  }
  async replace<T extends KubeObject>(object: T): Promise<T> {
    const ref = { ...object, name: object.metadata.name ?? '', namespace: object.metadata.namespace };
    const stored = this.stamp(object);
    this.objects.set(FakeClient.id(ref), stored);
    this.writes.push(`replace ${object.kind} ${keyOf(object)}`);
    return structuredClone(stored);
  }
  async apply<T extends KubeObject>(object: T): Promise<T> {
    return this.replace(object);
  }
  async mergePatch<T extends KubeObject>(ref: ObjectRef, patch: object): Promise<T> {
    const current = await this.get(ref);
    return this.replace({ ...current, ...patch } as T);
  }
  async patchStatus<T extends KubeObject>(ref: ObjectRef, status: unknown): Promise<T> {
    const current = await this.get(ref);
    const merged: Record<string, unknown> = { ...((current['status'] ?? {}) as Record<string, unknown>) };
    for (const [k, v] of Object.entries(status as Record<string, unknown>)) {
      if (v === null) delete merged[k];
      else merged[k] = v;
    }
    const stored = this.stamp({ ...current, status: merged });
    this.objects.set(FakeClient.id(ref), stored);
    this.writes.push(`status ${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`);
    return structuredClone(stored) as unknown as T;
  }
  async delete(ref: ObjectRef): Promise<boolean> {
    this.writes.push(`delete ${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`);
    return this.objects.delete(FakeClient.id(ref));
  }
}
