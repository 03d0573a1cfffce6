import { expect } from 'chai';
import type { KubeObject, SutureException, SutureLease, SuturePolicy } from '../../../../src/api/types.js';
import { leaseChangeHandler } from '../../../../src/controller/reconcilers/index.js';
import { leaseKeysToReconcile } from '../../../../src/controller/reconcilers/predicates.js';
import { RbacCache, leasesConcerned } from '../../../../src/controller/reconcilers/rbac-cache.js';
import { ExceptionStore, LeaseStore, PolicyStore } from '../../../../src/controller/reconcilers/stores.js';
import { LEASE_LABEL } from '../../../../src/api/constants.js';
import { auditHolder } from '../../../../src/core/generate/audit.js';
import { leasesMayConflict } from '../../../../src/core/lease-grants.js';
import { createSnapshot } from '../../../../src/core/snapshot.js';
import { createMemoryLogger } from '../../../../src/observability/logger.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeInformer } from './fakes.js';

const logger = createMemoryLogger();
const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
const V = 'suture.dev/v1alpha1';
const RBAC = 'rbac.authorization.k8s.io/v1';

function lease(name: string, opts: { generation?: number; rv?: string; status?: SutureLease['status']; holder?: string } = {}): SutureLease {
  return {
    apiVersion: V,
    kind: 'SutureLease',
    metadata: { namespace: 'ops', name, uid: `uid-${name}`, generation: opts.generation ?? 1, resourceVersion: opts.rv ?? '1' },
    spec: { holder: { kind: 'ServiceAccount', name: opts.holder ?? name, namespace: 'ops' }, resources: [{ apiGroups: [''], kinds: ['ConfigMap'], namespaces: ['ops'], names: [name] }] },
    ...(opts.status === undefined ? {} : { status: opts.status }),
  };
}

const granted = (at = '2026-01-01T00:00:00Z'): SutureLease['status'] => ({ phase: 'Granted', grantedAt: at, conditions: [] });
const rival = (name: string): NonNullable<SutureLease['status']>['conflictsWith'] => [{ namespace: 'ops', name, holder: { kind: 'ServiceAccount', name, namespace: 'ops' } }];

