// Suture's static self-protection bundle (config/static-admission, KEP-5793) on a Kubernetes 1.37 API server of its
// own, started with the AdmissionConfiguration that points the ValidatingAdmissionPolicy plugin at the manifests.
// Suture is not running at all: an identity bound to cluster-admin (as many governed operators are) can delete
// neither Suture's webhook configuration, nor its namespace or ClusterRoleBinding, nor the API-based policy and
// binding that Suture writes itself (API-based policies cannot protect those: only static ones are applied to
// admission policies and bindings), nor Suture's state there (the floor and budget ConfigMaps). A member of
// system:masters still can, and once an admin deleted Suture's namespace the namespace controller (as its own service
// account, as on most clusters) empties it, state included, and the namespace goes.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { budgetConfigMapName } from '../../src/admission/budgets.js';
import { floorConfigMapName } from '../../src/admission/floors.js';
import { BUDGET_LABEL, FLOOR_LABEL } from '../../src/api/constants.js';
import type { KubeObject } from '../../src/api/types.js';
import { createObjectClient, type ObjectClient } from '../../src/kube/client.js';
import { startControlPlane, type ControlPlane } from '../controlplane/harness.js';
import { eventually, statusMessage } from './support.js';

const root = join(import.meta.dirname, '..', '..');
const bundle = join(root, 'config', 'static-admission');

function documents(path: string): KubeObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS() as KubeObject);
}

/** What a write as `client` came to: 'allowed', or the API server's message. */
async function attempt(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'allowed';
  } catch (error) {
    return statusMessage(error);
  }
}

