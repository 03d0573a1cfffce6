// Issue 9, item 9, on the real control plane with a real Suture process and the shipped guardrail pack
// (examples/policies/guardrails.yaml): a governed operator bound to cluster-admin tries each gap the issue found —
// privileged initContainers and ephemeral containers, privileged / hostNetwork / hostPath pod templates (Deployment,
// StatefulSet, DaemonSet, Job, CronJob), binding `edit`, binding a role that
// grants `*`, an aggregating ClusterRole, injecting write or secrets rules into `view` through an aggregate-to-view
// label, binding an aggregated role whose effective rules (filled by the real clusterrole-aggregation controller)
// reach secrets, a pod borrowing a service account with cluster-wide rights — and each is refused by
// validate.suture.dev naming the rule; ordinary operator work (binding `view`, shipping a read-only aggregate-to-view
// role for its own resources, a plain pod or workload) still goes through.
import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/api/types.js';
import type { ExchangeRequest } from '../../src/kube/client.js';
import { cluster } from './cluster.js';
import { WEBHOOK_CONFIGURATIONS, startSutureReplicas, type SutureReplicas } from './suture-process.js';
import { createNamespace, deleteNamespace, eventually, rawRequest, uniqueName } from './support.js';

type Policy = KubeObject & { status?: { conditions?: { type: string; status: string }[] } };
type Webhooks = KubeObject & { webhooks?: { name: string; rules?: { apiGroups?: string[]; operations?: string[]; resources?: string[] }[] }[] };

const POLICY = { apiVersion: 'suture.dev/v1alpha1', kind: 'SuturePolicy' } as const;
const RBAC = 'rbac.authorization.k8s.io/v1';
const pack = parseAllDocuments(readFileSync(new URL('../../examples/policies/guardrails.yaml', import.meta.url), 'utf8')).map((d) => d.toJS() as Policy);

interface Answer {
  status: number;
  message: string;
}

