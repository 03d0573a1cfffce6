// The pure part of `kubectl suture audit`: effective RBAC, needs, the excess with its binding, dangerous rights first.
import { expect } from 'chai';
import type { KubeObject, SutureLease } from '../../../src/api/types.js';
import { DANGERS, auditFails, auditIdentity, auditText, dangersOf, holdersOf, subjectOf } from '../../../src/cli/audit.js';
import { auditHolder } from '../../../src/core/generate/audit.js';
import { kindCatalog } from '../../../src/core/generate/kinds.js';
import { BUILTIN_KINDS } from '../../../src/core/snapshot.js';

const RBAC = 'rbac.authorization.k8s.io/v1';
const sa = { kind: 'ServiceAccount', namespace: 'db', name: 'pg-op' };

function clusterRole(name: string, rules: object[]): KubeObject {
  return { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name }, rules };
}
function binding(kind: 'ClusterRoleBinding' | 'RoleBinding', name: string, role: string, where: { namespace?: string; subjects?: object[] } = {}): KubeObject {
  const { namespace, subjects = [sa] } = where;
  return { apiVersion: RBAC, kind, metadata: { name, ...(namespace === undefined ? {} : { namespace }) }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role }, subjects };
}

const lease: SutureLease = {
  apiVersion: 'suture.dev/v1alpha1',
  kind: 'SutureLease',
  metadata: { namespace: 'db', name: 'pg' },
  spec: { holder: { kind: 'ServiceAccount', namespace: 'db', name: 'pg-op' }, resources: [{ apiGroups: ['apps'], kinds: ['StatefulSet'], namespaces: ['prod'] }] },
  status: { phase: 'Granted' },
};

const rbac = {
  roles: [],
  clusterRoles: [
    clusterRole('statefulsets', [{ apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] }]),
    clusterRole('too-much', [
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] },
      { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], verbs: ['delete'] },
      { apiGroups: [''], resources: ['users', 'serviceaccounts'], verbs: ['impersonate'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['delete'] },
    ]),
    clusterRole('crds', [{ apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['update'] }]),
    clusterRole('admin', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]),
  ],
  roleBindings: [binding('RoleBinding', 'sts', 'statefulsets', { namespace: 'prod' }), binding('RoleBinding', 'crds-in-db', 'crds', { namespace: 'db' })],
  clusterRoleBindings: [binding('ClusterRoleBinding', 'too-much', 'too-much'), binding('ClusterRoleBinding', 'admin-for-someone-else', 'admin', { subjects: [{ kind: 'User', name: 'alice' }] })],
};
const catalog = kindCatalog(BUILTIN_KINDS);

