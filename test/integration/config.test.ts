// config/ on the real API server: `kubectl kustomize config/default` (the built kubectl's own kustomize) renders the
// installation, and every object is applied with dryRun=All so that the API server validates it (schemas, defaulting,
// admission). The Deployment's pod template is dry-run as a Pod under the namespace's `restricted` Pod Security level.
// Then config/rbac is created for real and its rights are tried: Suture's service account can read any kind, write
// its webhook configurations and grant lease holders rights it does not hold itself (escalate, bind), and nothing
// more. The control plane is shared, so the namespace and cluster-scoped names are made unique for this test.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AuthorizationV1Api, CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/api/types.js';
import { createObjectClient, type ObjectClient } from '../../src/kube/client.js';
import { serviceAccountKubeConfig, serviceAccountUser } from '../controlplane/service-account.js';
import { cluster } from './cluster.js';
import { apiErrorCode, ignoreNotFound, uniqueName } from './support.js';

const root = join(import.meta.dirname, '..', '..');
const INSTALL_NAMESPACE = 'suture-system';

type Manifest = KubeObject & { subjects?: { kind: string; name: string; namespace?: string }[]; roleRef?: { kind: string; name: string } };

async function render(dir: string): Promise<Manifest[]> {
  const { stdout } = await promisify(execFile)(join(cluster().binDir, 'kubectl'), ['kustomize', join(root, dir)], { maxBuffer: 16 * 1024 * 1024 });
  return parseAllDocuments(stdout).map((doc) => doc.toJS() as Manifest);
}

/** Moves the installation into `namespace` and gives cluster-scoped RBAC objects a `suffix`, so that it collides with nothing. */
function relocate(objects: readonly Manifest[], namespace: string, suffix: string): Manifest[] {
  const clusterScopedRbac = new Set(['ClusterRole', 'ClusterRoleBinding']);
  return objects.map((object) => {
    const copy = structuredClone(object);
    if (copy.kind === 'Namespace') copy.metadata.name = namespace;
    if (copy.metadata.namespace === INSTALL_NAMESPACE) copy.metadata.namespace = namespace;
    if (clusterScopedRbac.has(copy.kind)) copy.metadata.name = `${copy.metadata.name ?? ''}-${suffix}`;
    if (copy.roleRef?.kind === 'ClusterRole') copy.roleRef.name = `${copy.roleRef.name}-${suffix}`;
    for (const subject of copy.subjects ?? []) if (subject.namespace === INSTALL_NAMESPACE) subject.namespace = namespace;
    return copy;
  });
}

function named(objects: readonly Manifest[], kind: string): Manifest {
  const found = objects.find((o) => o.kind === kind);
  if (found === undefined) throw new Error(`no ${kind} in config/default`);
  return found;
}

