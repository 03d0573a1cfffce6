import { evaluate } from '@marcbachmann/cel-js';
import { expect } from 'chai';
import type { SutureLease, SuturePolicy, SuturePolicySpec } from '../../../../src/api/types.js';
import { kindCatalog } from '../../../../src/core/generate/kinds.js';
import type { WebhookConfig, WebhookInputs } from '../../../../src/core/generate/webhooks.js';
import { buildWebhookConfigurations, effectTargets, governedExpression, identityRules, mutatingRules, validatingRules } from '../../../../src/core/generate/webhooks.js';
import { type CompiledPolicy, compilePolicy } from '../../../../src/core/policy.js';
import { BUILTIN_KINDS } from '../../../../src/core/snapshot.js';
import { expectGolden } from './golden.js';

const catalog = kindCatalog(BUILTIN_KINDS);

function policy(name: string, spec: Partial<SuturePolicySpec>): CompiledPolicy {
  const source: SuturePolicy = {
    apiVersion: 'suture.dev/v1alpha1',
    kind: 'SuturePolicy',
    metadata: { name },
    spec: { match: [{}], invariants: [{ name: 'keep', protect: {} }], ...spec },
  };
  const compiled = compilePolicy(source);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
  return compiled.policy;
}

const protectPvcs = policy('protect-pvcs', {
  subjects: [{ kind: 'ServiceAccount', namespace: 'db-system', name: '*' }, { kind: 'User', name: 'alice@example.com' }, { kind: 'Group', name: 'ops' }],
  match: [{ apiGroups: [''], kinds: ['PersistentVolumeClaim'], namespaces: ['prod'] }],
  operations: ['DELETE', 'UPDATE'],
});
const replicas = policy('replicas', {
  match: [{ apiGroups: ['apps'], kinds: ['Deployment', 'StatefulSet'] }],
  operations: ['UPDATE'],
  invariants: [{ name: 'two', minAvailable: { count: 2 }, avert: { set: [{ path: '/spec/replicas', value: '2' }] } }],
});
const widgets = policy('widgets', { match: [{ apiGroups: ['example.com'], kinds: ['Widget'] }], operations: ['CREATE'] });
const lease: SutureLease = {
  apiVersion: 'suture.dev/v1alpha1',
  kind: 'SutureLease',
  metadata: { namespace: 'db-system', name: 'postgres' },
  spec: { holder: { kind: 'ServiceAccount', name: 'pg', namespace: 'db-system' }, resources: [{ apiGroups: [''], kinds: ['Secret', 'Service'], namespaces: ['prod'] }] },
};

