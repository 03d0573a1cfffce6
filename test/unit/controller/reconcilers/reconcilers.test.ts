import { expect } from 'chai';
import type { SutureException, SutureLease, SuturePolicy } from '../../../../src/api/types.js';
import { statusPatch } from '../../../../src/controller/reconcilers/apply.js';
import { StatusFlusher } from '../../../../src/controller/reconcilers/flush.js';
import { PolicyReconciler } from '../../../../src/controller/reconcilers/policies.js';
import { ExceptionStore, LeaseStore, PolicyStore, leaseInForce } from '../../../../src/controller/reconcilers/stores.js';
import { WebhookReconciler } from '../../../../src/controller/reconcilers/webhooks.js';
import type { ReconcileContext } from '../../../../src/controller/reconciler.js';
import { kindCatalog } from '../../../../src/core/generate/kinds.js';
import { BUILTIN_KINDS } from '../../../../src/core/snapshot.js';
import { createMemoryLogger } from '../../../../src/observability/logger.js';
import { FakeClock } from '../../support/fake-clock.js';
import { MemoryObjects } from '../../support/memory-objects.js';
import { FakeInformer } from './fakes.js';

const logger = createMemoryLogger();
const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
const ctx: ReconcileContext = { id: 'r1', logger, attempt: 0, clock };
const V = 'suture.dev/v1alpha1';

function policy(name: string, generation: number, expression: string): SuturePolicy {
  return {
    apiVersion: V,
    kind: 'SuturePolicy',
    metadata: { name, generation },
    spec: { match: [{ apiGroups: [''], kinds: ['Secret'] }], operations: ['DELETE'], invariants: [{ name: 'cel', expression }] },
  };
}

function lease(name: string, status?: SutureLease['status']): SutureLease {
  return {
    apiVersion: V,
    kind: 'SutureLease',
    metadata: { namespace: 'ops', name },
    spec: { holder: { kind: 'ServiceAccount', name: 'op', namespace: 'ops' }, resources: [{ apiGroups: ['apps'], kinds: ['Deployment'] }] },
    ...(status === undefined ? {} : { status }),
  };
}

const newPolicyStore = (): { informer: FakeInformer<SuturePolicy>; store: PolicyStore } => {
  const informer = new FakeInformer<SuturePolicy>({ apiVersion: V, kind: 'SuturePolicy', resource: 'suturepolicies' });
  return { informer, store: new PolicyStore(informer, logger) };
};

