// make bench-core: decide() latency with 1,000 policies, 1,000 leases and 100,000 objects in the snapshot, for a
// create, an update and a namespace delete that removes 10,000 objects. Prints p50/p99 per request kind.
//   npx tsx test/bench/core.bench.ts [--iterations N] [--only create|update|namespace]
import { loadavg } from 'node:os';
import type { KubeObject, SutureLease, SuturePolicy } from '../../src/api/types.js';
import { decide } from '../../src/core/decide.js';
import { LiveSnapshot } from '../../src/core/live-snapshot.js';
import { compilePolicy, type CompiledPolicy } from '../../src/core/policy.js';
import type { AdmissionRequest, DecisionInput, LeaseState } from '../../src/core/types.js';

const NAMESPACES = 100;
const OBJECTS = 100_000;
const IN_DELETED_NAMESPACE = 10_000;
const POLICIES = 1_000;
const LEASES = 1_000;

const args = process.argv.slice(2);
const iterations = Number(args[args.indexOf('--iterations') + 1] ?? '') || 2000;
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;

let uid = 0;
function obj(type: [apiVersion: string, kind: string], at: [namespace: string, name: string], fields: Record<string, unknown> = {}, labels: Record<string, string> = {}): KubeObject {
  const [apiVersion, kind] = type;
  const [namespace, name] = at;
  return { apiVersion, kind, metadata: { name, namespace, uid: `u${++uid}`, labels }, ...fields };
}

