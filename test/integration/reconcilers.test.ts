// The stores and the leader-only reconcilers on the real control plane: CRDs from crds/, lease grants with generated
// RBAC (checked with SubjectAccessReviews), conflicts and hand-over, expiry, policy status, and Suture's webhook
// configurations written, regenerated and repaired.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { API_VERSION } from '../../src/api/constants.js';
import type { KubeObject, SutureLease, SutureLeaseSpec, SuturePolicy, SuturePolicySpec } from '../../src/api/types.js';
import { kindCatalog } from '../../src/core/generate/kinds.js';
import { BUILTIN_KINDS, createSnapshot } from '../../src/core/snapshot.js';
import { type Reconcilers, type Stores, createReconcilers, createStores } from '../../src/controller/reconcilers/index.js';
import { type ObjectClient, createObjectClient } from '../../src/kube/client.js';
import { createMemoryLogger } from '../../src/observability/logger.js';
import { createCertificateAuthority } from '../controlplane/pki.js';
import { cluster } from './cluster.js';
import { createNamespace, deleteNamespace, eventually, uniqueName } from './support.js';

const crdDir = join(import.meta.dirname, '..', '..', 'crds');
const rbacV1 = 'rbac.authorization.k8s.io/v1';
const admissionV1 = 'admissionregistration.k8s.io/v1';

async function installCrds(client: ObjectClient): Promise<void> {
  for (const file of readdirSync(crdDir).filter((f) => f.endsWith('.yaml'))) {
    const crd = parse(readFileSync(join(crdDir, file), 'utf8')) as KubeObject;
    await client.apply(crd, { force: true, fieldManager: 'suture-it' });
  }
  for (const file of readdirSync(crdDir).filter((f) => f.endsWith('.yaml'))) {
    const name = (parse(readFileSync(join(crdDir, file), 'utf8')) as KubeObject).metadata.name ?? '';
    await eventually(`CRD ${name} Established`, async () => {
      const crd = await client.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
    });
  }
}

function leaseObject(namespace: string, name: string, spec: SutureLeaseSpec): SutureLease {
  return { apiVersion: API_VERSION, kind: 'SutureLease', metadata: { namespace, name }, spec };
}

function policyObject(name: string, spec: SuturePolicySpec): SuturePolicy {
  return { apiVersion: API_VERSION, kind: 'SuturePolicy', metadata: { name }, spec };
}

async function leaseStatus(client: ObjectClient, namespace: string, name: string): Promise<SutureLease['status']> {
  return (await client.get<SutureLease>({ apiVersion: API_VERSION, kind: 'SutureLease', namespace, name })).status;
}

async function phaseIs(client: ObjectClient, namespace: string, name: string, phase: string): Promise<boolean> {
  return (await leaseStatus(client, namespace, name))?.phase === phase;
}

/** SubjectAccessReview: may this service account do `verb` on `resource` in `namespace`? */
async function allowed(client: ObjectClient, sa: { namespace: string; name: string }, attrs: { namespace: string; verb: string; group: string; resource: string; name?: string }): Promise<boolean> {
  const review = await client.create<KubeObject & { status?: { allowed?: boolean } }>({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    metadata: {},
    spec: { user: `system:serviceaccount:${sa.namespace}:${sa.name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${sa.namespace}`, 'system:authenticated'], resourceAttributes: attrs },
  });
  return review.status?.allowed === true;
}

async function generatedRoles(client: ObjectClient, namespace: string, lease: string): Promise<KubeObject[]> {
  const list = await client.list(rbacV1, 'Role', { labelSelector: `suture.dev/lease=${namespace}.${lease}` });
  return list.items;
}