describe('kubectl suture audit', () => {
  it('names the danger of an excess: impersonate first (issue 9), then wildcards, escalate/bind, secrets cluster-wide, admission, CRDs, RBAC, Suture', () => {
    expect(DANGERS.slice(0, 6)).to.deep.equal(['impersonate', 'wildcard', 'escalate/bind', 'secrets cluster-wide', 'admission configuration', 'CRDs']);
    // cluster-admin's `*` on everything includes impersonate and escalate/bind: it ranks as impersonate.
    expect(dangersOf({ verbs: ['*'], apiGroups: ['*'], resources: ['*'], via: 'x' })).to.deep.equal(['impersonate', 'wildcard', 'escalate/bind', 'secrets cluster-wide', 'admission configuration', 'CRDs', 'RBAC', 'Suture objects']);
    expect(dangersOf({ verbs: ['*'], apiGroups: [''], resources: ['serviceaccounts'], via: 'x' })).to.deep.equal(['impersonate', 'wildcard']);
    expect(dangersOf({ verbs: ['*'], apiGroups: ['apps'], resources: ['deployments'], via: 'x' })).to.deep.equal(['wildcard']);
    // Constrained impersonation (KEP-5284, beta in 1.37) is impersonation too.
    expect(dangersOf({ verbs: ['impersonate:serviceaccount'], apiGroups: ['authentication.k8s.io'], resources: ['serviceaccounts'], via: 'x' })).to.deep.equal(['impersonate']);
    expect(dangersOf({ verbs: ['impersonate-on:user-info:delete'], apiGroups: [''], resources: ['persistentvolumeclaims'], via: 'x' })).to.deep.equal(['impersonate']);
    expect(dangersOf({ verbs: ['bind'], apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], via: 'x' })).to.deep.equal(['escalate/bind', 'RBAC']);
    expect(dangersOf({ verbs: ['get'], apiGroups: [''], resources: ['secrets'], namespace: 'db', via: 'x' })).to.deep.equal([]);
    expect(dangersOf({ verbs: ['delete'], apiGroups: [''], resources: ['configmaps'], via: 'x' })).to.deep.equal([]);
  });

  it('audits an identity: its leases, effective rules with their bindings, needs, the excess dangerous first', () => {
    const a = auditIdentity(subjectOf('system:serviceaccount:db:pg-op'), [lease], rbac, catalog);
    expect(a.identity).to.equal('system:serviceaccount:db:pg-op');
    expect(a.leases).to.deep.equal([{ namespace: 'db', name: 'pg', phase: 'Granted' }]);
    expect(a.effective.map((r) => r.via)).to.have.members(['ClusterRoleBinding/too-much', 'ClusterRoleBinding/too-much', 'ClusterRoleBinding/too-much', 'ClusterRoleBinding/too-much', 'RoleBinding/prod/sts', 'RoleBinding/db/crds-in-db']);
    expect(a.needs.map((n) => n.namespace)).to.deep.equal(['prod']);
    const rows = a.excess.map((e) => `${e.dangers.join('+') || '-'} ${e.verbs.join(',')} ${e.resources.join(',')} ${e.namespace ?? '(cluster)'} ${e.via}`);
    expect(rows).to.deep.equal([
      'impersonate impersonate serviceaccounts,users (cluster) ClusterRoleBinding/too-much',
      'secrets cluster-wide get,list secrets (cluster) ClusterRoleBinding/too-much',
      'admission configuration delete validatingwebhookconfigurations (cluster) ClusterRoleBinding/too-much',
      'CRDs update customresourcedefinitions db RoleBinding/db/crds-in-db',
      '- delete configmaps (cluster) ClusterRoleBinding/too-much',
    ]);
  });

  it('the statefulsets its lease needs are not excess; a binding for another user is not its', () => {
    const a = auditIdentity(subjectOf('system:serviceaccount:db:pg-op'), [lease], rbac, catalog);
    expect(a.excess.some((e) => e.via === 'RoleBinding/prod/sts')).to.equal(false);
    expect(a.effective.some((r) => r.via === 'ClusterRoleBinding/admin-for-someone-else')).to.equal(false);
    const alice = auditIdentity(subjectOf('alice'), [lease], rbac, catalog);
    expect(alice.leases).to.deep.equal([]);
    expect(alice.excess[0]?.dangers[0]).to.equal('impersonate');
  });

  it('ranks an impersonating grant above a wildcard, whatever the bindings are called', () => {
    const ranked = {
      roles: [],
      clusterRoles: [clusterRole('everything-in-apps', [{ apiGroups: ['apps'], resources: ['*'], verbs: ['*'] }]), clusterRole('zz-impersonator', [{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'] }]), clusterRole('secrets', [{ apiGroups: [''], resources: ['secrets'], verbs: ['delete'] }])],
      roleBindings: [],
      clusterRoleBindings: [binding('ClusterRoleBinding', 'a-apps', 'everything-in-apps'), binding('ClusterRoleBinding', 'b-secrets', 'secrets'), binding('ClusterRoleBinding', 'z-impersonate', 'zz-impersonator')],
    };
    const a = auditIdentity(subjectOf('system:serviceaccount:db:pg-op'), [lease], ranked, catalog);
    expect(a.excess.map((e) => `${e.dangers[0] ?? '-'} ${e.via}`)).to.deep.equal(['impersonate ClusterRoleBinding/z-impersonate', 'wildcard ClusterRoleBinding/a-apps', 'secrets cluster-wide ClusterRoleBinding/b-secrets']);
    // The lease status's sensitive list (Suture's own audit, the LeastPrivilege condition) leads with it too.
    const needs = a.needs;
    expect(auditHolder(subjectOf('system:serviceaccount:db:pg-op'), ranked, needs).sensitive.map((e) => e.via)).to.deep.equal(['ClusterRoleBinding/z-impersonate', 'ClusterRoleBinding/a-apps']);
    const constrained = { ...ranked, clusterRoles: [clusterRole('zz-impersonator', [{ apiGroups: ['authentication.k8s.io'], resources: ['serviceaccounts'], verbs: ['impersonate:serviceaccount'] }])], clusterRoleBindings: [binding('ClusterRoleBinding', 'z-impersonate', 'zz-impersonator')] };
    expect(auditHolder(subjectOf('system:serviceaccount:db:pg-op'), constrained, needs).sensitive.map((e) => e.verbs)).to.deep.equal([['impersonate:serviceaccount']]);
  });

  it('prints a header and the excess table; -o wide adds effective RBAC and needs', () => {
    const a = auditIdentity(subjectOf('system:serviceaccount:db:pg-op'), [lease], rbac, catalog);
    const text = auditText(a, false);
    expect(text.slice(0, 4)).to.deep.equal([
      'IDENTITY  system:serviceaccount:db:pg-op',
      'LEASES    db/pg (Granted)',
      'RBAC      6 rule(s) from 3 binding(s); leases need 2 rule(s) in 1 scope(s)',
      'EXCESS    5 grant(s) beyond the leases, 4 dangerous',
    ]);
    expect(text[5]).to.match(/^DANGER +VERBS +RESOURCES +API-GROUPS +SCOPE +GRANTED-BY$/);
    expect(text[7]).to.match(/^secrets cluster-wide +get,list +secrets +core +\(cluster\) +ClusterRoleBinding\/too-much$/);
    const wide = auditText(a, true).join('\n');
    expect(wide).to.include('Effective RBAC:').and.include('Needed by its leases:');
    expect(wide).to.match(/get,list,watch,create,update,patch,delete +statefulsets +apps +prod +RoleBinding\/prod\/sts/);
  });

  it('identities: holders once each, subjects from names; --fail-on', () => {
    expect(holdersOf([lease, lease]).length).to.equal(1);
    expect(subjectOf('system:serviceaccount:a:b')).to.deep.equal({ kind: 'ServiceAccount', namespace: 'a', name: 'b' });
    expect(subjectOf('group:ops')).to.deep.equal({ kind: 'Group', name: 'ops' });
    expect(subjectOf('alice')).to.deep.equal({ kind: 'User', name: 'alice' });
    const a = auditIdentity(subjectOf('system:serviceaccount:db:pg-op'), [lease], rbac, catalog);
    const clean = { ...a, excess: a.excess.map((e) => ({ ...e, dangers: [] })) };
    expect([auditFails([a], 'dangerous'), auditFails([clean], 'dangerous'), auditFails([clean], 'any'), auditFails([a], undefined)]).to.deep.equal([true, false, true, false]);
  });
});
