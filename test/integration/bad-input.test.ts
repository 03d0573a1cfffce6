// Issue 9, "Faults, bad input": deep nesting answered 500 "Maximum call stack size exceeded" by a running Suture; it
// must be refused as a 4xx and leave the process up. Here on a real `suture run` (its own HTTPS port) and through
// the real API server (a governed operator creating a custom resource nested past Suture's limit).
import { request } from 'node:https';
import { expect } from 'chai';
import type { KubeObject } from '../../src/api/types.js';
import { MAX_JSON_DEPTH } from '../../src/admission/http.js';
import { cluster } from './cluster.js';
import { WEBHOOK_CONFIGURATIONS, startSutureReplicas, type SutureReplicas } from './suture-process.js';
import { createNamespace, deleteNamespace, eventually, namespacedCrd, rawRequest, uniqueName } from './support.js';

type Webhooks = KubeObject & { webhooks?: { name: string; rules?: { apiGroups?: string[]; operations?: string[] }[] }[] };
const POLICY = { apiVersion: 'suture.dev/v1alpha1', kind: 'SuturePolicy' } as const;

function post(port: number, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: path === '/readyz' ? 'GET' : 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer in 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** `depth` levels of `{"a": …}` around a value. */
function nested(depth: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

describe('bad input on a running Suture (issue 9: deep nesting is a 4xx, never a 500)', function () {
  this.timeout(180_000);
  let suture: SutureReplicas;
  let ns: string;
  const group = `${uniqueName('deep')}.example.com`;
  const crd = namespacedCrd(group, 'blobs', 'Blob');
  const policy = uniqueName('deep-blobs');

  before(async function () {
    this.timeout(150_000);
    suture = await startSutureReplicas(1);
    ns = await createNamespace(cluster().kubeConfig, 'deep');
  });

  after(async function () {
    this.timeout(90_000);
    await suture?.client.delete({ ...POLICY, name: policy }).catch(() => undefined);
    await suture?.stop();
    await suture?.client.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: crd.metadata.name }).catch(() => undefined);
    if (ns !== undefined) await deleteNamespace(cluster().kubeConfig, ns);
  });

  it('answers 400 on /validate, /mutate and /validate-objects to a review nested 20 000 levels deep, and stays ready', async () => {
    const port = suture.pool.portOf(0);
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const inReview = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'deep-uid', object: nested(MAX_JSON_DEPTH + 10) } });
    for (const path of ['/validate', '/mutate', '/validate-objects']) {
      for (const body of [deep, inReview]) {
        const answer = await post(port, path, body);
        expect(answer.status, `${path}: ${answer.body.slice(0, 200)}`).to.equal(400);
        expect(answer.body).to.match(/nest/i).and.not.include('Maximum call stack');
      }
    }
    expect((await post(port, '/readyz', '')).status).to.equal(200);
  });

  it('through the API server: a governed operator creating a custom resource nested past the limit is refused, and Suture stays ready', async () => {
    await suture.client.create(crd);
    await eventually(`CRD ${crd.metadata.name} Established`, async () => {
      const c = await suture.client.find<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: crd.metadata.name });
      return c?.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') ?? false;
    }, 30_000);
    await suture.client.create({ ...POLICY, metadata: { name: policy }, spec: { match: [{ apiGroups: [group], kinds: ['Blob'] }], operations: ['CREATE'], invariants: [{ name: 'named', expression: "object.metadata.name != ''" }] } });
    await eventually('validate.suture.dev intercepts Blob creates', async () => {
      const vwc = await suture.client.find<Webhooks>(WEBHOOK_CONFIGURATIONS[0]);
      return vwc?.webhooks?.find((w) => w.name === 'validate.suture.dev')?.rules?.some((r) => r.apiGroups?.includes(group) === true && r.operations?.includes('CREATE') === true) ?? false;
    }, 30_000);
    await new Promise((r) => setTimeout(r, 2000)); // the API server loads the changed webhook configuration
    await suture.client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace: ns, name: 'operator' } });
    await suture.client.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { namespace: ns, name: 'blobs' }, rules: [{ apiGroups: [group], resources: ['blobs'], verbs: ['*'] }] });
    await suture.client.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { namespace: ns, name: 'blobs' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'blobs' }, subjects: [{ kind: 'ServiceAccount', namespace: ns, name: 'operator' }] });
    const impersonate = { user: `system:serviceaccount:${ns}:operator`, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'] };
    const create = (name: string, spec: unknown): ReturnType<typeof rawRequest> =>
      rawRequest(cluster().kubeConfig, { method: 'POST', path: `/apis/${group}/v1/namespaces/${ns}/blobs`, impersonate, body: { apiVersion: `${group}/v1`, kind: 'Blob', metadata: { name }, spec } });
    const shallow = await create('shallow', nested(5));
    expect(shallow.status, JSON.stringify(shallow.body).slice(0, 300)).to.equal(201);
    const deep = await create('deep', nested(MAX_JSON_DEPTH + 50));
    const raw = (deep.body as { message?: unknown } | null)?.message;
    const message = typeof raw === 'string' ? raw : JSON.stringify(deep.body);
    expect(deep.status, message).to.be.within(400, 599);
    // Suture's 400 is a webhook failure to the API server, and the webhook fails closed (failurePolicy Fail).
    expect(message).to.include('validate.suture.dev').and.not.include('Maximum call stack');
    expect(await suture.client.find({ apiVersion: `${group}/v1`, kind: 'Blob', namespace: ns, name: 'deep' })).to.equal(undefined);
    expect((await post(suture.pool.portOf(0), '/readyz', '')).status).to.equal(200);
  });
});
