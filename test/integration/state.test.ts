// How Suture knows the cluster (issue 8), tried on the real control plane with a real `suture run`: a protected
// dependent created a moment ago stops its owner's (and its namespace's) deletion; a CEL lookup of a custom resource
// kind only the expression names reads the real object and follows its changes; adopting an object by an owner of a
// kind no policy names is allowed and then protects it; a namespace's impact counts objects of kinds no policy
// names; an operator creating an owner and at once a dependent is never refused by the owner-reference guardrail.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/api/types.js';
import { createObjectClient, type ExchangeRequest } from '../../src/kube/client.js';
import { cluster } from './cluster.js';
import { WEBHOOK_CONFIGURATIONS, startSutureReplicas, type SutureReplicas } from './suture-process.js';
import { createNamespace, deleteNamespace, eventually, namespacedCrd, rawRequest, uniqueName } from './support.js';

const POLICY = { apiVersion: 'suture.dev/v1alpha1', kind: 'SuturePolicy' } as const;
const GROUP = 'state.it.suture.dev';
const WIDGET = { apiVersion: `${GROUP}/v1`, kind: 'Widget' } as const;
const SUTURE_DENIAL = 'admission webhook "validate.suture.dev" denied the request';

type Policy = KubeObject & { spec: Record<string, unknown>; status?: { conditions?: { type: string; status: string }[] } };
type Webhooks = KubeObject & { webhooks?: { name: string; rules?: { operations?: string[]; resources?: string[] }[] }[] };

interface Answer {
  status: number;
  message: string;
  body: KubeObject;
}

/** A request as the operator's service account (impersonated with the groups Kubernetes gives it). */
async function asOperator(kc: KubeConfig, sa: { namespace: string; name: string }, call: { method: ExchangeRequest['method']; path: string; body?: unknown }): Promise<Answer> {
  const { method, path, body } = call;
  const impersonate = { user: `system:serviceaccount:${sa.namespace}:${sa.name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${sa.namespace}`, 'system:authenticated'] };
  const response = await rawRequest(kc, { method, path, impersonate, ...(body === undefined ? {} : { body }) });
  const raw = (response.body as { message?: unknown } | null)?.message;
  return { status: response.status, message: typeof raw === 'string' ? raw : '', body: response.body as KubeObject };
}

function denied(answer: Answer): boolean {
  return answer.status === 403 && answer.message.includes(SUTURE_DENIAL);
}

function describeAnswer(answer: Answer): string {
  return `${answer.status}: ${answer.message}`;
}

function ready(policy: Policy | undefined): boolean {
  return policy?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Waits until the validating webhook sends Suture `operation` of `resource`. */
async function intercepted(suture: SutureReplicas, resource: string, operation: string): Promise<void> {
  await eventually(`validate.suture.dev intercepts ${operation} ${resource}`, async () => {
    const vwc = await suture.client.find<Webhooks>(WEBHOOK_CONFIGURATIONS[0]);
    const hook = vwc?.webhooks?.find((w) => w.name === 'validate.suture.dev');
    const covers = (values: string[] | undefined, value: string): boolean => [value, '*', '*/*'].some((v) => values?.includes(v) === true);
    return hook?.rules?.some((r) => covers(r.resources, resource) && covers(r.operations, operation)) ?? false;
  }, 20_000);
}

async function applyPolicy(suture: SutureReplicas, policy: Policy, coverage: [string, string][]): Promise<void> {
  await suture.client.create(policy);
  await eventually(`SuturePolicy ${policy.metadata.name ?? ''} Ready`, async () => ready(await suture.client.find<Policy>({ ...POLICY, name: policy.metadata.name ?? '' })), 20_000);
  for (const [resource, operation] of coverage) await intercepted(suture, resource, operation);
  await new Promise((r) => setTimeout(r, 1500)); // the API server loads a changed webhook configuration from its informer
}

function configMap(namespace: string, name: string, labels: Record<string, string> = {}, owner?: KubeObject): KubeObject {
  const ownerReferences = owner === undefined ? undefined : [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name ?? '', uid: owner.metadata.uid ?? '' }];
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name, labels, ...(ownerReferences === undefined ? {} : { ownerReferences }) }, data: { k: 'v' } };
}

/** "removes N objects" from a denial's impact phrase. */
function removedCount(message: string): number {
  const m = /impact: removes (\d+) object/.exec(message);
  return m === null ? 0 : Number(m[1]);
}

