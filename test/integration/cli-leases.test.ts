// `kubectl suture leases` and `kubectl suture audit` on the real control plane with a real Suture process: the leases'
// phases, conflicts and queue are what Suture's lease reconciler wrote into their status; the audit reads the real
// Roles, ClusterRoles and bindings (the control plane's own included) and real discovery.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { API_VERSION } from '../../src/api/constants.js';
import type { SutureLease } from '../../src/api/types.js';
import type { IdentityAudit } from '../../src/cli/audit.js';
import { main } from '../../src/cli/kubectl-suture.js';
import type { LeaseView } from '../../src/cli/leases.js';
import { cluster } from './cluster.js';
import { startSutureReplicas, type SutureReplicas } from './suture-process.js';
import { createNamespace, deleteNamespace, eventually, uniqueName } from './support.js';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const RBAC = 'rbac.authorization.k8s.io/v1';

describe('kubectl suture leases and audit on a live cluster (real Suture)', function () {
  this.timeout(120_000);
  let suture: SutureReplicas;
  let ns: string;
  const risky = uniqueName('cli-risky');
  const kubeconfig = (): string[] => ['--kubeconfig', cluster().kubeconfigPath];
  const phase = async (name: string): Promise<string | undefined> => (await suture.client.find<SutureLease>({ apiVersion: API_VERSION, kind: 'SutureLease', namespace: ns, name }))?.status?.phase;

  before(async function () {
    this.timeout(180_000);
    suture = await startSutureReplicas(1);
    ns = await createNamespace(cluster().kubeConfig, 'cli-leases');
    const c = suture.client;
    for (const name of ['op-a', 'op-b']) await c.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace: ns, name } });
    // op-a may do anything to apps, read every Secret, impersonate and delete webhook configurations: more than any
    // lease of it needs. Impersonation ranks first (issue 9), above the wildcard.
    const rules = [
      { apiGroups: ['apps'], resources: ['*'], verbs: ['*'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] },
      { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], verbs: ['delete'] },
    ];
    await c.create({ apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: risky }, rules });
    await c.create({ apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata: { name: risky }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: risky }, subjects: [{ kind: 'ServiceAccount', namespace: ns, name: 'op-a' }] });
    const resources = [{ apiGroups: [''], kinds: ['ConfigMap'], namespaces: [ns], names: ['settings'] }];
    const lease = (name: string, holder: string): SutureLease => ({ apiVersion: API_VERSION, kind: 'SutureLease', metadata: { namespace: ns, name }, spec: { holder: { kind: 'ServiceAccount', namespace: ns, name: holder }, resources } });
    // a is granted; b and c (younger, or as old and later by name) wait behind it in that order.
    await c.create(lease('a-first', 'op-a'));
    await eventually('a-first Granted', async () => (await phase('a-first')) === 'Granted', 30_000);
    await c.create(lease('b-second', 'op-b'));
    await c.create(lease('c-third', 'op-b'));
    await eventually('b-second and c-third Conflicted', async () => (await phase('b-second')) === 'Conflicted' && (await phase('c-third')) === 'Conflicted', 30_000);
  });

  after(async function () {
    this.timeout(120_000);
    for (const kind of ['ClusterRoleBinding', 'ClusterRole']) await suture?.client.delete({ apiVersion: RBAC, kind, name: risky });
    if (ns !== undefined) await deleteNamespace(cluster().kubeConfig, ns);
    await suture?.stop();
  });

  it('leases -n: the table with holders, scopes, phases, conflicts and the queue', async () => {
    const r = await cli(['leases', '-n', ns, ...kubeconfig()]);
    expect(r.code, r.err).to.equal(0);
    const lines = r.out.split('\n');
    expect(lines[0]).to.match(/^NAME +HOLDER +ACCESS +PHASE +RESOURCES +FIELDS +CONFLICTS +QUEUE +AGE$/);
    expect(lines[1]).to.match(new RegExp(`^a-first +system:serviceaccount:${ns}:op-a +Exclusive +Granted +ConfigMap ${ns}/settings +\\* +<none> +2 waiting +\\d+s$`));
    expect(lines[2]).to.match(new RegExp(`^b-second +system:serviceaccount:${ns}:op-b +Exclusive +Conflicted +ConfigMap ${ns}/settings +\\* +${ns}/a-first +#1 behind ${ns}/a-first +\\d+s$`));
    expect(lines[3]).to.match(new RegExp(`^c-third +.* Conflicted .* #2 behind ${ns}/a-first +\\d+s$`));
    expect(lines).to.have.length(4);
  });

  it('leases -A -o json and -o yaml: the same views, with the queue; -o wide adds columns', async () => {
    const json = await cli(['leases', '-A', '-o', 'json', ...kubeconfig()]);
    expect(json.code, json.err).to.equal(0);
    const list = JSON.parse(json.out) as { kind: string; items: LeaseView[] };
    expect(list.kind).to.equal('LeaseViewList');
    const mine = list.items.filter((v) => v.namespace === ns);
    expect(mine.map((v) => [v.name, v.phase, v.waiting, v.queue])).to.deep.equal([
      ['a-first', 'Granted', [`${ns}/b-second`, `${ns}/c-third`], []],
      ['b-second', 'Conflicted', [], [{ behind: `${ns}/a-first`, position: 1 }]],
      ['c-third', 'Conflicted', [], [{ behind: `${ns}/a-first`, position: 2 }]],
    ]);
    const yaml = await cli(['leases', '-n', ns, '-o', 'yaml', ...kubeconfig()]);
    expect((parse(yaml.out) as { items: LeaseView[] }).items).to.deep.equal(mine);
    const wide = await cli(['leases', '-n', ns, '-o', 'wide', ...kubeconfig()]);
    expect(wide.out.split('\n')[0]).to.match(/AGE +ENFORCE +RBAC +LEAST-PRIVILEGE +WAITING +EXPIRES$/);
    expect(wide.out.split('\n')[1]).to.match(new RegExp(`ServiceAccounts +Generate +!SensitivePermissions +${ns}/b-second,${ns}/c-third +<none>$`));
  });

  it('leases --graph mermaid and dot', async () => {
    const mermaid = await cli(['leases', '-n', ns, '--graph', 'mermaid', ...kubeconfig()]);
    expect(mermaid.code).to.equal(0);
    expect(mermaid.out).to.match(/^flowchart LR/).and.include('l1 -.->|waits #1| l0').and.include('l2 -.->|waits #2| l0');
    const dot = await cli(['leases', '-n', ns, '--graph', 'dot', ...kubeconfig()]);
    expect(dot.out).to.include(`"lease:${ns}/c-third" -> "lease:${ns}/a-first" [label="waits #2", style=dashed, color=orange];`);
  });

  it('leases in a namespace without leases says so, as kubectl does', async () => {
    const r = await cli(['leases', '-n', 'kube-public', ...kubeconfig()]);
    expect(r.code).to.equal(0);
    expect(r.out).to.equal('');
    expect(r.err).to.equal('No SutureLeases found in kube-public namespace.');
  });

  it('audit -n: each holder with its excess, dangerous first, and the binding that grants it', async () => {
    const r = await cli(['audit', '-n', ns, ...kubeconfig()]);
    expect(r.code, r.err).to.equal(0);
    const [a, b] = r.out.split(/\n\n(?=IDENTITY)/);
    expect(a).to.match(new RegExp(`^IDENTITY  system:serviceaccount:${ns}:op-a\nLEASES    ${ns}/a-first \\(Granted\\)`));
    const rows = (a ?? '').split('\n').filter((l) => l.includes(`ClusterRoleBinding/${risky}`));
    expect(rows.map((l) => l.split(/ {3,}/)[0])).to.deep.equal(['impersonate', 'wildcard', 'secrets cluster-wide', 'admission configuration']);
    // Suture's own audit on the lease names impersonation first, as the most dangerous right.
    const leased = await suture.client.find<SutureLease>({ apiVersion: API_VERSION, kind: 'SutureLease', namespace: ns, name: 'a-first' });
    const least = leased?.status?.conditions?.find((c) => c.type === 'LeastPrivilege');
    expect(least?.reason).to.equal('SensitivePermissions');
    expect(least?.message).to.match(/^The holder can impersonate other identities \(the most dangerous right/).and.match(/: impersonate serviceaccounts in core via ClusterRoleBinding\//);
    expect(a).to.not.match(/configmaps/); // what the lease needs is not excess
    expect(b).to.match(new RegExp(`^IDENTITY  system:serviceaccount:${ns}:op-b\nLEASES    ${ns}/b-second \\(Conflicted\\), ${ns}/c-third \\(Conflicted\\)`));
  });

  it('audit <identity> -o yaml --fail-on dangerous: the data, exit 1; -o wide shows effective RBAC and needs', async () => {
    const r = await cli(['audit', `system:serviceaccount:${ns}:op-a`, '-o', 'yaml', '--fail-on', 'dangerous', ...kubeconfig()]);
    expect(r.code, r.err).to.equal(1);
    const [audit] = (parse(r.out) as { items: IdentityAudit[] }).items;
    expect(audit?.excess.map((e) => [e.dangers[0], e.via])).to.deep.include.members([
      ['impersonate', `ClusterRoleBinding/${risky}`],
      ['secrets cluster-wide', `ClusterRoleBinding/${risky}`],
      ['admission configuration', `ClusterRoleBinding/${risky}`],
    ]);
    // the generated Role of the granted lease is in its effective RBAC and covers its need
    expect(audit?.effective.some((rule) => rule.via.startsWith(`RoleBinding/${ns}/suture-`) && rule.resources.includes('configmaps'))).to.equal(true);
    const wide = await cli(['audit', `system:serviceaccount:${ns}:op-a`, '-o', 'wide', ...kubeconfig()]);
    expect(wide.code).to.equal(0);
    expect(wide.out).to.include('Effective RBAC:').and.include('Needed by its leases:');
  });

  it('errors say what was wrong and the fix, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'suture-cli-'));
    const file = join(dir, 'kubeconfig');
    // a port nothing listens on: bound, then released
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as { port: number };
        server.close(() => resolve(p));
      });
    });
    writeFileSync(file, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`);
    const r = await cli(['leases', '-A', '--kubeconfig', file]);
    expect(r.code).to.equal(2);
    expect(r.err).to.equal(`Error: cannot reach the API server at https://127.0.0.1:${port} (ECONNREFUSED): check --kubeconfig / --context, or that the cluster is up`);
  });
});
