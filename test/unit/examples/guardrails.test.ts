// The guardrail pack (examples/policies/guardrails.yaml) against the gaps of issue 9, item 9, offline through
// decide(): each rule refuses what it names and lets normal operator work through.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import type { KubeObject, SuturePolicy } from '../../../src/api/types.js';
import { decide } from '../../../src/core/decide.js';
import { compilePolicy, type CompiledPolicy } from '../../../src/core/policy.js';
import { createSnapshot } from '../../../src/core/snapshot.js';
import type { AdmissionRequest, Decision } from '../../../src/core/types.js';
import { createRequest, ledger, metricReader, object, pod, saUser, scaleRequest, updateRequest } from '../core/fixtures.js';

const file = new URL('../../../examples/policies/guardrails.yaml', import.meta.url);
const policies: CompiledPolicy[] = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
  const r = compilePolicy(d.toJS() as SuturePolicy);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
});
const operator = saUser('ops', 'operator');
const NOW = new Date('2026-11-30T21:00:00Z');

function judge(request: AdmissionRequest, objects: KubeObject[] = []): Decision {
  return decide(request, { snapshot: createSnapshot(objects), policies, leases: [], exceptions: [], budgets: ledger(), metrics: metricReader({}), identities: { exemptNamespaces: ['kube-system'], exemptUsers: [], exemptGroups: [] } }, NOW);
}

const privileged = { name: 'p', image: 'busybox', securityContext: { privileged: true } };
const plain = { name: 'c', image: 'busybox' };
const podSpec = (extra: Record<string, unknown>): Record<string, unknown> => ({ containers: [plain], ...extra });
const template = (spec: Record<string, unknown>): Record<string, unknown> => ({ metadata: { labels: { app: 'x' } }, spec });

function inApp(p: KubeObject): KubeObject {
  return { ...p, metadata: { ...p.metadata, namespace: 'app', name: p.metadata.name ?? '' } };
}

