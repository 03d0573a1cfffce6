// Features that only show on the real control plane, with a real Suture process in the admission path: a
// SutureException used and what it records, the rights audit in a lease's status, immutable, monotonic and avert,
// metric conditions read from a real Prometheus relaxing and enforcing policies, and Suture's audit annotations in
// the API server's audit log. (Time windows in a non-UTC zone: test/scenarios/10-11, Asia/Kolkata.)
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import type { KubeObject } from '../../src/api/types.js';
import { classify, type Classified } from '../../src/scenario/classify.js';
import { identityOf } from '../../src/scenario/identity.js';
import { CONTENT_TYPES, loadKubeConfig, RawObjectApi } from '../../src/kube/client.js';
import { cluster } from './cluster.js';
import { startPrometheus, type PrometheusServer } from './prometheus-server.js';
import { startSutureReplicas, type SutureReplicas } from './suture-process.js';
import { createNamespace, deleteNamespace, eventually, uniqueName } from './support.js';

type Conditions = { conditions?: { type: string; status: string; reason?: string }[] };
type WithStatus = KubeObject & { spec?: Record<string, unknown>; status?: Conditions & Record<string, unknown> };

const SUTURE = 'suture.dev/v1alpha1';

describe('Suture features on the real control plane (one Suture process)', function () {
  this.timeout(180_000);
  let suture: SutureReplicas | undefined;
  let prometheus: PrometheusServer | undefined;
  let api: RawObjectApi;
  let ns: string;
  let operator: string;
  const clusterScoped: { apiVersion: string; kind: string; name: string }[] = [];

  /** Creates a cluster-scoped object and remembers it for clean-up. */
  async function createClusterScoped(object: KubeObject): Promise<void> {
    await suture?.client.create(object);
    clusterScoped.push({ apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name ?? '' });
  }

  async function policyReady(spec: Record<string, unknown>, prefix: string): Promise<string> {
    const name = uniqueName(prefix);
    await createClusterScoped({ apiVersion: SUTURE, kind: 'SuturePolicy', metadata: { name }, spec });
    await eventually(`SuturePolicy ${name} Ready`, async () => {
      const p = await suture?.client.get<WithStatus>({ apiVersion: SUTURE, kind: 'SuturePolicy', name });
      return p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    }, 30_000);
    return name;
  }

  async function configMap(name: string, data: Record<string, string>, labels: Record<string, string> = {}): Promise<void> {
    await suture?.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: ns, name, labels }, data });
  }

  /** A request as the operator's service account (impersonated with its groups), classified as the scenario runner does. */
  async function asOperator(method: 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, contentType?: string): Promise<Classified> {
    const response = await api.exchange({ method, path, body, contentType, impersonate: identityOf(`system:serviceaccount:${ns}:${operator}`) });
    return classify(response, ['suture']);
  }

  const cmPath = (name?: string): string => `/api/v1/namespaces/${ns}/configmaps${name === undefined ? '' : `/${name}`}`;

  before(async function () {
    this.timeout(120_000);
    const kc = cluster().kubeConfig;
    api = RawObjectApi.fromKubeConfig(loadKubeConfig({ kind: 'file', path: cluster().kubeconfigPath }));
    prometheus = await startPrometheus();
    suture = await startSutureReplicas(1);
    ns = await createNamespace(kc, 'it-features');
    operator = 'db-operator';
    await suture.client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace: ns, name: operator } });
    // Broad rights, as many real operators ship with: refusals below come from Suture, not RBAC.
    await createClusterScoped({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `${ns}-operator-admin` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', namespace: ns, name: operator }],
    });
  });

  after(async function () {
    this.timeout(60_000);
    for (const ref of clusterScoped.reverse()) await suture?.client.delete(ref).catch(() => undefined);
    if (ns !== undefined) await deleteNamespace(cluster().kubeConfig, ns);
    await suture?.stop();
    prometheus?.stop();
  });

  it('a SutureException lets its subject through a denying policy, and records its uses, lastUsed and Active condition', async () => {
    await configMap('ledger', { rows: '1' }, { data: 'ledger' });
    await configMap('ledger-copy', { rows: '1' }, { data: 'ledger' });
    const policy = await policyReady({ match: [{ kinds: ['ConfigMap'], namespaces: [ns], selector: { matchLabels: { data: 'ledger' } } }], operations: ['DELETE'], invariants: [{ name: 'keep', protect: {} }] }, 'it-keep-ledger');
    // Ready is written by the reconciler; the webhook rule for ConfigMap deletes takes effect a moment later. Probe
    // with a dry run (which deletes nothing) until the policy is enforced, then ask for real.
    await eventually('the policy is enforced', async () => (await asOperator('DELETE', `${cmPath('ledger')}?dryRun=All`)).outcome === 'denied', 20_000);
    expect((await asOperator('DELETE', cmPath('ledger'))).outcome).to.equal('denied');

    const exception = uniqueName('it-restore');
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    await createClusterScoped({
      apiVersion: SUTURE,
      kind: 'SutureException',
      metadata: { name: exception },
      spec: { policies: [policy], subjects: [{ kind: 'ServiceAccount', namespace: ns, name: operator }], match: [{ kinds: ['ConfigMap'], namespaces: [ns], names: ['ledger'] }], expiresAt, reason: 'INC-1234: restore the ledger from backup' },
    });
    const exceptionRef = { apiVersion: SUTURE, kind: 'SutureException', name: exception };
    await eventually('the exception is Active', async () => {
      const x = await suture?.client.get<WithStatus>(exceptionRef);
      return x?.status?.conditions?.some((c) => c.type === 'Active' && c.status === 'True') ?? false;
    }, 30_000);

    // The exception lifts the policy for its subject and its narrowed match only.
    let lifted: Classified | undefined;
    await eventually('the exception reached the admission path', async () => (lifted = await asOperator('DELETE', cmPath('ledger'))).outcome !== 'denied', 20_000);
    expect(lifted?.outcome, lifted?.message).to.be.oneOf(['allowed', 'warned']);
    expect((await asOperator('DELETE', cmPath('ledger-copy'))).outcome).to.equal('denied');

    await eventually('the exception recorded one use', async () => {
      const x = await suture?.client.get<WithStatus>(exceptionRef);
      return x?.status?.['uses'] === 1;
    }, 30_000);
    const status = (await suture?.client.get<WithStatus>(exceptionRef))?.status ?? {};
    expect(status['active']).to.equal(true);
    expect(Date.parse(String(status['lastUsed']))).to.be.within(Date.now() - 120_000, Date.now() + 5_000);
  });

  it('the rights audit names, in a granted lease\'s status, the excess rights of its holder and the binding that grants them', async () => {
    const name = 'ledger-owner';
    await suture?.client.create({ apiVersion: SUTURE, kind: 'SutureLease', metadata: { namespace: ns, name }, spec: { holder: { kind: 'ServiceAccount', namespace: ns, name: operator }, resources: [{ kinds: ['ConfigMap'], namespaces: [ns], namePrefixes: ['owned-'] }] } });
    type Lease = KubeObject & { status?: { phase?: string; excessPermissions?: { verbs: string[]; apiGroups: string[]; resources: string[]; namespace?: string; via: string }[] } };
    let lease: Lease | undefined;
    await eventually('the lease is Granted with a rights audit', async () => {
      lease = await suture?.client.get<Lease>({ apiVersion: SUTURE, kind: 'SutureLease', namespace: ns, name });
      return lease?.status?.phase === 'Granted' && (lease.status.excessPermissions?.length ?? 0) > 0;
    }, 60_000);
    const excess = lease?.status?.excessPermissions ?? [];
    const viaAdmin = excess.filter((e) => e.via === `ClusterRoleBinding/${ns}-operator-admin`);
    expect(viaAdmin, JSON.stringify(excess)).to.not.be.empty;
    expect(viaAdmin.some((e) => e.verbs.includes('*') && e.resources.includes('*') && e.namespace === undefined), JSON.stringify(viaAdmin)).to.equal(true);
  });

  it('immutable and monotonic refuse the update that breaks them and allow the one that keeps them', async () => {
    await configMap('settings', { tier: 'gold', shards: '3', disk: '10Gi' }, { data: 'settings' });
    await policyReady({
      match: [{ kinds: ['ConfigMap'], namespaces: [ns], selector: { matchLabels: { data: 'settings' } } }],
      operations: ['UPDATE'],
      invariants: [
        { name: 'tier-fixed', immutable: { paths: ['/data/tier'] } },
        { name: 'shards-only-grow', monotonic: { paths: ['/data/shards', '/data/disk'], direction: 'Increase' } },
      ],
    }, 'it-settings');
    const patch = (data: Record<string, string>): Promise<Classified> => asOperator('PATCH', cmPath('settings'), { data }, CONTENT_TYPES.merge);
    const tier = await patch({ tier: 'silver' });
    expect(tier.outcome).to.equal('denied');
    expect(tier.message).to.include('tier-fixed').and.include('/data/tier');
    const shrink = await patch({ shards: '2' });
    expect(shrink.outcome).to.equal('denied');
    expect(shrink.message).to.include('shards-only-grow').and.include('from 3 to 2');
    const disk = await patch({ disk: '9Gi' });
    expect(disk.outcome, disk.message).to.equal('denied');
    expect((await patch({ shards: '5', disk: '20Gi' })).outcome).to.be.oneOf(['allowed', 'warned']);
    const current = await suture?.client.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'settings' });
    expect(current?.data).to.deep.equal({ tier: 'gold', shards: '5', disk: '20Gi' });
  });

  it('times the stages of a governed request into suture_admission_stage_duration_seconds{stage}, scraped from /metrics', async () => {
    await configMap('staged', { v: '1' }, { data: 'staged' });
    await policyReady({ match: [{ kinds: ['ConfigMap'], namespaces: [ns], selector: { matchLabels: { data: 'staged' } } }], operations: ['DELETE'], invariants: [{ name: 'keep', protect: {} }] }, 'it-staged');
    await eventually('the policy is enforced', async () => (await asOperator('DELETE', `${cmPath('staged')}?dryRun=All`)).outcome === 'denied', 20_000);
    const replica = suture?.pool.process(0);
    const stages = async (): Promise<Map<string, number>> => {
      const scraped = await replica?.get('/metrics');
      expect(scraped?.status).to.equal(200);
      const counts = [...(scraped?.body ?? '').matchAll(/^suture_admission_stage_duration_seconds_count\{stage="([a-z]+)"\} (\d+)$/gm)];
      return new Map(counts.map((m) => [m[1] ?? '', Number(m[2])]));
    };
    const before = await stages();
    const denied = await asOperator('DELETE', cmPath('staged'));
    expect(denied.outcome, denied.message).to.equal('denied');
    const after = await stages();
    // One Suture process: every review of that delete (validating, and the effects webhook's) reached it.
    for (const stage of ['decode', 'decide', 'respond']) expect((after.get(stage) ?? 0) - (before.get(stage) ?? 0), `stage ${stage}`).to.be.at.least(1);
    expect([...after.keys()].every((stage) => ['decode', 'decide', 'freshness', 'budgets', 'respond'].includes(stage)), [...after.keys()].join(',')).to.equal(true);
  });

  it('avert patches a create that would break the invariant, warns, and the object is stored patched', async () => {
    // `value` is read as JSON when it parses: '"3"' is the string 3 a ConfigMap needs ('3' would be the number).
    await policyReady({
      match: [{ kinds: ['ConfigMap'], namespaces: [ns], selector: { matchLabels: { data: 'replicated' } } }],
      operations: ['CREATE', 'UPDATE'],
      invariants: [{ name: 'three-copies', expression: "object.data.copies == '3'", message: 'replicated data keeps three copies', avert: { set: [{ path: '/data/copies', value: '"3"' }] } }],
    }, 'it-copies');
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'replicated', labels: { data: 'replicated' } }, data: { copies: '1' } };
    // Ready means compiled; the mutating webhook's rules follow when the leader republishes its configuration and the
    // API server reloads it (about a second): a dry run shows when averting is in place.
    await eventually('the mutating webhook averts ConfigMaps', async () => {
      const response = await api.exchange({ method: 'POST', path: cmPath(), query: { dryRun: 'All' }, body, impersonate: identityOf(`system:serviceaccount:${ns}:${operator}`) });
      return classify(response, ['suture']).outcome === 'warned';
    }, 20_000);
    const created = await asOperator('POST', cmPath(), body);
    expect(created.outcome, created.message).to.equal('warned');
    expect(created.message).to.include('three-copies');
    const stored = await suture?.client.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'replicated' });
    expect(stored?.data?.['copies']).to.equal('3');
  });

  it('a metric condition read from Prometheus relaxes one policy, enforces another and leaves a third unenforced', async () => {
    const url = prometheus?.url ?? '';
    const up = 'up{job="self"}';
    for (const name of ['relaxed', 'enforced', 'dormant']) await configMap(`metric-${name}`, { v: '1' }, { metric: name });
    const protect = (label: string): Record<string, unknown> => ({ match: [{ kinds: ['ConfigMap'], namespaces: [ns], selector: { matchLabels: { metric: label } } }], operations: ['DELETE'], invariants: [{ name: 'keep', protect: {} }] });
    await policyReady({ ...protect('relaxed'), relaxWhen: [{ metric: { url, query: up, above: 0.5 } }] }, 'it-metric-relaxed');
    const enforced = await policyReady({ ...protect('enforced'), enforceWhen: [{ metric: { url, query: up, above: 0.5 } }] }, 'it-metric-enforced');
    await policyReady({ ...protect('dormant'), enforceWhen: [{ metric: { url, query: up, below: 0.5 } }] }, 'it-metric-dormant');

    const relaxed = await asOperator('DELETE', cmPath('metric-relaxed'));
    expect(relaxed.outcome, relaxed.message).to.be.oneOf(['allowed', 'warned']);
    const denied = await asOperator('DELETE', cmPath('metric-enforced'));
    expect(denied.outcome, denied.message).to.equal('denied');
    expect(denied.message).to.include(enforced);
    const dormant = await asOperator('DELETE', cmPath('metric-dormant'));
    expect(dormant.outcome, dormant.message).to.be.oneOf(['allowed', 'warned']);
  });

  it("Suture's decision, verdict and policy arrive as audit annotations in the API server's audit log", async () => {
    const path = cluster().auditLogPath;
    if (path === undefined) throw new Error('the control plane was started without an audit log (test/integration/hooks.ts sets audit: true)');
    await configMap('audited', { v: '1' }, { data: 'audited' });
    const policy = await policyReady({ match: [{ kinds: ['ConfigMap'], namespaces: [ns], selector: { matchLabels: { data: 'audited' } } }], operations: ['DELETE'], invariants: [{ name: 'keep', protect: {} }] }, 'it-audited');
    const denied = await asOperator('DELETE', cmPath('audited'));
    expect(denied.outcome).to.equal('denied');
    const id = /decision ([0-9a-z-]+)/i.exec(denied.message)?.[1];
    type AuditEvent = { verb?: string; stage?: string; objectRef?: { namespace?: string; name?: string }; annotations?: Record<string, string> };
    let event: AuditEvent | undefined;
    await eventually('the audit event of the denied delete', async () => {
      const events = (await readFile(path, 'utf8')).split('\n').filter((l) => l.includes(ns) && l.includes('"audited"')).map((l) => JSON.parse(l) as AuditEvent);
      event = events.find((e) => e.verb === 'delete' && e.stage === 'ResponseComplete' && e.objectRef?.namespace === ns && e.objectRef.name === 'audited');
      return event !== undefined;
    }, 20_000);
    const annotations = event?.annotations ?? {};
    expect(annotations['validate.suture.dev/verdict'], JSON.stringify(annotations)).to.equal('deny');
    expect(annotations['validate.suture.dev/policy']).to.include(policy);
    expect(annotations['validate.suture.dev/decision']).to.be.a('string').and.not.equal('');
    if (id !== undefined) expect(annotations['validate.suture.dev/decision']).to.equal(id);
  });
});
