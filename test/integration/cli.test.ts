// `kubectl suture explain` against the real control plane and a real Suture process (test/integration/
// suture-process.ts): a manifest asked about as a service account with dryRun=All gets Suture's verdict and changes
// nothing; RBAC refusals are told apart; the decision it names is then read back from the replica with --server.
// (Through the API server's service proxy cannot be shown here: Suture runs on loopback, and the API server refuses
// to proxy to loopback addresses. The fallback from Service to pods is unit-tested in test/unit/cli/output.test.ts.)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { KubeObject } from '../../src/api/types.js';
import { main } from '../../src/cli/kubectl-suture.js';
import { cluster } from './cluster.js';
import { WEBHOOK_CONFIGURATIONS, startSutureReplicas, type SutureReplicas } from './suture-process.js';
import { createNamespace, deleteNamespace, eventually, uniqueName } from './support.js';

type Policy = KubeObject & { status?: { conditions?: { type: string; status: string }[] } };
type Webhooks = KubeObject & { webhooks?: { name: string; rules?: { operations?: string[]; resources?: string[] }[] }[] };

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function manifest(dir: string, name: string, object: object): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, JSON.stringify(object));
  return file;
}

describe('kubectl suture explain on a live cluster (real Suture)', function () {
  this.timeout(120_000);
  let suture: SutureReplicas;
  let namespace: string;
  const policy = uniqueName('cli-keep');
  const dir = mkdtempSync(join(tmpdir(), 'suture-cli-'));

  before(async function () {
    this.timeout(180_000);
    suture = await startSutureReplicas(1);
    namespace = await createNamespace(cluster().kubeConfig, 'cli');
    const c = suture.client;
    await c.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace, name: 'op' } });
    await c.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace, name: 'nobody' } });
    await c.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { namespace, name: 'configmaps' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['*'] }] });
    await c.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { namespace, name: 'configmaps' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmaps' }, subjects: [{ kind: 'ServiceAccount', namespace, name: 'op' }] });
    await c.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name: 'precious', labels: { keep: 'yes' } }, data: { a: '1' } });
    const spec = { match: [{ kinds: ['ConfigMap'], namespaces: [namespace], selector: { matchLabels: { keep: 'yes' } } }], operations: ['DELETE'], invariants: [{ name: 'kept', protect: {} }] };
    await c.create({ apiVersion: 'suture.dev/v1alpha1', kind: 'SuturePolicy', metadata: { name: policy }, spec });
    await eventually(`SuturePolicy ${policy} Ready`, async () => {
      const p = await c.find<Policy>({ apiVersion: 'suture.dev/v1alpha1', kind: 'SuturePolicy', name: policy });
      return p?.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false;
    }, 30_000);
    await eventually('validate.suture.dev intercepts ConfigMap deletes', async () => {
      const vwc = await c.find<Webhooks>(WEBHOOK_CONFIGURATIONS[0]);
      const hook = vwc?.webhooks?.find((w) => w.name === 'validate.suture.dev');
      const covers = (values: string[] | undefined, value: string): boolean => [value, '*', '*/*'].some((v) => values?.includes(v) === true);
      return hook?.rules?.some((r) => covers(r.resources, 'configmaps') && covers(r.operations, 'DELETE')) ?? false;
    }, 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // the API server loads the changed webhook configuration
  });

  after(async function () {
    this.timeout(120_000);
    await suture?.client.delete({ apiVersion: 'suture.dev/v1alpha1', kind: 'SuturePolicy', name: policy });
    if (namespace !== undefined) await deleteNamespace(cluster().kubeConfig, namespace);
    await suture?.stop();
  });

  const kubeconfig = (): string[] => ['--kubeconfig', cluster().kubeconfigPath];
  let decisionId = '';

  it('explain -f --verb delete as the operator: DENIED by Suture, the decision named, nothing deleted', async () => {
    const file = manifest(dir, 'precious', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name: 'precious' } });
    const r = await cli(['explain', '-f', file, '--as', `system:serviceaccount:${namespace}:op`, '--verb', 'delete', ...kubeconfig()]);
    expect(r.code, `${r.out}\n${r.err}`).to.equal(1);
    expect(r.out).to.include(`delete ConfigMap ${namespace}/precious as system:serviceaccount:${namespace}:op (dry run: nothing was changed)`);
    expect(r.out).to.include('DENIED by Suture (validate.suture.dev)');
    expect(r.out).to.include(`SuturePolicy ${policy}, invariant kept`);
    decisionId = /kubectl suture explain (\S+)/.exec(r.out)?.[1] ?? '';
    expect(decisionId).to.not.equal('');
    expect(await suture.client.find({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'precious' })).to.not.equal(undefined);
  });

  it('explain <id> --server reads the record from the replica that took the decision', async () => {
    const r = await cli(['explain', decisionId, '--server', `https://127.0.0.1:${suture.pool.portOf(0)}`]);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(new RegExp(`^Decision   ${decisionId} \\(dry run\\)`));
    expect(r.out).to.include('Verdict    DENIED');
    expect(r.out).to.include(`Requester  system:serviceaccount:${namespace}:op`);
    expect(r.out).to.include(`Request    delete ConfigMap ${namespace}/precious`);
    expect(r.out).to.include(`SuturePolicy ${policy}, invariant kept [Deny]`);
    expect(r.out).to.match(/invariants +1 violation/);
    const json = await cli(['explain', decisionId, '--server', `https://127.0.0.1:${suture.pool.portOf(0)}`, '-o', 'json']);
    expect((JSON.parse(json.out) as { decision: { verdict: string } }).decision.verdict).to.equal('deny');
  });

  it('explain <id> for an unknown id says the replica has no such decision', async () => {
    const r = await cli(['explain', 'no-such-decision', '--server', `https://127.0.0.1:${suture.pool.portOf(0)}`]);
    expect(r.code).to.equal(1);
    expect(r.err).to.match(/HTTP 404: no decision no-such-decision on this replica/);
  });

  it('explain -f create as the operator: ALLOWED, and the object was not created', async () => {
    const file = manifest(dir, 'fresh', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fresh' }, data: { b: '2' } });
    const r = await cli(['explain', '-f', file, '--as', `system:serviceaccount:${namespace}:op`, '-n', namespace, ...kubeconfig()]);
    expect(r.code, `${r.out}\n${r.err}`).to.equal(0);
    expect(r.out).to.include(`create ConfigMap ${namespace}/fresh`);
    expect(r.out).to.include('ALLOWED');
    expect(await suture.client.find({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'fresh' })).to.equal(undefined);
  });

  it('explain -f as a service account without RBAC: refused by RBAC, not Suture', async () => {
    const file = manifest(dir, 'precious-2', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name: 'precious' } });
    const r = await cli(['explain', '-f', file, '--as', `system:serviceaccount:${namespace}:nobody`, '--verb', 'delete', ...kubeconfig()]);
    expect(r.code, `${r.out}\n${r.err}`).to.equal(2);
    expect(r.out).to.include('REFUSED before Suture decided: refused by RBAC, not Suture');
    expect(r.out).to.match(/cannot delete resource "configmaps"/);
  });
});
