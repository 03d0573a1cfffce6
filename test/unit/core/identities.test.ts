import { expect } from 'chai';
import type { KubeObject } from '../../../src/api/types.js';
import { decide } from '../../../src/core/decide.js';
import { IDENTITIES_POLICY, launderingViolations } from '../../../src/core/identities.js';
import { compileException } from '../../../src/core/policy.js';
import { createSnapshot } from '../../../src/core/snapshot.js';
import type { AdmissionRequest, DecisionInput, IdentityConfig } from '../../../src/core/types.js';
import { createRequest, exceptionObject, human, ledger, metricReader, pod, saUser, updateRequest } from './fixtures.js';

const ids: IdentityConfig = { exemptNamespaces: ['kube-system', 'suture-system'], exemptUsers: ['break-glass'], exemptGroups: ['oncall'] };
const operator = saUser('ops', 'operator');
const NOW = new Date('2026-11-23T09:45:00Z');

function req(gvkr: string, object: KubeObject, extra: Partial<AdmissionRequest> = {}): AdmissionRequest {
  const [group = '', version = '', kind = '', resource = ''] = gvkr.split('|');
  return {
    uid: `uid-${kind}`,
    kind: { group, version, kind },
    resource: { group, version, resource },
    operation: 'CREATE',
    userInfo: operator,
    object,
    ...(object.metadata.name !== undefined ? { name: object.metadata.name } : {}),
    ...(object.metadata.namespace !== undefined ? { namespace: object.metadata.namespace } : {}),
    ...extra,
  };
}

function binding(kind: 'RoleBinding' | 'ClusterRoleBinding', subjects: Record<string, string>[], namespace?: string): AdmissionRequest {
  const object: KubeObject = { apiVersion: 'rbac.authorization.k8s.io/v1', kind, metadata: { name: 'b', ...(namespace !== undefined ? { namespace } : {}) }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' }, subjects };
  return req(`rbac.authorization.k8s.io|v1|${kind}|${kind === 'RoleBinding' ? 'rolebindings' : 'clusterrolebindings'}`, object);
}

const sa = (namespace: string): KubeObject => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'backdoor', namespace } });
const job = (namespace: string): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'j', namespace },
  spec: { template: { spec: { serviceAccountName: 'generic-garbage-collector', containers: [{ name: 'c', image: 'x' }], restartPolicy: 'Never' } } },
});

describe('core/identities', () => {
  const denied: Array<[string, AdmissionRequest, string]> = [
    ['a ServiceAccount in kube-system', req('|v1|ServiceAccount|serviceaccounts', sa('kube-system')), 'create service account kube-system/backdoor'],
    ['a token of a kube-system service account', req('authentication.k8s.io|v1|TokenRequest|serviceaccounts', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: { name: 'namespace-controller', namespace: 'kube-system' } }, { resource: { group: '', version: 'v1', resource: 'serviceaccounts' }, subResource: 'token' }), 'request a token of service account kube-system/namespace-controller'],
    ['a Pod in kube-system', req('|v1|Pod|pods', pod('kube-system', 'p')), 'run pods as service account kube-system/default'],
    ['a Job in kube-system running as the garbage collector', req('batch|v1|Job|jobs', job('kube-system')), 'run pods as service account kube-system/generic-garbage-collector'],
    ['a token Secret in kube-system', req('|v1|Secret|secrets', { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token', metadata: { name: 's', namespace: 'kube-system' } }), 'token Secret'],
    ['a ClusterRoleBinding to a kube-system service account', binding('ClusterRoleBinding', [{ kind: 'ServiceAccount', name: 'backdoor', namespace: 'kube-system' }]), 'bind service account kube-system/backdoor'],
    ['a RoleBinding to the kube-system service-account group', binding('RoleBinding', [{ kind: 'Group', name: 'system:serviceaccounts:kube-system', apiGroup: 'rbac.authorization.k8s.io' }], 'prod'), 'group system:serviceaccounts:kube-system'],
    ['a binding to every authenticated identity', binding('ClusterRoleBinding', [{ kind: 'Group', name: 'system:authenticated' }]), 'system:authenticated'],
    ['a binding to an exempt user', binding('ClusterRoleBinding', [{ kind: 'User', name: 'break-glass' }]), 'exempt user break-glass'],
    ['a RoleBinding inside kube-system', binding('RoleBinding', [{ kind: 'ServiceAccount', name: 'operator', namespace: 'ops' }], 'kube-system'), 'change the rights of service accounts of kube-system'],
  ];
  for (const [what, request, phrase] of denied) {
    it(`a governed identity may not create or empower an ungoverned one: ${what}`, () => {
      const found = launderingViolations(request, ids);
      expect(found.join('; ')).to.include(phrase);
    });
  }

  const allowed: Array<[string, AdmissionRequest]> = [
    ['a ServiceAccount in its own namespace', req('|v1|ServiceAccount|serviceaccounts', sa('ops'))],
    ['a Job in another namespace', req('batch|v1|Job|jobs', job('prod'))],
    ['a binding to a governed service account', binding('ClusterRoleBinding', [{ kind: 'ServiceAccount', name: 'worker', namespace: 'ops' }])],
    ['a ConfigMap in kube-system', req('|v1|ConfigMap|configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'kube-system' } })],
  ];
  for (const [what, request] of allowed) {
    it(`normal work passes: ${what}`, () => {
      expect(launderingViolations(request, ids)).to.deep.equal([]);
    });
  }

  function input(exceptions: DecisionInput['exceptions'] = []): DecisionInput {
    return { snapshot: createSnapshot([]), policies: [], leases: [], exceptions, budgets: ledger(), metrics: metricReader({}), identities: ids };
  }

  it('decide denies it with no policy installed and says what lifts it; ungoverned requesters are not asked', () => {
    const request = req('|v1|ServiceAccount|serviceaccounts', sa('kube-system'));
    const d = decide(request, input(), NOW);
    expect(d.allowed).to.equal(false);
    expect(d.message).to.include('create service account kube-system/backdoor').and.include(IDENTITIES_POLICY);
    expect(decide({ ...request, userInfo: saUser('kube-system', 'bootstrap') }, input(), NOW).allowed).to.equal(true);
    expect(decide({ ...request, userInfo: human('alice') }, input(), NOW).allowed).to.equal(true);
  });

  it('an UPDATE of a kube-system pod by a governed identity is judged too', () => {
    const before = pod('kube-system', 'coredns');
    const request = updateRequest(before, { ...before, spec: { serviceAccountName: 'coredns', containers: [{ name: 'c', image: 'evil' }] } }, operator);
    expect(decide(request, input(), NOW).message).to.include('run pods as service account kube-system/coredns');
  });

  it(`an exception naming ${IDENTITIES_POLICY} lifts it for its subjects`, () => {
    const r = compileException(exceptionObject('gitops-kube-system', { policies: [IDENTITIES_POLICY], subjects: [{ kind: 'ServiceAccount', namespace: 'ops', name: 'operator' }], expiresAt: '2026-11-23T10:00:00Z', reason: 'platform add-ons' }), NOW);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const d = decide(createRequest(pod('kube-system', 'p'), operator), input([r.exception]), NOW);
    expect(d.allowed).to.equal(true);
    expect(d.exceptionsUsed).to.deep.equal(['gitops-kube-system']);
  });
});
