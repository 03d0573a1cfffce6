// The CEL cost limit on the real control plane with a real Suture process (issue 9, "adversarial policies"): a
// policy whose expression is estimated above the limit is refused when it is applied (objects.suture.dev), and an
// expression that the estimate lets through but that spends its budget at run time is stopped, with the policy's
// failurePolicy applied and the reason in the API server's answer.
import { expect } from 'chai';
import type { KubeObject } from '../../src/api/types.js';
import { cluster } from './cluster.js';
import { WEBHOOK_CONFIGURATIONS, startSutureReplicas, type SutureReplicas } from './suture-process.js';
import { createNamespace, deleteNamespace, eventually, rawRequest, uniqueName } from './support.js';

type Policy = KubeObject & { spec: Record<string, unknown>; status?: { conditions?: { type: string; status: string }[] } };
type Webhooks = KubeObject & { webhooks?: { name: string; rules?: { operations?: string[]; resources?: string[] }[] }[] };

const POLICY = { apiVersion: 'suture.dev/v1alpha1', kind: 'SuturePolicy' } as const;

function ready(policy: Policy | undefined): boolean {
  return policy?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

describe('CEL cost limit (real control plane, real Suture)', function () {
  this.timeout(180_000);
  let suture: SutureReplicas;
  let ns: string;
  const policies: string[] = [];

  before(async function () {
    this.timeout(150_000);
    suture = await startSutureReplicas(1);
    ns = await createNamespace(cluster().kubeConfig, 'cel-cost');
    await suture.client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace: ns, name: 'operator' } });
    await suture.client.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { namespace: ns, name: 'configmaps' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['*'] }] });
    await suture.client.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { namespace: ns, name: 'configmaps' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmaps' },
      subjects: [{ kind: 'ServiceAccount', namespace: ns, name: 'operator' }],
    });
  });

  after(async function () {
    this.timeout(90_000);
    for (const name of policies.splice(0)) await suture?.client.delete({ ...POLICY, name }).catch(() => undefined);
    await suture?.stop();
    if (ns !== undefined) await deleteNamespace(cluster().kubeConfig, ns);
  });

  it('refuses at apply a policy whose expression nests comprehensions over lists of unknown size', async () => {
    const policy: Policy = {
      ...POLICY,
      metadata: { name: uniqueName('cel-quadratic') },
      spec: {
        match: [{ apiGroups: [''], kinds: ['ConfigMap'] }],
        invariants: [{ name: 'pairs', expression: "cluster.list('v1', 'Pod', '', '').all(p, cluster.list('v1', 'Pod', '', '').all(q, p.metadata.name != q.metadata.name || p == q))" }],
      },
    };
    for (const dryRun of [true, false]) {
      const refused = await suture.client.create(policy, { dryRun }).then(
        () => 'stored',
        (error: unknown) => String((error as Error).message),
      );
      expect(refused).to.include('admission webhook "objects.suture.dev" denied the request');
      expect(refused).to.include('spec.invariants[0].expression').and.match(/estimated cost \S+ exceeds the CEL cost limit of 10000000/);
    }
    expect(await suture.client.find({ ...POLICY, name: policy.metadata.name ?? '' })).to.equal(undefined);
  });

  it('stops an evaluation that spends its budget: failurePolicy Fail refuses the delete, Ignore lets it through', async () => {
    // 20 concatenations of a 400 kB string: the estimate (sizes read from the object are unknown to it) lets it
    // through; the run-time meter charges every kilobyte and stops it past 1,000,000 units.
    const expression = `[${Array.from({ length: 20 }, (_, i) => i).join(', ')}].all(i, oldObject.data.big + 'x' != '')`;
    for (const failurePolicy of ['Fail', 'Ignore']) {
      const name = uniqueName(`cel-costly-${failurePolicy.toLowerCase()}`);
      policies.push(name);
      await suture.client.create({
        ...POLICY,
        metadata: { name },
        spec: { failurePolicy, match: [{ apiGroups: [''], kinds: ['ConfigMap'], namespaces: [ns], selector: { matchLabels: { cost: failurePolicy } } }], operations: ['DELETE'], invariants: [{ name: 'costly', expression }] },
      });
      await eventually(`SuturePolicy ${name} Ready`, async () => ready(await suture.client.find<Policy>({ ...POLICY, name })), 30_000);
      await suture.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: ns, name: `big-${failurePolicy.toLowerCase()}`, labels: { cost: failurePolicy } }, data: { big: 'a'.repeat(400_000) } });
    }
    await eventually('validate.suture.dev intercepts ConfigMap deletes', async () => {
      const vwc = await suture.client.find<Webhooks>(WEBHOOK_CONFIGURATIONS[0]);
      const hook = vwc?.webhooks?.find((w) => w.name === 'validate.suture.dev');
      const covers = (values: string[] | undefined, value: string): boolean => [value, '*', '*/*'].some((v) => values?.includes(v) === true);
      return hook?.rules?.some((r) => covers(r.resources, 'configmaps') && covers(r.operations, 'DELETE')) ?? false;
    }, 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // the API server loads the changed webhook configuration
    const impersonate = { user: `system:serviceaccount:${ns}:operator`, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'] };
    const del = async (name: string): Promise<{ status: number; message: string }> => {
      const r = await rawRequest(cluster().kubeConfig, { method: 'DELETE', path: `/api/v1/namespaces/${ns}/configmaps/${name}`, impersonate });
      const message = (r.body as { message?: unknown } | null)?.message;
      return { status: r.status, message: typeof message === 'string' ? message : '' };
    };
    const started = performance.now();
    const fail = await del('big-fail');
    const ms = performance.now() - started;
    // An undecidable verdict is answered 500 InternalError (admission/review.ts), the request refused either way.
    expect(fail.status, fail.message).to.equal(500);
    expect(fail.message).to.include('validate.suture.dev').and.include('could not be decided (failurePolicy Fail)').and.include('CEL cost limit exceeded');
    expect(ms, 'the refused delete took').to.be.below(10_000);
    const ignore = await del('big-ignore');
    expect(ignore.status, ignore.message).to.equal(200);
  });
});