describe('reconcilers (real API server)', function () {
  this.timeout(120_000);
  let client: ObjectClient;
  let stores: Stores;
  let reconcilers: Reconcilers;
  let leaseNs: string;
  let targetNs: string;
  let caPem: string;
  const configName = uniqueName('suture-it');
  const logger = createMemoryLogger();

  before(async () => {
    const kc = cluster().kubeConfig;
    client = createObjectClient(kc, { fieldManager: 'suture-it' });
    await installCrds(client);
    leaseNs = await createNamespace(kc, 'it-leases');
    targetNs = await createNamespace(kc, 'it-target');
    caPem = (await createCertificateAuthority('suture-it-reconcilers')).certPem;
    stores = createStores({ kubeConfig: kc, logger });
    await stores.start();
    expect(await stores.waitForSync(30_000)).to.be.true;
    reconcilers = createReconcilers({
      kubeConfig: kc,
      client,
      logger,
      stores,
      snapshot: () => createSnapshot([]),
      catalog: () => kindCatalog(BUILTIN_KINDS),
      webhooks: {
        // Ignore, exempt namespaces and a port nobody listens on: other tests in this run are never blocked.
        config: { name: configName, client: { url: 'https://127.0.0.1:1' }, failurePolicy: 'Ignore', timeoutSeconds: 2, exemptNamespaces: ['kube-system', 'suture-system'] },
        caBundle: () => caPem,
      },
    });
    await reconcilers.start();
  });

  after(async () => {
    if (process.env.SUTURE_IT_LOG === '1') for (const e of logger.entries) console.error(e.level, e.message, JSON.stringify(e.fields));
    await reconcilers?.stop();
    await stores?.stop();
    await client.delete({ apiVersion: admissionV1, kind: 'ValidatingWebhookConfiguration', name: configName });
    await client.delete({ apiVersion: admissionV1, kind: 'MutatingWebhookConfiguration', name: configName });
    for (const p of ['it-ready', 'it-invalid']) await client.delete({ apiVersion: API_VERSION, kind: 'SuturePolicy', name: p });
    await deleteNamespace(cluster().kubeConfig, leaseNs);
    await deleteNamespace(cluster().kubeConfig, targetNs);
  });

  it('the CRDs from crds/ are accepted and Established', async () => {
    const list = await client.list(API_VERSION, 'SutureLease');
    expect(list.items).to.be.an('array');
  });

  it('grants a lease, generates RBAC the holder can act with, hands over to a conflicting lease when the first is deleted', async () => {
    const holderA = { kind: 'ServiceAccount' as const, name: 'operator-a', namespace: leaseNs };
    const holderB = { kind: 'ServiceAccount' as const, name: 'operator-b', namespace: leaseNs };
    const resources = [{ apiGroups: ['apps'], kinds: ['StatefulSet'], namespaces: [targetNs] }];
    await client.create(leaseObject(leaseNs, 'first', { holder: holderA, resources }));
    await eventually('first Granted', () => phaseIs(client, leaseNs, 'first', 'Granted'), 30_000);
    const first = await leaseStatus(client, leaseNs, 'first');
    expect(first?.conditions?.find((c) => c.type === 'Granted')).to.include({ status: 'True', reason: 'Granted' });
    expect(first?.generated?.map((g) => g.kind).sort()).to.deep.equal(['Role', 'RoleBinding']);
    expect(first?.grantedAt).to.be.a('string');
    const sts = { namespace: targetNs, verb: 'update', group: 'apps', resource: 'statefulsets', name: 'db' };
    await eventually('holder A may update statefulsets', () => allowed(client, { namespace: leaseNs, name: 'operator-a' }, sts), 15_000);
    expect(await allowed(client, { namespace: leaseNs, name: 'operator-a' }, { ...sts, namespace: leaseNs })).to.be.false;
    expect(await allowed(client, { namespace: leaseNs, name: 'operator-a' }, { ...sts, resource: 'statefulsets/scale' })).to.be.true;

    await new Promise((r) => setTimeout(r, 1100)); // creationTimestamp has second precision: the first is older
    await client.create(leaseObject(leaseNs, 'second', { holder: holderB, resources }));
    await eventually('second Conflicted', () => phaseIs(client, leaseNs, 'second', 'Conflicted'), 30_000);
    const second = await leaseStatus(client, leaseNs, 'second');
    expect(second?.conflictsWith).to.deep.equal([{ namespace: leaseNs, name: 'first', holder: holderA }]);
    expect(second?.conditions?.find((c) => c.type === 'Granted')?.message).to.include(`${leaseNs}/first`);
    expect(await allowed(client, { namespace: leaseNs, name: 'operator-b' }, sts)).to.be.false;

    await client.delete({ apiVersion: API_VERSION, kind: 'SutureLease', namespace: leaseNs, name: 'first' });
    await eventually('second Granted after hand-over', () => phaseIs(client, leaseNs, 'second', 'Granted'), 30_000);
    await eventually("first's RBAC removed", async () => (await generatedRoles(client, leaseNs, 'first')).length === 0, 30_000);
    await eventually('holder B may update statefulsets', () => allowed(client, { namespace: leaseNs, name: 'operator-b' }, sts), 15_000);
    expect(await allowed(client, { namespace: leaseNs, name: 'operator-a' }, sts)).to.be.false;
    await client.delete({ apiVersion: API_VERSION, kind: 'SutureLease', namespace: leaseNs, name: 'second' });
  });

  it('repairs generated RBAC deleted by someone else', async () => {
    await client.create(leaseObject(leaseNs, 'repair', { holder: { kind: 'ServiceAccount', name: 'operator-r', namespace: leaseNs }, resources: [{ apiGroups: [''], kinds: ['ConfigMap'], namespaces: [targetNs] }] }));
    await eventually('repair Granted', () => phaseIs(client, leaseNs, 'repair', 'Granted'), 30_000);
    const [role] = await generatedRoles(client, leaseNs, 'repair');
    expect(role).to.exist;
    await client.delete({ apiVersion: rbacV1, kind: 'Role', namespace: targetNs, name: role?.metadata.name ?? '' });
    await eventually('Role recreated', async () => (await generatedRoles(client, leaseNs, 'repair')).some((r) => r.metadata.uid !== role?.metadata.uid), 15_000);
    await client.delete({ apiVersion: API_VERSION, kind: 'SutureLease', namespace: leaseNs, name: 'repair' });
  });

  it('expires a lease with a duration and removes its RBAC', async () => {
    await client.create(leaseObject(leaseNs, 'short', { holder: { kind: 'ServiceAccount', name: 'operator-s', namespace: leaseNs }, resources: [{ apiGroups: ['batch'], kinds: ['Job'], namespaces: [targetNs] }], duration: '3s' }));
    await eventually('short Granted', () => phaseIs(client, leaseNs, 'short', 'Granted'), 30_000);
    expect((await leaseStatus(client, leaseNs, 'short'))?.expiresAt).to.be.a('string');
    await eventually('short Expired', () => phaseIs(client, leaseNs, 'short', 'Expired'), 30_000);
    await eventually("short's RBAC removed", async () => (await generatedRoles(client, leaseNs, 'short')).length === 0, 15_000);
    await client.delete({ apiVersion: API_VERSION, kind: 'SutureLease', namespace: leaseNs, name: 'short' });
  });

  it('re-audits from its RBAC cache when a binding gives the holder more, within seconds (no periodic audit)', async () => {
    const holder = { kind: 'ServiceAccount' as const, name: 'operator-audit', namespace: leaseNs };
    await client.create(leaseObject(leaseNs, 'audited', { holder, resources: [{ apiGroups: [''], kinds: ['ConfigMap'], namespaces: [targetNs] }] }));
    const bindingName = uniqueName('it-extra');
    const via = `RoleBinding/${targetNs}/${bindingName}`;
    const excessVia = async (): Promise<string[] | undefined> => {
      const status = await leaseStatus(client, leaseNs, 'audited');
      const audited = status?.conditions?.some((c) => c.type === 'LeastPrivilege' && c.reason !== 'NotAudited') ?? false;
      return audited ? (status?.excessPermissions ?? []).map((e) => e.via) : undefined;
    };
    await eventually('audited Granted and audited', async () => (await leaseStatus(client, leaseNs, 'audited'))?.phase === 'Granted' && (await excessVia()) !== undefined, 30_000);
    expect(await excessVia()).to.not.include(via);
    await client.create({
      apiVersion: rbacV1,
      kind: 'RoleBinding',
      metadata: { name: bindingName, namespace: targetNs },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'ServiceAccount', name: holder.name, namespace: leaseNs }],
    });
    // The default audit interval is 10 minutes: only the binding's watch event can bring the lease back this soon.
    await eventually('the binding in excessPermissions', async () => (await excessVia())?.includes(via) ?? false, 15_000);
    const status = await leaseStatus(client, leaseNs, 'audited');
    expect(status?.conditions?.find((c) => c.type === 'LeastPrivilege')).to.include({ status: 'False' });
    await client.delete({ apiVersion: rbacV1, kind: 'RoleBinding', namespace: targetNs, name: bindingName });
    await eventually('the binding gone from excessPermissions', async () => !((await excessVia())?.includes(via) ?? true), 15_000);
    await client.delete({ apiVersion: API_VERSION, kind: 'SutureLease', namespace: leaseNs, name: 'audited' });
  });

  it('writes policy status: Ready for a valid policy, InvalidPolicy with errors for a bad one', async () => {
    const match = [{ apiGroups: [''], kinds: ['PersistentVolumeClaim'], namespaces: [targetNs] }];
    await client.create(policyObject('it-ready', { match, operations: ['DELETE'], invariants: [{ name: 'keep', protect: {} }] }));
    await client.create(policyObject('it-invalid', { match, invariants: [{ name: 'bad', expression: 'impact.deleted.size( >' }] }));
    const ready = async (name: string): Promise<SuturePolicy['status']> => (await client.get<SuturePolicy>({ apiVersion: API_VERSION, kind: 'SuturePolicy', name })).status;
    await eventually('it-ready Ready', async () => (await ready('it-ready'))?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false, 30_000);
    await eventually('it-invalid not Ready', async () => (await ready('it-invalid'))?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False') ?? false, 30_000);
    const invalid = await ready('it-invalid');
    expect(invalid?.conditions?.find((c) => c.type === 'Ready')?.reason).to.equal('InvalidPolicy');
    expect(invalid?.errors?.[0]?.path).to.equal('spec.invariants[0].expression');
  });

  describe('webhook configurations', () => {
    const ref = (kind: string): { apiVersion: string; kind: string; name: string } => ({ apiVersion: admissionV1, kind, name: configName });
    type Hook = { name: string; clientConfig: { url?: string; caBundle?: string }; rules?: { resources: string[]; operations: string[] }[]; failurePolicy?: string };
    const hooks = async (kind: string): Promise<Hook[]> => ((await client.find<KubeObject & { webhooks?: Hook[] }>(ref(kind)))?.webhooks ?? []);

    it('are written with the URL and caBundle given', async () => {
      // The governed, objects and identities webhooks always; effects.suture.dev too while a protect policy exists.
      const always = ['validate.suture.dev', 'objects.suture.dev', 'identities.suture.dev'];
      await eventually('validating configuration written', async () => {
        const names = (await hooks('ValidatingWebhookConfiguration')).map((h) => h.name);
        return always.every((n) => names.includes(n));
      }, 30_000);
      const validating = await hooks('ValidatingWebhookConfiguration');
      expect(validating.map((h) => h.name)).to.include.members(always);
      expect(validating[0]?.name).to.equal('validate.suture.dev');
      expect(validating[0]?.clientConfig.url).to.equal('https://127.0.0.1:1/validate');
      expect(Buffer.from(validating[0]?.clientConfig.caBundle ?? '', 'base64').toString('utf8')).to.equal(caPem);
      expect((await hooks('MutatingWebhookConfiguration')).map((h) => h.name)).to.deep.equal(['mutate.suture.dev', 'evictions.suture.dev']);
    });

    it('are regenerated after a policy change', async () => {
      const match = [{ apiGroups: ['apps'], kinds: ['DaemonSet'] }];
      // Humans named by the policy: the API server must accept the CEL of matchConditions that names them.
      const subjects = [{ kind: 'User', name: 'alice' }, { kind: 'Group', name: 'ops' }, { kind: 'ServiceAccount', namespace: leaseNs, name: '*' }];
      await client.mergePatch({ apiVersion: API_VERSION, kind: 'SuturePolicy', name: 'it-ready' }, { spec: { match, operations: ['UPDATE'], subjects } });
      await eventually('daemonsets in the rules', async () => (await hooks('ValidatingWebhookConfiguration'))[0]?.rules?.some((r) => r.resources.includes('daemonsets')) ?? false, 30_000);
      const conditions = (await client.get<KubeObject & { webhooks: { matchConditions?: { expression: string }[] }[] }>(ref('ValidatingWebhookConfiguration'))).webhooks[0]?.matchConditions;
      expect(conditions?.[0]?.expression).to.include("in ['alice']").and.include("g in ['ops']");
    });

    it('are repaired within seconds after deletion', async () => {
      const before = (await hooks('ValidatingWebhookConfiguration')).map((h) => h.name);
      const mutating = (await hooks('MutatingWebhookConfiguration')).map((h) => h.name);
      expect(before).to.include('validate.suture.dev');
      await client.delete(ref('ValidatingWebhookConfiguration'));
      await client.delete(ref('MutatingWebhookConfiguration'));
      const started = Date.now();
      const names = async (kind: string): Promise<string[]> => (await hooks(kind)).map((h) => h.name);
      await eventually('both recreated', async () => JSON.stringify(await names('ValidatingWebhookConfiguration')) === JSON.stringify(before) && JSON.stringify(await names('MutatingWebhookConfiguration')) === JSON.stringify(mutating), 15_000);
      expect(Date.now() - started).to.be.below(10_000);
    });

    it('are repaired within seconds after a manual edit', async () => {
      const current = await client.get<KubeObject & { webhooks: Hook[] }>(ref('ValidatingWebhookConfiguration'));
      const rulesOf = (hs: readonly Hook[]): string => JSON.stringify(hs.map((h) => [h.name, h.rules ?? [], h.failurePolicy]));
      const generated = rulesOf(current.webhooks);
      expect(current.webhooks.some((h) => (h.rules?.length ?? 0) > 0)).to.equal(true);
      const edited = { ...current, webhooks: current.webhooks.map((h) => ({ ...h, rules: [], failurePolicy: 'Ignore' })) };
      await client.replace(edited);
      const started = Date.now();
      await eventually('rules restored', async () => rulesOf(await hooks('ValidatingWebhookConfiguration')) === generated, 15_000);
      expect(Date.now() - started).to.be.below(10_000);
    });
  });
});
