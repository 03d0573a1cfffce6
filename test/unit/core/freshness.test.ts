// What a verdict must read fresh (core/freshness.ts), what CEL looks up (cel.ts lookupKindsOf, policy lookupKinds)
// and what a decision says it consulted (decide.ts).
import { expect } from 'chai';
import { compileCel } from '../../../src/core/cel.js';
import { decide } from '../../../src/core/decide.js';
import { freshScopes, isDestructive, selectorString } from '../../../src/core/freshness.js';
import { compilePolicy, type CompiledPolicy } from '../../../src/core/policy.js';
import { createSnapshot } from '../../../src/core/snapshot.js';
import type { DecisionInput } from '../../../src/core/types.js';
import type { KubeObject } from '../../../src/api/types.js';
import { configMap, createRequest, deleteRequest, ledger, metricReader, ns, owned, policyObject, saSubject, saUser, updateRequest } from './fixtures.js';

const NOW = new Date('2026-11-23T10:00:00Z');
const op = saUser('ops', 'op');

function compiled(name: string, spec: Record<string, unknown>): CompiledPolicy {
  const r = compilePolicy(policyObject(name, spec));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

function input(objects: KubeObject[], policies: CompiledPolicy[]): DecisionInput {
  return {
    snapshot: createSnapshot(objects),
    policies,
    leases: [],
    exceptions: [],
    budgets: ledger({}),
    metrics: metricReader({}),
    identities: { exemptNamespaces: ['kube-system'], exemptUsers: [], exemptGroups: [] },
  };
}

const protect = compiled('protect', {
  subjects: [saSubject('ops', 'op')],
  match: [{ apiGroups: [''], kinds: ['ConfigMap'], selector: { matchLabels: { protected: 'true' } } }],
  operations: ['DELETE'],
  invariants: [{ name: 'keep', protect: {} }],
});

describe('core/freshness', () => {
  it('calls destructive what removes or can remove: delete, eviction, scale-down, owner, finalizer and deletion changes', () => {
    const cm = configMap('app', 'a');
    expect(isDestructive(deleteRequest(cm, op))).to.equal(true);
    expect(isDestructive(createRequest(cm, op))).to.equal(false);
    expect(isDestructive(updateRequest(cm, { ...cm, data: { x: '1' } }, op))).to.equal(false);
    expect(isDestructive(updateRequest(cm, owned(cm, configMap('app', 'owner')), op))).to.equal(true);
    expect(isDestructive(updateRequest({ ...cm, metadata: { ...cm.metadata, finalizers: ['f'] } }, cm, op))).to.equal(true);
    const dep = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { namespace: 'app', name: 'd' }, spec: { replicas: 3 } };
    expect(isDestructive(updateRequest(dep, { ...dep, spec: { replicas: 2 } }, op))).to.equal(true);
    expect(isDestructive(updateRequest(dep, { ...dep, spec: { replicas: 4 } }, op))).to.equal(false);
  });

  it('reads fresh, for a destructive request, what the binding policies protect in the namespaces it reaches', () => {
    const w = input([ns('app')], [protect]);
    expect(freshScopes(deleteRequest(configMap('app', 'owner'), op), w)).to.deep.equal([{ group: '', kind: 'ConfigMap', namespace: 'app', labelSelector: 'protected=true', failClosed: true }]);
    expect(freshScopes(deleteRequest(ns('app'), op), w)).to.deep.equal([{ group: '', kind: 'ConfigMap', namespace: 'app', labelSelector: 'protected=true', failClosed: true }]);
    expect(freshScopes(createRequest(configMap('app', 'new'), op), w), 'a create removes nothing').to.deep.equal([]);
    expect(freshScopes(deleteRequest(configMap('app', 'owner'), saUser('other', 'sa')), w), 'the policy does not bind this requester').to.deep.equal([]);
    expect(freshScopes(deleteRequest(configMap('app', 'owner'), saUser('kube-system', 'gc')), w), 'exempt').to.deep.equal([]);
  });

  it('writes label selectors in kubectl form', () => {
    expect(selectorString({ matchLabels: { a: '1' }, matchExpressions: [{ key: 'b', operator: 'In', values: ['x', 'y'] }, { key: 'c', operator: 'DoesNotExist' }, { key: 'd', operator: 'Exists' }] })).to.equal('a=1,b in (x,y),!c,d');
    expect(selectorString(undefined)).to.equal('');
  });

  it('knows at compile time which kinds CEL looks up with constant arguments, and whether some are computed', () => {
    const r = compileCel("cluster.get('example.com/v1', 'Widget', object.metadata.namespace, 'gate') != null && before.count('v1', 'Pod', '', 'app=x') > 0");
    if (!r.ok) throw new Error(r.error.message);
    expect(r.program.lookupKinds).to.deep.equal([{ apiVersion: 'example.com/v1', kind: 'Widget' }, { apiVersion: 'v1', kind: 'Pod' }]);
    expect(r.program.dynamicLookups).to.equal(false);
    const dynamic = compileCel('object.metadata.ownerReferences.all(r, before.exists(r.apiVersion, r.kind, "", r.name))');
    if (!dynamic.ok) throw new Error(dynamic.error.message);
    expect(dynamic.program.dynamicLookups).to.equal(true);
    const policy = compiled('gate', { match: [{}], invariants: [{ name: 'g', expression: "cluster.exists('example.com/v1', 'Widget', '', 'g')" }] });
    expect(policy.lookupKinds).to.deep.equal([{ apiVersion: 'example.com/v1', kind: 'Widget' }]);
  });

  it('says what a decision consulted: policies, CEL reads with what they found, and the failure mode', () => {
    const gate = compiled('gate', {
      subjects: [saSubject('ops', 'op')],
      match: [{ apiGroups: [''], kinds: ['ConfigMap'] }],
      operations: ['CREATE'],
      invariants: [{ name: 'g', expression: "cluster.exists('example.com/v1', 'Widget', object.metadata.namespace, 'gate')" }],
    });
    const d = decide(createRequest(configMap('app', 'c'), op), input([], [gate, protect]), NOW);
    expect(d.allowed).to.equal(false);
    expect(d.consulted.policies).to.deep.equal(['gate']);
    expect(d.consulted.lookups).to.deep.equal([{ apiVersion: 'example.com/v1', kind: 'Widget', namespace: 'app', name: 'gate', found: 0 }]);
    expect(d.failurePolicy).to.equal('Fail');
  });
});