describe('the state model: a complete, fresh view of the cluster (real `suture run`, real control plane)', function () {
  this.timeout(240_000);
  let suture: SutureReplicas;
  let namespace: string;
  const kc = (): KubeConfig => cluster().kubeConfig;
  const op = (): { namespace: string; name: string } => ({ namespace, name: 'op' });
  const policies: string[] = [];
  const namespaces: string[] = [];
  const crd = namespacedCrd(GROUP, 'widgets', 'Widget');
  const rbac = uniqueName('it-state-op');

  before(async function () {
    this.timeout(180_000);
    const admin = createObjectClient(kc());
    if ((await admin.find({ apiVersion: crd.apiVersion, kind: crd.kind, name: crd.metadata.name })) === undefined) await admin.create(crd);
    await eventually('the Widget CRD is served', async () => {
      try {
        await admin.list(WIDGET.apiVersion, WIDGET.kind, { namespace: 'default', limit: 1 });
        return true;
      } catch {
        return false;
      }
    }, 30_000);
    suture = await startSutureReplicas(1);
    namespace = await createNamespace(kc(), 'it-state');
    await suture.client.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: rbac }, rules: [{ apiGroups: ['', GROUP], resources: ['configmaps', 'namespaces', 'serviceaccounts', 'widgets'], verbs: ['*'] }] });
    await suture.client.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: rbac },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: rbac },
      subjects: [{ kind: 'ServiceAccount', namespace, name: 'op' }],
    });
    const subjects = [{ kind: 'ServiceAccount', namespace, name: 'op' }];
    const protect: Policy = {
      ...POLICY,
      metadata: { name: uniqueName('it-state-protect') },
      spec: { subjects, match: [{ apiGroups: [''], kinds: ['ConfigMap'], selector: { matchLabels: { protected: 'true' } } }], operations: ['DELETE'], invariants: [{ name: 'keep', protect: {} }] },
    };
    const gate: Policy = {
      ...POLICY,
      metadata: { name: uniqueName('it-state-gate') },
      spec: {
        subjects,
        match: [{ apiGroups: [''], kinds: ['ConfigMap'], selector: { matchLabels: { gated: 'true' } } }],
        operations: ['CREATE'],
        invariants: [{ name: 'gate-open', expression: `cluster.get('${WIDGET.apiVersion}', 'Widget', object.metadata.namespace, 'gate').spec.open == true`, message: 'the gate Widget is closed' }],
      },
    };
    for (const p of [protect, gate]) policies.push(p.metadata.name ?? '');
    await applyPolicy(suture, protect, [['configmaps', 'DELETE']]);
    await applyPolicy(suture, gate, [['configmaps', 'CREATE']]);
  });

  after(async function () {
    this.timeout(120_000);
    for (const name of policies.splice(0)) await suture?.client.delete({ ...POLICY, name });
    await suture?.client.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: rbac });
    await suture?.client.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: rbac });
    await suture?.stop();
    for (const ns of [...namespaces, namespace]) if (ns !== undefined) await deleteNamespace(kc(), ns);
  });

  it('denies deleting the owner (and the namespace) of a protected dependent created a moment before, 50 of 50', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 50; i++) {
      const owner = await suture.client.create(configMap(namespace, `owner-${i}`));
      await suture.client.create(configMap(namespace, `dep-${i}`, { protected: 'true' }, owner));
      const answer = await asOperator(kc(), op(), { method: 'DELETE', path: `/api/v1/namespaces/${namespace}/configmaps/owner-${i}` });
      if (!denied(answer)) outcomes.push(`owner-${i}: ${describeAnswer(answer)}`);
    }
    for (let i = 0; i < 50; i++) {
      const ns = uniqueName('it-state-ns');
      namespaces.push(ns);
      await suture.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      await suture.client.create(configMap(ns, 'precious', { protected: 'true' }));
      const answer = await asOperator(kc(), op(), { method: 'DELETE', path: `/api/v1/namespaces/${ns}` });
      if (!denied(answer)) outcomes.push(`namespace ${ns}: ${describeAnswer(answer)}`);
    }
    expect(outcomes, outcomes.join('\n')).to.deep.equal([]);
  });

  it('reads a custom resource only a CEL lookup names, and follows its changes from the next request on', async () => {
    const create = (name: string): Promise<Answer> => asOperator(kc(), op(), { method: 'POST', path: `/api/v1/namespaces/${namespace}/configmaps`, body: configMap(namespace, name, { gated: 'true' }) });
    const gate = await suture.client.create({ ...WIDGET, metadata: { namespace, name: 'gate' }, spec: { open: true } });
    const opened = await create('gated-1');
    expect(opened.status, describeAnswer(opened)).to.equal(201);
    await suture.client.mergePatch({ ...WIDGET, namespace, name: gate.metadata.name ?? '' }, { spec: { open: false } });
    const closed = await create('gated-2');
    expect(denied(closed), describeAnswer(closed)).to.equal(true);
    expect(closed.message).to.include('the gate Widget is closed');
    await suture.client.mergePatch({ ...WIDGET, namespace, name: 'gate' }, { spec: { open: true } });
    const reopened = await create('gated-3');
    expect(reopened.status, describeAnswer(reopened)).to.equal(201);
  });

  it('allows adopting an object by an owner of a kind no policy names, then denies deleting that owner, naming the dependent', async () => {
    const owner = await suture.client.create<KubeObject>({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace, name: 'adopter' } });
    await suture.client.create(configMap(namespace, 'adoptee', { protected: 'true' }));
    const ownerReferences = [{ apiVersion: 'v1', kind: 'ServiceAccount', name: 'adopter', uid: owner.metadata.uid }];
    const current = await suture.client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'adoptee' });
    const updated = await asOperator(kc(), op(), { method: 'PUT', path: `/api/v1/namespaces/${namespace}/configmaps/adoptee`, body: { ...current, metadata: { ...current.metadata, ownerReferences } } });
    expect(updated.status, describeAnswer(updated)).to.equal(200);
    const removal = await asOperator(kc(), op(), { method: 'DELETE', path: `/api/v1/namespaces/${namespace}/serviceaccounts/adopter` });
    expect(denied(removal), describeAnswer(removal)).to.equal(true);
    expect(removal.message).to.include(`ConfigMap ${namespace}/adoptee`);
  });

  it("counts objects of kinds no policy names in a namespace deletion's impact", async () => {
    const ns = uniqueName('it-state-count');
    namespaces.push(ns);
    await suture.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    for (let i = 0; i < 5; i++) await suture.client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace: ns, name: `sa-${i}` } });
    for (let i = 0; i < 5; i++) await suture.client.create({ ...WIDGET, metadata: { namespace: ns, name: `w-${i}` }, spec: {} });
    await suture.client.create(configMap(ns, 'precious', { protected: 'true' }));
    // The namespace, 5 ServiceAccounts (+ default), 5 Widgets, the protected ConfigMap (+ kube-root-ca.crt).
    let last: Answer | undefined;
    await eventually('the denial counts every object in the namespace', async () => {
      last = await asOperator(kc(), op(), { method: 'DELETE', path: `/api/v1/namespaces/${ns}` });
      expect(denied(last), describeAnswer(last)).to.equal(true);
      return removedCount(last.message) >= 12;
    }, 15_000);
    expect(removedCount(last?.message ?? '')).to.be.at.least(12);
  });

  it('never refuses an operator that creates an owner and at once a dependent, 100 times, under the owner-reference guardrail', async () => {
    const file = join(import.meta.dirname, '..', '..', 'examples', 'policies', 'guardrails.yaml');
    const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Policy);
    const shipped = docs.find((d) => d.metadata.name === 'guardrail-sound-owner-references');
    expect(shipped, 'guardrail-sound-owner-references in examples/policies/guardrails.yaml').to.not.equal(undefined);
    // Narrowed to this test's operator, so nothing else running on the shared control plane is judged by it.
    const guardrail: Policy = { ...POLICY, metadata: { name: uniqueName('it-state-owners') }, spec: { ...(shipped as Policy).spec, subjects: [{ kind: 'ServiceAccount', namespace, name: 'op' }] } };
    policies.push(guardrail.metadata.name ?? '');
    await applyPolicy(suture, guardrail, [['configmaps', 'CREATE'], ['widgets', 'CREATE']]);
    const refused: string[] = [];
    for (let i = 0; i < 100; i++) {
      const owner = await asOperator(kc(), op(), { method: 'POST', path: `/apis/${GROUP}/v1/namespaces/${namespace}/widgets`, body: { ...WIDGET, metadata: { namespace, name: `owner-${i}` }, spec: {} } });
      if (owner.status !== 201) {
        refused.push(`widget owner-${i}: ${describeAnswer(owner)}`);
        continue;
      }
      const dependent = await asOperator(kc(), op(), { method: 'POST', path: `/api/v1/namespaces/${namespace}/configmaps`, body: configMap(namespace, `owned-${i}`, {}, owner.body) });
      if (dependent.status !== 201) refused.push(`configmap owned-${i}: ${describeAnswer(dependent)}`);
    }
    expect(refused, refused.join('\n')).to.deep.equal([]);
  });
});