function objects(): KubeObject[] {
  const out: KubeObject[] = [];
  for (let n = 0; n < NAMESPACES; n++) out.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${n}`, uid: `ns${n}`, labels: { tier: n % 2 === 0 ? 'app' : 'data' } } });
  const kinds: [string, string, () => Record<string, unknown>][] = [
    ['v1', 'ConfigMap', () => ({ data: { a: '1' } })],
    ['v1', 'Pod', () => ({ spec: { containers: [{ name: 'c', image: 'x' }] }, status: { conditions: [{ type: 'Ready', status: 'True' }] } })],
    ['v1', 'PersistentVolumeClaim', () => ({ spec: { resources: { requests: { storage: '1Gi' } } } })],
    ['v1', 'Secret', () => ({})],
    ['apps/v1', 'Deployment', () => ({ spec: { replicas: 3 }, status: { readyReplicas: 3, replicas: 3 } })],
  ];
  for (let i = 0; out.length < OBJECTS + NAMESPACES; i++) {
    const namespace = i < IN_DELETED_NAMESPACE ? 'ns-0' : `ns-${1 + (i % (NAMESPACES - 1))}`;
    const [apiVersion, kind, fields] = kinds[i % kinds.length] as (typeof kinds)[number];
    out.push(obj([apiVersion, kind], [namespace, `${kind.toLowerCase()}-${i}`], fields(), { app: `app-${i % 500}` }));
  }
  return out;
}

function policy(i: number): CompiledPolicy {
  const namespace = `ns-${1 + (i % (NAMESPACES - 1))}`;
  const variants: Record<string, unknown>[] = [
    { match: [{ kinds: ['PersistentVolumeClaim'], namespaces: [namespace], selector: { matchLabels: { app: `app-${i % 500}` } } }], operations: ['DELETE'], invariants: [{ name: 'keep', protect: {} }] },
    { match: [{ apiGroups: ['apps'], kinds: ['Deployment'], namespaces: [namespace] }], invariants: [{ name: 'quorum', minAvailable: { count: 2 } }] },
    { match: [{ kinds: ['ConfigMap'], namespaces: [namespace] }], operations: ['CREATE', 'UPDATE'], invariants: [{ name: 'labelled', expression: "has(object.metadata.labels) && 'app' in object.metadata.labels" }] },
    { match: [{ namespaceSelector: { matchLabels: { tier: 'app' } } }], operations: ['DELETE'], invariants: [{ name: 'small', maxCascade: { count: 20_000 } }] },
  ];
  const p: SuturePolicy = { apiVersion: 'suture.dev/v1alpha1', kind: 'SuturePolicy', metadata: { name: `policy-${i}` }, spec: variants[i % variants.length] as never };
  const r = compilePolicy(p);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

function lease(i: number): LeaseState {
  const l: SutureLease = {
    apiVersion: 'suture.dev/v1alpha1',
    kind: 'SutureLease',
    metadata: { name: `lease-${i}`, namespace: 'operators', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { holder: { kind: 'ServiceAccount', namespace: 'operators', name: `op-${i}` }, resources: [{ kinds: ['ConfigMap'], namespaces: [`ns-${1 + (i % (NAMESPACES - 1))}`], namePrefixes: [`lease-${i}-`] }] },
  };
  return { lease: l, granted: true };
}

const user = { username: 'system:serviceaccount:operators:op-7', groups: ['system:serviceaccounts', 'system:authenticated'] };

function requests(snapshot: LiveSnapshot): Record<string, AdmissionRequest> {
  const deployment = snapshot.list('apps', 'Deployment', 'ns-5')[0] as KubeObject;
  const scaled = { ...deployment, spec: { replicas: 4 } };
  return {
    create: {
      uid: 'create',
      kind: { group: '', version: 'v1', kind: 'ConfigMap' },
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      namespace: 'ns-5',
      name: 'lease-7-new',
      operation: 'CREATE',
      userInfo: user,
      object: obj(['v1', 'ConfigMap'], ['ns-5', 'lease-7-new'], { data: {} }, { app: 'x' }),
    },
    update: {
      uid: 'update',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      namespace: 'ns-5',
      name: deployment.metadata.name ?? '',
      operation: 'UPDATE',
      userInfo: user,
      object: scaled,
      oldObject: deployment,
    },
    'namespace delete (10,000 objects)': {
      uid: 'delete',
      kind: { group: '', version: 'v1', kind: 'Namespace' },
      resource: { group: '', version: 'v1', resource: 'namespaces' },
      name: 'ns-0',
      operation: 'DELETE',
      userInfo: user,
      oldObject: snapshot.get({ group: '', kind: 'Namespace', namespace: '', name: 'ns-0' }) ?? null,
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

function measure(request: AdmissionRequest, input: DecisionInput, n: number): { p50: number; p99: number; verdict: string; deleted: number } {
  const now = new Date('2026-11-23T10:00:00Z');
  let last = decide(request, input, now);
  for (let i = 0; i < Math.min(50, n); i++) decide(request, input, now); // warm-up
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    last = decide(request, input, now);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), verdict: last.verdict, deleted: last.impact.deleted };
}

const t0 = Date.now();
const snapshot = new LiveSnapshot();
for (const o of objects()) snapshot.upsert(o);
const input: DecisionInput = {
  snapshot,
  policies: Array.from({ length: POLICIES }, (_, i) => policy(i)),
  leases: Array.from({ length: LEASES }, (_, i) => lease(i)),
  exceptions: [],
  budgets: { used: () => 0 },
  metrics: { read: () => undefined },
  identities: { exemptNamespaces: ['kube-system'], exemptUsers: [], exemptGroups: [] },
};
console.log(`decide() on ${snapshot.size} objects, ${input.policies.length} policies, ${input.leases.length} leases (set up in ${Date.now() - t0} ms); load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('| request | iterations | p50 ms | p99 ms | verdict | objects removed |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const [name, request] of Object.entries(requests(snapshot))) {
  if (only !== undefined && !name.startsWith(only)) continue;
  const n = name.startsWith('namespace') ? Math.max(20, Math.floor(iterations / 20)) : iterations;
  const r = measure(request, input, n);
  console.log(`| ${name} | ${n} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${r.verdict} | ${r.deleted} |`);
}