function ready(policy: Policy | undefined): boolean {
  return policy?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

const plain = { name: 'c', image: 'registry.k8s.io/pause:3.10' };
const privileged = { name: 'p', image: 'registry.k8s.io/pause:3.10', securityContext: { privileged: true } };

describe('the guardrail pack on the real control plane (issue 9, item 9)', function () {
  this.timeout(240_000);
  let suture: SutureReplicas;
  let admin: KubeConfig;
  let ops: string;
  let work: string;
  const crb = uniqueName('guardrails-operator');
  const wildcard = uniqueName('guardrails-wildcard');
  const powerful = uniqueName('guardrails-powerful');
  const aggregated = uniqueName('guardrails-aggregated');
  const reader = uniqueName('guardrails-reader');
  const injected = uniqueName('guardrails-injected');
  const widgetsView = uniqueName('guardrails-widgets-view');
  const secretReader = uniqueName('guardrails-secret-reader');
  const secretSource = uniqueName('guardrails-secret-source');

  before(async function () {
    this.timeout(200_000);
    admin = cluster().kubeConfig;
    suture = await startSutureReplicas(1);
    ops = await createNamespace(admin, 'gr-ops');
    work = await createNamespace(admin, 'gr-work');
    const c = suture.client;
    await c.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace: ops, name: 'operator' } });
    await c.create({ apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata: { name: crb }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'ServiceAccount', namespace: ops, name: 'operator' }] });
    // What an operator might try to hand out or borrow, set up by the admin.
    await c.create({ apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: wildcard }, rules: [{ apiGroups: ['apps'], resources: ['*'], verbs: ['get'] }] });
    await c.create({ apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: reader }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] });
    await c.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace: work, name: 'powerful' } });
    await c.create({ apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata: { name: powerful }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'ServiceAccount', namespace: work, name: 'powerful' }] });
    await c.create({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: work, name: 'running' }, spec: { containers: [plain] } });
    for (const p of pack) await c.create(p);
    for (const p of pack) await eventually(`SuturePolicy ${p.metadata.name ?? ''} Ready`, async () => ready(await c.find<Policy>({ ...POLICY, name: p.metadata.name ?? '' })), 30_000);
    await eventually('validate.suture.dev intercepts pods, workloads and RBAC', async () => {
      const vwc = await c.find<Webhooks>(WEBHOOK_CONFIGURATIONS[0]);
      const rules = vwc?.webhooks?.find((w) => w.name === 'validate.suture.dev')?.rules ?? [];
      const covers = (resource: string): boolean => rules.some((r) => r.resources?.some((x) => x === resource || x === '*' || x === '*/*') === true && r.operations?.includes('CREATE') === true);
      return ['pods', 'deployments', 'statefulsets', 'daemonsets', 'jobs', 'cronjobs', 'rolebindings', 'clusterroles'].every(covers);
    }, 30_000);
    await new Promise((r) => setTimeout(r, 2000)); // the API server loads the changed webhook configuration
  });

  after(async function () {
    this.timeout(120_000);
    for (const p of pack) await suture?.client.delete({ ...POLICY, name: p.metadata.name ?? '' }).catch(() => undefined);
    await suture?.stop();
    for (const [kind, name] of [['ClusterRoleBinding', crb], ['ClusterRoleBinding', powerful], ['ClusterRole', wildcard], ['ClusterRole', aggregated], ['ClusterRole', reader], ['ClusterRole', injected], ['ClusterRole', widgetsView], ['ClusterRole', secretReader], ['ClusterRole', secretSource]] as const) {
      await suture?.client.delete({ apiVersion: RBAC, kind, name }).catch(() => undefined);
    }
    for (const ns of [ops, work]) if (ns !== undefined) await deleteNamespace(admin, ns);
  });

  const asOperator = async (method: ExchangeRequest['method'], path: string, body: unknown): Promise<Answer> => {
    const impersonate = { user: `system:serviceaccount:${ops}:operator`, groups: ['system:serviceaccounts', `system:serviceaccounts:${ops}`, 'system:authenticated'] };
    const r = await rawRequest(admin, { method, path, impersonate, body });
    const raw = (r.body as { message?: unknown } | null)?.message;
    return { status: r.status, message: typeof raw === 'string' ? raw : '' };
  };

  const refused = (answer: Answer, policy: string, invariant: string): void => {
    expect(answer.status, answer.message).to.equal(403);
    // RoleBindings and ClusterRoleBindings go to identities.suture.dev instead of validate.suture.dev (its
    // matchCondition not-for-identities); both ask /validate, which runs the whole pipeline, so either names the rule.
    expect(answer.message).to.match(/^admission webhook "(validate|identities)\.suture\.dev" denied the request/);
    expect(answer.message).to.include(policy).and.include(invariant);
  };

  it('refuses privileged initContainers and privileged ephemeral containers; a plain pod goes through', async () => {
    refused(await asOperator('POST', `/api/v1/namespaces/${work}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'init' }, spec: { initContainers: [privileged], containers: [plain] } }), 'guardrail-safe-pods', 'not-privileged');
    const running = await suture.client.find<KubeObject & { spec: Record<string, unknown> }>({ apiVersion: 'v1', kind: 'Pod', namespace: work, name: 'running' });
    const withDebug = { ...running, spec: { ...running?.spec, ephemeralContainers: [{ ...privileged, name: 'debug' }] } };
    refused(await asOperator('PUT', `/api/v1/namespaces/${work}/pods/running/ephemeralcontainers`, withDebug), 'guardrail-safe-pods', 'not-privileged');
    const ok = await asOperator('POST', `/api/v1/namespaces/${work}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ordinary' }, spec: { containers: [plain] } });
    expect(ok.status, ok.message).to.equal(201);
  });

  it('refuses a Deployment whose pod template is privileged; a plain one goes through', async () => {
    const deployment = (name: string, container: Record<string, unknown>): unknown => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [container] } } },
    });
    refused(await asOperator('POST', `/apis/apps/v1/namespaces/${work}/deployments`, deployment('root', privileged)), 'guardrail-safe-pod-templates', 'not-privileged');
    const ok = await asOperator('POST', `/apis/apps/v1/namespaces/${work}/deployments`, deployment('web', plain));
    expect(ok.status, ok.message).to.equal(201);
  });

  it('refuses privileged, hostNetwork and hostPath pod templates of a StatefulSet, a DaemonSet, a Job and a CronJob', async () => {
    const bad: [string, Record<string, unknown>][] = [
      ['not-privileged', { containers: [privileged] }],
      ['not-privileged', { hostNetwork: true, containers: [plain] }],
      ['no-host-path', { containers: [plain], volumes: [{ name: 'h', hostPath: { path: '/' } }] }],
    ];
    const template = (app: string, spec: Record<string, unknown>): Record<string, unknown> => ({ metadata: { labels: { app } }, spec });
    const kinds: [string, string, string, (name: string, spec: Record<string, unknown>) => Record<string, unknown>][] = [
      ['apps/v1', 'statefulsets', 'guardrail-safe-pod-templates', (name, spec) => ({ kind: 'StatefulSet', spec: { replicas: 0, serviceName: name, selector: { matchLabels: { app: name } }, template: template(name, spec) } })],
      ['apps/v1', 'daemonsets', 'guardrail-safe-pod-templates', (name, spec) => ({ kind: 'DaemonSet', spec: { selector: { matchLabels: { app: name } }, template: template(name, spec) } })],
      ['batch/v1', 'jobs', 'guardrail-safe-pod-templates', (name, spec) => ({ kind: 'Job', spec: { suspend: true, template: template(name, { ...spec, restartPolicy: 'Never' }) } })],
      ['batch/v1', 'cronjobs', 'guardrail-safe-cronjob-templates', (name, spec) => ({ kind: 'CronJob', spec: { schedule: '0 0 1 1 *', suspend: true, jobTemplate: { spec: { template: template(name, { ...spec, restartPolicy: 'Never' }) } } } })],
    ];
    for (const [apiVersion, resource, policy, make] of kinds) {
      for (const [i, [invariant, spec]] of bad.entries()) {
        const name = `bad-${i}`;
        refused(await asOperator('POST', `/apis/${apiVersion}/namespaces/${work}/${resource}`, { apiVersion, metadata: { name }, ...make(name, spec) }), policy, invariant);
      }
      const ok = await asOperator('POST', `/apis/${apiVersion}/namespaces/${work}/${resource}`, { apiVersion, metadata: { name: 'ordinary' }, ...make('ordinary', { containers: [plain] }) });
      expect(ok.status, `${resource}: ${ok.message}`).to.equal(201);
    }
  });

  type Role = KubeObject & { rules?: { apiGroups?: string[]; resources?: string[]; verbs?: string[] }[] };
  const binding = (name: string, role: string): unknown => ({ apiVersion: RBAC, kind: 'RoleBinding', metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role }, subjects: [{ kind: 'ServiceAccount', namespace: work, name: 'default' }] });
  const bind = (name: string, role: string): Promise<Answer> => asOperator('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${work}/rolebindings`, binding(name, role));
  const rulesOf = async (name: string): Promise<NonNullable<Role['rules']>> => (await suture.client.find<Role>({ apiVersion: RBAC, kind: 'ClusterRole', name }))?.rules ?? [];

  it('refuses binding edit, binding a role that grants *, and creating an aggregating ClusterRole; a plain role is bound', async () => {
    refused(await bind('edit', 'edit'), 'guardrail-no-rbac-escalation', 'no-admin-bindings');
    refused(await bind('wild', wildcard), 'guardrail-no-rbac-escalation', 'no-wildcard-or-escalating-roles');
    refused(
      await asOperator('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: aggregated }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'rbac.example.com/aggregate-to-x': 'true' } }] }, rules: [] }),
      'guardrail-no-escalating-roles',
      'no-aggregation',
    );
    const ok = await bind('reader', reader);
    expect(ok.status, ok.message).to.equal(201);
  });

  it('binds the aggregated view (judged by the rules the aggregation controller filled in); refuses injecting delete or secrets into it, allows a read-only aggregate-to-view role', async () => {
    // kube-controller-manager runs the clusterrole-aggregation controller here (test/controlplane/harness.ts): view's
    // rules are filled from system:aggregate-to-view — read-only, no secrets.
    await eventually('the aggregation controller filled view', async () => (await rulesOf('view')).length > 0, 60_000);
    const viewRules = await rulesOf('view');
    expect(viewRules.flatMap((r) => r.resources ?? [])).to.include('pods').and.not.include('secrets');
    expect(viewRules.flatMap((r) => r.verbs ?? []).every((v) => ['get', 'list', 'watch'].includes(v))).to.equal(true);
    // Suture's cache may still hold view unfilled for a moment; that is refused (never allowed), then it binds.
    await eventually('the operator binds view', async () => {
      const answer = await bind('viewer', 'view');
      if (answer.status === 201) return true;
      refused(answer, 'guardrail-no-rbac-escalation', 'aggregated-roles-fed-by-guarded-labels');
      return false;
    }, 30_000);

    const labelled = (name: string, rules: unknown[]): unknown => ({ apiVersion: RBAC, kind: 'ClusterRole', metadata: { name, labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } }, rules });
    const createRole = (body: unknown): Promise<Answer> => asOperator('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', body);
    const readWidgets = { apiGroups: ['widgets.example.com'], resources: ['widgets'], verbs: ['get', 'list', 'watch'] };
    refused(await createRole(labelled(injected, [readWidgets, { apiGroups: ['widgets.example.com'], resources: ['widgets'], verbs: ['delete'] }])), 'guardrail-no-escalating-roles', 'no-rules-injected-into-aggregated-roles');
    refused(await createRole(labelled(injected, [readWidgets, { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }])), 'guardrail-no-escalating-roles', 'no-rules-injected-into-aggregated-roles');
    expect(await suture.client.find({ apiVersion: RBAC, kind: 'ClusterRole', name: injected }), 'the refused role was not created').to.equal(undefined);
    // What cert-manager's cert-manager-view does for its resources: read-only, aggregated into view by the controller.
    const ok = await createRole(labelled(widgetsView, [readWidgets]));
    expect(ok.status, ok.message).to.equal(201);
    await eventually('view aggregates the read-only widgets rule', async () => (await rulesOf('view')).some((r) => r.resources?.includes('widgets') === true), 60_000);
    expect((await rulesOf('view')).flatMap((r) => r.resources ?? [])).to.not.include('secrets');
  });

  it('refuses binding an aggregated role whose effective rules, filled by the aggregation controller, reach secrets', async () => {
    // Set up by the admin (ungoverned): an aggregated role fed through an aggregate-to-* label, and a source granting
    // secrets read. The operator may not bind it, whatever its name promises.
    const key = `rbac.authorization.k8s.io/aggregate-to-${secretReader}`;
    await suture.client.create({ apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: secretReader }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [key]: 'true' } }] }, rules: [] });
    await suture.client.create({ apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: secretSource, labels: { [key]: 'true' } }, rules: [{ apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['get', 'list'] }] });
    await eventually('the aggregation controller filled the role', async () => (await rulesOf(secretReader)).some((r) => r.resources?.includes('secrets') === true), 60_000);
    // Refused while Suture's cache holds it unfilled, then refused for its secrets: never allowed.
    await eventually('the binding is refused for the secrets it reaches', async () => {
      const answer = await bind('secret-reader', secretReader);
      expect(answer.status, answer.message).to.equal(403);
      return answer.message.includes('no-secrets-through-aggregated-roles');
    }, 30_000);
    refused(await bind('secret-reader', secretReader), 'guardrail-no-rbac-escalation', 'no-secrets-through-aggregated-roles');
  });

  it('refuses a pod that borrows a service account with cluster-wide rights, not only the operator’s own', async () => {
    refused(await asOperator('POST', `/api/v1/namespaces/${work}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'borrower' }, spec: { serviceAccountName: 'powerful', containers: [plain] } }), 'guardrail-safe-pods', 'no-borrowed-service-account');
  });
});
