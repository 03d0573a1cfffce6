import { expect } from 'chai';
import type { KubeObject, Subject, SutureLease } from '../../../../src/api/types.js';
import { auditHolder, effectiveRules, type RbacObjects } from '../../../../src/core/generate/audit.js';
import { kindCatalog } from '../../../../src/core/generate/kinds.js';
import { buildLeaseRbac, leaseNeeds } from '../../../../src/core/generate/rbac.js';
import { BUILTIN_KINDS } from '../../../../src/core/snapshot.js';

const catalog = kindCatalog(BUILTIN_KINDS);
const holder: Subject = { kind: 'ServiceAccount', name: 'pg', namespace: 'db-system' };
const lease: SutureLease = {
  apiVersion: 'suture.dev/v1alpha1',
  kind: 'SutureLease',
  metadata: { namespace: 'db-system', name: 'postgres', uid: 'u1' },
  spec: { holder, resources: [{ apiGroups: ['apps'], kinds: ['StatefulSet'], namespaces: ['prod'] }] },
};

const rbac = (kind: string, at: string, fields: Record<string, unknown>): KubeObject => {
  const [namespace, name] = at.includes('/') ? at.split('/') : [undefined, at];
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind, metadata: { name, ...(namespace === undefined ? {} : { namespace }) }, ...fields };
};
const saSubject = { kind: 'ServiceAccount', name: 'pg', namespace: 'db-system' };

function objects(extra: Partial<RbacObjects>): RbacObjects {
  const generated = buildLeaseRbac(lease, catalog).objects;
  return {
    roles: [...generated.filter((o) => o.kind === 'Role'), ...(extra.roles ?? [])],
    clusterRoles: [...(extra.clusterRoles ?? [])],
    roleBindings: [...generated.filter((o) => o.kind === 'RoleBinding'), ...(extra.roleBindings ?? [])],
    clusterRoleBindings: [...(extra.clusterRoleBindings ?? [])],
  };
}

describe('core/generate/audit', () => {
  const { needs } = leaseNeeds(lease, catalog);

  it('the generated RBAC alone is no excess', () => {
    expect(auditHolder(holder, objects({}), needs)).to.deep.equal({ excess: [], sensitive: [] });
  });

  it('flags cluster-wide writes beyond the lease, and writes to webhooks, CRDs and RBAC as sensitive', () => {
    const result = auditHolder(
      holder,
      objects({
        clusterRoles: [
          rbac('ClusterRole', 'operator', {
            rules: [
              { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['get', 'list', 'update'] },
              { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], verbs: ['delete'] },
              { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['create'] },
              { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
            ],
          }),
        ],
        clusterRoleBindings: [rbac('ClusterRoleBinding', 'operator', { roleRef: { kind: 'ClusterRole', name: 'operator' }, subjects: [saSubject] })],
      }),
      needs,
    );
    expect(result.excess).to.deep.equal([
      { verbs: ['update'], apiGroups: ['apps'], resources: ['statefulsets'], via: 'ClusterRoleBinding/operator' },
      { verbs: ['delete'], apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], via: 'ClusterRoleBinding/operator' },
      { verbs: ['create'], apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], via: 'ClusterRoleBinding/operator' },
    ]);
    expect(result.sensitive.map((e) => e.apiGroups[0])).to.deep.equal(['admissionregistration.k8s.io', 'apiextensions.k8s.io']);
  });

  it('a namespaced grant inside the lease is covered; in another namespace it is excess; groups of service accounts count', () => {
    const role = rbac('ClusterRole', 'sts-writer', { rules: [{ apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['patch'] }] });
    const result = auditHolder(
      holder,
      objects({
        clusterRoles: [role],
        roleBindings: [
          rbac('RoleBinding', 'prod/ok', { roleRef: { kind: 'ClusterRole', name: 'sts-writer' }, subjects: [saSubject] }),
          rbac('RoleBinding', 'staging/extra', { roleRef: { kind: 'ClusterRole', name: 'sts-writer' }, subjects: [{ kind: 'Group', name: 'system:serviceaccounts:db-system' }] }),
          rbac('RoleBinding', 'staging/other', { roleRef: { kind: 'ClusterRole', name: 'sts-writer' }, subjects: [{ kind: 'ServiceAccount', name: 'someone-else', namespace: 'db-system' }] }),
        ],
      }),
      needs,
    );
    expect(result.excess).to.deep.equal([{ verbs: ['patch'], apiGroups: ['apps'], resources: ['statefulsets'], namespace: 'staging', via: 'RoleBinding/staging/extra' }]);
    expect(result.sensitive).to.deep.equal([]);
  });

  it('wildcards are excess and sensitive (cluster-admin)', () => {
    const result = auditHolder(
      holder,
      objects({
        clusterRoles: [rbac('ClusterRole', 'cluster-admin', { rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }] })],
        clusterRoleBindings: [rbac('ClusterRoleBinding', 'admin', { roleRef: { kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'User', name: 'system:serviceaccount:db-system:pg' }] })],
      }),
      needs,
    );
    expect(result.excess).to.deep.equal([{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], via: 'ClusterRoleBinding/admin' }]);
    expect(result.sensitive).to.have.length(1);
  });

  it('effective rules of a user come from User and system:authenticated bindings', () => {
    const rules = effectiveRules(
      { kind: 'User', name: 'alice' },
      {
        roles: [],
        roleBindings: [],
        clusterRoles: [rbac('ClusterRole', 'view', { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] })],
        clusterRoleBindings: [
          rbac('ClusterRoleBinding', 'a', { roleRef: { kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', name: 'alice' }] }),
          rbac('ClusterRoleBinding', 'b', { roleRef: { kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'Group', name: 'system:authenticated' }] }),
          rbac('ClusterRoleBinding', 'c', { roleRef: { kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', name: 'bob' }] }),
        ],
      },
    );
    expect(rules.map((r) => r.via)).to.deep.equal(['ClusterRoleBinding/a', 'ClusterRoleBinding/b']);
  });

  it('names bindings listed from the API server, whose items carry no kind, by where they came from', () => {
    const bare = (o: KubeObject): KubeObject => ({ ...o, kind: undefined as unknown as string });
    const rules = effectiveRules(
      { kind: 'User', name: 'alice' },
      {
        roles: [rbac('Role', 'ns/edit', { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['delete'] }] })],
        roleBindings: [bare(rbac('RoleBinding', 'ns/r', { roleRef: { kind: 'Role', name: 'edit' }, subjects: [{ kind: 'User', name: 'alice' }] }))],
        clusterRoles: [rbac('ClusterRole', 'view', { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] })],
        clusterRoleBindings: [bare(rbac('ClusterRoleBinding', 'c', { roleRef: { kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', name: 'alice' }] }))],
      },
    );
    expect(rules.map((r) => r.via)).to.deep.equal(['ClusterRoleBinding/c', 'RoleBinding/ns/r']);
  });

  it('what every identity may ask about itself (system:basic-user) is not excess', () => {
    const basicUser = rbac('ClusterRole', 'system:basic-user', {
      rules: [
        { apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create'] },
        { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] },
        { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
      ],
    });
    const bound = rbac('ClusterRoleBinding', 'system:basic-user', { roleRef: { kind: 'ClusterRole', name: 'system:basic-user' }, subjects: [{ kind: 'Group', name: 'system:authenticated' }] });
    const result = auditHolder(holder, objects({ clusterRoles: [basicUser], clusterRoleBindings: [bound] }), needs);
    expect(result.excess).to.deep.equal([{ verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], via: 'ClusterRoleBinding/system:basic-user' }]);
  });
});