describe('static self-protection manifests on a Kubernetes 1.37 API server, Suture not running', function () {
  this.timeout(240_000);
  let cp: ControlPlane;
  let dir: string;
  let admin: ObjectClient;
  let operator: ObjectClient;

  before(async function () {
    this.timeout(180_000);
    dir = mkdtempSync(join(tmpdir(), 'suture-static-'));
    const manifests = join(dir, 'manifests');
    mkdirSync(manifests);
    for (const file of readdirSync(join(bundle, 'manifests'))) copyFileSync(join(bundle, 'manifests', file), join(manifests, file));
    // The shipped AdmissionConfiguration, with this test's directory as staticManifestsDir.
    const configuration = readFileSync(join(bundle, 'admission-configuration.yaml'), 'utf8').replace(/staticManifestsDir: .*/, `staticManifestsDir: ${manifests}`);
    writeFileSync(join(dir, 'admission-configuration.yaml'), configuration);
    cp = await startControlPlane({
      apiserverArgs: [`--admission-control-config-file=${join(dir, 'admission-configuration.yaml')}`],
      controllers: ['namespace-controller', 'serviceaccount-controller'],
      // The namespace controller as system:serviceaccount:kube-system:namespace-controller, not as an admin.
      controllerManagerArgs: ['--use-service-account-credentials=true'],
      log: (line) => process.stderr.write(`[static controlplane] ${line}\n`),
    });
    admin = createObjectClient(cp.kubeConfig, { fieldManager: 'static-test' });
    // Suture's objects as config/default and Suture itself would leave them.
    await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'suture-system' } });
    await admin.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'suture' }, rules: [] });
    await admin.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'suture' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'suture' },
      subjects: [{ kind: 'ServiceAccount', name: 'suture', namespace: 'suture-system' }],
    });
    await admin.create({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'suture' }, webhooks: [] });
    // Suture's state: a floor reservation and a budget ledger as its stores write them.
    for (const [name, label] of [[floorConfigMapName('db-quorum'), FLOOR_LABEL], [budgetConfigMapName('db-deletes'), BUDGET_LABEL]] as const) {
      await admin.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'suture-system', name, labels: { [label]: 'true' } }, data: { 'keep.0123456789abcdef': '[]' } });
    }
    for (const object of documents(join(root, 'config', 'self-protection', 'self-protection.yaml'))) await admin.create(object);
    // A governed operator as many are installed: bound to cluster-admin.
    await admin.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'operator-cluster-admin' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'User', name: 'greedy-operator', apiGroup: 'rbac.authorization.k8s.io' }],
    });
    operator = createObjectClient(await cp.clientCert('greedy-operator', ['operators']), { fieldManager: 'greedy-operator' });
  });

  after(async function () {
    this.timeout(60_000);
    await cp?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('the bundle is what `make manifests` generates: one policy and one binding named *.static.k8s.io', () => {
    const objects = readdirSync(join(bundle, 'manifests')).flatMap((f) => documents(join(bundle, 'manifests', f)));
    expect(objects.map((o) => `${o.kind} ${o.metadata.name ?? ''}`)).to.deep.equal([
      'ValidatingAdmissionPolicy suture-self-protection.static.k8s.io',
      'ValidatingAdmissionPolicyBinding suture-self-protection.static.k8s.io',
    ]);
  });

  it('the API server refuses API writes of *.static.k8s.io names (they exist only as files)', async () => {
    const message = await attempt(admin.create({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'forged.static.k8s.io' }, spec: { validations: [{ expression: 'true' }] } }));
    expect(message).to.not.equal('allowed');
    expect(message).to.contain('static.k8s.io');
  });

  const refs = [
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: 'suture' },
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', name: 'suture-self-protection' },
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', name: 'suture-self-protection' },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: 'suture' },
    { apiVersion: 'v1', kind: 'Namespace', name: 'suture-system' },
  ];

  it('a cluster-admin operator can delete none of them, nor edit the webhook configuration or the binding (validationActions: Audit)', async () => {
    const outcomes: string[] = [];
    for (const ref of refs) outcomes.push(`${ref.kind} ${ref.name}: ${await attempt(operator.delete(ref))}`);
    const toAudit = await attempt(operator.mergePatch({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', name: 'suture-self-protection' }, { spec: { validationActions: ['Audit'] } }));
    outcomes.push(`binding to Audit: ${toAudit}`);
    const ignored = await attempt(operator.mergePatch({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: 'suture' }, { metadata: { labels: { disabled: 'true' } } }));
    outcomes.push(`webhook configuration edited: ${ignored}`);
    for (const outcome of outcomes) expect(outcome, outcome).to.match(/ValidatingAdmissionPolicy 'suture-self-protection\.static\.k8s\.io'.*denied request: Suture protects its own objects/);
    for (const ref of refs) expect(await admin.find(ref), `${ref.kind} ${ref.name} still there`).to.not.equal(undefined);
  });

  const stateRefs = [floorConfigMapName('db-quorum'), budgetConfigMapName('db-deletes')].map((name) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'suture-system', name }));

  it("nor delete, edit or forge Suture's floor and budget ConfigMaps (by name prefix or label, new or old object)", async () => {
    const outcomes: string[] = [];
    for (const ref of stateRefs) {
      outcomes.push(`delete ${ref.name}: ${await attempt(operator.delete(ref))}`);
      outcomes.push(`empty ${ref.name}: ${await attempt(operator.mergePatch(ref, { data: null }))}`);
      outcomes.push(`strip the label of ${ref.name}: ${await attempt(operator.mergePatch(ref, { metadata: { labels: { [FLOOR_LABEL]: null, [BUDGET_LABEL]: null } } }))}`);
    }
    const forge = (name: string, labels: Record<string, string> = {}): Promise<unknown> => operator.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'suture-system', name, labels }, data: { forged: 'yes' } });
    outcomes.push(`lookalike by name: ${await attempt(forge(floorConfigMapName('next-policy')))}`);
    outcomes.push(`lookalike by label: ${await attempt(forge('anything', { [BUDGET_LABEL]: 'true' }))}`);
    for (const outcome of outcomes) expect(outcome, outcome).to.match(/ValidatingAdmissionPolicy 'suture-self-protection\.static\.k8s\.io'.*denied request: Suture protects its own objects/);
    for (const ref of stateRefs) expect((await admin.get(ref)).metadata.labels, ref.name).to.not.deep.equal({});
    expect(await admin.find({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'suture-system', name: 'anything' })).to.equal(undefined);
    // Another ConfigMap there is not Suture's: the policies leave it to RBAC.
    expect(await attempt(forge('operator-notes'))).to.equal('allowed');
  });

  it('a member of system:masters can (the admin path stays open)', async () => {
    const ref = refs[0] as (typeof refs)[number];
    expect(await admin.delete(ref)).to.equal(true);
    expect(await admin.find(ref)).to.equal(undefined);
  });

  it("an admin's delete of Suture's namespace completes: the namespace controller, as its own service account, empties it, state included", async () => {
    // The controller manager acts as the controllers' own service accounts (it creates them in kube-system).
    await eventually('kube-system/namespace-controller exists', async () => (await admin.find({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: 'kube-system', name: 'namespace-controller' })) !== undefined, 30_000);
    const namespace = { apiVersion: 'v1', kind: 'Namespace', name: 'suture-system' };
    expect(await admin.delete(namespace)).to.equal(true);
    await eventually('suture-system is gone', async () => (await admin.find(namespace)) === undefined, 90_000);
    for (const ref of stateRefs) expect(await admin.find(ref), ref.name).to.equal(undefined);
  });
});
