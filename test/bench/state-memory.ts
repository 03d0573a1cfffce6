// Heap per object of the metadata graph (src/state/project.ts + core LiveSnapshot + a map standing in for the informer's own):
//   node --expose-gc --import tsx test/bench/state-memory.ts [objects]
import type { KubeObject } from '../../src/api/types.js';
import { LiveSnapshot } from '../../src/core/live-snapshot.js';
import { projectMetadata } from '../../src/state/project.js';
const N = Number(process.argv[2] ?? 100000);
const gc = (globalThis as { gc?: () => void }).gc!;
gc(); const before = process.memoryUsage().heapUsed;
const snap = new LiveSnapshot();
const cache = new Map<string, unknown>(); // stands in for ListWatch's own map of objects
for (let i = 0; i < N; i++) {
  const ns = `ns-${i % 100}`;
  const raw = JSON.parse(JSON.stringify({ apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: { name: `cm-${i}-abcdef`, namespace: ns, uid: `0b7c8a4e-1f2d-4c3b-9a8e-${String(i).padStart(12, '0')}`, resourceVersion: String(100000 + i), labels: { app: `app-${i % 50}`, tier: 'backend' }, ownerReferences: i % 2 ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `rs-${i % 1000}`, uid: `1b7c8a4e-1f2d-4c3b-9a8e-${String(i % 1000).padStart(12, '0')}`, controller: true, blockOwnerDeletion: true }] : undefined, creationTimestamp: '2026-11-30T10:00:00Z', managedFields: [{ manager: 'x' }] } })) as KubeObject;
  const o = projectMetadata(raw, 'v1', 'ConfigMap');
  snap.upsert(o);
  cache.set(`${ns}/${o.metadata.name}`, o);
}
snap.list('', 'ConfigMap'); snap.inNamespace('ns-1');
gc(); const after = process.memoryUsage().heapUsed;
console.log(`${N} objects: ${((after - before) / N).toFixed(0)} bytes/object (heap ${(after / 1e6).toFixed(0)} MB)`);
