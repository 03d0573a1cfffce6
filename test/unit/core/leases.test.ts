import { expect } from 'chai';
import { LEASE_LABEL } from '../../../src/api/constants.js';
import type { KubeObject, LeaseResource, SutureLease } from '../../../src/api/types.js';
import { computeImpact } from '../../../src/core/impact.js';
import { checkLeases, grantLeases, leaseCovers, leasesConflict, pathsOverlap, stampPatch } from '../../../src/core/leases.js';
import { createSnapshot } from '../../../src/core/snapshot.js';
import type { AdmissionRequest, LeaseState, Snapshot } from '../../../src/core/types.js';
import {
  configMap,
  createRequest,
  deleteRequest,
  deployment,
  edited,
  grantedLease,
  human,
  labelled,
  lease,
  ns,
  saSubject,
  saUser,
  scaleRequest,
  secret,
  sts,
  updateRequest,
} from './fixtures.js';

const T0 = '2026-11-23T09:00:00.000Z';
const at = (minutes: number): Date => new Date(Date.parse(T0) + minutes * 60_000);

function check(request: AdmissionRequest, leases: LeaseState[], snapshot: Snapshot): ReturnType<typeof checkLeases> {
  return checkLeases(request, computeImpact(request, snapshot), leases, snapshot);
}

function simpleLease(name: string, resources: LeaseResource[], opts: { created?: string; access?: 'Exclusive' | 'Shared'; namespace?: string } = {}): SutureLease {
  const namespace = opts.namespace ?? 'ops';
  const spec = { holder: saSubject(namespace, `${name}-operator`), resources, ...(opts.access === undefined ? {} : { access: opts.access }) };
  return lease(namespace, name, spec, opts.created === undefined ? {} : { created: opts.created });
}