describe('config/ on the API server', function () {
  this.timeout(120_000);
  const namespace = uniqueName('suture-config');
  const suffix = namespace.slice('suture-config-'.length);
  let rendered: Manifest[] = [];
  let objects: Manifest[] = [];
  let admin: ObjectClient;

  before(async () => {
    admin = createObjectClient(cluster().kubeConfig, { fieldManager: 'config-test' });
    rendered = await render('config/default');
    objects = relocate(rendered, namespace, suffix);
    // Namespaced dry runs need a real namespace; it carries the rendered labels (Pod Security: restricted).
    await admin.create(named(objects, 'Namespace'));
  });

  after(async () => {
    const rbac = cluster().kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await ignoreNotFound(rbac.deleteClusterRoleBinding({ name: `suture-${suffix}` }));
    await ignoreNotFound(rbac.deleteClusterRole({ name: `suture-${suffix}` }));
    await ignoreNotFound(cluster().kubeConfig.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace }));
  });

  it('kubectl kustomize config/default renders the CRDs, RBAC, namespace, Deployment, Service, PDB and self-protection policy in suture-system', () => {
    const kinds = rendered.map((o) => o.kind).sort();
    expect(kinds).to.deep.equal(
      ['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'CustomResourceDefinition', 'CustomResourceDefinition', 'Deployment', 'Namespace', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'].sort(),
    );
    for (const object of rendered.filter((o) => o.metadata.namespace !== undefined)) expect(object.metadata.namespace, `${object.kind}`).to.equal(INSTALL_NAMESPACE);
    expect(named(rendered, 'Deployment').metadata.labels).to.deep.include({ 'app.kubernetes.io/part-of': 'suture' });
  });

  it('the API server accepts every object of config/default (server-side apply, dryRun=All)', async () => {
    const problems: string[] = [];
    for (const object of objects.filter((o) => o.kind !== 'Namespace')) {
      try {
        await admin.apply(object, { dryRun: true, force: true });
      } catch (error) {
        problems.push(`${object.kind} ${object.metadata.name ?? ''}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    expect(problems).to.deep.equal([]);
  });

  it("the Deployment's pod passes the namespace's restricted Pod Security level (dry-run Pod)", async () => {
    const deployment = named(objects, 'Deployment') as Manifest & { spec: { template: { metadata: object; spec: object } } };
    // The ServiceAccount admission plugin wants the pod's service account to exist.
    await admin.create(named(objects, 'ServiceAccount'));
    const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { ...deployment.spec.template.metadata, name: 'suture-dry-run', namespace }, spec: deployment.spec.template.spec };
    const created = await admin.create(pod, { dryRun: true });
    expect(created.metadata.uid).to.be.a('string');
  });

  describe('the rights config/rbac gives Suture, tried for real', () => {
    const account = { namespace, name: 'suture' };
    let asSuture: ObjectClient;

    before(async () => {
      for (const kind of ['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']) await admin.create(named(objects, kind));
      asSuture = createObjectClient(await serviceAccountKubeConfig(cluster().kubeConfig, account), { fieldManager: 'suture' });
    });

    async function can(verb: string, group: string, resource: string, where?: string): Promise<boolean> {
      const review = await cluster()
        .kubeConfig.makeApiClient(AuthorizationV1Api)
        .createSubjectAccessReview({
          body: { spec: { user: serviceAccountUser(account), groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'], resourceAttributes: { verb, group, resource, ...(where === undefined ? {} : { namespace: where }) } } },
        });
      return review.status?.allowed === true;
    }

    it('reads every kind, writes its webhook configurations, Events and the status of its objects', async () => {
      const expected: [string, string, string, string | undefined][] = [
        ['watch', 'example.com', 'widgets', undefined],
        ['list', '', 'secrets', undefined],
        ['create', 'admissionregistration.k8s.io', 'validatingwebhookconfigurations', undefined],
        ['delete', 'admissionregistration.k8s.io', 'mutatingwebhookconfigurations', undefined],
        ['update', 'admissionregistration.k8s.io', 'validatingadmissionpolicies', undefined],
        ['create', 'admissionregistration.k8s.io', 'validatingadmissionpolicybindings', undefined],
        ['patch', 'suture.dev', 'suturepolicies/status', undefined],
        ['create', '', 'events', 'prod'],
        ['create', 'networking.k8s.io', 'networkpolicies', 'prod'],
        ['update', 'coordination.k8s.io', 'leases', namespace],
        ['create', '', 'secrets', namespace],
        ['update', '', 'configmaps', namespace],
      ];
      const denied: string[] = [];
      for (const [verb, group, resource, where] of expected) if (!(await can(verb, group, resource, where))) denied.push(`${verb} ${group}/${resource} in ${where ?? 'the cluster'}`);
      expect(denied).to.deep.equal([]);
    });

    it('and nothing more: no writes to workloads, Secrets elsewhere or the spec of its own objects', async () => {
      const expected: [string, string, string, string | undefined][] = [
        ['delete', '', 'pods', 'prod'],
        ['create', '', 'secrets', 'prod'],
        ['update', 'apps', 'deployments', 'prod'],
        ['delete', '', 'namespaces', undefined],
        ['update', 'suture.dev', 'suturepolicies', undefined],
        ['impersonate', '', 'serviceaccounts', undefined],
        ['create', '', 'configmaps', 'default'],
      ];
      const allowed: string[] = [];
      for (const [verb, group, resource, where] of expected) if (await can(verb, group, resource, where)) allowed.push(`${verb} ${group}/${resource} in ${where ?? 'the cluster'}`);
      expect(allowed).to.deep.equal([]);
    });

    it('grants a lease holder rights Suture does not hold itself (escalate and bind), as its own service account', async () => {
      const target = 'default';
      const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: uniqueName('holder'), namespace: target }, rules: [{ apiGroups: ['apps'], resources: ['statefulsets', 'statefulsets/scale'], verbs: ['get', 'update', 'patch', 'delete'] }] };
      const binding = {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: role.metadata.name, namespace: target },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name },
        subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: target }],
      };
      try {
        await asSuture.create(role);
        await asSuture.create(binding);
        // Without `escalate` the API server refuses a Role granting more than its writer holds; Suture has no
        // write right on StatefulSets, so this proves the rule works.
        expect(await can('delete', 'apps', 'statefulsets', target)).to.equal(false);
      } finally {
        await admin.delete({ apiVersion: binding.apiVersion, kind: 'RoleBinding', namespace: target, name: binding.metadata.name });
        await admin.delete({ apiVersion: role.apiVersion, kind: 'Role', namespace: target, name: role.metadata.name });
      }
    });

    it('cannot delete a pod (the token is really its service account)', async () => {
      const core = (await serviceAccountKubeConfig(cluster().kubeConfig, account)).makeApiClient(CoreV1Api);
      expect(await apiErrorCode(core.deleteNamespacedPod({ name: 'anything', namespace: 'default' }))).to.equal(403);
    });
  });
});
