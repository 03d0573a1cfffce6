import { expect } from 'chai';
import type { LabelSelector, ObjectSelector, Subject } from '../../../src/api/types.js';
import {
  SelectorSyntaxError,
  labelSelectorMismatch,
  matchesLabelSelector,
  matchesObjectSelector,
  objectSelectorMismatch,
  parseLabelSelector,
  serviceAccountOf,
  subjectMatches,
  subjectName,
} from '../../../src/core/selectors.js';
import { createSnapshot } from '../../../src/core/snapshot.js';
import type { UserInfo } from '../../../src/core/types.js';
import { crd, deployment, human, ns, pod, pvc, saUser, sts } from './fixtures.js';

describe('core/selectors', () => {
  describe('label selectors', () => {
    const labels = { app: 'pg', tier: 'db', empty: '' };
    const cases: [string, LabelSelector | undefined, boolean][] = [
      ['absent selector', undefined, true],
      ['empty selector', {}, true],
      ['matchLabels equal', { matchLabels: { app: 'pg' } }, true],
      ['matchLabels differ', { matchLabels: { app: 'redis' } }, false],
      ['matchLabels missing key', { matchLabels: { zone: 'a' } }, false],
      ['In hit', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'db'] }] }, true],
      ['In miss', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] }, false],
      ['In absent key', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, false],
      ['NotIn hit', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] }, false],
      ['NotIn miss', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web'] }] }, true],
      ['NotIn absent key', { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
      ['Exists', { matchExpressions: [{ key: 'empty', operator: 'Exists' }] }, true],
      ['Exists absent', { matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, false],
      ['DoesNotExist', { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, true],
      ['DoesNotExist present', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, false],
      ['all must hold', { matchLabels: { app: 'pg' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] }, false],
    ];
    for (const [name, selector, want] of cases) {
      it(`${name} → ${want}`, () => expect(matchesLabelSelector(selector, labels)).to.equal(want));
    }

    it('says why a selector does not match', () => {
      expect(labelSelectorMismatch({ matchLabels: { app: 'redis' } }, labels)).to.equal('label app is not redis');
      expect(labelSelectorMismatch({ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, undefined)).to.equal('label zone missing');
    });
  });

  describe('parseLabelSelector (kubectl syntax)', () => {
    const cases: [string, LabelSelector][] = [
      ['', {}],
      ['app=pg', { matchExpressions: [{ key: 'app', operator: 'In', values: ['pg'] }] }],
      ['app==pg', { matchExpressions: [{ key: 'app', operator: 'In', values: ['pg'] }] }],
      ['app!=pg', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['pg'] }] }],
      ['tier in (a, b)', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] }],
      ['tier notin (a,b)', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['a', 'b'] }] }],
      ['!x', { matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] }],
      ['example.com/y', { matchExpressions: [{ key: 'example.com/y', operator: 'Exists' }] }],
      [
        'app=pg,tier in (a,b),!x,y',
        {
          matchExpressions: [
            { key: 'app', operator: 'In', values: ['pg'] },
            { key: 'tier', operator: 'In', values: ['a', 'b'] },
            { key: 'x', operator: 'DoesNotExist' },
            { key: 'y', operator: 'Exists' },
          ],
        },
      ],
    ];
    for (const [text, want] of cases) {
      it(`parses "${text}"`, () => expect(parseLabelSelector(text)).to.deep.equal(want));
    }

    it('selects what kubectl would', () => {
      const sel = parseLabelSelector('app=pg,tier in (a,b),!x,y');
      expect(matchesLabelSelector(sel, { app: 'pg', tier: 'b', y: '' })).to.equal(true);
      expect(matchesLabelSelector(sel, { app: 'pg', tier: 'b', y: '', x: '1' })).to.equal(false);
      expect(matchesLabelSelector(sel, { app: 'pg', tier: 'c', y: '' })).to.equal(false);
    });

    for (const bad of ['a b', 'tier in (a', 'tier in (a,b c)', '=x', 'app=pg,,x']) {
      it(`refuses "${bad}" with a SelectorSyntaxError`, () => {
        expect(() => parseLabelSelector(bad)).to.throw(SelectorSyntaxError, /selector term/);
      });
    }

    it('accepts an empty value (app= selects app="")', () => {
      expect(matchesLabelSelector(parseLabelSelector('app='), { app: '' })).to.equal(true);
    });
  });

  describe('matchesObjectSelector', () => {
    const prod = ns('prod', { env: 'prod' });
    const snap = createSnapshot([prod, ns('dev', { env: 'dev' })]);
    const pg = sts('prod', 'pg', { labels: { app: 'pg' } });
    const data = pvc('prod', 'pg-data-0', { app: 'pg' });
    const devPod = pod('dev', 'x');
    const strayPod = pod('unknown', 'y');
    const certs = crd('certmanager.k8s.io', 'Certificate', 'certificates');
    const generated = { ...pod('prod', ''), metadata: { namespace: 'prod', generateName: 'pg-' } };

    const cases: [string, ObjectSelector, typeof pg, boolean][] = [
      ['empty selector matches anything', {}, certs, true],
      ['core group ""', { apiGroups: [''] }, data, true],
      ['core group "" is not apps', { apiGroups: [''] }, pg, false],
      ['apiGroups "*"', { apiGroups: ['*'] }, pg, true],
      ['kinds', { kinds: ['StatefulSet'] }, pg, true],
      ['kinds miss', { kinds: ['Deployment'] }, pg, false],
      ['kinds "*"', { kinds: ['*'] }, pg, true],
      ['namespaces', { namespaces: ['prod'] }, pg, true],
      ['namespaces miss', { namespaces: ['dev'] }, pg, false],
      ['namespaces: a Namespace by its own name', { namespaces: ['prod'] }, prod, true],
      ['namespaces: other cluster-scoped objects never', { namespaces: ['prod'] }, certs, false],
      ['namespaceSelector on a namespaced object', { namespaceSelector: { matchLabels: { env: 'prod' } } }, pg, true],
      ['namespaceSelector miss', { namespaceSelector: { matchLabels: { env: 'prod' } } }, devPod, false],
      ['namespaceSelector, namespace not cached: no labels', { namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] } }, strayPod, true],
      ['namespaceSelector on a Namespace uses its own labels', { namespaceSelector: { matchLabels: { env: 'prod' } } }, prod, true],
      ['namespaceSelector on a new Namespace not yet cached', { namespaceSelector: { matchLabels: { env: 'qa' } } }, ns('qa', { env: 'qa' }), true],
      ['namespaceSelector never matches other cluster-scoped', { namespaceSelector: {} }, certs, false],
      ['names', { names: ['pg'] }, pg, true],
      ['names miss', { names: ['pg-0'] }, pg, false],
      ['namePrefixes', { namePrefixes: ['redis-', 'pg-'] }, data, true],
      ['namePrefixes miss', { namePrefixes: ['redis-'] }, data, false],
      ['namePrefixes match a generateName', { namePrefixes: ['pg'] }, generated, true],
      ['selector', { selector: { matchLabels: { app: 'pg' } } }, data, true],
      ['selector miss', { selector: { matchLabels: { app: 'zk' } } }, data, false],
      [
        'all fields together',
        { apiGroups: ['apps'], kinds: ['StatefulSet'], namespaces: ['prod'], names: ['pg'], selector: { matchLabels: { app: 'pg' } } },
        pg,
        true,
      ],
    ];
    for (const [name, sel, obj, want] of cases) {
      it(`${name} → ${want}`, () => expect(matchesObjectSelector(sel, obj, snap)).to.equal(want));
    }

    it('names the first failing check', () => {
      expect(objectSelectorMismatch({ kinds: ['Deployment'] }, pg, snap)).to.equal('kind StatefulSet not in [Deployment]');
      expect(objectSelectorMismatch({ apiGroups: [''] }, deployment('prod', 'd'), snap)).to.equal('apiGroup apps not in [""]');
      expect(objectSelectorMismatch({ namespaceSelector: { matchLabels: { env: 'prod' } } }, devPod, snap)).to.equal('namespace dev: label env is not prod');
    });
  });

  describe('subjects', () => {
    const operator = saUser('db-system', 'pg-operator');
    const alice: UserInfo = human('alice@example.com', ['ops']);
    const cases: [string, Subject, UserInfo, boolean][] = [
      ['service account by name', { kind: 'ServiceAccount', namespace: 'db-system', name: 'pg-operator' }, operator, true],
      ['service account, other name', { kind: 'ServiceAccount', namespace: 'db-system', name: 'other' }, operator, false],
      ['service account, other namespace', { kind: 'ServiceAccount', namespace: 'prod', name: 'pg-operator' }, operator, false],
      ['service account "*" in its namespace', { kind: 'ServiceAccount', namespace: 'db-system', name: '*' }, operator, true],
      ['service account "*" in another namespace', { kind: 'ServiceAccount', namespace: 'prod', name: '*' }, operator, false],
      ['service account subject never matches a human', { kind: 'ServiceAccount', namespace: 'db-system', name: '*' }, alice, false],
      ['user by name', { kind: 'User', name: 'alice@example.com' }, alice, true],
      ['user, other name', { kind: 'User', name: 'bob' }, alice, false],
      ['user "*"', { kind: 'User', name: '*' }, alice, true],
      ['group membership', { kind: 'Group', name: 'ops' }, alice, true],
      ['group of service accounts', { kind: 'Group', name: 'system:serviceaccounts:db-system' }, operator, true],
      ['not a member', { kind: 'Group', name: 'admins' }, alice, false],
    ];
    for (const [name, subject, user, want] of cases) {
      it(`${name} → ${want}`, () => expect(subjectMatches(subject, user)).to.equal(want));
    }

    it('reads the service account behind a username', () => {
      expect(serviceAccountOf(operator)).to.deep.equal({ namespace: 'db-system', name: 'pg-operator' });
      expect(serviceAccountOf(alice)).to.equal(undefined);
      expect(serviceAccountOf({ username: 'system:serviceaccount:broken' })).to.equal(undefined);
    });

    it('names subjects as users read them', () => {
      expect(subjectName({ kind: 'ServiceAccount', namespace: 'op-a', name: 'pg-operator' })).to.equal('system:serviceaccount:op-a:pg-operator');
      expect(subjectName({ kind: 'Group', name: 'ops' })).to.equal('group ops');
    });
  });
});
