// Two real Suture processes (`suture run`) on the real control plane, behind one loopback balancer the API server
// calls: what a user sees of "Suture running" and of a second process — refused invalid policies, a leader failover
// with a protected object under fire, a budget shared by both processes, webhook configurations repaired.
import type { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import type { KubeObject } from '../../src/api/types.js';
import { validatePolicy } from '../../src/core/validate.js';
import { getFromSuture } from '../controlplane/suture-process.js';
import { cluster } from './cluster.js';
import { WEBHOOK_CONFIGURATIONS, logSince, logSize, startSutureReplicas, type SutureReplicas } from './suture-process.js';
import { createNamespace, deleteNamespace, eventually, rawRequest, uniqueName } from './support.js';

type Policy = KubeObject & { spec: Record<string, unknown>; status?: { conditions?: { type: string; status: string }[] } };
type Webhooks = KubeObject & { webhooks?: { name: string; clientConfig?: { caBundle?: string }; rules?: { operations?: string[]; resources?: string[] }[] }[] };

const POLICY = { apiVersion: 'suture.dev/v1alpha1', kind: 'SuturePolicy' } as const;
const SUTURE_DENIAL = 'admission webhook "validate.suture.dev" denied the request';

/** What came of one request: Suture allowed or denied it, no replica answered the API server, or something else. */
type Outcome = 'allowed' | 'denied' | 'unanswered' | 'other';

interface Answer {
  outcome: Outcome;
  message: string;
}

function outcomeOf(status: number, body: unknown): Answer {
  const raw = (body as { message?: unknown } | null)?.message;
  const message = typeof raw === 'string' ? raw : '';
  if (status >= 200 && status < 300) return { outcome: 'allowed', message };
  if (status === 403 && message.includes(SUTURE_DENIAL)) return { outcome: 'denied', message };
  if (message.includes('failed calling webhook')) return { outcome: 'unanswered', message };
  return { outcome: 'other', message: `${status}: ${message}` };
}

/** DELETE of a ConfigMap as a service account (impersonated with the groups Kubernetes gives it). */
async function deleteAs(kc: KubeConfig, sa: { namespace: string; name: string }, namespace: string, name: string): Promise<Answer> {
  const impersonate = { user: `system:serviceaccount:${sa.namespace}:${sa.name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${sa.namespace}`, 'system:authenticated'] };
  try {
    const response = await rawRequest(kc, { method: 'DELETE', path: `/api/v1/namespaces/${namespace}/configmaps/${name}`, impersonate });
    return outcomeOf(response.status, response.body);
  } catch (error) {
    return { outcome: 'other', message: String(error) };
  }
}

/** Lets the operator's service account of `namespace` delete ConfigMaps there (the deny must come from Suture). */
async function grantConfigMaps(suture: SutureReplicas, namespace: string, sa: string): Promise<void> {
  await suture.client.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { namespace, name: 'configmaps' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['*'] }] });
  await suture.client.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { namespace, name: 'configmaps' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmaps' },
    subjects: [{ kind: 'ServiceAccount', namespace, name: sa }],
  });
}

async function createConfigMaps(suture: SutureReplicas, namespace: string, names: readonly string[]): Promise<void> {
  for (const name of names) await suture.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name }, data: { kept: 'yes' } });
}

