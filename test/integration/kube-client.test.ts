// ObjectClient, exchanges, discovery and quorum reads against the real API server.
import { expect } from 'chai';
import type { KubeObject } from '../../src/api/types.js';
import type { ObjectClient } from '../../src/kube/client.js';
import { RawObjectApi, createObjectClient, loadKubeConfig } from '../../src/kube/client.js';
import { createDiscovery } from '../../src/kube/discovery.js';
import type { KubeError} from '../../src/kube/errors.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../src/kube/errors.js';
import { cluster } from './cluster.js';
import { createNamespace, deleteNamespace, eventually, namespacedCrd, uniqueName } from './support.js';

const configMap = (namespace: string, name: string, data: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name }, data });

describe('ObjectClient (real API server)', () => {
  let client: ObjectClient;
  let namespace: string;
  before(async () => {
    client = createObjectClient(cluster().kubeConfig, { fieldManager: 'suture-it' });
    namespace = await createNamespace(cluster().kubeConfig, 'it-client');
  });
  after(async () => {
    await deleteNamespace(cluster().kubeConfig, namespace);
  });

  it('creates, gets, lists, merge-patches, replaces and deletes a ConfigMap as plain JSON', async () => {
    const created = await client.create(configMap(namespace, 'a', { x: '1' }));
    expect(created.metadata.uid).to.be.a('string');
    expect(created.metadata.creationTimestamp).to.be.a('string');
    const got = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'a' });
    expect(got.data).to.deep.equal({ x: '1' });
    const list = await client.list('v1', 'ConfigMap', { namespace });
    expect(list.items.map((item) => item.metadata.name)).to.include('a');
    expect(list.metadata.resourceVersion).to.match(/^\d+$/);

    const patched = await client.mergePatch({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'a' }, { data: { y: '2' } });
    expect(patched.data).to.deep.equal({ x: '1', y: '2' });
    const replaced = await client.replace({ ...patched, data: { z: '3' } });
    expect(replaced.data).to.deep.equal({ z: '3' });

    expect(await client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'a' })).to.be.true;
    expect(await client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'a' })).to.be.false;
    expect(await client.find({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'a' })).to.equal(undefined);
  });

  it('normalises errors: NotFound, AlreadyExists, Conflict on a stale resourceVersion', async () => {
    const error = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'missing' }).catch((e: unknown) => e);
    expect(isNotFound(error), String(error)).to.be.true;
    expect((error as KubeError).cause).to.exist;

    const first = await client.create(configMap(namespace, 'b', { v: '1' }));
    const duplicate = await client.create(configMap(namespace, 'b', {})).catch((e: unknown) => e);
    expect(isAlreadyExists(duplicate), String(duplicate)).to.be.true;

    await client.mergePatch({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'b' }, { data: { v: '2' } });
    const stale = await client.replace({ ...first, data: { v: 'stale' } }).catch((e: unknown) => e);
    expect(isConflict(stale), String(stale)).to.be.true;
    expect((stale as KubeError).reason).to.equal('Conflict');
  });

  it('server-side applies with a field manager and reports conflicts with other managers', async () => {
    const applied = await client.apply({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { namespace, name: 'web' }, spec: deploymentSpec(2) });
    expect((applied.spec as { replicas: number }).replicas).to.equal(2);
    const other = createObjectClient(cluster().kubeConfig, { fieldManager: 'someone-else' });
    const conflict = await other.apply({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { namespace, name: 'web' }, spec: deploymentSpec(5) }).catch((e: unknown) => e);
    expect(isConflict(conflict), String(conflict)).to.be.true;
    const forced = await other.apply({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { namespace, name: 'web' }, spec: deploymentSpec(5) }, { force: true });
    expect((forced.spec as { replicas: number }).replicas).to.equal(5);
  });

  it('patches the status subresource', async () => {
    await client.apply({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { namespace, name: 'st' }, spec: deploymentSpec(1) });
    const patched = await client.patchStatus({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: 'st' }, { observedGeneration: 42 });
    expect((patched.status as { observedGeneration: number }).observedGeneration).to.equal(42);
  });
});