const local: WebhookConfig = { client: { url: 'https://127.0.0.1:9443/' }, caBundle: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', exemptNamespaces: ['suture-system', 'kube-system'] };
const inCluster: WebhookConfig = {
  name: 'suture-webhooks',
  client: { service: { name: 'suture-webhook', namespace: 'suture-system', port: 443 } },
  caBundle: 'CA',
  failurePolicy: 'Ignore',
  timeoutSeconds: 5,
  exemptNamespaces: ['suture-system', 'kube-system'],
  exemptUsers: ['break-glass'],
  exemptGroups: ['system:masters'],
};
const full: WebhookInputs = { policies: [protectPvcs, replicas, widgets], leases: [lease], catalog };
const empty: WebhookInputs = { policies: [], leases: [], catalog };

describe('core/generate/webhooks', () => {
  it('golden: no policies and no leases keeps the objects webhook and empty governed webhooks', () => {
    const { validating, mutating } = buildWebhookConfigurations(empty, local);
    expectGolden('webhooks-empty', [validating, mutating]);
    const hooks = validating['webhooks'] as { name: string; rules?: unknown[]; clientConfig: { url: string } }[];
    expect(hooks.map((h) => h.name)).to.deep.equal(['validate.suture.dev', 'identities.suture.dev', 'effects.suture.dev', 'objects.suture.dev']);
    expect(hooks[0]?.rules).to.equal(undefined);
    expect(hooks[2]?.rules).to.equal(undefined);
    expect(hooks.map((h) => h.clientConfig.url)).to.deep.equal(['https://127.0.0.1:9443/validate', 'https://127.0.0.1:9443/validate', 'https://127.0.0.1:9443/validate', 'https://127.0.0.1:9443/validate-objects']);
  });

  it('golden: policies and a lease, in-cluster service', () => {
    const { validating, mutating } = buildWebhookConfigurations(full, inCluster);
    expectGolden('webhooks-full', [validating, mutating]);
    expect((mutating['webhooks'] as { name: string }[])[0]?.name).to.equal('mutate.suture.dev');
  });

  it('rules: policy kinds with their operations, subresources for UPDATE, DELETE of everything, updates that can delete, unknown kinds by group', () => {
    expect(validatingRules(full)).to.deep.equal([
      { apiGroups: ['*'], apiVersions: ['*'], operations: ['DELETE'], resources: ['*/*'], scope: '*' },
      // the floor's pod deletes are judged (a removed pod lowers it), so are evictions
      { apiGroups: [''], apiVersions: ['*'], operations: ['CREATE'], resources: ['pods/eviction'], scope: '*' },
      { apiGroups: [''], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['secrets', 'services'], scope: '*' },
      { apiGroups: [''], apiVersions: ['*'], operations: ['UPDATE'], resources: ['persistentvolumeclaims', 'persistentvolumeclaims/scale', 'persistentvolumeclaims/status', 'pods/status', 'secrets/scale', 'secrets/status', 'services/scale', 'services/status'], scope: '*' },
      { apiGroups: ['apps'], apiVersions: ['*'], operations: ['UPDATE'], resources: ['deployments', 'deployments/scale', 'deployments/status', 'statefulsets', 'statefulsets/scale', 'statefulsets/status'], scope: '*' },
      // an HPA sets its target's replicas (issue 9, item 4)
      { apiGroups: ['autoscaling'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['horizontalpodautoscalers'], scope: '*' },
      { apiGroups: ['example.com'], apiVersions: ['*'], operations: ['CREATE'], resources: ['*/*'], scope: '*' },
      // scale-downs, ownerReference and finalizer changes can remove objects: every update but of status
      { apiGroups: ['*'], apiVersions: ['*'], operations: ['UPDATE'], resources: ['*', '*/scale'], scope: '*' },
    ]);
  });

  it('eviction wherever pods are judged: by a policy on pods, a lease on pods, a floor on their owners; not otherwise', () => {
    const evicts = (inputs: WebhookInputs): boolean => validatingRules(inputs).some((r) => r.resources.includes('pods/eviction') && r.operations.includes('CREATE'));
    const pods = policy('pods', { match: [{ apiGroups: [''], kinds: ['Pod'], namespaces: ['prod'] }], operations: ['DELETE'] });
    const podLease: SutureLease = { ...lease, spec: { ...lease.spec, resources: [{ apiGroups: [''], kinds: ['Pod'], namespaces: ['prod'] }] } };
    const floor = policy('floor', { match: [{ apiGroups: ['apps'], kinds: ['StatefulSet'] }], operations: ['DELETE', 'UPDATE'], invariants: [{ name: 'two', minAvailable: { count: 2 } }] });
    expect(evicts({ policies: [pods], leases: [], catalog })).to.equal(true);
    expect(evicts({ policies: [], leases: [podLease], catalog })).to.equal(true);
    expect(evicts({ policies: [floor], leases: [], catalog })).to.equal(true);
    expect(evicts({ policies: [protectPvcs], leases: [lease], catalog })).to.equal(false);
    // A floor judged on UPDATE only still has its pods' deletes judged (a removed pod lowers it): evictions too.
    expect(evicts({ policies: [replicas], leases: [], catalog })).to.equal(true);
  });

  it('evictions.suture.dev gives every eviction its pod\'s resourceVersion wherever a validating webhook judges evictions; it is never called otherwise', () => {
    const evictions = (inputs: WebhookInputs): Record<string, unknown> | undefined => (buildWebhookConfigurations(inputs, local).mutating['webhooks'] as { name: string }[]).find((h) => h.name === 'evictions.suture.dev');
    const pods = policy('pods', { match: [{ apiGroups: [''], kinds: ['Pod'], namespaces: ['prod'] }], operations: ['DELETE'] });
    for (const inputs of [{ policies: [pods], leases: [], catalog }, { policies: [replicas], leases: [], catalog }]) {
      const hook = evictions(inputs);
      expect(hook?.['rules']).to.deep.equal([{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods/eviction'], scope: '*' }]);
      // From everyone (the effect is guarded whoever evicts), at /mutate, failing closed like the other webhooks.
      expect(hook).to.not.have.property('matchConditions');
      expect(hook).to.deep.include({ failurePolicy: 'Fail', reinvocationPolicy: 'Never', clientConfig: { url: 'https://127.0.0.1:9443/mutate', caBundle: Buffer.from(local.caBundle, 'utf8').toString('base64') } });
    }
    expect(evictions({ policies: [protectPvcs], leases: [lease], catalog })).to.not.have.property('rules');
    expect(evictions(empty)).to.not.have.property('rules');
  });

  it('identities webhook: a fixed set of rules, only governed identities writing into exempt namespaces or binding', () => {
    expect(identityRules().flatMap((r) => r.resources)).to.include.members(['serviceaccounts', 'serviceaccounts/token', 'pods', 'jobs', 'clusterrolebindings', 'rolebindings']);
    const hooks = buildWebhookConfigurations(empty, local).validating['webhooks'] as { name: string; namespaceSelector: unknown; matchConditions?: { name: string; expression: string }[] }[];
    const identities = hooks.find((h) => h.name === 'identities.suture.dev');
    expect(identities?.matchConditions?.map((c) => c.name)).to.deep.equal(['governed-identity', 'into-exempt-namespace-or-binding']);
    expect(identities?.matchConditions?.[1]?.expression).to.equal("request.namespace in ['kube-system', 'suture-system'] || request.resource.resource in ['clusterrolebindings', 'rolebindings']");
    // exemptions are by requester: no governed webhook skips a namespace
    for (const h of hooks.filter((x) => x.name !== 'objects.suture.dev')) expect(h.namespaceSelector).to.deep.equal({});
  });

  it('validate and identities never both receive a request: validate leaves identities its rules and scope (one decision per request)', () => {
    type Hook = { name: string; rules?: { apiGroups: string[]; operations: string[]; resources: string[] }[]; matchConditions?: { name: string; expression: string }[] };
    const hooks = buildWebhookConfigurations(full, inCluster).validating['webhooks'] as Hook[];
    const hook = (name: string): Hook => hooks.find((h) => h.name === name) ?? expect.fail(name);
    const validate = hook('validate.suture.dev');
    const identities = hook('identities.suture.dev');
    const ruled = (h: Hook, r: { group: string; resource: string; sub?: string; op: string }): boolean =>
      (h.rules ?? []).some((x) => (x.apiGroups.includes(r.group) || x.apiGroups.includes('*')) && x.operations.includes(r.op) && x.resources.some((res) => res === '*/*' || res === (r.sub === undefined ? r.resource : `${r.resource}/${r.sub}`) || (res === '*' && r.sub === undefined)));
    // The API server's CEL: a field the request lacks (namespace of a cluster-scoped request) is an error, which fails the
    // webhook call unless the expression short-circuits around it, as these must.
    const conditionsHold = (h: Hook, request: Record<string, unknown>): boolean => (h.matchConditions ?? []).every((c) => evaluate(c.expression, { request }) === true);
    const operator = { username: 'system:serviceaccount:db:operator', groups: ['system:serviceaccounts'] };
    const cases: [string, { group: string; resource: string; sub?: string; op: string; namespace?: string }, 'identities' | 'validate'][] = [
      ['ClusterRoleBinding create', { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', op: 'CREATE' }, 'identities'],
      ['RoleBinding update in db', { group: 'rbac.authorization.k8s.io', resource: 'rolebindings', op: 'UPDATE', namespace: 'db' }, 'identities'],
      ['Pod create in kube-system', { group: '', resource: 'pods', op: 'CREATE', namespace: 'kube-system' }, 'identities'],
      ['token of a kube-system service account', { group: '', resource: 'serviceaccounts', sub: 'token', op: 'CREATE', namespace: 'kube-system' }, 'identities'],
      ['ephemeral container in kube-system', { group: '', resource: 'pods', sub: 'ephemeralcontainers', op: 'UPDATE', namespace: 'kube-system' }, 'identities'],
      ['Deployment update in suture-system', { group: 'apps', resource: 'deployments', op: 'UPDATE', namespace: 'suture-system' }, 'identities'],
      ['Deployment scale in suture-system', { group: 'apps', resource: 'deployments', sub: 'scale', op: 'UPDATE', namespace: 'suture-system' }, 'validate'],
      ['Deployment update in db', { group: 'apps', resource: 'deployments', op: 'UPDATE', namespace: 'db' }, 'validate'],
      ['Role create in db', { group: 'rbac.authorization.k8s.io', resource: 'roles', op: 'CREATE', namespace: 'db' }, 'validate'],
      ['ClusterRole create', { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', op: 'CREATE' }, 'validate'],
      ['Secret delete in kube-system', { group: '', resource: 'secrets', op: 'DELETE', namespace: 'kube-system' }, 'validate'],
      ['Namespace delete', { group: '', resource: 'namespaces', op: 'DELETE' }, 'validate'],
    ];
    for (const [what, r, expected] of cases) {
      const request = { userInfo: operator, operation: r.op, resource: { group: r.group, version: 'v1', resource: r.resource }, ...(r.sub === undefined ? {} : { subResource: r.sub }), ...(r.namespace === undefined ? {} : { namespace: r.namespace }) };
      const toIdentities = ruled(identities, r) && conditionsHold(identities, request);
      expect(toIdentities, what).to.equal(expected === 'identities');
      if (expected === 'identities') expect(conditionsHold(validate, request), `${what}: validate leaves it to identities`).to.equal(false);
      else expect(conditionsHold(validate, request), `${what}: validate's conditions hold`).to.equal(true);
    }
  });

  it('effects webhook: removals (and floor reductions) of what protect and floors match, from everyone not governed', () => {
    const floor = policy('floor', { match: [{ apiGroups: ['apps'], kinds: ['StatefulSet'], namespaces: ['db'], selector: { matchLabels: { app: 'pg' } } }], operations: ['DELETE', 'UPDATE'], invariants: [{ name: 'two', minAvailable: { count: 2 } }] });
    const { rules, targets } = effectTargets({ policies: [protectPvcs, floor, widgets], leases: [lease], catalog });
    expect(rules).to.deep.equal([
      { apiGroups: [''], apiVersions: ['*'], operations: ['CREATE'], resources: ['pods/eviction'], scope: '*' },
      { apiGroups: [''], apiVersions: ['*'], operations: ['DELETE'], resources: ['persistentvolumeclaims', 'pods'], scope: '*' },
      { apiGroups: ['apps'], apiVersions: ['*'], operations: ['UPDATE'], resources: ['statefulsets/scale'], scope: '*' },
      { apiGroups: ['apps'], apiVersions: ['*'], operations: ['UPDATE', 'DELETE'], resources: ['statefulsets'], scope: '*' },
    ]);
    expect(targets.map((t) => `${t.group}/${t.resource}`)).to.deep.equal(['/persistentvolumeclaims', 'apps/statefulsets', '/pods']);
    const hooks = buildWebhookConfigurations({ policies: [protectPvcs, floor], leases: [], catalog }, local).validating['webhooks'] as { name: string; matchConditions: { name: string; expression: string }[] }[];
    const effects = hooks.find((h) => h.name === 'effects.suture.dev');
    const byName = Object.fromEntries((effects?.matchConditions ?? []).map((c) => [c.name, c.expression]));
    expect(byName['not-governed']).to.match(/^!\(/);
    expect(byName['protected-target']).to.include("request.resource.resource == 'persistentvolumeclaims' && request.namespace in ['prod']");
    expect(byName['protected-target']).to.include("'app' in (has((oldObject != null ? oldObject : object).metadata.labels)");
    expect(byName['removes-or-reduces']).to.include('int(object.spec.replicas) < int(oldObject.spec.replicas)');
  });

  it('effects webhook: a CRD delete that removes protected custom resources, and configured exempt users and groups, reach it', () => {
    const protectWidgets = policy('protect-widgets', { match: [{ apiGroups: ['example.com'], kinds: ['Widget'], namespaces: ['prod'] }], operations: ['DELETE'] });
    const { rules } = effectTargets({ policies: [protectPvcs, protectWidgets], leases: [], catalog });
    expect(rules).to.deep.include({ apiGroups: ['apiextensions.k8s.io'], apiVersions: ['*'], operations: ['DELETE'], resources: ['customresourcedefinitions'], scope: '*' });
    // Built-in kinds are served by no CRD: protecting PVCs alone does not bring CRD deletes.
    expect(effectTargets({ policies: [protectPvcs], leases: [], catalog }).rules.flatMap((r) => r.apiGroups)).to.not.include('apiextensions.k8s.io');
    const hooks = buildWebhookConfigurations({ policies: [protectWidgets], leases: [], catalog }, inCluster).validating['webhooks'] as { name: string; matchConditions: { name: string; expression: string }[] }[];
    const effects = hooks.find((h) => h.name === 'effects.suture.dev');
    expect(effects?.matchConditions.map((c) => c.name)).to.deep.equal(['not-governed', 'protected-target', 'removes-or-reduces']);
    const target = effects?.matchConditions.find((c) => c.name === 'protected-target')?.expression ?? '';
    expect(target).to.include("(request.resource.group == 'apiextensions.k8s.io' && request.resource.resource == 'customresourcedefinitions' && oldObject.spec.group == 'example.com'");
    // The governed webhook still leaves the exempt users and groups out.
    expect(hooks.find((h) => h.name === 'validate.suture.dev')?.matchConditions.map((c) => c.name)).to.deep.equal(['governed-identity', 'not-exempt-user', 'not-exempt-group', 'not-for-identities']);
  });

  it('effects webhook: no rules when no policy protects or floors anything', () => {
    expect(effectTargets({ policies: [widgets], leases: [lease], catalog }).rules).to.deep.equal([]);
  });

  it('no DELETE wildcard when nothing judges deletes', () => {
    expect(validatingRules({ policies: [widgets], leases: [], catalog }).map((r) => r.operations)).to.deep.equal([['CREATE']]);
  });

  it('a floor brings pod deletes and evictions, pod status writes and HPAs, whose effects lower it (issue 9, items 4 and 5)', () => {
    expect(validatingRules({ policies: [replicas], leases: [], catalog })).to.deep.equal([
      { apiGroups: [''], apiVersions: ['*'], operations: ['CREATE'], resources: ['pods/eviction'], scope: '*' },
      { apiGroups: [''], apiVersions: ['*'], operations: ['DELETE'], resources: ['pods'], scope: '*' },
      { apiGroups: [''], apiVersions: ['*'], operations: ['UPDATE'], resources: ['pods/status'], scope: '*' },
      { apiGroups: ['apps'], apiVersions: ['*'], operations: ['UPDATE'], resources: ['deployments', 'deployments/scale', 'deployments/status', 'statefulsets', 'statefulsets/scale', 'statefulsets/status'], scope: '*' },
      { apiGroups: ['autoscaling'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['horizontalpodautoscalers'], scope: '*' },
    ]);
  });

  it('a floor that judges DELETE only brings pod status writes too (a pod made unready lowers it like a removal)', () => {
    const podFloor = policy('pod-floor', { match: [{ apiGroups: [''], kinds: ['Pod'], namespaces: ['mq'] }], operations: ['DELETE'], invariants: [{ name: 'two', minAvailable: { count: 2 } }] });
    const statusRules = validatingRules({ policies: [podFloor], leases: [], catalog }).filter((r) => r.resources.includes('pods/status'));
    expect(statusRules.map((r) => r.operations)).to.deep.equal([['UPDATE']]);
    // Without a floor, pod status writes stay out.
    expect(validatingRules({ policies: [protectPvcs], leases: [], catalog }).flatMap((r) => r.resources)).to.not.include('pods/status');
  });

  it('a policy without kinds reaches every resource', () => {
    const any = policy('any', { match: [{ namespaces: ['prod'] }], operations: ['CREATE'] });
    expect(validatingRules({ policies: [any], leases: [], catalog })).to.deep.equal([{ apiGroups: ['*'], apiVersions: ['*'], operations: ['CREATE'], resources: ['*/*'], scope: '*' }]);
  });

  it('mutating rules: leased kinds and averted kinds, CREATE and UPDATE only', () => {
    const ops = mutatingRules(full).flatMap((r) => r.operations);
    expect(ops).to.not.include('DELETE');
    expect(mutatingRules(full).flatMap((r) => r.resources)).to.include.members(['secrets', 'deployments', 'statefulsets']).and.not.include('persistentvolumeclaims');
  });

  it('governed identities: service accounts outside exempt namespaces plus the humans policies name', () => {
    const cel = governedExpression(full, ['kube-system']);
    expect(cel).to.equal(
      "(request.userInfo.username.startsWith('system:serviceaccount:') && !request.userInfo.username.startsWith('system:serviceaccount:kube-system:')) || " +
        "request.userInfo.username in ['alice@example.com'] || (has(request.userInfo.groups) && request.userInfo.groups.exists(g, g in ['ops']))",
    );
    const everyone = governedExpression({ ...empty, leases: [{ ...lease, spec: { ...lease.spec, enforce: 'Everyone' } }] }, []);
    expect(everyone).to.equal("(request.userInfo.username.startsWith('system:serviceaccount:')) || !request.userInfo.username.startsWith('system:')");
  });
});
