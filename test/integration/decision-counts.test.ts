// What a user reads after Suture refused something: a SuturePolicy's status.decisions and
// suture_decisions_total{verdict,policy} count the same thing — one request a policy denied is one denial of that
// policy — on the real control plane, with two replicas each counting what it decided (Prometheus sums the replicas'
// series; every replica adds its own counts to status). The `make demo` run of session 4 found them apart (status 4,
// metric 2 for one RoleBinding): the request reached two validating webhooks (validate.suture.dev and
// identities.suture.dev, both asking /validate for the whole decision) and status counted every broken invariant.
// Dry runs (`kubectl apply --dry-run=server`, `kubectl suture explain -f`) count in neither.
import type { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import type { KubeObject } from '../../src/api/types.js';
import { createStores } from '../../src/controller/reconcilers/index.js';
import { StatusFlusher } from '../../src/controller/reconcilers/flush.js';
import { type ExchangeRequest, createObjectClient } from '../../src/kube/client.js';
import { createMemoryLogger } from '../../src/observability/logger.js';
import { systemClock } from '../../src/runtime/clock.js';
import { getFromSuture } from '../controlplane/suture-process.js';
import { cluster } from './cluster.js';
import { WEBHOOK_CONFIGURATIONS, startSutureReplicas, type SutureReplicas } from './suture-process.js';
import { createNamespace, deleteNamespace, eventually, rawRequest, uniqueName } from './support.js';

type Policy = KubeObject & { status?: { conditions?: { type: string; status: string }[]; decisions?: { denied?: number; warned?: number; audited?: number; lastDenied?: { decisionId?: string } } } };
type Webhooks = KubeObject & { webhooks?: { name: string; rules?: { resources?: string[]; operations?: string[] }[] }[] };

const POLICY = { apiVersion: 'suture.dev/v1alpha1', kind: 'SuturePolicy' } as const;
const RBAC = 'rbac.authorization.k8s.io/v1';

interface Answer {
  status: number;
  message: string;
}

/** suture_decisions_total by "policy verdict" on one replica (its own port). */
async function decisionsOn(port: number): Promise<Record<string, number>> {
  const scraped = await getFromSuture(port, '/metrics', 5000);
  if (scraped.status !== 200) throw new Error(`GET /metrics of the replica on port ${port}: ${scraped.status} ${scraped.body}`);
  const counts: Record<string, number> = {};
  for (const m of scraped.body.matchAll(/^suture_decisions_total\{verdict="([^"]*)",policy="([^"]*)"\} (\d+)$/gm)) counts[`${m[2] ?? ''} ${m[1] ?? ''}`] = Number(m[3]);
  return counts;
}

describe('policy status counts and suture_decisions_total agree: one denied request is one denial (real control plane, two replicas)', function () {
  this.timeout(240_000);
  let suture: SutureReplicas;
  let admin: KubeConfig;
  let ops: string;
  let work: string;
  const crb = uniqueName('counts-operator');
  const bindings = uniqueName('counts-bindings');
  const careful = uniqueName('counts-careful');
  const keep = uniqueName('counts-keep');
  const raced = uniqueName('counts-raced');
  const policies = [bindings, careful, keep, raced];

  before(async function () {
    this.timeout(200_000);
    admin = cluster().kubeConfig;
    suture = await startSutureReplicas(2);
    ops = await createNamespace(admin, 'counts-ops');
    work = await createNamespace(admin, 'counts-work');
    const c = suture.client;
    await c.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace: ops, name: 'operator' } });
    await c.create({ apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata: { name: crb }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'ServiceAccount', namespace: ops, name: 'operator' }] });
    for (const name of ['keep-a', 'keep-b']) await c.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: work, name }, data: { kept: 'yes' } });
    const match = [{ apiGroups: ['rbac.authorization.k8s.io'], kinds: ['RoleBinding'], namespaces: [work] }];
    // A binding of cluster-admin breaks both invariants of one policy, and the Warn policy.
    await c.create({
      ...POLICY,
      metadata: { name: bindings },
      spec: {
        match,
        operations: ['CREATE', 'UPDATE'],
        invariants: [
          { name: 'no-admin', expression: "object.roleRef.name != 'cluster-admin'", message: 'operators may not bind cluster-admin' },
          { name: 'no-cluster-roles', expression: "object.roleRef.kind != 'ClusterRole'", message: 'operators bind Roles of their namespace only' },
        ],
      },
    });
    await c.create({ ...POLICY, metadata: { name: careful }, spec: { match, operations: ['CREATE', 'UPDATE'], enforcement: 'Warn', invariants: [{ name: 'named-for-review', expression: "!object.metadata.name.startsWith('root')", message: 'bindings named root-* are reviewed' }] } });
    // Its status is where the next test's two flushers race (it is never broken by a request).
    await c.create({ ...POLICY, metadata: { name: raced }, spec: { match: [{ apiGroups: [''], kinds: ['ConfigMap'], namespaces: [work], namePrefixes: ['raced-'] }], operations: ['DELETE'], invariants: [{ name: 'kept', protect: {} }] } });
    await c.create({ ...POLICY, metadata: { name: keep }, spec: { match: [{ apiGroups: [''], kinds: ['ConfigMap'], namespaces: [work], namePrefixes: ['keep-'] }], operations: ['DELETE'], invariants: [{ name: 'kept', protect: {} }] } });
    for (const name of policies) await eventually(`SuturePolicy ${name} Ready`, async () => (await c.find<Policy>({ ...POLICY, name }))?.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false, 30_000);
    await eventually('validate.suture.dev intercepts RoleBinding creates and ConfigMap deletes', async () => {
      const rules = (await c.find<Webhooks>(WEBHOOK_CONFIGURATIONS[0]))?.webhooks?.find((w) => w.name === 'validate.suture.dev')?.rules ?? [];
      const covers = (resource: string, op: string): boolean => rules.some((r) => r.resources?.some((x) => [resource, '*', '*/*'].includes(x)) === true && r.operations?.includes(op) === true);
      return covers('rolebindings', 'CREATE') && covers('configmaps', 'DELETE');
    }, 30_000);
    await new Promise((r) => setTimeout(r, 2000)); // the API server loads the changed webhook configuration
  });

  after(async function () {
    this.timeout(120_000);
    for (const name of policies) await suture?.client.delete({ ...POLICY, name }).catch(() => undefined);
    await suture?.stop();
    await suture?.client.delete({ apiVersion: RBAC, kind: 'ClusterRoleBinding', name: crb }).catch(() => undefined);
    for (const ns of [ops, work]) if (ns !== undefined) await deleteNamespace(admin, ns);
  });

  const asOperator = async (method: ExchangeRequest['method'], path: string, body?: unknown): Promise<Answer> => {
    const impersonate = { user: `system:serviceaccount:${ops}:operator`, groups: ['system:serviceaccounts', `system:serviceaccounts:${ops}`, 'system:authenticated'] };
    const r = await rawRequest(admin, { method, path, impersonate, ...(body === undefined ? {} : { body }) });
    const raw = (r.body as { message?: unknown } | null)?.message;
    return { status: r.status, message: typeof raw === 'string' ? raw : '' };
  };

  it('counts each denied request once per policy, a Warn policy as warned, dry runs nowhere; status after the flush equals the replicas\' metrics summed', async () => {
    const ports = [0, 1].map((i) => suture.pool.portOf(i));
    const before = await Promise.all(ports.map(decisionsOn));
    const root = { apiVersion: RBAC, kind: 'RoleBinding', metadata: { name: 'root-binding' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'ServiceAccount', namespace: ops, name: 'operator' }] };
    const bindingsPath = `/apis/rbac.authorization.k8s.io/v1/namespaces/${work}/rolebindings`;

    const refused = await asOperator('POST', bindingsPath, root);
    expect(refused.status, refused.message).to.equal(403);
    expect(refused.message).to.include(`SuturePolicy ${bindings}, invariant no-admin`).and.include(`SuturePolicy ${bindings}, invariant no-cluster-roles`);
    const dryRun = await asOperator('POST', `${bindingsPath}?dryRun=All`, root);
    expect(dryRun.status, dryRun.message).to.equal(403);
    for (const name of ['keep-a', 'keep-b']) {
      const answer = await asOperator('DELETE', `/api/v1/namespaces/${work}/configmaps/${name}`);
      expect(answer.status, answer.message).to.equal(403);
      expect(answer.message).to.include(`SuturePolicy ${keep}, invariant kept`);
    }

    const after = await Promise.all(ports.map(decisionsOn));
    const delta = (key: string): number => after.reduce((sum, counts, i) => sum + (counts[key] ?? 0) - (before[i]?.[key] ?? 0), 0);
    const metric = { bindings: { deny: delta(`${bindings} deny`), warn: delta(`${bindings} warn`) }, careful: { deny: delta(`${careful} deny`), warn: delta(`${careful} warn`) }, keep: { deny: delta(`${keep} deny`) } };
    expect(metric, 'suture_decisions_total summed over both replicas').to.deep.equal({ bindings: { deny: 1, warn: 0 }, careful: { deny: 0, warn: 1 }, keep: { deny: 2 } });

    // Stopping the replicas flushes what each counted into status (SIGTERM; otherwise every 30 s).
    await suture.pool.stopAll();
    const status = async (name: string): Promise<Policy['status']> => (await suture.client.find<Policy>({ ...POLICY, name }))?.status;
    expect((await status(bindings))?.decisions).to.deep.include({ denied: 1, warned: 0, audited: 0 });
    expect((await status(careful))?.decisions).to.deep.include({ denied: 0, warned: 1, audited: 0 });
    expect((await status(keep))?.decisions).to.deep.include({ denied: 2, warned: 0, audited: 0 });
  });

  it('two replicas flushing the same policy at the same moment lose no count (each patches the version it read; a conflict is taken again)', async () => {
    const logger = createMemoryLogger();
    // Two replicas' stores and flushers (the informers are not started: only the counts are used), each its own client.
    const replicas = [0, 1].map(() => {
      const stores = createStores({ kubeConfig: admin, logger });
      return { stores, flusher: new StatusFlusher({ client: createObjectClient(admin), policies: stores.policies, exceptions: stores.exceptions, logger, clock: systemClock }) };
    });
    const rounds = 8;
    for (let round = 0; round < rounds; round++) {
      for (const [i, r] of replicas.entries()) r.stores.policies.countPolicyDecision(raced, 'deny', { at: new Date().toISOString(), subject: `replica-${i}`, request: `DELETE ConfigMap ${work}/raced-${round}`, decisionId: `d-${round}-${i}` });
      await Promise.all(replicas.map((r) => r.flusher.flush()));
    }
    for (const r of replicas) expect(r.stores.policies.takeDecisions().size, 'nothing left unwritten').to.equal(0);
    const decisions = (await suture.client.find<Policy>({ ...POLICY, name: raced }))?.status?.decisions;
    expect(decisions).to.deep.include({ denied: 2 * rounds, warned: 0, audited: 0 });
  });
});
