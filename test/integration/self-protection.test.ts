// Suture protects itself (issue 9, items 1 and 2), with a real `suture run` on the real control plane.
//  - A governed operator bound to cluster-admin can delete none of Suture's objects: the ValidatingAdmissionPolicy
//    Suture installs is evaluated by the API server itself, also for webhook configurations, which no webhook sees.
//  - The race of item 2 — delete (or disable) Suture's webhook configuration and fire protected deletes on one
//    keep-alive connection before the repair — lets none through: the delete and the edit are refused themselves.
//  - What an admin deletes anyway (webhook configurations, the policy and its binding, the certificate Secret, the
//    leader Lease) is back within a second and reported: log line, suture_self_repairs_total{kind}, Event.
//  - Suture's state in its namespace — the ConfigMaps of floor reservations and budget ledgers — is Suture's too: the
//    operator can neither delete, edit nor strip their label, nor forge a lookalike by name or by label; Suture's
//    service account, writing through the stores, can.
//  - /readyz turns false within seconds when Suture (running as its own service account with config/rbac) loses its
//    ClusterRoleBinding, and true again when the binding is back.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { BudgetStore, budgetConfigMapName } from '../../src/admission/budgets.js';
import { FloorStore, floorConfigMapName } from '../../src/admission/floors.js';
import { BUDGET_LABEL, FLOOR_LABEL } from '../../src/api/constants.js';
import type { KubeObject } from '../../src/api/types.js';
import { createObjectClient, type ExchangeRequest, type ObjectClient, type ObjectRef, RawObjectApi, shareDispatchers } from '../../src/kube/client.js';
import { kubeConfigYaml } from '../controlplane/kubeconfig.js';
import { serviceAccountKubeConfig } from '../controlplane/service-account.js';
import { getFromSuture, startSutureProcess, type SutureProcess } from '../controlplane/suture-process.js';
import { cluster } from './cluster.js';
import { SUTURE_NAMESPACE, WEBHOOK_CONFIGURATIONS, ensureCrds, logSince, logSize, removeWebhookConfigurations, startSutureReplicas, type SutureReplicas } from './suture-process.js';
import { eventually, rawRequest, statusMessage, uniqueName } from './support.js';

const root = join(import.meta.dirname, '..', '..');
const ADMISSION = 'admissionregistration.k8s.io/v1';
const RBAC = 'rbac.authorization.k8s.io/v1';
const VAP_DENIAL = /ValidatingAdmissionPolicy 'suture-self-protection' with binding 'suture-self-protection' denied request: Suture protects its own objects/;
const SELF_POLICY: ObjectRef = { apiVersion: ADMISSION, kind: 'ValidatingAdmissionPolicy', name: 'suture-self-protection' };
const SELF_BINDING: ObjectRef = { apiVersion: ADMISSION, kind: 'ValidatingAdmissionPolicyBinding', name: 'suture-self-protection' };
const CERT_SECRET: ObjectRef = { apiVersion: 'v1', kind: 'Secret', namespace: SUTURE_NAMESPACE, name: 'suture-webhook-cert' };
const LEADER_LEASE: ObjectRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: SUTURE_NAMESPACE, name: 'suture-leader' };

/** config/rbac as Suture's install has it (ServiceAccount, ClusterRole, Role and their bindings `suture`). */
function rbacObjects(): KubeObject[] {
  return ['service_account.yaml', 'cluster_role.yaml', 'role.yaml', 'bindings.yaml'].flatMap((file) =>
    parseAllDocuments(readFileSync(join(root, 'config', 'rbac', file), 'utf8')).map((d) => d.toJS() as KubeObject),
  );
}

