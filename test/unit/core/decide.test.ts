// decide(): the whole pipeline on small snapshots, table-driven. Each case names the stage it is about.
import { expect } from 'chai';
import type { KubeObject, SutureLease } from '../../../src/api/types.js';
import { decide, describeRequest } from '../../../src/core/decide.js';
import { compileException, compilePolicy, type CompiledException, type CompiledPolicy } from '../../../src/core/policy.js';
import { createSnapshot } from '../../../src/core/snapshot.js';
import type { AdmissionRequest, Decision, DecisionInput, MetricSample } from '../../../src/core/types.js';
import {
  configMap,
  crd,
  createRequest,
  custom,
  deleteRequest,
  edited,
  exceptionObject,
  grantedLease,
  human,
  labelled,
  lease,
  ledger,
  metricReader,
  ns,
  owned,
  pod,
  policyObject,
  pvc,
  saSubject,
  saUser,
  scaleRequest,
  secret,
  sts,
  updateRequest,
} from './fixtures.js';

const NOW = new Date('2026-11-23T09:45:00Z');
const operator = saUser('ops', 'operator');
const other = saUser('ops', 'other');

function compiled(name: string, spec: Record<string, unknown>): CompiledPolicy {
  const r = compilePolicy(policyObject(name, spec));
  if (!r.ok) throw new Error(`policy ${name} does not compile: ${JSON.stringify(r.errors)}`);
  return r.policy;
}

function exception(name: string, spec: Record<string, unknown>): CompiledException {
  const r = compileException(exceptionObject(name, spec), NOW);
  if (!r.ok) throw new Error(`exception ${name} does not compile: ${JSON.stringify(r.errors)}`);
  return r.exception;
}

interface World {
  objects?: KubeObject[];
  policies?: CompiledPolicy[];
  leases?: SutureLease[];
  exceptions?: CompiledException[];
  used?: Record<string, number>;
  metrics?: Record<string, MetricSample>;
}

function input(w: World): DecisionInput {
  return {
    snapshot: createSnapshot(w.objects ?? []),
    policies: w.policies ?? [],
    leases: (w.leases ?? []).map((l) => grantedLease(l)),
    exceptions: w.exceptions ?? [],
    budgets: ledger(w.used),
    metrics: metricReader(w.metrics ?? {}),
    identities: { exemptNamespaces: ['kube-system', 'suture-system'], exemptUsers: [], exemptGroups: [] },
  };
}

function run(request: AdmissionRequest, w: World, now = NOW): Decision {
  return decide(request, input(w), now);
}

const protectPvcs = compiled('protect-data', {
  match: [{ apiGroups: [''], kinds: ['PersistentVolumeClaim'], selector: { matchLabels: { app: 'db' } } }],
  operations: ['DELETE'],
  invariants: [{ name: 'data-survives', protect: {} }],
});