describe('controller/reconcilers', () => {
  describe('PolicyStore', () => {
    it('keeps the last valid version in force when a newer one is invalid, and reports its errors', () => {
      const { informer, store } = newPolicyStore();
      informer.put(policy('p', 1, 'true'));
      expect(store.get('p')?.generation).to.equal(1);
      informer.put(policy('p', 2, 'true &&'));
      expect(store.get('p')?.generation).to.equal(1);
      expect(store.state('p')?.errors[0]?.path).to.equal('spec.invariants[0].expression');
      informer.remove('p');
      expect(store.policies()).to.deep.equal([]);
    });

    it('counts decisions until taken, and takes back what could not be written', () => {
      const { store } = newPolicyStore();
      const rec = { at: '2026-01-01T00:00:01Z', subject: 'sa', request: 'DELETE Secret a/b', decisionId: 'd1' };
      store.countPolicyDecision('p', 'deny', rec);
      store.countPolicyDecision('p', 'warn', rec);
      const taken = store.takeDecisions();
      expect(taken.get('p')).to.deep.equal({ denied: 1, warned: 1, audited: 0, lastDenied: rec });
      expect(store.takeDecisions().size).to.equal(0);
      store.restoreDecisions('p', taken.get('p') ?? { denied: 0, warned: 0, audited: 0 });
      expect(store.takeDecisions().get('p')?.denied).to.equal(1);
    });
  });

  describe('LeaseStore', () => {
    it('a lease is in force while Granted and before status.expiresAt', () => {
      const now = clock.now();
      expect(leaseInForce(lease('a', { phase: 'Granted' }), now)).to.be.true;
      expect(leaseInForce(lease('a', { phase: 'Pending' }), now)).to.be.false;
      expect(leaseInForce(lease('a', { phase: 'Granted', expiresAt: new Date(now - 1).toISOString() }), now)).to.be.false;
      const informer = new FakeInformer<SutureLease>({ apiVersion: V, kind: 'SutureLease', resource: 'sutureleases' });
      const store = new LeaseStore(informer, { logger, clock });
      const changed: string[] = [];
      store.onChange((k) => changed.push(k));
      informer.put(lease('b', { phase: 'Granted' }));
      informer.put(lease('a'));
      expect(store.leases().map((s) => [s.lease.metadata.name, s.granted])).to.deep.equal([
        ['a', false],
        ['b', true],
      ]);
      expect(changed).to.deep.equal(['ops/b', 'ops/a']);
    });

    it('all() follows adds, updates and deletes in namespace/name order, a new array per change', () => {
      const informer = new FakeInformer<SutureLease>({ apiVersion: V, kind: 'SutureLease', resource: 'sutureleases' });
      const store = new LeaseStore(informer, { logger, clock });
      const names = ['b', 'a-1', 'a', 'c.d', 'z', 'B', 'm-2', 'm-10', 'a.b'];
      let seed = 7;
      const next = (n: number): number => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
      };
      for (let step = 0; step < 300; step++) {
        const name = names[next(names.length)] ?? 'a';
        const before = store.all();
        const remove = next(4) === 0;
        const changes = !remove || informer.get(`ops/${name}`) !== undefined;
        if (remove) informer.remove(`ops/${name}`);
        else informer.put(lease(name, { phase: next(2) === 0 ? 'Granted' : 'Pending' }));
        const after = store.all();
        const expected = [...informer.list()].sort((x, y) => `ops/${x.metadata.name ?? ''}`.localeCompare(`ops/${y.metadata.name ?? ''}`));
        expect(after, `step ${step}`).to.deep.equal(expected);
        expect(after.every((l, i) => l === expected[i])).to.be.true;
        expect(store.all()).to.equal(after);
        if (changes) expect(after).to.not.equal(before);
      }
    });
  });

  describe('ExceptionStore', () => {
    it('bounds an exception by its creation time and counts its uses', () => {
      const informer = new FakeInformer<SutureException>({ apiVersion: V, kind: 'SutureException', resource: 'sutureexceptions' });
      const store = new ExceptionStore(informer, { logger, clock });
      const ex = (name: string, hours: number): SutureException => ({
        apiVersion: V,
        kind: 'SutureException',
        metadata: { name, resourceVersion: name, creationTimestamp: new Date(clock.now()).toISOString() },
        spec: { policies: ['p'], subjects: [{ kind: 'User', name: 'alice' }], expiresAt: new Date(clock.now() + hours * 3600_000).toISOString(), reason: 'INC-1' },
      });
      informer.put(ex('ok', 2));
      informer.put(ex('too-long', 48));
      expect(store.exceptions().map((e) => e.name)).to.deep.equal(['ok']);
      expect(store.state('too-long')?.errors[0]?.path).to.equal('spec.expiresAt');
      store.useException('ok', '2026-01-01T00:00:05Z');
      store.useException('ok', '2026-01-01T00:00:03Z');
      expect(store.takeUses().get('ok')).to.deep.equal({ uses: 2, lastUsed: '2026-01-01T00:00:05Z' });
    });
  });

  describe('PolicyReconciler', () => {
    it('writes Ready True or False with errors, only when different', async () => {
      const { informer, store } = newPolicyStore();
      const client = new MemoryObjects();
      const reconciler = new PolicyReconciler({ client, policies: store, clock });
      const bad = policy('p', 1, 'true &&');
      await client.create(bad);
      informer.put(bad);
      await reconciler.reconcile('p', ctx);
      const written = (await client.get<SuturePolicy>({ apiVersion: V, kind: 'SuturePolicy', name: 'p' })).status;
      expect(written?.conditions?.[0]).to.include({ type: 'Ready', status: 'False', reason: 'InvalidPolicy', observedGeneration: 1 });
      expect(written?.errors).to.have.length(1);
      informer.put({ ...bad, status: written });
      await reconciler.reconcile('p', ctx);
      expect(client.writes.filter((w) => w.startsWith('status'))).to.have.length(1);
      const good = { ...policy('p', 2, 'true'), status: written } as SuturePolicy;
      informer.put(good);
      await reconciler.reconcile('p', ctx);
      const fixed = (await client.get<SuturePolicy>({ apiVersion: V, kind: 'SuturePolicy', name: 'p' })).status;
      expect(fixed?.conditions?.[0]).to.include({ status: 'True', reason: 'Compiled' });
      expect(fixed).to.not.have.property('errors');
    });
  });

  describe('WebhookReconciler', () => {
    it('refuses to publish from cold caches, then writes both configurations once', async () => {
      const { informer: pi, store: policies } = newPolicyStore();
      const li = new FakeInformer<SutureLease>({ apiVersion: V, kind: 'SutureLease', resource: 'sutureleases' });
      const leases = new LeaseStore(li, { logger, clock });
      const client = new MemoryObjects();
      const reconciler = new WebhookReconciler({
        client,
        policies,
        leases,
        catalog: () => kindCatalog(BUILTIN_KINDS),
        config: { client: { url: 'https://127.0.0.1:9443' }, exemptNamespaces: ['kube-system'] },
        caBundle: () => 'PEM',
      });
      expect(await reconciler.reconcile('webhooks', ctx)).to.deep.equal({ requeueAfter: 1000 });
      expect(client.writes).to.deep.equal([]);
      pi.synced = true;
      li.synced = true;
      pi.put(policy('p', 1, 'true'));
      await reconciler.reconcile('webhooks', ctx);
      expect(client.writes).to.deep.equal(['create ValidatingWebhookConfiguration suture', 'create MutatingWebhookConfiguration suture']);
      await reconciler.reconcile('webhooks', ctx);
      expect(client.writes).to.have.length(2);
    });
  });

  describe('StatusFlusher', () => {
    it('adds the counted decisions to what status says', async () => {
      const { store: policies } = newPolicyStore();
      const exceptions = new ExceptionStore(new FakeInformer<SutureException>({ apiVersion: V, kind: 'SutureException', resource: 'sutureexceptions' }), { logger, clock });
      const client = new MemoryObjects();
      await client.create({ ...policy('p', 1, 'true'), status: { decisions: { denied: 5 } } });
      policies.countPolicyDecision('p', 'deny', { at: '2026-01-01T00:00:01Z', subject: 'sa', request: 'r', decisionId: 'd' });
      policies.countPolicyDecision('gone', 'deny', { at: '2026-01-01T00:00:01Z', subject: 'sa', request: 'r', decisionId: 'd' });
      await new StatusFlusher({ client, policies, exceptions, logger, clock }).flush();
      const status = (await client.get<SuturePolicy>({ apiVersion: V, kind: 'SuturePolicy', name: 'p' })).status;
      expect(status?.decisions).to.deep.include({ denied: 6, warned: 0, audited: 0 });
      expect(policies.takeDecisions().size).to.equal(0);
    });
  });

  it('statusPatch: sets what differs, removes with null what is explicitly undefined, leaves the rest', () => {
    expect(statusPatch({ a: 1, b: 2, c: 3 }, { a: 1, b: undefined, d: 4 })).to.deep.equal({ b: null, d: 4 });
    expect(statusPatch({ a: 1 }, { a: 1 })).to.equal(undefined);
  });
});
