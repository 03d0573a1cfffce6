// Consistent reads shared between the decisions that need them at the same time (state/fresh.ts).
//
// A consistent read answers with state at least as new as every write that completed before it was *sent*. A
// decision may therefore share a read with other decisions only if that read was sent after the decision began:
// joining one already in flight could miss a write the decision must see (a dependent created a moment before).
// So a caller that finds a read of the same thing in flight waits for the next one, which starts as soon as the
// one in flight ends and answers every caller that queued behind it. At most two reads of one thing are ever
// pending (the one in flight and the next), however many decisions ask: eight clients deleting in one namespace
// cost the API server about one LIST per round trip instead of eight.
import type { KubeObject } from '../api/types.js';
import type { LiveReader, LiveTarget } from '../kube/live.js';

interface Next<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

interface Slot<T> {
  /** The read in flight. */
  running: Promise<T>;
  /** The read that starts when the one in flight ends, shared by everyone who asked meanwhile. */
  next?: Next<T>;
}

/** Shares reads by key under the rule above. */
export class ReadCoalescer {
  private readonly slots = new Map<string, Slot<unknown>>();
  /** Reads sent, and callers answered by a read another caller also used (for tests and metrics). */
  sent = 0;
  shared = 0;

  read<T>(key: string, run: () => Promise<T>): Promise<T> {
    const slot = this.slots.get(key) as Slot<T> | undefined;
    if (slot === undefined) return this.start(key, run);
    if (slot.next !== undefined) {
      this.shared++;
      return slot.next.promise;
    }
    let resolve!: (value: T) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    slot.next = { promise, resolve, reject };
    return promise;
  }

  private start<T>(key: string, run: () => Promise<T>): Promise<T> {
    this.sent++;
    const running = (async (): Promise<T> => run())();
    const slot: Slot<T> = { running };
    this.slots.set(key, slot as Slot<unknown>);
    const settle = (): void => {
      const next = slot.next;
      if (next === undefined) {
        this.slots.delete(key);
        return;
      }
      // The queued callers get a read sent now, after each of them asked.
      this.slots.delete(key);
      this.start(key, run).then(next.resolve, next.reject);
    };
    running.then(settle, settle);
    return running;
  }
}

function targetKey(t: LiveTarget & { name?: string; labelSelector?: string }, metadataOnly: boolean): string {
  return JSON.stringify([t.apiVersion, t.kind, t.resource, t.namespace ?? '', t.name ?? null, t.labelSelector ?? null, metadataOnly]);
}

/** A LiveReader whose concurrent identical reads are shared as above. Callers must not modify what it returns. */
export function coalescingReader(reader: LiveReader, coalescer = new ReadCoalescer()): LiveReader {
  return {
    get: (target, metadataOnly): Promise<KubeObject | undefined> => coalescer.read(targetKey(target, metadataOnly), () => reader.get(target, metadataOnly)),
    list: (target, metadataOnly): Promise<KubeObject[]> => coalescer.read(targetKey(target, metadataOnly), () => reader.list(target, metadataOnly)),
  };
}