function ready(policy: Policy | undefined): boolean {
  return policy?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Creates a policy and waits until it is Ready and Suture's validating webhook sends it ConfigMap deletes. */
async function applyPolicy(suture: SutureReplicas, name: string, spec: Record<string, unknown>): Promise<void> {
  await suture.client.create({ ...POLICY, metadata: { name }, spec });
  await eventually(`SuturePolicy ${name} Ready`, async () => ready(await suture.client.find<Policy>({ ...POLICY, name })), 20_000);
  await eventually('validate.suture.dev intercepts ConfigMap deletes', async () => {
    const vwc = await suture.client.find<Webhooks>(WEBHOOK_CONFIGURATIONS[0]);
    const hook = vwc?.webhooks?.find((w) => w.name === 'validate.suture.dev');
    const covers = (values: string[] | undefined, value: string): boolean => [value, '*', '*/*'].some((v) => values?.includes(v) === true);
    return hook?.rules?.some((r) => covers(r.resources, 'configmaps') && covers(r.operations, 'DELETE')) ?? false;
  }, 20_000);
  await new Promise((r) => setTimeout(r, 1500)); // the API server loads a changed webhook configuration from its informer
}

/**
 * suture_decisions_total on one replica, by verdict (its /metrics on the replica's own port). All policies: an
 * allowed decision, and a denial for a spent budget, carry the label policy="" (only violations name a policy).
 */
async function decisionsOn(port: number): Promise<Record<string, number>> {
  const scraped = await getFromSuture(port, '/metrics', 5000);
  if (scraped.status !== 200) throw new Error(`GET /metrics of the replica on port ${port}: ${scraped.status} ${scraped.body}`);
  const counts: Record<string, number> = {};
  for (const m of scraped.body.matchAll(/^suture_decisions_total\{(.*)\} (\d+)$/gm)) {
    const verdict = /verdict="([^"]*)"/.exec(m[1] ?? '')?.[1] ?? '?';
    counts[verdict] = (counts[verdict] ?? 0) + Number(m[2]);
  }
  return counts;
}

