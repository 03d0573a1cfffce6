// The pure parts of `kubectl suture leases`: views (scopes, fields, conflicts, the queue), the table, DOT and Mermaid.
import { expect } from 'chai';
import type { SutureLease } from '../../../src/api/types.js';
import { leaseViews, leasesDot, leasesMermaid, leasesTable, queueText, scopeText, selectorText } from '../../../src/cli/leases.js';
import { age, renderData, renderTable } from '../../../src/cli/output.js';

function lease(ref: string, created: string, spec: Partial<SutureLease['spec']>, status?: SutureLease['status']): SutureLease {
  const [namespace = '', name = ''] = ref.split('/');
  return {
    apiVersion: 'suture.dev/v1alpha1',
    kind: 'SutureLease',
    metadata: { namespace, name, creationTimestamp: created },
    spec: { holder: { kind: 'ServiceAccount', namespace, name: `${name}-op` }, resources: [{ apiGroups: ['apps'], kinds: ['StatefulSet'], namespaces: ['prod'], names: ['pg'] }], ...spec },
    ...(status === undefined ? {} : { status }),
  };
}

const holder = (namespace: string, name: string): { kind: 'ServiceAccount'; namespace: string; name: string } => ({ kind: 'ServiceAccount', namespace, name });
// a holds the StatefulSet; b and c (younger) wait behind it, c last; d leases another field of it and coexists.
const leases: SutureLease[] = [
  lease('db/a', '2026-11-30T10:00:00Z', {}, { phase: 'Granted', grantedAt: '2026-11-30T10:00:01Z', conditions: [{ type: 'LeastPrivilege', status: 'False', reason: 'SensitivePermissions', message: 'm', lastTransitionTime: '2026-11-30T10:00:01Z' }], excessPermissions: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], via: 'ClusterRoleBinding/x' }] }),
  lease('ops/c', '2026-11-30T10:02:00Z', {}, { phase: 'Conflicted', conflictsWith: [{ namespace: 'db', name: 'a', holder: holder('db', 'a-op') }] }),
  lease('ops/b', '2026-11-30T10:01:00Z', {}, { phase: 'Conflicted', conflictsWith: [{ namespace: 'db', name: 'a', holder: holder('db', 'a-op') }] }),
  lease('hpa/d', '2026-11-30T10:03:00Z', { access: 'Shared', resources: [{ apiGroups: ['apps'], kinds: ['StatefulSet'], namespaces: ['prod'], names: ['pg'], fields: ['/spec/replicas'] }] }, { phase: 'Granted' }),
];
const NOW = Date.parse('2026-11-30T12:00:00Z');

