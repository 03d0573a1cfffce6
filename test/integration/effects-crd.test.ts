// Issue 9, "guard the effect, whoever performs it", two paths the effects webhook missed, on the real control plane
// with a real Suture process: (a) deleting a CustomResourceDefinition removes every custom resource it serves — the
// API server deletes them itself, with no admission call per instance — so an admin's CRD delete that would remove
// protected custom resources must be refused at the CRD; (b) users configured as exempt (`--exempt-user`,
// break-glass) skip the governed pipeline but not the effect guard of `protect`.
import type { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import type { KubeObject } from '../../src/api/types.js';
import type { ExchangeRequest, Impersonation } from '../../src/kube/client.js';
import { cluster } from './cluster.js';
import { WEBHOOK_CONFIGURATIONS, startSutureReplicas, type SutureReplicas } from './suture-process.js';
import { createNamespace, deleteNamespace, eventually, namespacedCrd, rawRequest, uniqueName } from './support.js';

type Policy = KubeObject & { status?: { conditions?: { type: string; status: string }[] } };
type Webhooks = KubeObject & { webhooks?: { name: string; rules?: { apiGroups?: string[]; operations?: string[]; resources?: string[] }[] }[] };

const POLICY = { apiVersion: 'suture.dev/v1alpha1', kind: 'SuturePolicy' } as const;
const BREAK_GLASS = 'break-glass-admin';

interface Answer {
  status: number;
  message: string;
}

async function call(kc: KubeConfig, method: ExchangeRequest['method'], path: string, impersonate?: Impersonation): Promise<Answer> {
  const r = await rawRequest(kc, { method, path, impersonate });
  const raw = (r.body as { message?: unknown } | null)?.message;
  return { status: r.status, message: typeof raw === 'string' ? raw : '' };
}

function ready(policy: Policy | undefined): boolean {
  return policy?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Guard the effect: CRD deletes and configured exempt users (issue 9; real control plane, real Suture)', function () {
  this.timeout(240_000);
  let suture: SutureReplicas;
  let ns: string;
  let admin: KubeConfig;
  const group = `${uniqueName('fx')}.example.com`;
  const crd = namespacedCrd(group, 'vaults', 'Vault');
  const policy = uniqueName('protect-vaults');
  const vault = (name: string, keep: string): KubeObject => ({ apiVersion: `${group}/v1`, kind: 'Vault', metadata: { namespace: ns, name, labels: { keep } } });

  before(async function () {
    this.timeout(200_000);
    admin = cluster().kubeConfig;
    suture = await startSutureReplicas(1, ['--exempt-user', BREAK_GLASS]);
    ns = await createNamespace(admin, 'effects-crd');
    await suture.client.create(crd);
    await eventually(`CRD ${crd.metadata.name} Established`, async () => {
      const c = await suture.client.find<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: crd.metadata.name });
      return c?.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') ?? false;
    }, 30_000);
    await sleep(1000); // the new resource is served
    for (const [name, keep] of [['gold', 'yes'], ['silver', 'yes'], ['scratch', 'no']] as const) await suture.client.create(vault(name, keep));
    await suture.client.create({
      ...POLICY,
      metadata: { name: policy },
      spec: { match: [{ apiGroups: [group], kinds: ['Vault'], selector: { matchLabels: { keep: 'yes' } } }], operations: ['DELETE'], invariants: [{ name: 'survives', protect: {} }] },
    });
    await eventually(`SuturePolicy ${policy} Ready`, async () => ready(await suture.client.find<Policy>({ ...POLICY, name: policy })), 30_000);
    await eventually('effects.suture.dev intercepts CRD deletes', async () => {
      const vwc = await suture.client.find<Webhooks>(WEBHOOK_CONFIGURATIONS[0]);
      const hook = vwc?.webhooks?.find((w) => w.name === 'effects.suture.dev');
      return hook?.rules?.some((r) => r.apiGroups?.includes('apiextensions.k8s.io') === true && r.resources?.includes('customresourcedefinitions') === true && r.operations?.includes('DELETE') === true) ?? false;
    }, 30_000).catch(() => undefined); // without this change the tests below fail one by one, showing what got through
    await sleep(2000); // the API server loads the changed webhook configuration from its informer
  });

  after(async function () {
    this.timeout(120_000);
    await suture?.client.delete({ ...POLICY, name: policy }).catch(() => undefined);
    await suture?.stop();
    await suture?.client.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: crd.metadata.name }).catch(() => undefined);
    if (ns !== undefined) await deleteNamespace(admin, ns);
  });

  const present = async (name: string): Promise<boolean> => {
    const o = await suture.client.find({ apiVersion: `${group}/v1`, kind: 'Vault', namespace: ns, name });
    return o !== undefined && o.metadata.deletionTimestamp === undefined;
  };

  it('(b) a user configured as exempt cannot remove a protected custom resource; it removes an unprotected one', async () => {
    const asBreakGlass = { user: BREAK_GLASS, groups: ['system:masters', 'system:authenticated'] };
    const refused = await call(admin, 'DELETE', `/apis/${group}/v1/namespaces/${ns}/vaults/gold`, asBreakGlass);
    expect(refused.status, refused.message).to.equal(403);
    expect(refused.message).to.include('admission webhook "effects.suture.dev" denied the request').and.include(policy).and.include(BREAK_GLASS);
    expect(await present('gold')).to.equal(true);
    const allowed = await call(admin, 'DELETE', `/apis/${group}/v1/namespaces/${ns}/vaults/scratch`, asBreakGlass);
    expect(allowed.status, allowed.message).to.equal(200);
  });

  it('(a) an admin deleting the CRD that serves protected custom resources is refused at the CRD; they all survive', async () => {
    const refused = await call(admin, 'DELETE', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
    expect(refused.status, refused.message).to.equal(403);
    expect(refused.message).to.include('admission webhook "effects.suture.dev" denied the request').and.include(policy);
    await sleep(2000); // were the CRD deleted, its finalizer would be removing the instances by now
    const still = await suture.client.find<KubeObject>({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: crd.metadata.name });
    expect(still?.metadata.deletionTimestamp).to.equal(undefined);
    expect(await present('gold')).to.equal(true);
    expect(await present('silver')).to.equal(true);
  });
});