describe('Suture running as two processes (real `suture run`, real control plane)', function () {
  this.timeout(180_000);
  let suture: SutureReplicas;
  let namespace: string;
  const policies: string[] = [];
  const operator = (): { namespace: string; name: string } => ({ namespace, name: 'operator' });

  before(async function () {
    this.timeout(150_000);
    suture = await startSutureReplicas(2);
  });
  after(async function () {
    this.timeout(90_000);
    for (const name of policies.splice(0)) await suture?.client.delete({ ...POLICY, name });
    await suture?.stop();
  });
  beforeEach(async () => {
    namespace = await createNamespace(cluster().kubeConfig, 'it-ha');
    await grantConfigMaps(suture, namespace, 'operator');
  });
  afterEach(async () => {
    for (const name of policies.splice(0)) await suture.client.delete({ ...POLICY, name });
    await deleteNamespace(cluster().kubeConfig, namespace);
  });

  it('refuses an invalid SuturePolicy at --dry-run=server with the errors validatePolicy gives, and passes a valid one without storing it', async () => {
    const invalid: Policy = {
      ...POLICY,
      metadata: { name: uniqueName('it-invalid') },
      spec: {
        match: [{ apiGroups: [''], kinds: ['ConfigMap'] }],
        invariants: [{ name: 'custom', expression: 'impact.deleted.all(o, o.kind !=)' }],
        relaxWhen: [{ schedule: { cron: '0 2 * * 6', duration: '2h', timeZone: 'Mars/Olympus_Mons' } }],
      },
    };
    const expected = validatePolicy(invalid);
    expect(expected.map((e) => e.path)).to.deep.equal(['spec.invariants[0].expression', 'spec.relaxWhen[0].schedule.timeZone']);
    const refused = await suture.client.create(invalid, { dryRun: true }).then(
      () => 'stored',
      (error: unknown) => String((error as Error).message),
    );
    expect(refused).to.include('admission webhook "objects.suture.dev" denied the request');
    expect(refused).to.include(`SuturePolicy ${invalid.metadata.name ?? ''} is invalid: ${expected.map((e) => `${e.path}: ${e.message}`).join('; ')}`);

    // Two invariant kinds in one entry: the CRD's own validation rule refuses it before any webhook is called; the
    // same path is what validatePolicy reports (the object never reaches Suture).
    const twoKinds: Policy = { ...invalid, metadata: { name: uniqueName('it-two-kinds') }, spec: { match: invalid.spec.match, invariants: [{ name: 'both', protect: {}, maxCascade: { count: 2 } }] } };
    expect(validatePolicy(twoKinds).map((e) => e.path)).to.deep.equal(['spec.invariants[0]']);
    const refusedByCrd = await suture.client.create(twoKinds, { dryRun: true }).then(
      () => 'stored',
      (error: unknown) => String((error as Error).message),
    );
    expect(refusedByCrd).to.include('spec.invariants[0]').and.include('an invariant has exactly one of protect');

    const valid: Policy = { ...POLICY, metadata: { name: uniqueName('it-valid') }, spec: { match: [{ apiGroups: [''], kinds: ['ConfigMap'], namespaces: [namespace] }], invariants: [{ name: 'keep', protect: {} }] } };
    const answered = await suture.client.create(valid, { dryRun: true });
    expect(answered.metadata.name).to.equal(valid.metadata.name);
    expect(await suture.client.find({ ...POLICY, name: valid.metadata.name ?? '' })).to.equal(undefined);
  });

  it('shares one budget between both processes: 8 concurrent deletes, exactly 3 allowed', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `bulk-${i}`);
    await createConfigMaps(suture, namespace, names);
    const policy = uniqueName('it-budget');
    policies.push(policy);
    await applyPolicy(suture, policy, {
      subjects: [{ kind: 'ServiceAccount', namespace, name: '*' }],
      match: [{ apiGroups: [''], kinds: ['ConfigMap'], namespaces: [namespace], namePrefixes: ['bulk-'] }],
      operations: ['DELETE'],
      invariants: [{ name: 'slow-deletes', budget: { count: 3, window: '10m' } }],
    });
    const before = await Promise.all([0, 1].map((i) => decisionsOn(suture.pool.portOf(i))));
    suture.pool.balancer.resetStats();
    const answers = await Promise.all(names.map((name) => deleteAs(cluster().kubeConfig, operator(), namespace, name)));
    const stats = suture.pool.balancer.stats();
    const after = await Promise.all([0, 1].map((i) => decisionsOn(suture.pool.portOf(i))));

    const allowed = answers.filter((a) => a.outcome === 'allowed');
    const denied = answers.filter((a) => a.outcome === 'denied');
    expect(answers.filter((a) => a.outcome !== 'allowed' && a.outcome !== 'denied'), 'every request decided by Suture').to.deep.equal([]);
    expect(allowed).to.have.length(3);
    expect(denied).to.have.length(5);
    // Denied either by the core (this replica's ledger already shows the budget spent: "budget exhausted") or by the
    // cross-replica reservation ("budget of 3 per 600s spent"): both name the policy, the invariant and the budget.
    for (const d of denied) expect(d.message).to.include(`SuturePolicy ${policy}`).and.include('slow-deletes').and.match(/budget (exhausted|of 3 per 600s spent)/);
    const left = await suture.client.list('v1', 'ConfigMap', { namespace });
    expect(left.items.filter((c) => c.metadata.name?.startsWith('bulk-') === true)).to.have.length(5);

    // Both processes decided part of the burst (per-replica decision counters and balancer connections).
    const perReplica = [0, 1].map((i) => Object.values(after[i] ?? {}).reduce((a, b) => a + b, 0) - Object.values(before[i] ?? {}).reduce((a, b) => a + b, 0));
    process.stderr.write(`      budget burst: decisions per replica ${JSON.stringify(perReplica)}, connections per backend ${JSON.stringify([...stats.perBackend])}\n`);
    expect(perReplica.reduce((a, b) => a + b, 0)).to.equal(8);
    expect(perReplica.every((n) => n > 0), `both replicas decided (${perReplica.join(', ')})`).to.be.true;
  });

  it('repairs its deleted webhook configuration within seconds, written by the leader only', async () => {
    const leader = await suture.leader();
    const follower = 1 - leader;
    const logs = [0, 1].map((i) => suture.pool.process(i)?.logPath ?? '');
    const offsets = logs.map(logSize);
    const deleted = Date.now();
    await suture.client.delete(WEBHOOK_CONFIGURATIONS[0]);
    await eventually('ValidatingWebhookConfiguration suture recreated', async () => {
      const vwc = await suture.client.find<Webhooks>(WEBHOOK_CONFIGURATIONS[0]);
      return (vwc?.webhooks?.length ?? 0) > 0 && (vwc?.webhooks?.every((w) => (w.clientConfig?.caBundle ?? '') !== '') ?? false);
    }, 15_000);
    const repairedMs = Date.now() - deleted;
    process.stderr.write(`      webhook configuration repaired after ${repairedMs} ms by ${suture.pool.names[leader] ?? ''}\n`);
    expect(repairedMs).to.be.below(10_000);
    // The log reaches its file through a pipe: wait for the leader's line, then look at the follower's.
    await eventually('the leader logged the repair', () => Promise.resolve(logSince(logs[leader] ?? '', offsets[leader] ?? 0).includes('Created ValidatingWebhookConfiguration')), 5_000);
    expect(logSince(logs[follower] ?? '', offsets[follower] ?? 0)).not.to.include('ValidatingWebhookConfiguration');
  });

  it('fails over when the leader is killed: a protected delete stays denied throughout, the survivor leads and reconciles', async () => {
    await createConfigMaps(suture, namespace, ['precious']);
    const policy = uniqueName('it-protect');
    policies.push(policy);
    await applyPolicy(suture, policy, {
      subjects: [{ kind: 'ServiceAccount', namespace, name: '*' }],
      match: [{ apiGroups: [''], kinds: ['ConfigMap'], namespaces: [namespace], names: ['precious'] }],
      operations: ['DELETE'],
      invariants: [{ name: 'keep', protect: {} }],
    });
    const leader = await suture.leader();
    const survivor = 1 - leader;
    const counts: Record<Outcome, number> = { allowed: 0, denied: 0, unanswered: 0, other: 0 };
    const others: string[] = [];
    const probing = (async () => {
      const until = Date.now() + 15_000;
      for (let i = 0; i < 100 && Date.now() < until; i++) {
        const answer = await deleteAs(cluster().kubeConfig, operator(), namespace, 'precious');
        counts[answer.outcome] += 1;
        if (answer.outcome === 'other') others.push(answer.message);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    await new Promise((r) => setTimeout(r, 2000));
    const killedAt = Date.now();
    await suture.pool.process(leader)?.kill();
    await eventually('the survivor holds the leader Lease', async () => (await suture.pool.leaderIndex()) === survivor, 15_000);
    const leadingMs = Date.now() - killedAt;
    const fresh = uniqueName('it-after-failover');
    policies.push(fresh);
    await suture.client.create({ ...POLICY, metadata: { name: fresh }, spec: { match: [{ apiGroups: [''], kinds: ['Secret'], namespaces: [namespace] }], invariants: [{ name: 'keep', protect: {} }] } });
    await eventually(`SuturePolicy ${fresh} Ready (status written by the new leader)`, async () => ready(await suture.client.find<Policy>({ ...POLICY, name: fresh })), 15_000);
    const reconciledMs = Date.now() - killedAt;
    await probing;
    process.stderr.write(`      failover: ${JSON.stringify(counts)}; survivor ${suture.pool.names[survivor] ?? ''} led after ${leadingMs} ms, new policy Ready ${reconciledMs} ms after the kill\n`);

    expect(counts.allowed, 'no delete of the protected object was allowed').to.equal(0);
    expect(others, 'every refusal came from Suture or from no replica answering').to.deep.equal([]);
    expect(counts.denied).to.be.greaterThan(40);
    expect(await suture.client.find({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'precious' })).not.to.equal(undefined);
    expect(leadingMs).to.be.below(4000 + 4000);
    expect(reconciledMs).to.be.below(4000 + 8000);

    await suture.pool.startOne(leader); // two replicas again for whatever runs next
  });
});