/** Suture's objects as config/default installs them, besides RBAC: a Deployment (no replicas: pods never run here) and the Service. */
const workloadObjects: KubeObject[] = [
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { namespace: SUTURE_NAMESPACE, name: 'suture' },
    spec: { replicas: 0, selector: { matchLabels: { app: 'suture' } }, template: { metadata: { labels: { app: 'suture' } }, spec: { containers: [{ name: 'manager', image: 'suture:dev' }] } } },
  },
  { apiVersion: 'v1', kind: 'Service', metadata: { namespace: SUTURE_NAMESPACE, name: 'suture-webhook' }, spec: { ports: [{ port: 443, targetPort: 9443 }] } },
];

function refOf(o: KubeObject): ObjectRef {
  return { apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name ?? '' };
}

async function ensureAll(admin: ObjectClient, objects: readonly KubeObject[]): Promise<void> {
  for (const object of objects) if ((await admin.find(refOf(object))) === undefined) await admin.create(object);
}

async function attempt(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'allowed';
  } catch (error) {
    return statusMessage(error);
  }
}

/** suture_self_repairs_total by kind, from a replica's /metrics. */
async function repairsOn(port: number): Promise<Record<string, number>> {
  const { body } = await getFromSuture(port, '/metrics', 5000);
  const counts: Record<string, number> = {};
  for (const m of body.matchAll(/^suture_self_repairs_total\{kind="([^"]+)"\} (\d+)/gm)) counts[m[1] ?? ''] = Number(m[2]);
  return counts;
}

/** Milliseconds from now until `ref` exists again with another uid than `uid` (polled every 10 ms, at most `timeoutMs`). */
async function timeUntilBack(admin: ObjectClient, ref: ObjectRef, uid: string | undefined, timeoutMs = 10_000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    const current = await admin.find(ref);
    if (current !== undefined && current.metadata.uid !== uid) return Math.round(performance.now() - started);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Number.POSITIVE_INFINITY;
}

describe('Suture protects itself (real `suture run`, real control plane)', function () {
  this.timeout(240_000);
  let admin: ObjectClient;
  let operatorKc: KubeConfig;
  let operator: ObjectClient;
  const operatorNamespace = uniqueName('greedy');
  const operatorBinding = uniqueName('greedy-cluster-admin');

  before(async function () {
    this.timeout(120_000);
    admin = createObjectClient(cluster().kubeConfig, { fieldManager: 'self-protection-test' });
    await ensureCrds(admin);
    await ensureAll(admin, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: SUTURE_NAMESPACE } }, ...rbacObjects(), ...workloadObjects]);
    // The governed operator of issue 9: a service account bound to cluster-admin.
    await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: operatorNamespace } });
    await admin.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace: operatorNamespace, name: 'operator' } });
    await admin.create({
      apiVersion: RBAC,
      kind: 'ClusterRoleBinding',
      metadata: { name: operatorBinding },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', namespace: operatorNamespace, name: 'operator' }],
    });
    operatorKc = await serviceAccountKubeConfig(cluster().kubeConfig, { namespace: operatorNamespace, name: 'operator' });
    operator = createObjectClient(operatorKc, { fieldManager: 'greedy-operator' });
  });

  after(async function () {
    this.timeout(60_000);
    await admin.delete({ apiVersion: RBAC, kind: 'ClusterRoleBinding', name: operatorBinding });
    await admin.delete({ apiVersion: 'v1', kind: 'Namespace', name: operatorNamespace });
  });

  describe('with Suture running (one replica, admin credentials)', () => {
    let suture: SutureReplicas;
    const racePolicy = uniqueName('it-race-keep');
    let raceNamespace = '';

    before(async function () {
      this.timeout(150_000);
      suture = await startSutureReplicas(1);
      // The policy is in force once the API server's policy informer has it and type-checked it.
      await eventually('the self-protection policy denies the operator', async () => VAP_DENIAL.test(await attempt(operator.delete(WEBHOOK_CONFIGURATIONS[0], { dryRun: true }))), 30_000);
    });

    after(async function () {
      this.timeout(90_000);
      await admin.delete({ apiVersion: 'suture.dev/v1alpha1', kind: 'SuturePolicy', name: racePolicy });
      if (raceNamespace !== '') await admin.delete({ apiVersion: 'v1', kind: 'Namespace', name: raceNamespace });
      await suture?.stop();
      // Nothing repairs them now; leave the shared control plane as it was.
      await admin.delete(SELF_BINDING);
      await admin.delete(SELF_POLICY);
    });

    it('installs the policy and binding, and a governed cluster-admin operator can delete none of Suture objects (item 1)', async () => {
      const crds = ['sutureleases', 'suturepolicies', 'sutureexceptions'].map((p) => ({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: `${p}.suture.dev` }));
      const refs: ObjectRef[] = [
        { apiVersion: RBAC, kind: 'ClusterRoleBinding', name: 'suture' },
        { apiVersion: RBAC, kind: 'ClusterRole', name: 'suture' },
        { apiVersion: 'v1', kind: 'Namespace', name: SUTURE_NAMESPACE },
        CERT_SECRET,
        LEADER_LEASE,
        ...WEBHOOK_CONFIGURATIONS,
        ...crds,
        { apiVersion: 'apps/v1', kind: 'Deployment', namespace: SUTURE_NAMESPACE, name: 'suture' },
        { apiVersion: 'v1', kind: 'Service', namespace: SUTURE_NAMESPACE, name: 'suture-webhook' },
        { apiVersion: 'v1', kind: 'ServiceAccount', namespace: SUTURE_NAMESPACE, name: 'suture' },
        { apiVersion: RBAC, kind: 'RoleBinding', namespace: SUTURE_NAMESPACE, name: 'suture' },
      ];
      const outcomes: string[] = [];
      for (const ref of refs) outcomes.push(`${ref.kind} ${ref.name}: ${await attempt(operator.delete(ref))}`);
      for (const outcome of outcomes) expect(outcome, outcome).to.match(VAP_DENIAL);
      for (const ref of refs) expect(await admin.find(ref), `${ref.kind} ${ref.name} still there`).to.not.equal(undefined);
    });

    it("a governed cluster-admin operator can neither delete, edit nor forge Suture's floor and budget ConfigMaps; Suture's service account can", async () => {
      const policy = uniqueName('it-state');
      const floorName = floorConfigMapName(policy);
      const budgetName = budgetConfigMapName(policy);
      const configMap = (name: string): ObjectRef => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: SUTURE_NAMESPACE, name });
      type ConfigMap = KubeObject & { data?: Record<string, string> };
      // Suture's stores as Suture's service account (config/rbac) write a floor reservation and a budget ledger.
      const sutureSa = createObjectClient(await serviceAccountKubeConfig(cluster().kubeConfig, { namespace: SUTURE_NAMESPACE, name: 'suture' }), { fieldManager: 'suture' });
      const floors = new FloorStore({ client: sutureSa, namespace: SUTURE_NAMESPACE, now: () => Date.now(), reservationMs: 600_000 });
      const budgets = new BudgetStore({ client: sutureSa, namespace: SUTURE_NAMESPACE, now: () => Date.now() });
      const floorUse = { policy, invariant: 'keep-two', scope: 'apps/StatefulSet/mq/rabbit', what: 'ready replicas of apps/StatefulSet mq/rabbit', removes: ['p0'], counted: ['p1', 'p2'], leaving: [], count: 1, before: 3, after: 2, required: 2 };
      const budgetUse = { policy, invariant: 'deletes', key: '', count: 1, windowSeconds: 3600, limit: 3 };
      expect(await floors.reserve('req-1', [floorUse])).to.deep.equal({ ok: true });
      expect(await budgets.reserve([budgetUse])).to.deep.equal({ ok: true });
      const floorBefore = await admin.get<ConfigMap>(configMap(floorName));
      const budgetBefore = await admin.get<ConfigMap>(configMap(budgetName));
      expect(floorBefore.metadata.labels?.[FLOOR_LABEL]).to.equal('true');
      expect(budgetBefore.metadata.labels?.[BUDGET_LABEL]).to.equal('true');
      const lookalikes = [floorConfigMapName(`${policy}-next`), budgetConfigMapName(`${policy}-next`), `${policy}-by-label`];

      try {
        const outcomes: string[] = [];
        const record = async (what: string, call: Promise<unknown>): Promise<void> => {
          outcomes.push(`${what}: ${await attempt(call)}`);
        };
        for (const before of [floorBefore, budgetBefore]) {
          const name = before.metadata.name ?? '';
          await record(`delete ${name}`, operator.delete(configMap(name)));
          // Erase the pending removals / reset the ledger, by merge patch and by PUT.
          await record(`empty the data of ${name}`, operator.mergePatch(configMap(name), { data: null }));
          const { resourceVersion: _rv, ...unconditional } = before.metadata;
          await record(`replace ${name}`, operator.replace({ ...before, metadata: unconditional, data: {} }));
          // Strip the label (the budget informer selects by it).
          await record(`strip the label of ${name}`, operator.mergePatch(configMap(name), { metadata: { labels: { [FLOOR_LABEL]: null, [BUDGET_LABEL]: null } } }));
        }
        // Lookalikes: the name a next policy's floor/budget will have, without the label; another name, with the label.
        const [nextFloor, nextBudget, byLabel] = lookalikes as [string, string, string];
        await record(`create ${nextFloor} without the label`, operator.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: SUTURE_NAMESPACE, name: nextFloor }, data: { forged: 'yes' } }));
        await record(`create ${nextBudget} without the label`, operator.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: SUTURE_NAMESPACE, name: nextBudget }, data: { forged: 'yes' } }));
        await record(`create ${byLabel} with ${BUDGET_LABEL}`, operator.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: SUTURE_NAMESPACE, name: byLabel, labels: { [BUDGET_LABEL]: 'true' } }, data: { forged: 'yes' } }));
        for (const outcome of outcomes) expect(outcome, outcome).to.match(VAP_DENIAL);
        // deletecollection by label: the API server judges each item it would delete.
        const collection = await rawRequest(operatorKc, { method: 'DELETE', path: `/api/v1/namespaces/${SUTURE_NAMESPACE}/configmaps?labelSelector=${encodeURIComponent(`${FLOOR_LABEL}=true`)}` });
        expect(collection.status, `deletecollection by ${FLOOR_LABEL}`).to.equal(403);
        expect(JSON.stringify(collection.body)).to.match(/Suture protects its own objects/);

        // Nothing changed.
        const floorAfter = await admin.get<ConfigMap>(configMap(floorName));
        const budgetAfter = await admin.get<ConfigMap>(configMap(budgetName));
        expect(floorAfter.metadata.resourceVersion).to.equal(floorBefore.metadata.resourceVersion);
        expect(budgetAfter.metadata.resourceVersion).to.equal(budgetBefore.metadata.resourceVersion);
        for (const name of lookalikes) expect(await admin.find(configMap(name)), `${name} not created`).to.equal(undefined);

        // Other ConfigMaps of Suture's namespace are not Suture's state: the policy leaves them to RBAC.
        const notes = `${policy}-notes`;
        expect(await attempt(operator.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: SUTURE_NAMESPACE, name: notes }, data: { a: 'b' } }))).to.equal('allowed');
        expect(await attempt(operator.delete(configMap(notes)))).to.equal('allowed');

        // Suture's service account keeps writing its state: a second reservation, a release, a second budget use,
        // and the lookalike a next policy's store creates; then it deletes them.
        expect(await floors.reserve('req-2', [{ ...floorUse, removes: ['p1'], counted: ['p2', 'p3'], before: 4, after: 3 }])).to.deep.equal({ ok: true });
        await floors.release('req-1', [floorUse]);
        expect(await budgets.reserve([budgetUse])).to.deep.equal({ ok: true });
        expect(await floors.reserve('req-3', [{ ...floorUse, policy: `${policy}-next` }])).to.deep.equal({ ok: true });
        expect((await admin.get<ConfigMap>(configMap(nextFloor))).metadata.labels?.[FLOOR_LABEL]).to.equal('true');
        for (const name of [floorName, budgetName, nextFloor]) expect(await sutureSa.delete(configMap(name)), `Suture deletes ${name}`).to.equal(true);
      } finally {
        for (const name of [floorName, budgetName, ...lookalikes]) await admin.delete(configMap(name));
      }
    });

    it('the webhook-configuration race (item 2): 0 of 50 protected deletes through, the delete and the edit refused themselves', async () => {
      raceNamespace = uniqueName('race');
      await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: raceNamespace } });
      const names = Array.from({ length: 50 }, (_, i) => `kept-${i}`);
      for (const name of names) await admin.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: raceNamespace, name }, data: { kept: 'yes' } });
      await admin.create({ apiVersion: 'suture.dev/v1alpha1', kind: 'SuturePolicy', metadata: { name: racePolicy }, spec: { match: [{ apiGroups: [''], kinds: ['ConfigMap'], namespaces: [raceNamespace] }], invariants: [{ name: 'keep', protect: {} }] } });
      const configMapDelete = (name: string): string => `/api/v1/namespaces/${raceNamespace}/configmaps/${name}`;
      // Suture judges the operator's ConfigMap deletes once the leader published rules for them.
      await eventually('Suture denies a protected delete', async () => (await attempt(operator.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: raceNamespace, name: 'kept-0' }, { dryRun: true }))).includes('validate.suture.dev'), 30_000);

      // One connection pool (shared dispatcher) for the operator: the deletes follow on its keep-alive connection at once.
      const api = RawObjectApi.fromKubeConfig(shareDispatchers(operatorKc));
      const send = async (request: ExchangeRequest): Promise<number> => (await api.exchange(request)).status;
      // Delete the webhook configuration, then fire the deletes.
      const removed = await send({ method: 'DELETE', path: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/suture' });
      const statuses: number[] = [];
      for (const name of names) statuses.push(await send({ method: 'DELETE', path: configMapDelete(name) }));
      // Edit it to failurePolicy Ignore with a dead URL, then 25 more.
      const current = (await operator.find(WEBHOOK_CONFIGURATIONS[0])) as KubeObject & { webhooks: { failurePolicy?: string; clientConfig: Record<string, unknown> }[] };
      const disabled = { ...current, webhooks: current.webhooks.map((w) => ({ ...w, failurePolicy: 'Ignore', clientConfig: { url: 'https://127.0.0.1:1/dead' } })) };
      const edited = await send({ method: 'PUT', path: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/suture', body: disabled });
      const afterEdit: number[] = [];
      for (const name of names.slice(0, 25)) afterEdit.push(await send({ method: 'DELETE', path: configMapDelete(name) }));

      expect(removed, 'deleting the webhook configuration').to.equal(403);
      expect(edited, 'editing it to failurePolicy Ignore and a dead URL').to.equal(403);
      expect(statuses.filter((s) => s >= 200 && s < 300).length, 'protected deletes through after the delete attempt').to.equal(0);
      expect(afterEdit.filter((s) => s >= 200 && s < 300).length, 'protected deletes through after the edit attempt').to.equal(0);
      expect(statuses.every((s) => s === 403)).to.equal(true);
      const left = await admin.list('v1', 'ConfigMap', { namespace: raceNamespace });
      expect(left.items.filter((c) => c.metadata.name?.startsWith('kept-')).length).to.equal(50);
    });

    it("an admin's deletions are repaired within a second and reported (log, suture_self_repairs_total, Event)", async () => {
      const port = suture.pool.portOf(0);
      const targets: ObjectRef[] = [...WEBHOOK_CONFIGURATIONS, SELF_POLICY, SELF_BINDING, CERT_SECRET, LEADER_LEASE];
      const times: Record<string, number> = {};
      for (const ref of targets) {
        const before = await admin.get(ref);
        await admin.delete(ref);
        times[ref.kind] = await timeUntilBack(admin, ref, before.metadata.uid);
      }
      process.stderr.write(`      repaired after an admin's delete, ms: ${JSON.stringify(times)}\n`);
      // Sub-second on an idle machine; this shared 2-core machine runs under load 20, so one slow repair is tolerated.
      const sorted = Object.values(times).sort((a, b) => a - b);
      expect(sorted[Math.floor(sorted.length / 2)], 'median repair time').to.be.below(1000);
      for (const [kind, ms] of Object.entries(times)) expect(ms, `${kind} back within 2.5 s`).to.be.below(2500);
      // The certificate came back unchanged: the webhook keeps answering with the caBundle it had.
      const repairs = await repairsOn(port);
      for (const ref of targets) expect(repairs[ref.kind] ?? 0, `suture_self_repairs_total{kind="${ref.kind}"}`).to.be.at.least(1);
      await eventually('SelfRepaired Events for every kind', async () => {
        const events = [...(await admin.list('v1', 'Event', { namespace: 'default' })).items, ...(await admin.list('v1', 'Event', { namespace: SUTURE_NAMESPACE })).items] as (KubeObject & { reason?: string; involvedObject?: { kind?: string } })[];
        const kinds = new Set(events.filter((e) => e.reason === 'SelfRepaired').map((e) => e.involvedObject?.kind));
        return targets.every((ref) => kinds.has(ref.kind));
      }, 20_000);
    });
  });

  describe('/readyz while Suture lacks its rights (Suture as its own service account, config/rbac)', () => {
    let suture: SutureProcess | undefined;
    let dir = '';

    before(async function () {
      this.timeout(120_000);
      dir = mkdtempSync(join(tmpdir(), 'suture-rights-'));
      const identity = await serviceAccountKubeConfig(cluster().kubeConfig, { namespace: SUTURE_NAMESPACE, name: 'suture' }, 3600);
      const kubeconfigPath = join(dir, 'suture.kubeconfig');
      writeFileSync(kubeconfigPath, kubeConfigYaml(identity), { mode: 0o600 });
      suture = await startSutureProcess({ kubeconfigPath, logPath: join(dir, 'suture.log'), args: ['--leader-elect=false'] });
    });

    after(async function () {
      this.timeout(60_000);
      await suture?.stop();
      await removeWebhookConfigurations(admin);
      await admin.delete(SELF_BINDING);
      await admin.delete(SELF_POLICY);
      await ensureAll(admin, rbacObjects());
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    });

    it('turns false within seconds when its ClusterRoleBinding is deleted, naming what it lacks, and true once it is back', async () => {
      const running = suture as SutureProcess;
      expect((await running.get('/readyz')).status).to.equal(200);
      const binding = rbacObjects().find((o) => o.kind === 'ClusterRoleBinding') as KubeObject;
      const offset = logSize(running.logPath);
      const started = performance.now();
      await admin.delete(refOf(binding));
      let answer = { status: 0, body: '' };
      // Its caches may lose their watches first (503 "caches not synced"); the rights check names the cause.
      await eventually('/readyz is 503 naming the missing rights', async () => {
        answer = await running.get('/readyz');
        return answer.status === 503 && answer.body.includes('Suture lacks rights it needs');
      }, 10_000);
      const flippedMs = Math.round(performance.now() - started);
      process.stderr.write(`      /readyz 503 naming the missing rights ${flippedMs} ms after the ClusterRoleBinding was deleted\n`);
      expect(flippedMs).to.be.below(5000);
      expect(answer.body).to.contain('list */*');
      expect(logSince(running.logPath, offset)).to.contain('Suture lacks rights it needs');

      await admin.create(binding);
      await eventually('/readyz is 200 again', async () => (await running.get('/readyz')).status === 200, 35_000);
    });
  });
});