describe('core/leases', () => {
  const empty = createSnapshot([]);

  describe('leaseCovers', () => {
    const pgLease = lease('op-a', 'pg', {
      holder: saSubject('op-a', 'pg-operator'),
      resources: [
        { apiGroups: ['apps'], kinds: ['StatefulSet'], namespaces: ['db'], selector: { matchLabels: { app: 'pg' } } },
        { apiGroups: ['apps'], kinds: ['Deployment'], namespaces: ['db'], names: ['web'], fields: ['/spec/replicas'] },
      ],
    });

    it('matches a resource and covers the whole object', () => {
      const c = leaseCovers(pgLease, sts('db', 'pg', { labels: { app: 'pg' } }), empty);
      expect(c).to.deep.equal({ stamped: false, resource: pgLease.spec.resources[0] });
    });

    it('matches a resource with fields and covers only those', () => {
      expect(leaseCovers(pgLease, deployment('db', 'web'), empty)?.fields).to.deep.equal(['/spec/replicas']);
    });

    it('covers an object carrying its stamp label, whatever the resources say', () => {
      const c = leaseCovers(pgLease, secret('elsewhere', 'x', { [LEASE_LABEL]: 'op-a.pg' }), empty);
      expect(c).to.deep.equal({ stamped: true });
      expect(leaseCovers(pgLease, secret('elsewhere', 'x', { [LEASE_LABEL]: 'op-b.pg' }), empty)).to.equal(undefined);
    });

    it('does not cover other objects', () => {
      expect(leaseCovers(pgLease, sts('db', 'redis', { labels: { app: 'redis' } }), empty)).to.equal(undefined);
      expect(leaseCovers(pgLease, deployment('db', 'api'), empty)).to.equal(undefined);
    });
  });

  describe('leasesConflict', () => {
    const sts_: LeaseResource = { apiGroups: ['apps'], kinds: ['StatefulSet'] };
    const cases: [string, LeaseResource, LeaseResource, boolean][] = [
      ['identical', sts_, sts_, true],
      ['one selects everything', {}, { kinds: ['Secret'] }, true],
      ['disjoint apiGroups', { apiGroups: ['apps'] }, { apiGroups: [''] }, false],
      ['apiGroups "*"', { apiGroups: ['*'] }, { apiGroups: [''] }, true],
      ['disjoint kinds', { kinds: ['StatefulSet'] }, { kinds: ['Deployment'] }, false],
      ['overlapping kinds', { kinds: ['StatefulSet', 'Secret'] }, { kinds: ['Secret'] }, true],
      ['disjoint namespaces', { ...sts_, namespaces: ['a'] }, { ...sts_, namespaces: ['b'] }, false],
      ['namespaces vs any namespace', { ...sts_, namespaces: ['a'] }, sts_, true],
      ['disjoint names', { ...sts_, names: ['pg'] }, { ...sts_, names: ['redis'] }, false],
      ['shared name', { ...sts_, names: ['pg', 'x'] }, { ...sts_, names: ['pg'] }, true],
      ['name outside the prefixes', { ...sts_, names: ['pg'] }, { ...sts_, namePrefixes: ['redis-'] }, false],
      ['name inside the prefixes', { ...sts_, names: ['pg-0'] }, { ...sts_, namePrefixes: ['pg-'] }, true],
      ['disjoint prefixes', { ...sts_, namePrefixes: ['pg-'] }, { ...sts_, namePrefixes: ['redis-'] }, false],
      ['nested prefixes', { ...sts_, namePrefixes: ['pg'] }, { ...sts_, namePrefixes: ['pg-main-'] }, true],
      ['contradicting matchLabels', { ...sts_, selector: { matchLabels: { app: 'a' } } }, { ...sts_, selector: { matchLabels: { app: 'b' } } }, false],
      ['different label keys may both hold', { ...sts_, selector: { matchLabels: { app: 'a' } } }, { ...sts_, selector: { matchLabels: { tier: 'b' } } }, true],
      [
        'In vs matchLabels inside the set',
        { ...sts_, selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['a', 'b'] }] } },
        { ...sts_, selector: { matchLabels: { app: 'b' } } },
        true,
      ],
      [
        'NotIn vs matchLabels of the excluded value',
        { ...sts_, selector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['a'] }] } },
        { ...sts_, selector: { matchLabels: { app: 'a' } } },
        false,
      ],
      [
        'Exists vs DoesNotExist',
        { ...sts_, selector: { matchExpressions: [{ key: 'x', operator: 'Exists' }] } },
        { ...sts_, selector: { matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] } },
        false,
      ],
      ['contradicting namespaceSelectors', { ...sts_, namespaceSelector: { matchLabels: { env: 'prod' } } }, { ...sts_, namespaceSelector: { matchLabels: { env: 'dev' } } }, false],
      ['disjoint fields', { ...sts_, fields: ['/spec/replicas'] }, { ...sts_, fields: ['/spec/template'] }, false],
      ['a field and its prefix', { ...sts_, fields: ['/spec'] }, { ...sts_, fields: ['/spec/replicas'] }, true],
      ['fields vs the whole object', { ...sts_, fields: ['/spec/replicas'] }, sts_, true],
      [
        'scenario 12: selector app=pg vs names [pg]',
        { apiGroups: ['apps'], kinds: ['StatefulSet'], namespaces: ['db'], selector: { matchLabels: { app: 'pg' } } },
        { apiGroups: ['apps'], kinds: ['StatefulSet'], namespaces: ['db'], names: ['pg'] },
        true,
      ],
    ];
    for (const [name, ra, rb, want] of cases) {
      it(`${name} → ${want ? 'conflict' : 'disjoint'}`, () => {
        const a = simpleLease('a', [ra]);
        const b = simpleLease('b', [rb]);
        expect(leasesConflict(a, b, empty).conflict).to.equal(want);
        expect(leasesConflict(b, a, empty).conflict, 'symmetric').to.equal(want);
      });
    }

    it('conflicts when any pair of resources overlaps', () => {
      const a = simpleLease('a', [{ kinds: ['Secret'] }, { kinds: ['ConfigMap'], names: ['x'] }]);
      const b = simpleLease('b', [{ kinds: ['Deployment'] }, { kinds: ['ConfigMap'] }]);
      const c = leasesConflict(a, b, empty);
      expect(c.conflict).to.equal(true);
      expect(c.reason).to.equal('kinds [ConfigMap] names [x] overlaps kinds [ConfigMap]');
    });

    it('takes an existing object covered by both (a stamp) as proof', () => {
      const a = simpleLease('a', [{ apiGroups: [''], kinds: ['Secret'], namespaces: ['db'], names: ['one'] }]);
      const b = simpleLease('b', [{ apiGroups: [''], kinds: ['Secret'], namespaces: ['db'], names: ['two'] }]);
      expect(leasesConflict(a, b, empty).conflict).to.equal(false);
      const stamped = createSnapshot([secret('db', 'two', { [LEASE_LABEL]: 'ops.a' })]);
      expect(leasesConflict(a, b, stamped)).to.deep.equal({ conflict: true, reason: 'both cover Secret db/two' });
    });

    it('an existing object covered by both is proof only when the leased fields overlap (issue 9, item 10)', () => {
      const web = deployment('web', 'nginx', 3);
      const seen = createSnapshot([web]);
      const on = (fields?: string[]): LeaseResource => ({ apiGroups: ['apps'], kinds: ['Deployment'], namespaces: ['web'], ...(fields === undefined ? {} : { fields }) });
      // An autoscaler on /spec/replicas and a rollout controller on /spec/template of the same Deployment coexist.
      const autoscaler = simpleLease('autoscaler', [{ ...on(['/spec/replicas']), selector: { matchLabels: { tier: 'x' } } }, on(['/spec/replicas'])]);
      const rollout = simpleLease('rollout', [{ ...on(['/spec/template']), names: ['nginx'] }]);
      expect(leasesConflict(autoscaler, rollout, seen)).to.deep.equal({ conflict: false, reason: 'resources are disjoint' });
      const grants = grantLeases([autoscaler, rollout], seen, new Date('2026-01-03T00:00:00Z'));
      expect([...grants.values()].map((g) => g.phase)).to.deep.equal(['Granted', 'Granted']);
      // Overlapping fields, or a whole-object lease, on that object do conflict.
      expect(leasesConflict(autoscaler, simpleLease('spec', [{ ...on(['/spec']), names: ['nginx'] }]), seen).conflict).to.equal(true);
      expect(leasesConflict(rollout, simpleLease('whole', [{ ...on(), selector: { matchLabels: { app: 'nginx' } } }]), seen).conflict).to.equal(true);
    });

    it('never between two Shared leases; Shared and Exclusive do', () => {
      const shared1 = simpleLease('s1', [sts_], { access: 'Shared' });
      const shared2 = simpleLease('s2', [sts_], { access: 'Shared' });
      const exclusive = simpleLease('x', [sts_]);
      expect(leasesConflict(shared1, shared2, empty).conflict).to.equal(false);
      expect(leasesConflict(shared1, exclusive, empty).conflict).to.equal(true);
    });

    it('compares JSON pointer paths by segment', () => {
      expect(pathsOverlap('/spec/replicas', '/spec/replicasX')).to.equal(false);
      expect(pathsOverlap('/metadata/labels/a~1b', '/metadata/labels')).to.equal(true);
    });
  });

  describe('grantLeases', () => {
    const dbSts: LeaseResource[] = [{ apiGroups: ['apps'], kinds: ['StatefulSet'], namespaces: ['db'] }];

    it('grants the oldest and makes the younger wait, naming its rival and holder', () => {
      const older = simpleLease('pg', dbSts, { created: '2026-01-01T00:00:00Z', namespace: 'op-a' });
      const younger = simpleLease('pg-backups', dbSts, { created: '2026-01-02T00:00:00Z', namespace: 'op-b' });
      const grants = grantLeases([younger, older], empty, at(0));
      expect(grants.get('op-a/pg')).to.deep.include({ phase: 'Granted', grantedAt: T0, reason: 'Granted' });
      const waiting = grants.get('op-b/pg-backups');
      expect(waiting?.phase).to.equal('Conflicted');
      expect(waiting?.conflictsWith).to.deep.equal([{ namespace: 'op-a', name: 'pg', holder: saSubject('op-a', 'pg-operator') }]);
      expect(waiting?.message).to.include('op-a/pg held by system:serviceaccount:op-a:pg-operator');
    });

    it('breaks a tie on creationTimestamp by name, then namespace', () => {
      const same = '2026-01-01T00:00:00Z';
      const b = simpleLease('b', dbSts, { created: same, namespace: 'x' });
      const a2 = simpleLease('a', dbSts, { created: same, namespace: 'z' });
      const a1 = simpleLease('a', dbSts, { created: same, namespace: 'y' });
      const grants = grantLeases([b, a2, a1], empty, at(0));
      expect(grants.get('y/a')?.phase).to.equal('Granted');
      expect(grants.get('z/a')?.phase).to.equal('Conflicted');
      expect(grants.get('x/b')?.phase).to.equal('Conflicted');
    });

    it('hands the scope over when the holder is deleted (level-based)', () => {
      const older = simpleLease('pg', dbSts, { created: '2026-01-01T00:00:00Z', namespace: 'op-a' });
      const younger = simpleLease('pg-backups', dbSts, { created: '2026-01-02T00:00:00Z', namespace: 'op-b' });
      expect(grantLeases([older, younger], empty, at(0)).get('op-b/pg-backups')?.phase).to.equal('Conflicted');
      expect(grantLeases([younger], empty, at(1)).get('op-b/pg-backups')).to.deep.include({ phase: 'Granted', conflictsWith: [] });
      const terminating = lease('op-a', 'pg', older.spec, { created: '2026-01-01T00:00:00Z', deleting: true });
      const grants = grantLeases([terminating, younger], empty, at(1));
      expect(grants.has('op-a/pg')).to.equal(false);
      expect(grants.get('op-b/pg-backups')?.phase).to.equal('Granted');
    });

    it('keeps the grant time from status and grants new leases at now', () => {
      const held = lease('ops', 'held', { holder: saSubject('ops', 'x'), resources: dbSts }, { status: { phase: 'Granted', grantedAt: '2026-11-20T00:00:00Z' } });
      expect(grantLeases([held], empty, at(0)).get('ops/held')?.grantedAt).to.equal('2026-11-20T00:00:00.000Z');
      const waited = lease('ops', 'waited', { holder: saSubject('ops', 'x'), resources: dbSts }, { status: { phase: 'Conflicted', grantedAt: '2026-11-20T00:00:00Z' } });
      expect(grantLeases([waited], empty, at(0)).get('ops/waited')?.grantedAt).to.equal(T0);
    });

    describe('expiry', () => {
      const spec = { holder: saSubject('ops', 'x'), resources: dbSts, duration: '30m' };
      const grantedAtT0 = { status: { phase: 'Granted' as const, grantedAt: T0 }, created: '2026-01-01T00:00:00Z' };

      it('runs from the grant: Granted with expiresAt, then Expired', () => {
        const l = lease('ops', 'timed', spec, grantedAtT0);
        expect(grantLeases([l], empty, at(29)).get('ops/timed')).to.deep.include({ phase: 'Granted', expiresAt: at(30).toISOString() });
        expect(grantLeases([l], empty, at(30)).get('ops/timed')).to.deep.include({ phase: 'Expired', reason: 'Expired', expiresAt: at(30).toISOString() });
      });

      it('is renewed by spec.renewTime, also after it expired', () => {
        const renewed = lease('ops', 'timed', { ...spec, renewTime: at(20).toISOString() }, grantedAtT0);
        expect(grantLeases([renewed], empty, at(31)).get('ops/timed')).to.deep.include({ phase: 'Granted', expiresAt: at(50).toISOString() });
        const late = lease('ops', 'timed', { ...spec, renewTime: at(40).toISOString() }, { ...grantedAtT0, status: { phase: 'Expired', grantedAt: T0 } });
        expect(grantLeases([late], empty, at(41)).get('ops/timed')?.phase).to.equal('Granted');
      });

      it('frees the scope for the next lease, and a renewal later does not take it back', () => {
        const timed = lease('ops', 'timed', spec, grantedAtT0);
        const next = simpleLease('next', dbSts, { created: '2026-06-01T00:00:00Z' });
        const afterExpiry = grantLeases([timed, next], empty, at(31));
        expect(afterExpiry.get('ops/timed')?.phase).to.equal('Expired');
        expect(afterExpiry.get('ops/next')?.phase).to.equal('Granted');
        const nextNowHolds = lease('ops', 'next', next.spec, { created: '2026-06-01T00:00:00Z', status: { phase: 'Granted', grantedAt: at(31).toISOString() } });
        const renewedLate = lease('ops', 'timed', { ...spec, renewTime: at(40).toISOString() }, { ...grantedAtT0, status: { phase: 'Expired', grantedAt: T0 } });
        const later = grantLeases([renewedLate, nextNowHolds], empty, at(41));
        expect(later.get('ops/next')?.phase).to.equal('Granted');
        expect(later.get('ops/timed')?.phase).to.equal('Conflicted');
      });
    });

    it('marks invalid leases Invalid, and they block nobody', () => {
      const bad = lease('ops', 'bad', { holder: saSubject('ops', 'x'), resources: dbSts, duration: 'forever' }, { created: '2020-01-01T00:00:00Z' });
      const good = simpleLease('good', dbSts);
      const grants = grantLeases([bad, good], empty, at(0));
      expect(grants.get('ops/bad')).to.deep.include({ phase: 'Invalid', reason: 'InvalidSpec' });
      expect(grants.get('ops/bad')?.message).to.include('spec.duration "forever"');
      expect(grants.get('ops/good')?.phase).to.equal('Granted');
    });

    it('grants Shared leases side by side', () => {
      const s1 = simpleLease('s1', dbSts, { access: 'Shared' });
      const s2 = simpleLease('s2', dbSts, { access: 'Shared' });
      const grants = grantLeases([s1, s2], empty, at(0));
      expect([grants.get('ops/s1')?.phase, grants.get('ops/s2')?.phase]).to.deep.equal(['Granted', 'Granted']);
    });
  });

  describe('checkLeases: scenario 06, HPA vs GitOps on spec.replicas', () => {
    const nginx = deployment('test-hpa', 'nginx', 2);
    const snap = createSnapshot([ns('test-hpa'), nginx]);
    const replicasLease = lease('autoscaling', 'nginx-replicas', {
      holder: saSubject('autoscaling', 'autoscaler'),
      resources: [{ apiGroups: ['apps'], kinds: ['Deployment'], namespaces: ['test-hpa'], names: ['nginx'], fields: ['/spec/replicas'] }],
    });
    const leases = [grantedLease(replicasLease)];
    const autoscaler = saUser('autoscaling', 'autoscaler');
    const argo = saUser('gitops', 'argocd-application-controller');

    it('lets the holder scale through /scale', () => {
      const r = check(scaleRequest(nginx, 4, autoscaler), leases, snap);
      expect(r.violations).to.deep.equal([]);
      expect(r.checks).to.deep.equal([{ source: 'lease/autoscaling/nginx-replicas', result: 'pass', message: `${autoscaler.username} holds the lease` }]);
    });

    it('denies GitOps setting spec.replicas, naming the lease and the path', () => {
      const patched = edited(nginx, (d) => {
        (d.spec as { replicas: number }).replicas = 1;
      });
      const r = check(updateRequest(nginx, patched, argo), leases, snap);
      expect(r.violations).to.have.length(1);
      expect(r.violations[0]?.lease).to.equal('autoscaling/nginx-replicas');
      expect(r.violations[0]?.message).to.equal(
        'lease autoscaling/nginx-replicas held by system:serviceaccount:autoscaling:autoscaler covers /spec/replicas of apps/Deployment test-hpa/nginx',
      );
      expect(r.checks[0]?.result).to.equal('fail');
    });

    it('denies GitOps scaling through /scale as well', () => {
      expect(check(scaleRequest(nginx, 1, argo), leases, snap).violations).to.have.length(1);
    });

    it('allows GitOps changing other fields', () => {
      const patched = edited(nginx, (d) => {
        (d.spec as Record<string, unknown>).template = { metadata: { annotations: { rollout: '2' } } };
      });
      const r = check(updateRequest(nginx, patched, argo), leases, snap);
      expect(r).to.deep.equal({ violations: [], checks: [] });
    });
  });

  describe('checkLeases: scenario 12, two operators and one database', () => {
    const pgSts = sts('db', 'pg', { replicas: 2, labels: { app: 'pg' } });
    const pgLease = lease(
      'op-a',
      'pg',
      {
        holder: saSubject('op-a', 'pg-operator'),
        resources: [
          { apiGroups: ['apps'], kinds: ['StatefulSet'], namespaces: ['db'], selector: { matchLabels: { app: 'pg' } } },
          { apiGroups: [''], kinds: ['Secret', 'ConfigMap'], namespaces: ['db'], namePrefixes: ['pg-'] },
        ],
      },
      { created: '2026-01-01T00:00:00Z' },
    );
    const backupLease = lease(
      'op-b',
      'pg-backups',
      { holder: saSubject('op-b', 'backup-operator'), resources: [{ apiGroups: ['apps'], kinds: ['StatefulSet'], namespaces: ['db'], names: ['pg'] }] },
      { created: '2026-01-01T00:00:01Z' },
    );
    const pgOperator = saUser('op-a', 'pg-operator');
    const backupOperator = saUser('op-b', 'backup-operator');
    const credentials = secret('db', 'pg-credentials');
    const stampedCredentials = labelled(credentials, { [LEASE_LABEL]: 'op-a.pg' });
    const snap = createSnapshot([ns('db'), pgSts, stampedCredentials]);
    const grants = grantLeases([pgLease, backupLease], snap, at(0));
    const states: LeaseState[] = [pgLease, backupLease].map((l) => grantedLease(l, grants.get(`${l.metadata.namespace}/${l.metadata.name}`)?.phase === 'Granted'));
    const replicas = (n: number): KubeObject =>
      edited(pgSts, (s) => {
        (s.spec as { replicas: number }).replicas = n;
      });

    it('grants op-a/pg and makes op-b/pg-backups wait for it', () => {
      expect(grants.get('op-a/pg')?.phase).to.equal('Granted');
      expect(grants.get('op-b/pg-backups')?.phase).to.equal('Conflicted');
      expect(grants.get('op-b/pg-backups')?.conflictsWith[0]?.name).to.equal('pg');
    });

    it('denies the backup operator scaling the StatefulSet', () => {
      const r = check(updateRequest(pgSts, replicas(0), backupOperator), states, snap);
      expect(r.violations.map((v) => v.message)).to.deep.equal(['lease op-a/pg held by system:serviceaccount:op-a:pg-operator covers apps/StatefulSet db/pg']);
      expect(r.violations[0]?.holder).to.deep.equal(saSubject('op-a', 'pg-operator'));
    });

    it('lets the holder create a Secret in its lease, and stamps it', () => {
      const req = createRequest(credentials, pgOperator);
      expect(check(req, states, snap).violations).to.deep.equal([]);
      expect(stampPatch(req, states, snap)).to.deep.equal([{ op: 'add', path: '/metadata/labels', value: { [LEASE_LABEL]: 'op-a.pg' } }]);
    });

    it('denies the backup operator removing the stamp label', () => {
      const unlabelled = edited(stampedCredentials, (s) => {
        s.metadata.labels = {};
      });
      const r = check(updateRequest(stampedCredentials, unlabelled, backupOperator), states, snap);
      expect(r.violations).to.have.length(1);
      expect(r.violations[0]?.message).to.include('op-a/pg');
    });

    it('denies the backup operator creating a ConfigMap the lease covers', () => {
      const r = check(createRequest(configMap('db', 'pg-backup-schedule'), backupOperator), states, snap);
      expect(r.violations[0]?.message).to.equal('lease op-a/pg held by system:serviceaccount:op-a:pg-operator covers ConfigMap db/pg-backup-schedule');
    });

    it('after op-a/pg is deleted, grants op-b/pg-backups, which then binds the pg operator', () => {
      const after = grantLeases([backupLease], snap, at(5));
      expect(after.get('op-b/pg-backups')?.phase).to.equal('Granted');
      const nowStates = [grantedLease(backupLease)];
      const annotated = edited(pgSts, (s) => {
        s.metadata.annotations = { 'backup/last': '2026-11-22' };
      });
      expect(check(updateRequest(pgSts, annotated, backupOperator), nowStates, snap).violations).to.deep.equal([]);
      const r = check(updateRequest(pgSts, replicas(3), pgOperator), nowStates, snap);
      expect(r.violations[0]?.message).to.include('op-b/pg-backups');
    });
  });

  describe('checkLeases: who is bound, and cascades', () => {
    const pgSts = sts('db', 'pg', { labels: { app: 'pg' } });
    const snap = createSnapshot([ns('db'), pgSts, secret('db', 'pg-a'), secret('db', 'pg-b'), secret('db', 'other')]);
    const resources: LeaseResource[] = [{ kinds: ['StatefulSet', 'Secret'], namespaces: ['db'], namePrefixes: ['pg'] }];
    const saOnly = lease('op-a', 'pg', { holder: saSubject('op-a', 'pg-operator'), resources });
    const everyone = lease('op-a', 'pg', { holder: saSubject('op-a', 'pg-operator'), resources, enforce: 'Everyone' });
    const alice = human('alice');

    it('counts removal by cascade as a write, and says how many objects', () => {
      const r = check(deleteRequest(ns('db'), saUser('gitops', 'argocd')), [grantedLease(saOnly)], snap);
      expect(r.violations[0]?.message).to.equal(
        'lease op-a/pg held by system:serviceaccount:op-a:pg-operator covers apps/StatefulSet db/pg (removed via namespace db) and 2 more objects',
      );
    });

    it('does not bind humans unless enforce: Everyone', () => {
      const req = deleteRequest(pgSts, alice);
      const skipped = check(req, [grantedLease(saOnly)], snap);
      expect(skipped.violations).to.deep.equal([]);
      expect(skipped.checks[0]?.result).to.equal('skip');
      expect(check(req, [grantedLease(everyone)], snap).violations).to.have.length(1);
    });

    it('ignores leases that are not granted, and Shared leases', () => {
      const req = deleteRequest(pgSts, saUser('x', 'y'));
      expect(check(req, [grantedLease(saOnly, false)], snap)).to.deep.equal({ violations: [], checks: [] });
      const shared = lease('op-a', 'pg', { holder: saSubject('op-a', 'pg-operator'), resources, access: 'Shared' });
      expect(check(req, [grantedLease(shared)], snap).violations).to.deep.equal([]);
    });

    it('denies a non-holder putting a lease stamp on an object outside it', () => {
      const other = secret('db', 'other');
      const squatted = labelled(other, { [LEASE_LABEL]: 'op-a.pg' });
      expect(check(updateRequest(other, squatted, saUser('x', 'y')), [grantedLease(saOnly)], snap).violations).to.have.length(1);
    });
  });

  describe('stampPatch', () => {
    const pgLease = lease('op-a', 'pg', {
      holder: saSubject('op-a', 'pg-operator'),
      resources: [
        { apiGroups: [''], kinds: ['Secret'], namespaces: ['db'], namePrefixes: ['pg-'] },
        { apiGroups: ['apps'], kinds: ['Deployment'], namespaces: ['db'], fields: ['/spec/replicas'] },
      ],
    });
    const states = [grantedLease(pgLease)];
    const holder = saUser('op-a', 'pg-operator');
    const snap = createSnapshot([ns('db')]);
    const escaped = '/metadata/labels/suture.dev~1lease';

    it('adds the label to existing labels, escaping "/"', () => {
      const req = createRequest(secret('db', 'pg-x', { team: 'a' }), holder);
      expect(stampPatch(req, states, snap)).to.deep.equal([{ op: 'add', path: escaped, value: 'op-a.pg' }]);
    });

    it('stamps nothing for a non-holder, an uncovered object, fields-only coverage, or a lease not granted', () => {
      const cases: [string, AdmissionRequest, LeaseState[]][] = [
        ['non-holder', createRequest(secret('db', 'pg-x'), saUser('op-b', 'other')), states],
        ['not covered', createRequest(secret('db', 'redis'), holder), states],
        ['fields only', createRequest(deployment('db', 'web'), holder), states],
        ['not granted', createRequest(secret('db', 'pg-x'), holder), [grantedLease(pgLease, false)]],
        ['already stamped', createRequest(secret('db', 'pg-x', { [LEASE_LABEL]: 'op-a.pg' }), holder), states],
      ];
      for (const [name, req, leases] of cases) expect(stampPatch(req, leases, snap), name).to.deep.equal([]);
    });

    it('restores the label when the holder drops it in an update, and leaves other updates alone', () => {
      const stamped = secret('db', 'pg-x', { [LEASE_LABEL]: 'op-a.pg', team: 'a' });
      const dropped = edited(stamped, (s) => {
        s.metadata.labels = { team: 'a' };
      });
      expect(stampPatch(updateRequest(stamped, dropped, holder), states, snap)).to.deep.equal([{ op: 'add', path: escaped, value: 'op-a.pg' }]);
      const kept = edited(stamped, (s) => {
        s.metadata.annotations = { a: 'b' };
      });
      expect(stampPatch(updateRequest(stamped, kept, holder), states, snap)).to.deep.equal([]);
    });
  });
});