describe('kubectl suture leases: views', () => {
  it('scopes in one line each: kinds with group, namespaces, names, prefixes, selectors', () => {
    expect(scopeText({ apiGroups: ['apps'], kinds: ['StatefulSet'], namespaces: ['prod'], selector: { matchLabels: { app: 'pg' } } })).to.equal('StatefulSet.apps prod/{app=pg}');
    expect(scopeText({ apiGroups: [''], kinds: ['PersistentVolumeClaim', 'Secret'], namespaces: ['prod'], namePrefixes: ['pg-'] })).to.equal('PersistentVolumeClaim,Secret prod/pg-*');
    expect(scopeText({})).to.equal('* */*');
    expect(scopeText({ kinds: ['ConfigMap'], namespaceSelector: { matchLabels: { team: 'a' } }, names: ['x'] })).to.equal('ConfigMap {ns: team=a}/x');
    expect(selectorText({ matchLabels: { a: '1' }, matchExpressions: [{ key: 't', operator: 'In', values: ['x', 'y'] }, { key: 'l', operator: 'DoesNotExist' }, { key: 'e', operator: 'Exists' }, { key: 'n', operator: 'NotIn', values: ['z'] }] })).to.equal(
      'a=1,t in (x,y),!l,e,n notin (z)',
    );
  });

  it('the queue: waiting leases behind the granted one in grant order (older first), each knowing its place', () => {
    const views = leaseViews(leases);
    expect(views.map((v) => `${v.namespace}/${v.name}`)).to.deep.equal(['db/a', 'hpa/d', 'ops/b', 'ops/c']);
    const [a, d, b, c] = views;
    expect(a?.waiting).to.deep.equal(['ops/b', 'ops/c']);
    expect(b?.queue).to.deep.equal([{ behind: 'db/a', position: 1 }]);
    expect(c?.queue).to.deep.equal([{ behind: 'db/a', position: 2 }]);
    expect(d?.fields).to.deep.equal(['/spec/replicas']);
    expect(d?.access).to.equal('Shared');
    expect([a, b, c, d].map((v) => (v === undefined ? '' : queueText(v)))).to.deep.equal(['2 waiting', '#1 behind db/a', '#2 behind db/a', '']);
    expect(a?.holder).to.equal('system:serviceaccount:db:a-op');
    expect(a?.leastPrivilege).to.equal('!SensitivePermissions');
    expect(a?.excessPermissions).to.equal(1);
  });

  it('-n keeps the queue computed over every namespace', () => {
    const views = leaseViews(leases, 'ops');
    expect(views.map((v) => v.name)).to.deep.equal(['b', 'c']);
    expect(views[1]?.queue).to.deep.equal([{ behind: 'db/a', position: 2 }]);
  });

  it('the table, as kubectl prints one; -A adds NAMESPACE, -o wide more columns', () => {
    const lines = leasesTable(leaseViews(leases), { wide: false, allNamespaces: true, now: NOW });
    expect(lines[0]).to.match(/^NAMESPACE +NAME +HOLDER +ACCESS +PHASE +RESOURCES +FIELDS +CONFLICTS +QUEUE +AGE$/);
    expect(lines[1]).to.match(/^db +a +system:serviceaccount:db:a-op +Exclusive +Granted +StatefulSet\.apps prod\/pg +\* +<none> +2 waiting +2h$/);
    expect(lines[3]).to.match(/^ops +b +.* Conflicted +StatefulSet\.apps prod\/pg +\* +db\/a +#1 behind db\/a +119m$/);
    const wide = leasesTable(leaseViews(leases), { wide: true, allNamespaces: false, now: NOW });
    expect(wide[0]).to.match(/^NAME +HOLDER .* AGE +ENFORCE +RBAC +LEAST-PRIVILEGE +WAITING +EXPIRES$/);
    expect(wide[1]).to.match(/ServiceAccounts +Generate +!SensitivePermissions +ops\/b,ops\/c +<none>$/);
  });

  it('DOT: holders, leases coloured by phase, scopes, and dashed waits', () => {
    const dot = leasesDot(leaseViews(leases)).join('\n');
    expect(dot).to.match(/^digraph suture_leases \{/).and.match(/\}$/);
    expect(dot).to.include('"holder:system:serviceaccount:db:a-op" -> "lease:db/a" [label="holds"];');
    expect(dot).to.include('"lease:db/a" [shape=ellipse, color=darkgreen, label="db/a\\nExclusive · Granted"];');
    expect(dot).to.include('"lease:ops/c" -> "lease:db/a" [label="waits #2", style=dashed, color=orange];');
    expect(dot).to.include('"lease:hpa/d" -> "scope:StatefulSet.apps prod/pg" [label="covers"];');
    // one scope node shared by the four leases that cover it
    expect(dot.match(/\[shape=note/g)).to.have.length(1);
  });

  it('Mermaid: a flowchart with ids, quoted labels, waits as dotted edges; waits to leases not shown are left out', () => {
    const mermaid = leasesMermaid(leaseViews(leases));
    expect(mermaid[0]).to.equal('flowchart LR');
    expect(mermaid).to.include('  l0(["db/a<br/>Exclusive · Granted"]):::granted');
    expect(mermaid).to.include('  l3 -.->|waits #2| l0');
    expect(mermaid).to.include('  h0 -->|holds| l0');
    const partial = leasesMermaid(leaseViews(leases, 'ops'));
    expect(partial.join('\n')).to.not.include('waits');
  });
});

describe('kubectl suture: output formats', () => {
  it('tables pad columns by three spaces and show <none> for empty cells', () => {
    expect(renderTable(['A', 'LONGER'], [['x', ''], ['yyyy', 'z']])).to.deep.equal(['A      LONGER', 'x      <none>', 'yyyy   z']);
  });
  it('json and yaml of the same data', () => {
    expect(renderData({ a: [1] }, 'json')).to.deep.equal(['{', '  "a": [', '    1', '  ]', '}']);
    expect(renderData({ a: [1] }, 'yaml')).to.deep.equal(['a:', '  - 1']);
  });
  it('ages as kubectl prints them', () => {
    const t = Date.parse('2026-11-30T12:00:00Z');
    expect([age('2026-11-30T11:59:15Z', t), age('2026-11-30T11:30:00Z', t), age('2026-11-30T06:00:00Z', t), age('2026-11-20T12:00:00Z', t), age(undefined, t)]).to.deep.equal(['45s', '30m', '6h', '10d', '<none>']);
  });
});
