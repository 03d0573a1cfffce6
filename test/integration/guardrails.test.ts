// Issue 9, item 9, on the real control plane with a real Suture process and the shipped guardrail pack
// (examples/policies/guardrails.yaml): a governed operator bound to cluster-admin tries each gap the issue found —
// privileged initContainers and ephemeral containers, privileged / hostNetwork / hostPath pod templates (Deployment,
// StatefulSet, DaemonSet, Job, CronJob), binding `edit`, binding a role that
// grants `*`, an aggregating ClusterRole, a pod borrowing a service account with cluster-wide rights — and each is
// refused by validate.suture.dev naming the rule; ordinary operator work still goes through.
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
    for (const [kind, name] of [['ClusterRoleBinding', crb], ['ClusterRoleBinding', powerful], ['ClusterRole', wildcard], ['ClusterRole', aggregated], ['ClusterRole', reader]] as const) {
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
    // Bindings reach identities.suture.dev too; both webhooks ask /validate, which runs the whole pipeline, and the
    // API server calls validating webhooks in parallel: whichever answers first names the rule.
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

  it('refuses binding edit, binding a role that grants *, and creating an aggregating ClusterRole', async () => {
    const binding = (name: string, role: string): unknown => ({ apiVersion: RBAC, kind: 'RoleBinding', metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role }, subjects: [{ kind: 'ServiceAccount', namespace: work, name: 'default' }] });
    refused(await asOperator('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${work}/rolebindings`, binding('edit', 'edit')), 'guardrail-no-rbac-escalation', 'no-admin-bindings');
    refused(await asOperator('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${work}/rolebindings`, binding('wild', wildcard)), 'guardrail-no-rbac-escalation', 'no-wildcard-or-aggregated-roles');
    refused(
      await asOperator('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: aggregated }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'rbac.example.com/aggregate-to-x': 'true' } }] }, rules: [] }),
      'guardrail-no-escalating-roles',
      'no-aggregation',
    );
    // `view` aggregates other roles (refused too); a plain role without * or escalation verbs may be bound.
    refused(await asOperator('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${work}/rolebindings`, binding('viewer', 'view')), 'guardrail-no-rbac-escalation', 'no-wildcard-or-aggregated-roles');
    const ok = await asOperator('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${work}/rolebindings`, binding('reader', reader));
    expect(ok.status, ok.message).to.equal(201);
  });

  it('refuses a pod that borrows a service account with cluster-wide rights, not only the operator’s own', async () => {
    refused(await asOperator('POST', `/api/v1/namespaces/${work}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'borrower' }, spec: { serviceAccountName: 'powerful', containers: [plain] } }), 'guardrail-safe-pods', 'no-borrowed-service-account');
  });
});
