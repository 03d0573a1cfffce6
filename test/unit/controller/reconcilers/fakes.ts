// An in-memory stand-in for an informer, for the reconcilers' unit tests (the in-memory ObjectClient is
// test/unit/support/memory-objects.ts).
/* eslint-disable @typescript-eslint/require-await -- the fake implements async interfaces synchronously */
import type { KubeObject } from '../../../../src/api/types.js';
import type { Informer, InformerEvent, InformerHandler, InformerTarget } from '../../../../src/state/informer.js';

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