describe('Discovery (real API server)', () => {
  it('maps kinds to resources and scope, in preferred and explicit versions', async () => {
    const discovery = createDiscovery(RawObjectApi.fromKubeConfig(cluster().kubeConfig));
    const deployment = await discovery.forKind('apps', 'Deployment');
    expect(deployment).to.include({ group: 'apps', version: 'v1', resource: 'deployments', namespaced: true, preferred: true });
    expect(await discovery.forResource('', 'namespaces')).to.include({ kind: 'Namespace', namespaced: false });
    expect(await discovery.forKind('rbac.authorization.k8s.io', 'ClusterRole', 'v1')).to.include({ namespaced: false });
    expect(discovery.all().some((k) => k.resource.includes('/'))).to.be.false;
  });

  it('finds a CRD created after the first refresh (refresh on a miss, or on invalidate)', async () => {
    const discovery = createDiscovery(RawObjectApi.fromKubeConfig(cluster().kubeConfig), { minRefreshIntervalMs: 0 });
    await discovery.refresh();
    const client = createObjectClient(cluster().kubeConfig);
    const plural = `${uniqueName('widgets').replace('-', '')}`;
    const group = 'it.suture.dev';
    await client.create(crd(group, plural));
    try {
      let found;
      for (let i = 0; i < 40 && found === undefined; i++) {
        found = await discovery.forKind(group, `W${plural.slice(1)}`);
        if (found === undefined) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(found).to.include({ resource: plural, namespaced: true, version: 'v1' });
    } finally {
      await client.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: `${plural}.${group}` });
    }
  });
});

describe('RawObjectApi.exchange (real API server)', () => {
  let api: RawObjectApi;
  let namespace: string;
  before(async () => {
    api = RawObjectApi.fromKubeConfig(loadKubeConfig({ kind: 'file', path: cluster().kubeconfigPath }));
    namespace = await createNamespace(cluster().kubeConfig, 'it-exchange');
  });
  after(async () => {
    await deleteNamespace(cluster().kubeConfig, namespace);
  });

  it('impersonates a user with every group as its own Impersonate-Group header', async () => {
    const user = `system:serviceaccount:${namespace}:robot`;
    const groups = ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'it-team-a', 'it-team-b'];
    const review = await api.exchange({ method: 'POST', path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }, impersonate: { user, groups } });
    expect(review.status).to.equal(201);
    const seen = (review.body as { status?: { userInfo?: { username?: string; groups?: string[] } } }).status?.userInfo;
    expect(seen?.username).to.equal(user);
    expect(seen?.groups).to.have.members([...groups, 'system:authenticated']);
  });

  it('answers any status with its Status body instead of throwing, and sends a DELETE body', async () => {
    const missing = await api.exchange({ method: 'GET', path: `/api/v1/namespaces/${namespace}/configmaps/absent` });
    expect(missing.status).to.equal(404);
    expect(missing.body).to.include({ kind: 'Status', reason: 'NotFound' });
    const created = await api.exchange({ method: 'POST', path: `/api/v1/namespaces/${namespace}/configmaps`, body: configMap(namespace, 'kept', { x: '1' }) });
    expect(created.status).to.equal(201);
    // A precondition on another uid: the API server refuses only if it read the DeleteOptions body.
    const refused = await api.exchange({ method: 'DELETE', path: `/api/v1/namespaces/${namespace}/configmaps/kept`, body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: 'not-its-uid' } } });
    expect(refused.status).to.equal(409);
    expect(refused.body).to.include({ reason: 'Conflict' });
  });

  it('returns every Warning header the API server sends, in order', async () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'warned' }, spec: { nodeSelector: { 'beta.kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux' }, containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9' }] } };
    let answer: Awaited<ReturnType<RawObjectApi['exchange']>> | undefined;
    // The namespace's default ServiceAccount (which Pod admission needs) comes from the controller manager shortly after the namespace.
    await eventually('a dry-run Pod create is answered 201', async () => (answer = await api.exchange({ method: 'POST', path: `/api/v1/namespaces/${namespace}/pods`, query: { dryRun: 'All' }, body: pod })).status === 201, 30_000);
    expect(answer?.warnings).to.have.length(2);
    expect(answer?.warnings[0]).to.match(/beta\.kubernetes\.io\/(arch|os).*deprecated/);
    expect(answer?.warnings[1]).to.match(/beta\.kubernetes\.io\/(arch|os).*deprecated/);
  });
});

function deploymentSpec(replicas: number): object {
  return {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9' }] } },
  };
}

function crd(group: string, plural: string): KubeObject {
  return namespacedCrd(group, plural, `W${plural.slice(1)}`);
}