describe('controller/reconcilers predicates', () => {
  const a = lease('a');
  const b = lease('b', { status: { phase: 'Conflicted', conflictsWith: rival('a') } });
  const c = lease('c');
  const all = [a, b, c];

  describe('leaseKeysToReconcile', () => {
    it('without a conflict test, an added or deleted lease re-judges every lease (grants interact)', () => {
      expect(leaseKeysToReconcile({ type: 'add', key: 'ops/d', after: lease('d') }, all, false).sort()).to.deep.equal(['ops/a', 'ops/b', 'ops/c', 'ops/d']);
      expect(leaseKeysToReconcile({ type: 'delete', key: 'ops/a', before: a }, all, false).sort()).to.deep.equal(['ops/a', 'ops/b', 'ops/c']);
    });

    it('without a conflict test, a spec change (new generation) or a deletion mark re-judges every lease', () => {
      expect(leaseKeysToReconcile({ type: 'update', key: 'ops/c', before: c, after: lease('c', { generation: 2 }) }, all, false)).to.have.length(3);
      const deleting = { ...c, metadata: { ...c.metadata, deletionTimestamp: '2026-01-01T00:00:01Z' } };
      expect(leaseKeysToReconcile({ type: 'update', key: 'ops/c', before: c, after: deleting }, all, false)).to.have.length(3);
    });

    it('an added lease re-judges itself, the leases it may conflict with and its holder\'s leases, not every lease', () => {
      const snapshot = createSnapshot([]);
      const mayConflict = (x: SutureLease, y: SutureLease): boolean => leasesMayConflict(x, y, snapshot);
      expect(leaseKeysToReconcile({ type: 'add', key: 'ops/d', after: lease('d') }, [...all, lease('d')], false, mayConflict)).to.deep.equal(['ops/d']);
      // On the ConfigMap a holds: a may lose its grant.
      const onA = { ...lease('d'), spec: { ...lease('d').spec, resources: lease('a').spec.resources } };
      expect(leaseKeysToReconcile({ type: 'add', key: 'ops/d', after: onA }, [...all, onA], false, mayConflict).sort()).to.deep.equal(['ops/a', 'ops/d']);
      // Held by c's holder: c's rights audit counts it.
      expect(leaseKeysToReconcile({ type: 'add', key: 'ops/d', after: lease('d', { holder: 'c' }) }, [...all, lease('d', { holder: 'c' })], false, mayConflict).sort()).to.deep.equal(['ops/c', 'ops/d']);
      // A ConfigMap carrying c's stamp that d's resources name: d and c both cover it.
      const stamped = createSnapshot([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ops', name: 'd', labels: { [LEASE_LABEL]: 'ops.c' } } }]);
      expect(leaseKeysToReconcile({ type: 'add', key: 'ops/d', after: lease('d') }, [...all, lease('d')], false, (x, y) => leasesMayConflict(x, y, stamped)).sort()).to.deep.equal(['ops/c', 'ops/d']);
    });

    it('a deleted lease re-judges the leases that named it as their rival', () => {
      const snapshot = createSnapshot([]);
      expect(leaseKeysToReconcile({ type: 'delete', key: 'ops/a', before: a }, [b, c], false, (x, y) => leasesMayConflict(x, y, snapshot)).sort()).to.deep.equal(['ops/a', 'ops/b']);
    });

    it("the reconciler's own status write that moves no grant enqueues nothing", () => {
      const after = lease('c', { rv: '2', status: { phase: undefined, conditions: [{ type: 'LeastPrivilege', status: 'True', reason: 'Scoped', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] } });
      expect(leaseKeysToReconcile({ type: 'update', key: 'ops/c', before: c, after }, all, true)).to.deep.equal([]);
    });

    it('a status-only change by someone else re-reconciles that lease only', () => {
      const after = lease('c', { rv: '2', status: { phase: undefined, reason: 'edited by hand' } as SutureLease['status'] });
      expect(leaseKeysToReconcile({ type: 'update', key: 'ops/c', before: c, after }, all, false)).to.deep.equal(['ops/c']);
    });

    it("the reconciler's own write that moves a grant re-judges the rivals only, not every lease", () => {
      // a expires: b, which names a as its rival, may now be granted; c is unaffected.
      const before = lease('a', { status: granted() });
      const after = lease('a', { rv: '2', status: { phase: 'Expired', grantedAt: '2026-01-01T00:00:00Z' } });
      expect(leaseKeysToReconcile({ type: 'update', key: 'ops/a', before, after }, [after, b, c], true)).to.deep.equal(['ops/b']);
      // b becomes Conflicted naming a: a is told (it is b's rival), b itself is not (its own write).
      const b2 = lease('b', { rv: '3', status: { phase: 'Conflicted', conflictsWith: rival('a') } });
      expect(leaseKeysToReconcile({ type: 'update', key: 'ops/b', before: lease('b'), after: b2 }, all, true)).to.deep.equal(['ops/a']);
    });
  });

  describe('leaseChangeHandler on the LeaseStore', () => {
    function wired(isOwn: (l: SutureLease) => boolean): { informer: FakeInformer<SutureLease>; leases: string[]; webhooks: number[] } {
      const informer = new FakeInformer<SutureLease>({ apiVersion: V, kind: 'SutureLease', resource: 'sutureleases' });
      const store = new LeaseStore(informer, { logger, clock });
      const leases: string[] = [];
      const webhooks: number[] = [];
      store.onChange(leaseChangeHandler({ leases: store, isOwnWrite: isOwn, enqueueLease: (k) => leases.push(k), enqueueWebhooks: () => webhooks.push(1), snapshot: () => createSnapshot([]) }));
      informer.put(lease('a'));
      informer.put(lease('b'));
      leases.length = 0;
      webhooks.length = 0;
      return { informer, leases, webhooks };
    }

    it('a status-only update written by the reconciler enqueues no lease and no webhook sync', () => {
      const { informer, leases, webhooks } = wired((l) => l.metadata.resourceVersion === '7');
      informer.put(lease('a', { rv: '7', status: { conditions: [] } }));
      expect(leases).to.deep.equal([]);
      expect(webhooks).to.deep.equal([]);
    });

    it('a spec change enqueues the lease, those it may conflict with, and the webhook configurations', () => {
      const { informer, leases, webhooks } = wired(() => false);
      informer.put(lease('a', { generation: 2, rv: '8' }));
      expect(leases.sort()).to.deep.equal(['ops/a']);
      expect(webhooks).to.have.length(1);
      leases.length = 0;
      informer.put({ ...lease('a', { generation: 3, rv: '9' }), spec: lease('b').spec });
      expect(leases.sort()).to.deep.equal(['ops/a', 'ops/b']);
    });

    it('a grant that moves does not rebuild the webhook configurations; becoming Invalid does', () => {
      const { informer, webhooks } = wired(() => true);
      informer.put(lease('a', { rv: '7', status: granted() }));
      expect(webhooks).to.deep.equal([]);
      informer.put(lease('a', { rv: '8', status: { phase: 'Invalid' } }));
      expect(webhooks).to.have.length(1);
    });
  });

  describe('generation predicates of the policy and exception stores', () => {
    it('a SuturePolicy status write does not notify; a spec change does', () => {
      const informer = new FakeInformer<SuturePolicy>({ apiVersion: V, kind: 'SuturePolicy', resource: 'suturepolicies' });
      const store = new PolicyStore(informer, logger);
      const told: string[] = [];
      store.onChange((name) => told.push(name));
      const p: SuturePolicy = { apiVersion: V, kind: 'SuturePolicy', metadata: { name: 'p', generation: 1 }, spec: { match: [{ kinds: ['Secret'] }], invariants: [{ name: 'x', expression: 'true' }] } };
      informer.put(p);
      informer.put({ ...p, status: { observedGeneration: 1, decisions: { denied: 3, warned: 0, audited: 0 } } });
      expect(told).to.deep.equal(['p']);
      informer.put({ ...p, metadata: { ...p.metadata, generation: 2 } });
      expect(told).to.deep.equal(['p', 'p']);
    });

    it('a SutureException status write (uses) does not notify', () => {
      const informer = new FakeInformer<SutureException>({ apiVersion: V, kind: 'SutureException', resource: 'sutureexceptions' });
      const store = new ExceptionStore(informer, { logger, clock });
      const told: string[] = [];
      store.onChange((name) => told.push(name));
      const x = {
        apiVersion: V,
        kind: 'SutureException',
        metadata: { name: 'x', generation: 1, resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z' },
        spec: { policy: 'p', subjects: [{ kind: 'User', name: 'alice' }], reason: 'restore', expiresAt: '2026-01-01T01:00:00Z' },
      } as unknown as SutureException;
      informer.put(x);
      informer.put({ ...x, metadata: { ...x.metadata, resourceVersion: '2' }, status: { uses: 1 } });
      expect(told).to.deep.equal(['x']);
    });
  });

  describe('the rights audit reads an RbacCache', () => {
    function cache(): { cache: RbacCache; roles: FakeInformer<KubeObject>; clusterRoles: FakeInformer<KubeObject>; roleBindings: FakeInformer<KubeObject>; clusterRoleBindings: FakeInformer<KubeObject> } {
      const inf = (kind: string, resource: string): FakeInformer<KubeObject> => new FakeInformer<KubeObject>({ apiVersion: RBAC, kind, resource });
      const parts = { roles: inf('Role', 'roles'), clusterRoles: inf('ClusterRole', 'clusterroles'), roleBindings: inf('RoleBinding', 'rolebindings'), clusterRoleBindings: inf('ClusterRoleBinding', 'clusterrolebindings') };
      return { ...parts, cache: new RbacCache(parts) };
    }
    // Informer list items come without kind: the cache puts it back.
    const secretsWriter = { metadata: { name: 'secrets-writer' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['create', 'delete'] }] } as unknown as KubeObject;
    const binding = { metadata: { name: 'op-secrets', namespace: 'ops' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'secrets-writer' }, subjects: [{ kind: 'ServiceAccount', name: 'a', namespace: 'ops' }] } as unknown as KubeObject;

    it('audits from what the informers hold, and follows their changes without listing', async () => {
      const c = cache();
      for (const i of [c.roles, c.clusterRoles, c.roleBindings, c.clusterRoleBindings]) i.synced = true;
      const holder = { kind: 'ServiceAccount' as const, name: 'a', namespace: 'ops' };
      expect(auditHolder(holder, await c.cache.synced(10), []).excess).to.deep.equal([]);
      c.clusterRoles.put(secretsWriter);
      c.roleBindings.put(binding);
      const audit = auditHolder(holder, await c.cache.synced(10), []);
      expect(audit.excess).to.deep.equal([{ verbs: ['create', 'delete'], apiGroups: [''], resources: ['secrets'], namespace: 'ops', via: 'RoleBinding/ops/op-secrets' }]);
    });

    it('refuses to audit from caches that have not synced (the reconcile is retried)', async () => {
      const c = cache();
      let error: unknown;
      await c.cache.synced(10).catch((e: unknown) => (error = e));
      expect(String(error)).to.include('have not synced');
    });

    it('a binding or role change re-audits the leases whose holder it concerns; generated RBAC is left to its lease', () => {
      const c = cache();
      for (const i of [c.roles, c.clusterRoles, c.roleBindings, c.clusterRoleBindings]) i.synced = true;
      const leases = [lease('a'), lease('b')];
      const concerned: string[][] = [];
      c.cache.onChange((changed) => concerned.push(leasesConcerned(changed, c.cache.objects(), leases)));
      c.roleBindings.put(binding);
      c.clusterRoles.put(secretsWriter);
      c.roleBindings.put({ ...binding, metadata: { name: 'generated', namespace: 'ops', labels: { 'app.kubernetes.io/managed-by': 'suture' } } });
      expect(concerned).to.deep.equal([['ops/a'], ['ops/a']]);
    });
  });
});
