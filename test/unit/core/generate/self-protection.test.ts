import { evaluate } from '@marcbachmann/cel-js';
import { expect } from 'chai';
import { BUDGET_LABEL, budgetConfigMapName } from '../../../../src/admission/budgets.js';
import { FLOOR_LABEL, floorConfigMapName } from '../../../../src/admission/floors.js';
import { allowedGroups, allowedUsers, buildSelfProtection, buildSelfProtectionPolicy, protectedResources, protectedState, STATIC_SUFFIX } from '../../../../src/core/generate/self-protection.js';
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

  it("protects Suture's state in its namespace: the floor and budget ConfigMaps the stores write, by name prefix and by label", () => {
    const [state, ...more] = protectedState();
    expect(more).to.deep.equal([]);
    expect(state).to.deep.include({ group: '', resource: 'configmaps' });
    // What the stores name and label their ConfigMaps is what the policy covers, also for names cut at 40 characters.
    for (const name of [floorConfigMapName('p'), budgetConfigMapName('p'), floorConfigMapName('x'.repeat(80)), budgetConfigMapName('Upper_Case.policy')]) {
      expect(state?.namePrefixes.some((p) => name.startsWith(p)), name).to.equal(true);
    }
    expect(state?.labels).to.have.members([FLOOR_LABEL, BUDGET_LABEL]);
  });

  it('matches every ConfigMap of the namespace by rule and keeps the state by a match condition on the new and the old object', () => {
    for (const variant of [config, { ...config, static: true }]) {
      const spec = buildSelfProtectionPolicy(variant).spec as {
        matchConstraints: { namespaceSelector: unknown; resourceRules: { resources: string[]; resourceNames?: string[]; scope: string; operations: string[] }[] };
        matchConditions: { name: string; expression: string }[];
      };
      const rule = spec.matchConstraints.resourceRules.find((r) => r.resources.includes('configmaps'));
      expect(rule).to.deep.include({ scope: 'Namespaced', operations: ['CREATE', 'UPDATE', 'DELETE'] });
      expect(rule?.resourceNames, 'no names: the names are not known in advance').to.equal(undefined);
      expect(spec.matchConstraints.namespaceSelector).to.deep.equal({ matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['suture-system'] }] });
      expect(spec.matchConditions).to.have.length(1);
      const expression = spec.matchConditions[0]?.expression ?? '';
      // Any other resource the rules match (by exact name) passes the condition as it is.
      expect(expression.startsWith("!((request.resource.group == '' && request.resource.resource == 'configmaps')) || ")).to.equal(true);
      for (const o of ['object', 'oldObject']) {
        expect(expression).to.contain(`${o} != null`);
        for (const prefix of ['suture-floor-', 'suture-budget-']) expect(expression).to.contain(`${o}.metadata.name.startsWith('${prefix}')`);
        expect(expression).to.contain(`['suture.dev/budget', 'suture.dev/floor'].exists(k, k in ${o}.metadata.labels)`);
      }
    }
  });

  it('the match condition, evaluated (cel-js; the API server itself in test/integration/self-protection.test.ts): state by prefix or label, new or old object', () => {
    const spec = buildSelfProtectionPolicy(config).spec as { matchConditions: { expression: string }[] };
    const expression = spec.matchConditions[0]?.expression ?? '';
    const cm = (name: string, labels?: Record<string, string>): object => ({ metadata: { name, ...(labels === undefined ? {} : { labels }) } });
    const matched = (resource: string, object: object | null, oldObject: object | null, group = ''): unknown => evaluate(expression, { request: { resource: { group, version: 'v1', resource } }, object, oldObject });
    const cases: [string, unknown, boolean][] = [
      ['CREATE of a lookalike by name, no label', matched('configmaps', cm(floorConfigMapName('next')), null), true],
      ['CREATE of a budget lookalike by name', matched('configmaps', cm(budgetConfigMapName('next')), null), true],
      ['CREATE under another name with the budget label (any value)', matched('configmaps', cm('notes', { [BUDGET_LABEL]: 'false' }), null), true],
      ['UPDATE stripping the floor label of a ConfigMap under another name', matched('configmaps', cm('notes', {}), cm('notes', { [FLOOR_LABEL]: 'true' })), true],
      ['DELETE of a floor ConfigMap (no new object)', matched('configmaps', null, cm(floorConfigMapName('db'), { [FLOOR_LABEL]: 'true' })), true],
      ['CREATE of an unrelated ConfigMap', matched('configmaps', cm('notes', { app: 'x' }), null), false],
      ['DELETE of kube-root-ca.crt', matched('configmaps', null, cm('kube-root-ca.crt')), false],
      ['a name that only contains the prefix', matched('configmaps', cm('x-suture-floor-y'), null), false],
      ['any other resource the rules match by name', matched('secrets', null, cm('suture-webhook-cert')), true],
      ['a cluster-scoped one', matched('validatingwebhookconfigurations', cm('suture'), cm('suture'), 'admissionregistration.k8s.io'), true],
    ];
    for (const [what, got, want] of cases) expect(got, what).to.equal(want);
  });
});
