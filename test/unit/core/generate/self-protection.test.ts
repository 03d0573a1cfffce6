import { expect } from 'chai';
import { allowedGroups, allowedUsers, buildSelfProtection, protectedResources, STATIC_SUFFIX } from '../../../../src/core/generate/self-protection.js';
import { expectGolden } from './golden.js';

const config = { namespace: 'suture-system', serviceAccount: 'suture', adminUsers: ['alice'], adminGroups: ['platform-admins'] };

describe('core/generate/self-protection', () => {
  it('golden: the API-based policy and binding', () => {
    expectGolden('self-protection', buildSelfProtection(config));
  });

  it('golden: the static variant (names end in .static.k8s.io; the API-based policy and binding are protected too)', () => {
    const objects = buildSelfProtection({ ...config, adminUsers: [], adminGroups: [], static: true });
    expectGolden('self-protection-static', objects);
    for (const o of objects) expect(o.metadata.name).to.match(/\.static\.k8s\.io$/);
    expect((objects[1]?.spec as { policyName: string }).policyName.endsWith(STATIC_SUFFIX)).to.equal(true);
  });

  it('protects the webhook configurations, CRDs, RBAC, namespace, Deployment, Service, Secret and leader Lease', () => {
    const names = protectedResources(config).map((r) => `${r.resource}/${r.names.join('+')}`);
    expect(names).to.include.members([
      'validatingwebhookconfigurations/suture',
      'mutatingwebhookconfigurations/suture',
      'customresourcedefinitions/sutureexceptions.suture.dev+sutureleases.suture.dev+suturepolicies.suture.dev',
      'clusterroles/suture',
      'clusterrolebindings/suture',
      'namespaces/suture-system',
      'deployments/suture',
      'services/suture-webhook',
      'secrets/suture-webhook-cert',
      'leases/suture-leader',
    ]);
    expect(names.some((n) => n.startsWith('validatingadmissionpolicies/'))).to.equal(false);
  });

  it('allows Suture, system:masters and the configured admins; nobody else (a cluster-admin binding is not enough)', () => {
    expect(allowedUsers(config)).to.deep.equal(['alice', 'system:serviceaccount:suture-system:suture']);
    expect(allowedGroups(config)).to.deep.equal(['platform-admins', 'system:masters']);
    const [policy] = buildSelfProtection({ ...config, adminUsers: ["o'brien"] });
    const admin = (policy?.spec as { variables: { name: string; expression: string }[] }).variables.find((v) => v.name === 'admin');
    expect(admin?.expression).to.contain("'o\\'brien'");
  });
});
