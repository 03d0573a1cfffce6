import { expect } from 'chai';
import type { SutureLease, SutureLeaseSpec } from '../../../../src/api/types.js';
import { kindCatalog } from '../../../../src/core/generate/kinds.js';
import { MAX_NAME_LENGTH, generatedName, leaseOfLabel } from '../../../../src/core/generate/names.js';
import { buildLeaseRbac } from '../../../../src/core/generate/rbac.js';
import { BUILTIN_KINDS } from '../../../../src/core/snapshot.js';
import { expectGolden } from './golden.js';

const catalog = kindCatalog(BUILTIN_KINDS);

function lease(namespace: string, name: string, spec: Partial<SutureLeaseSpec>): SutureLease {
  return {
    apiVersion: 'suture.dev/v1alpha1',
    kind: 'SutureLease',
    metadata: { namespace, name, uid: `uid-${namespace}-${name}` },
    spec: { holder: { kind: 'ServiceAccount', name: 'op', namespace }, resources: [], ...spec },
  };
}

const postgres = lease('db-system', 'postgres', {
  holder: { kind: 'ServiceAccount', name: 'postgres-operator', namespace: 'db-system' },
  resources: [
    { apiGroups: ['apps'], kinds: ['StatefulSet'], namespaces: ['prod'], selector: { matchLabels: { app: 'pg' } } },
    { apiGroups: [''], kinds: ['PersistentVolumeClaim', 'Service', 'Secret'], namespaces: ['prod', 'staging'], namePrefixes: ['pg-'] },
  ],
});

describe('core/generate/rbac', () => {
  it('golden: a Role and RoleBinding per leased namespace, not owned across namespaces', () => {
    const plan = buildLeaseRbac(postgres, catalog);
    expectGolden('rbac-namespaced', plan.objects);
    expect(plan.objects.map((o) => `${o.kind} ${o.metadata.namespace}`)).to.deep.equal(['Role prod', 'Role staging', 'RoleBinding prod', 'RoleBinding staging']);
    expect(plan.objects.every((o) => o.metadata.ownerReferences === undefined)).to.be.true;
    expect(plan.notes).to.deep.equal([]);
  });

  it('golden: cluster-scoped kinds and resources without namespaces get a ClusterRole; names become resourceNames except for create', () => {
    const l = lease('ops', 'platform', {
      holder: { kind: 'User', name: 'alice@example.com' },
      resources: [
        { kinds: ['Namespace'], names: ['team-a', 'team-b'] },
        { apiGroups: ['apps'], kinds: ['Deployment'], names: ['nginx'] },
        { apiGroups: [''], kinds: ['ConfigMap'], namespaces: ['ops'] },
        { apiGroups: ['example.com'], kinds: ['Widget'], namespaces: ['ops'] },
      ],
    });
    const plan = buildLeaseRbac(l, catalog);
    expectGolden('rbac-cluster', plan.objects);
    const role = plan.objects.find((o) => o.kind === 'Role');
    expect(role?.metadata.ownerReferences?.[0]).to.include({ kind: 'SutureLease', name: 'platform', uid: 'uid-ops-platform', controller: true });
    const cluster = plan.objects.find((o) => o.kind === 'ClusterRole');
    const rules = cluster?.['rules'] as { verbs: string[]; resourceNames?: string[]; resources: string[] }[];
    const deployments = rules.filter((r) => r.resources.includes('deployments'));
    expect(deployments.find((r) => r.verbs.includes('create'))?.resourceNames).to.equal(undefined);
    expect(deployments.find((r) => r.verbs.includes('delete'))?.resourceNames).to.deep.equal(['nginx']);
    expect(plan.notes).to.deep.equal(['kind example.com/Widget is not served by the API server; no RBAC generated for it']);
  });

  it('rbac: None generates nothing but still states the needs', () => {
    const plan = buildLeaseRbac({ ...postgres, spec: { ...postgres.spec, rbac: 'None' } }, catalog);
    expect(plan.objects).to.deep.equal([]);
    expect(plan.needs.map((n) => n.namespace)).to.deep.equal(['prod', 'staging']);
  });

  it('is deterministic', () => {
    expect(buildLeaseRbac(postgres, catalog)).to.deep.equal(buildLeaseRbac(structuredClone(postgres), catalog));
  });

  it('names are DNS labels of at most 63 characters ending in a hash, distinct when truncated', () => {
    const long = 'x'.repeat(80);
    const a = generatedName(['suture', long, 'a']);
    const b = generatedName(['suture', long, 'b']);
    expect(a).to.have.length.at.most(MAX_NAME_LENGTH).and.match(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).and.match(/-[0-9a-f]{8}$/);
    expect(a).to.not.equal(b);
    expect(generatedName(['suture', 'db-system', 'postgres'])).to.match(/^suture-db-system-postgres-[0-9a-f]{8}$/);
  });

  it('reads the lease back from the label', () => {
    expect(leaseOfLabel('db-system.pg.v2')).to.deep.equal({ namespace: 'db-system', name: 'pg.v2' });
    expect(leaseOfLabel('nodot')).to.equal(undefined);
  });
});