describe('examples/policies/guardrails.yaml (issue 9, item 9)', () => {
  it('refuses privileged initContainers and ephemeral containers', () => {
    const init = inApp({ ...pod('app', 'init'), spec: podSpec({ initContainers: [privileged] }) });
    const d = judge(createRequest(init, operator));
    expect(d.allowed).to.equal(false);
    expect(d.message).to.include('guardrail-safe-pods, invariant not-privileged');
    const running = inApp({ ...pod('app', 'debug'), spec: podSpec({}) });
    const debugged = { ...running, spec: podSpec({ ephemeralContainers: [{ ...privileged, name: 'debugger' }] }) };
    const ephemeral = updateRequest(running, debugged, operator, 'ephemeralcontainers');
    expect(judge(ephemeral, [running]).allowed).to.equal(false);
    expect(judge(createRequest(inApp({ ...pod('app', 'ok'), spec: podSpec({ initContainers: [plain] }) }), operator)).allowed).to.equal(true);
  });

  const workloads: [string, string, (spec: Record<string, unknown>) => Record<string, unknown>][] = [
    ['apps/v1', 'Deployment', (s) => ({ replicas: 1, selector: { matchLabels: { app: 'x' } }, template: template(s) })],
    ['apps/v1', 'StatefulSet', (s) => ({ replicas: 1, serviceName: 'x', selector: { matchLabels: { app: 'x' } }, template: template(s) })],
    ['apps/v1', 'DaemonSet', (s) => ({ selector: { matchLabels: { app: 'x' } }, template: template(s) })],
    ['apps/v1', 'ReplicaSet', (s) => ({ replicas: 1, selector: { matchLabels: { app: 'x' } }, template: template(s) })],
    ['batch/v1', 'Job', (s) => ({ template: template(s) })],
    ['batch/v1', 'CronJob', (s) => ({ schedule: '* * * * *', jobTemplate: { spec: { template: template(s) } } })],
  ];
  for (const [apiVersion, kind, spec] of workloads) {
    it(`refuses a ${kind} whose pod template is privileged, shares the host network or mounts a host path; allows a plain one`, () => {
      const make = (s: Record<string, unknown>): KubeObject => object(apiVersion, kind, `app/w-${kind.toLowerCase()}`, { spec: spec(s) });
      for (const bad of [podSpec({ initContainers: [privileged] }), { containers: [privileged] }, podSpec({ hostNetwork: true }), podSpec({ volumes: [{ name: 'h', hostPath: { path: '/' } }] })]) {
        const d = judge(createRequest(make(bad), operator));
        expect(d.allowed, JSON.stringify(bad)).to.equal(false);
        expect(d.message).to.match(/guardrail-safe-(pod|cronjob)-templates/);
      }
      expect(judge(createRequest(make(podSpec({})), operator)).allowed).to.equal(true);
      // A write through the scale subresource carries a Scale (no pod template): the template rules let it through.
      if (kind !== 'CronJob' && kind !== 'Job' && kind !== 'DaemonSet') {
        const workload = make(podSpec({}));
        const scaled = judge(scaleRequest(workload, 2, operator), [workload]);
        expect(scaled.allowed, scaled.message).to.equal(true);
      }
      // An update that makes the template privileged is judged too.
      expect(judge(updateRequest(make(podSpec({})), make({ containers: [privileged] }), operator)).allowed).to.equal(false);
    });
  }

  describe('bindings', () => {
    const binding = (roleRef: { kind: string; name: string }, kind = 'RoleBinding'): KubeObject =>
      object('rbac.authorization.k8s.io/v1', kind, kind === 'RoleBinding' ? 'app/b' : 'b', {
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...roleRef },
        subjects: [{ kind: 'ServiceAccount', name: 'worker', namespace: 'app' }],
      });
    const role = (kind: string, name: string, fields: Record<string, unknown>): KubeObject => object('rbac.authorization.k8s.io/v1', kind, kind === 'Role' ? `app/${name}` : name, fields);
    const wildVerbs = role('ClusterRole', 'wild-verbs', { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['*'] }] });
    const wildResources = role('Role', 'wild-resources', { rules: [{ apiGroups: [''], resources: ['*'], verbs: ['get'] }] });
    const reader = role('ClusterRole', 'reader', { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] });
    // Aggregated ClusterRoles as the cluster holds them: `rules` already filled by the clusterrole-aggregation controller.
    const toView = { matchLabels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } };
    const aggregatedRole = (name: string, rules: unknown[], selectors: unknown[] = [toView]): KubeObject =>
      role('ClusterRole', name, { aggregationRule: { clusterRoleSelectors: selectors }, rules });
    // Kubernetes' `view` (abridged): read-only, no secrets.
    const view = aggregatedRole('view', [
      { apiGroups: [''], resources: ['configmaps', 'endpoints', 'persistentvolumeclaims', 'pods', 'pods/log', 'services', 'serviceaccounts'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['cert-manager.io'], resources: ['certificates', 'issuers'], verbs: ['get', 'list', 'watch'] },
    ]);
    const grownWild = aggregatedRole('grown-wild', [...(view.rules as unknown[]), { apiGroups: ['apps'], resources: ['deployments'], verbs: ['*'] }]);
    const grownSecrets = aggregatedRole('grown-secrets', [...(view.rules as unknown[]), { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }]);
    const unguarded = aggregatedRole('unguarded', view.rules as unknown[], [{ matchLabels: { 'example.com/aggregate-to-reader': 'true' } }]);
    const notGuardedByNotIn = aggregatedRole('not-in', view.rules as unknown[], [{ matchExpressions: [{ key: 'rbac.authorization.k8s.io/aggregate-to-view', operator: 'NotIn', values: ['false'] }] }]);
    const guardedByExpression = aggregatedRole('by-expression', view.rules as unknown[], [{ matchExpressions: [{ key: 'rbac.authorization.k8s.io/aggregate-to-view', operator: 'In', values: ['true'] }] }]);
    const unfilled = aggregatedRole('unfilled', []);
    const cluster = [wildVerbs, wildResources, reader, view, grownWild, grownSecrets, unguarded, notGuardedByNotIn, guardedByExpression, unfilled];
    const bindAs = (name: string, kind = 'RoleBinding'): Decision => judge(createRequest(binding({ kind: 'ClusterRole', name }, kind), operator), cluster);

    it('refuses edit as well as cluster-admin and admin', () => {
      for (const name of ['edit', 'admin', 'cluster-admin']) {
        const d = judge(createRequest(binding({ kind: 'ClusterRole', name }), operator));
        expect(d.allowed, name).to.equal(false);
        expect(d.message).to.include(`operators may not bind ${name}`);
      }
    });

    it("refuses binding any role that grants '*' (verbs or resources); allows a plain role", () => {
      for (const [roleRef, kind] of [
        [{ kind: 'ClusterRole', name: 'wild-verbs' }, 'ClusterRoleBinding'],
        [{ kind: 'Role', name: 'wild-resources' }, 'RoleBinding'],
      ] as const) {
        const d = judge(createRequest(binding(roleRef, kind), operator), cluster);
        expect(d.allowed, roleRef.name).to.equal(false);
        expect(d.message).to.include('guardrail-no-rbac-escalation, invariant no-wildcard-or-escalating-roles');
      }
      expect(bindAs('reader').allowed).to.equal(true);
    });

    it('allows binding the aggregated view (read-only, no secrets), in a namespace or cluster-wide, and one whose selector requires the label by expression', () => {
      for (const [name, kind] of [['view', 'RoleBinding'], ['view', 'ClusterRoleBinding'], ['by-expression', 'RoleBinding']]) {
        const d = bindAs(name ?? '', kind);
        expect(d.allowed, `${name} ${kind}: ${d.message}`).to.equal(true);
      }
    });

    it("judges an aggregated role by its effective rules: refuses one that has grown '*' or access to secrets", () => {
      const wild = bindAs('grown-wild');
      expect(wild.allowed).to.equal(false);
      expect(wild.message).to.include('invariant no-wildcard-or-escalating-roles');
      const secrets = bindAs('grown-secrets');
      expect(secrets.allowed).to.equal(false);
      expect(secrets.message).to.include('invariant no-secrets-through-aggregated-roles').and.include('grant access to secrets');
    });

    it('refuses binding an aggregated role fed by labels the pack does not guard, or not filled yet', () => {
      for (const name of ['unguarded', 'not-in', 'unfilled']) {
        const d = bindAs(name);
        expect(d.allowed, name).to.equal(false);
        expect(d.message).to.include('invariant aggregated-roles-fed-by-guarded-labels');
      }
    });

    it('refuses creating a ClusterRole with an aggregationRule', () => {
      const d = judge(createRequest(aggregatedRole('mine', []), operator));
      expect(d.allowed).to.equal(false);
      expect(d.message).to.include('no-aggregation');
    });

    describe('no rules injected into aggregated roles', () => {
      const labelled = (name: string, rules: unknown[], labels: Record<string, string> = { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' }): KubeObject => ({
        ...role('ClusterRole', name, { rules }),
        metadata: { name, uid: `uid-${name}`, labels },
      });
      const readCertificates = { apiGroups: ['cert-manager.io'], resources: ['certificates', 'certificaterequests', 'issuers'], verbs: ['get', 'list', 'watch'] };

      it('allows a ClusterRole aggregating to view with read-only rules on custom resources (cert-manager-view), created or updated', () => {
        const certView = labelled('cert-manager-view', [readCertificates, { apiGroups: ['acme.cert-manager.io'], resources: ['challenges', 'orders'], verbs: ['get', 'list', 'watch'] }], {
          'rbac.authorization.k8s.io/aggregate-to-view': 'true',
          'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
          'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
        });
        const created = judge(createRequest(certView, operator), cluster);
        expect(created.allowed, created.message).to.equal(true);
        const updated = judge(updateRequest(certView, { ...certView, rules: [readCertificates] }, operator), [...cluster, certView]);
        expect(updated.allowed, updated.message).to.equal(true);
      });

      it('refuses one with write verbs, access to secrets, a connect-style subresource, a wildcard resource or nonResourceURLs', () => {
        const bad: [string, Record<string, unknown>][] = [
          ['delete', { apiGroups: ['cert-manager.io'], resources: ['certificates'], verbs: ['get', 'delete'] }],
          ['secrets', { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }],
          ['proxy', { apiGroups: [''], resources: ['nodes/proxy'], verbs: ['get'] }],
          ['exec', { apiGroups: [''], resources: ['pods/exec'], verbs: ['get'] }],
          ['scale-all', { apiGroups: ['apps'], resources: ['*/scale'], verbs: ['get'] }],
          ['urls', { nonResourceURLs: ['/metrics'], verbs: ['get'] }],
        ];
        for (const [label, rule] of bad) {
          for (const key of ['aggregate-to-view', 'aggregate-to-edit', 'aggregate-to-admin', 'aggregate-to-anything']) {
            const d = judge(createRequest(labelled(`inject-${label}`, [readCertificates, rule], { [`rbac.authorization.k8s.io/${key}`]: 'true' }), operator), cluster);
            expect(d.allowed, `${label} ${key}`).to.equal(false);
            expect(d.message).to.include('guardrail-no-escalating-roles, invariant no-rules-injected-into-aggregated-roles');
          }
        }
      });

      it('refuses labelling an existing writing role for aggregation; allows writing roles, and namespaced Roles, without the label', () => {
        const writer = labelled('writer', [{ apiGroups: ['cert-manager.io'], resources: ['certificates'], verbs: ['create', 'delete'] }], { app: 'cert-manager' });
        expect(judge(createRequest(writer, operator), cluster).allowed).to.equal(true);
        const relabelled = { ...writer, metadata: { ...writer.metadata, labels: { app: 'cert-manager', 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } } };
        const d = judge(updateRequest(writer, relabelled, operator), [...cluster, writer]);
        expect(d.allowed).to.equal(false);
        expect(d.message).to.include('no-rules-injected-into-aggregated-roles');
        const namespaced = { ...role('Role', 'ns-writer', { rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] }) };
        const labelledRole = { ...namespaced, metadata: { ...namespaced.metadata, labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } } };
        expect(judge(createRequest(labelledRole, operator), cluster).allowed, 'aggregation selects ClusterRoles only').to.equal(true);
      });
    });
  });

  describe('service accounts', () => {
    const powerful = object('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'powerful', {
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'root-agent', namespace: 'app' }],
    });
    const editor = object('rbac.authorization.k8s.io/v1', 'RoleBinding', 'app/editor', {
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'ServiceAccount', name: 'app-editor' }],
    });
    const runningAs = (sa: string): KubeObject => inApp({ ...pod('app', `as-${sa}`), spec: podSpec({ serviceAccountName: sa }) });

    it('refuses pods running as any service account with cluster-wide or admin rights, not only the operator’s own', () => {
      for (const sa of ['root-agent', 'app-editor']) {
        const d = judge(createRequest(runningAs(sa), operator), [powerful, editor]);
        expect(d.allowed, sa).to.equal(false);
        expect(d.message).to.include(`running as service account ${sa}`);
      }
      expect(judge(createRequest(runningAs('plain-worker'), operator), [powerful, editor]).allowed).to.equal(true);
    });
  });
});