describe('core/decide', () => {
  describe('exempt', () => {
    const data = pvc('prod', 'data-0', { app: 'db' });
    const loose = pvc('prod', 'scratch-0', { app: 'scratch' });

    it('configured exempt users and groups skip the governed pipeline but not the effect guard (issue 9: guard the effect, whoever performs it)', () => {
      const strict = compiled('strict', {
        match: [{ apiGroups: [''], kinds: ['PersistentVolumeClaim'] }],
        invariants: [{ name: 'class-fixed', immutable: { paths: ['/metadata/labels/tier'] } }],
      });
      const w = { objects: [data, loose], policies: [protectPvcs, strict] };
      const i = { ...input(w), identities: { exemptNamespaces: ['kube-system'], exemptUsers: ['break-glass'], exemptGroups: ['ops-oncall'] } };
      const changed = edited(data, (o) => (o.metadata.labels = { app: 'db', tier: 'gold' }));
      for (const user of [human('break-glass'), human('bob', ['ops-oncall'])]) {
        const removal = decide(deleteRequest(data, user), i, NOW);
        expect(removal.allowed, user.username).to.equal(false);
        expect(removal.message).to.include('protect-data').and.include('guarded whoever removes it');
        expect(removal.trace[0]?.summary).to.match(/exempt \(only protect and floors judge its effects\)/);
        expect(decide(deleteRequest(loose, user), i, NOW).allowed, `${user.username} removes what nothing protects`).to.equal(true);
        expect(decide(updateRequest(data, changed, user), i, NOW).allowed, `${user.username} is not bound by other invariants`).to.equal(true);
      }
    });

    it('a CRD delete by an admin is judged by the custom resources it removes', () => {
      const widgetCrd = crd('example.com', 'Widget', 'widgets');
      const kept = labelled(custom('example.com/v1', 'Widget', 'prod', 'w1'), { keep: 'yes' });
      const protectWidgets = compiled('protect-widgets', { match: [{ apiGroups: ['example.com'], kinds: ['Widget'], selector: { matchLabels: { keep: 'yes' } } }], operations: ['DELETE'], invariants: [{ name: 'keep', protect: {} }] });
      const admin = human('system:admin', ['system:masters']);
      const d = run(deleteRequest(widgetCrd, admin), { objects: [widgetCrd, kept], policies: [protectWidgets] });
      expect(d.allowed).to.equal(false);
      expect(d.message).to.include('protect-widgets').and.include('guarded whoever removes it');
      const spare = labelled(custom('example.com/v1', 'Widget', 'prod', 'w2'), { keep: 'no' });
      expect(run(deleteRequest(widgetCrd, admin), { objects: [widgetCrd, spare], policies: [protectWidgets] }).allowed).to.equal(true);
    });

    const ungoverned: Array<[string, AdmissionRequest['userInfo']]> = [
      ['the garbage collector (kube-system)', saUser('kube-system', 'generic-garbage-collector')],
      ["Suture's own namespace", saUser('suture-system', 'suture')],
      ['an admin no policy names', human('system:admin', ['system:masters'])],
    ];
    for (const [name, user] of ungoverned) {
      it(`guards the effect whoever performs it: ${name} may not remove a protected PVC`, () => {
        const d = run(deleteRequest(data, user), { objects: [data], policies: [protectPvcs] });
        expect(d.allowed).to.equal(false);
        expect(d.message).to.include('protect-data').and.include('guarded whoever removes it').and.include('SutureException with policies: [protect-data]');
        expect(d.message).to.include(user.username);
      });

      it(`${name} removes what no protect policy matches`, () => {
        expect(run(deleteRequest(loose, user), { objects: [data, loose], policies: [protectPvcs] }).allowed).to.equal(true);
      });
    }

    it('an ungoverned requester is judged by protect and floors only, and protect only on removals', () => {
      const strict = compiled('strict', {
        match: [{ apiGroups: [''], kinds: ['PersistentVolumeClaim'] }],
        invariants: [{ name: 'keep', protect: {} }, { name: 'class-fixed', immutable: { paths: ['/metadata/labels/tier'] } }],
      });
      const changed = edited(data, (o) => (o.metadata.labels = { app: 'db', tier: 'gold' }));
      const gc = saUser('kube-system', 'generic-garbage-collector');
      expect(run(updateRequest(data, changed, gc), { objects: [data], policies: [strict] }).allowed).to.equal(true);
      expect(run(updateRequest(data, changed, operator), { objects: [data], policies: [strict] }).allowed).to.equal(false);
    });

    it('leases bind governed identities only', () => {
      const s = secret('prod', 'pg-secret');
      const l = lease('db-system', 'pg', { holder: saSubject('db-system', 'pg'), resources: [{ apiGroups: [''], kinds: ['Secret'], namespaces: ['prod'] }] });
      expect(run(deleteRequest(s, saUser('kube-system', 'namespace-controller')), { objects: [s], leases: [l] }).allowed).to.equal(true);
      expect(run(deleteRequest(s, operator), { objects: [s], leases: [l] }).allowed).to.equal(false);
    });

    it('an exception naming the controller lifts the guard', () => {
      const ex = exception('restore', { policies: ['protect-data'], subjects: [{ kind: 'ServiceAccount', namespace: 'kube-system', name: 'generic-garbage-collector' }], expiresAt: '2026-11-23T10:00:00Z', reason: 'INC-1' });
      const d = run(deleteRequest(data, saUser('kube-system', 'generic-garbage-collector')), { objects: [data], policies: [protectPvcs], exceptions: [ex] });
      expect(d.allowed).to.equal(true);
      expect(d.exceptionsUsed).to.deep.equal(['restore']);
    });

    it('binds humans a policy does not name only through the effect guard', () => {
      const immutable = compiled('labels-fixed', { match: [{ apiGroups: [''], kinds: ['PersistentVolumeClaim'] }], invariants: [{ name: 'fixed', immutable: { paths: ['/metadata/labels/app'] } }] });
      const changed = edited(data, (o) => (o.metadata.labels = { app: 'other' }));
      expect(run(updateRequest(data, changed, human('alice')), { objects: [data], policies: [immutable] }).allowed).to.equal(true);
    });

    it('binds a human a policy names', () => {
      const p = compiled('humans-too', { subjects: [{ kind: 'User', name: 'alice' }], match: [{ kinds: ['PersistentVolumeClaim'] }], operations: ['DELETE'], invariants: [{ name: 'keep', protect: {} }] });
      expect(run(deleteRequest(data, human('alice')), { objects: [data], policies: [p] }).allowed).to.equal(false);
    });
  });

  describe('invariants through the pipeline', () => {
    it('denies deleting a protected PVC and names policy, invariant, object, requester and decision id', () => {
      const data = pvc('prod', 'data-0', { app: 'db' });
      const d = run(deleteRequest(data, operator), { objects: [data], policies: [protectPvcs] });
      expect(d.verdict).to.equal('deny');
      expect(d.allowed).to.equal(false);
      for (const part of ['protect-data', 'data-survives', 'prod/data-0', 'system:serviceaccount:ops:operator', 'req-data-0', 'delete PersistentVolumeClaim prod/data-0']) {
        expect(d.message).to.include(part);
      }
      expect(d.auditAnnotations).to.deep.equal({ 'suture.dev/decision': 'req-data-0', 'suture.dev/verdict': 'deny', 'suture.dev/policy': 'protect-data' });
    });

    it('allows deleting an unprotected PVC with no remark', () => {
      const scratch = pvc('prod', 'scratch', { app: 'tmp' });
      const d = run(deleteRequest(scratch, operator), { objects: [scratch], policies: [protectPvcs] });
      expect(d).to.include({ verdict: 'allow', allowed: true, message: '' });
    });

    it('denies a namespace delete whose cascade removes a protected PVC, counting the cascade', () => {
      const objects = [ns('prod'), pvc('prod', 'data-0', { app: 'db' }), configMap('prod', 'a'), configMap('prod', 'b')];
      const d = run(deleteRequest(objects[0] as KubeObject, operator), { objects, policies: [protectPvcs] });
      expect(d.allowed).to.equal(false);
      expect(d.impact.deleted).to.equal(4);
      expect(d.message).to.include('removes 4 objects');
      expect(d.readsClusterState).to.equal(true);
    });

    it('honours Orphan propagation: dependents survive, so the delete is allowed', () => {
      const owner = configMap('pg', 'cluster');
      const creds = owned(secret('pg', 'creds', { credentials: 'true' }), owner);
      const keep = compiled('keep-credentials', { match: [{ kinds: ['Secret'], selector: { matchLabels: { credentials: 'true' } } }], operations: ['DELETE'], invariants: [{ name: 'credentials-survive', protect: {} }] });
      expect(run(deleteRequest(owner, operator), { objects: [owner, creds], policies: [keep] }).allowed).to.equal(false);
      expect(run(deleteRequest(owner, operator, { propagationPolicy: 'Orphan' }), { objects: [owner, creds], policies: [keep] }).allowed).to.equal(true);
    });

    it('keeps quorum: a scale-down below minAvailable is denied, a scale-up allowed', () => {
      const set = edited(sts('mq', 'rabbit', { replicas: 3, labels: { app: 'rabbit' } }), (s) => (s.status = { replicas: 3, readyReplicas: 3 }));
      const quorum = compiled('quorum', { match: [{ apiGroups: ['apps'], kinds: ['StatefulSet'], selector: { matchLabels: { app: 'rabbit' } } }], invariants: [{ name: 'keep-quorum', minAvailable: { count: 2 } }] });
      expect(run(scaleRequest(set, 1, operator), { objects: [set], policies: [quorum] }).allowed).to.equal(false);
      // To 0 the API server sends the Scale without spec.replicas (omitempty): still a scale-down to 0.
      expect(run(scaleRequest(set, 0, operator), { objects: [set], policies: [quorum] }).allowed).to.equal(false);
      expect(run(scaleRequest(set, 5, operator), { objects: [set], policies: [quorum] }).allowed).to.equal(true);
      expect(run(deleteRequest(set, operator), { objects: [set], policies: [quorum] }).message).to.include('keep-quorum');
    });

    it('counts a budget and reports what an allowed request consumes', () => {
      const a = pvc('ch', 'a', { app: 'ch' });
      const churn = compiled('churn', { match: [{ kinds: ['PersistentVolumeClaim'] }], operations: ['DELETE'], invariants: [{ name: 'two-per-ten', budget: { count: 2, window: '10m' } }] });
      const first = run(deleteRequest(a, operator), { objects: [a], policies: [churn] });
      expect(first.allowed).to.equal(true);
      expect(first.budgets).to.have.length(1);
      expect(first.budgets[0]).to.include({ policy: 'churn', invariant: 'two-per-ten', key: 'system:serviceaccount:ops:operator', count: 1, limit: 2, windowSeconds: 600 });
      const third = run(deleteRequest(a, operator), { objects: [a], policies: [churn], used: { 'churn/two-per-ten/system:serviceaccount:ops:operator': 2 } });
      expect(third.allowed).to.equal(false);
      expect(third.budgets).to.deep.equal([]);
    });

    it('warns (allowed, with a warning) and audits (allowed, recorded) by enforcement', () => {
      const data = pvc('prod', 'data-0', { app: 'db' });
      for (const [enforcement, verdict] of [['Warn', 'warn'], ['Audit', 'audit']] as const) {
        const p = compiled(`p-${verdict}`, { enforcement, match: [{ kinds: ['PersistentVolumeClaim'] }], operations: ['DELETE'], invariants: [{ name: 'keep', protect: {} }] });
        const d = run(deleteRequest(data, operator), { objects: [data], policies: [p] });
        expect(d.verdict).to.equal(verdict);
        expect(d.allowed).to.equal(true);
        expect(d.warnings).to.have.length(verdict === 'warn' ? 1 : 0);
        expect(d.auditAnnotations['suture.dev/policy']).to.equal(`p-${verdict}`);
      }
    });

    it('keeps "could not decide" apart from deny, and failurePolicy Ignore lets it through', () => {
      const cm = configMap('a', 'x');
      const broken = (failurePolicy: string): CompiledPolicy =>
        compiled(`broken-${failurePolicy}`, { failurePolicy, match: [{ kinds: ['ConfigMap'] }], invariants: [{ name: 'needs-field', expression: 'object.spec.missing == 1' }] });
      const fail = run(createRequest(cm, operator), { policies: [broken('Fail')] });
      expect(fail.verdict).to.equal('error');
      expect(fail.allowed).to.equal(false);
      expect(fail.message).to.include('could not be decided');
      expect(run(createRequest(cm, operator), { policies: [broken('Ignore')] }).allowed).to.equal(true);
    });

    it('averts with a patch and a warning when the patched object passes', () => {
      const p = compiled('min-two', {
        match: [{ apiGroups: ['apps'], kinds: ['Deployment'] }],
        operations: ['CREATE'],
        invariants: [{ name: 'two-replicas', expression: 'object.spec.replicas >= 2', avert: { set: [{ path: '/spec/replicas', valueExpression: '2' }] } }],
      });
      const dep: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'a' }, spec: { replicas: 1 } };
      const d = run(createRequest(dep, operator), { policies: [p] });
      expect(d.allowed).to.equal(true);
      expect(d.patch).to.deep.include({ op: 'replace', path: '/spec/replicas', value: 2 });
      expect(d.warnings[0]).to.include('min-two').and.include('two-replicas').and.include('/spec/replicas');
    });
  });

  describe('conditions', () => {
    const node: KubeObject = labelled({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', uid: 'n1' } }, { pool: 'default' });
    const nightly = compiled('nightly', {
      match: [{ kinds: ['Node'] }],
      operations: ['DELETE'],
      invariants: [{ name: 'no-daytime-removal', protect: {} }],
      relaxWhen: [{ schedule: { cron: '0 22 * * *', duration: '8h', timeZone: 'UTC' } }],
    });
    it('denies outside the relaxing window and allows inside it, recording which condition relaxed', () => {
      expect(run(deleteRequest(node, operator), { objects: [node], policies: [nightly] }, new Date('2026-11-23T09:45:00Z')).allowed).to.equal(false);
      const inside = run(deleteRequest(node, operator), { objects: [node], policies: [nightly] }, new Date('2026-11-23T23:30:00Z'));
      expect(inside.allowed).to.equal(true);
      const checks = inside.trace.flatMap((s) => s.checks);
      expect(checks.some((c) => c.source === 'condition/nightly/relaxWhen[0]' && c.result === 'relaxed')).to.equal(true);
    });

    it('a stale metric follows the failure policy (Fail: still enforced)', () => {
      const p = compiled('when-healthy', {
        match: [{ kinds: ['Node'] }],
        operations: ['DELETE'],
        invariants: [{ name: 'keep', protect: {} }],
        relaxWhen: [{ metric: { url: 'http://prom:9090', query: 'errors', below: 0.01, staleAfter: '2m' } }],
      });
      expect(run(deleteRequest(node, operator), { objects: [node], policies: [p], metrics: { errors: { value: 0, ageSeconds: 10 } } }).allowed).to.equal(true);
      expect(run(deleteRequest(node, operator), { objects: [node], policies: [p], metrics: { errors: { value: 0, ageSeconds: 600 } } }).allowed).to.equal(false);
    });
  });

  describe('leases', () => {
    const set = labelled(sts('db', 'pg', { replicas: 2 }), { app: 'pg' });
    const pgLease = lease('op-a', 'pg', { holder: saSubject('op-a', 'pg-operator'), resources: [{ apiGroups: ['apps'], kinds: ['StatefulSet'], namespaces: ['db'], selector: { matchLabels: { app: 'pg' } } }, { kinds: ['Secret', 'ConfigMap'], namespaces: ['db'], namePrefixes: ['pg-'] }] });
    const holder = saUser('op-a', 'pg-operator');
    const rival = saUser('op-b', 'backup-operator');

    it("denies a non-holder's write to a leased object and names the lease and its holder", () => {
      const d = run(updateRequest(set, edited(set, (s) => ((s.spec as { replicas: number }).replicas = 0)), rival), { objects: [set], leases: [pgLease] });
      expect(d.allowed).to.equal(false);
      expect(d.message).to.include('op-a/pg').and.include('pg-operator');
      expect(d.leaseViolations[0]?.lease).to.equal('op-a/pg');
    });

    it("stamps the lease label on the holder's creations", () => {
      const d = run(createRequest(secret('db', 'pg-credentials'), holder), { objects: [set], leases: [pgLease] });
      expect(d.allowed).to.equal(true);
      expect(JSON.stringify(d.patch)).to.include('op-a.pg');
    });

    it('denies a non-holder creating an object inside the lease', () => {
      expect(run(createRequest(configMap('db', 'pg-backup-schedule'), rival), { objects: [set], leases: [pgLease] }).message).to.include('op-a/pg');
    });

    it('a field lease denies only changes to its fields', () => {
      const dep: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'nginx', namespace: 'web', uid: 'd1' }, spec: { replicas: 2, template: { metadata: {} } } };
      const replicas = lease('autoscaling', 'replicas', { holder: saSubject('autoscaling', 'hpa'), resources: [{ apiGroups: ['apps'], kinds: ['Deployment'], namespaces: ['web'], names: ['nginx'], fields: ['/spec/replicas'] }] });
      const gitops = saUser('gitops', 'argocd');
      const scaled = edited(dep, (d) => ((d.spec as { replicas: number }).replicas = 1));
      const annotated = edited(dep, (d) => ((d.spec as { template: { metadata: Record<string, unknown> } }).template.metadata = { annotations: { r: '2' } }));
      expect(run(updateRequest(dep, scaled, gitops), { objects: [dep], leases: [replicas] }).message).to.include('/spec/replicas');
      expect(run(updateRequest(dep, annotated, gitops), { objects: [dep], leases: [replicas] }).allowed).to.equal(true);
      expect(run(scaleRequest(dep, 4, saUser('autoscaling', 'hpa')), { objects: [dep], leases: [replicas] }).allowed).to.equal(true);
    });
  });

  describe('exceptions', () => {
    const data = pvc('prod', 'data-0', { app: 'db' });
    const alice = human('alice@example.com');
    const aliceBound = compiled('protect-data-humans', { subjects: [{ kind: 'User', name: 'alice@example.com' }], match: [{ kinds: ['PersistentVolumeClaim'] }], operations: ['DELETE'], invariants: [{ name: 'keep', protect: {} }] });
    const restore = exception('inc-4711', { policies: ['protect-data-humans'], subjects: [{ kind: 'User', name: 'alice@example.com' }], expiresAt: '2026-11-23T12:00:00Z', reason: 'INC-4711: restore' });

    it('lifts the named policy for the named subject and records its use', () => {
      const d = run(deleteRequest(data, alice), { objects: [data], policies: [aliceBound], exceptions: [restore] });
      expect(d.allowed).to.equal(true);
      expect(d.exceptionsUsed).to.deep.equal(['inc-4711']);
    });

    it('does nothing once expired, or for another subject', () => {
      expect(run(deleteRequest(data, alice), { objects: [data], policies: [aliceBound], exceptions: [restore] }, new Date('2026-11-23T12:00:01Z')).allowed).to.equal(false);
      const bob = compiled('protect-bob', { subjects: [{ kind: 'User', name: 'bob' }], match: [{ kinds: ['PersistentVolumeClaim'] }], operations: ['DELETE'], invariants: [{ name: 'keep', protect: {} }] });
      expect(run(deleteRequest(data, human('bob')), { objects: [data], policies: [bob], exceptions: [restore] }).allowed).to.equal(false);
    });
  });

  describe('describeRequest', () => {
    it('names the subresource and the parent resource', () => {
      const set = sts('mq', 'rabbit', { replicas: 3 });
      expect(describeRequest(scaleRequest(set, 1, other))).to.equal('update scale of statefulsets mq/rabbit');
      expect(describeRequest(deleteRequest(pod('a', 'p'), other))).to.equal('delete Pod a/p');
    });
  });
});
