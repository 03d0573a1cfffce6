import { AuthenticationV1Api, CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { KubeConfig, V1SelfSubjectReview } from '@kubernetes/client-node';
import { expect } from 'chai';
import { cluster } from './cluster.js';
import { apiErrorCode, createNamespace, deleteNamespace, eventually, impersonating, rawRequest, withToken } from './support.js';

const selfSubjectReviews = '/apis/authentication.k8s.io/v1/selfsubjectreviews';
const reviewBody = { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' };

async function whoAmI(kc: KubeConfig): Promise<{ username?: string; groups?: string[] }> {
  const review = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: reviewBody });
  return review.status?.userInfo ?? {};
}

async function canListConfigMaps(kc: KubeConfig, namespace: string): Promise<boolean> {
  try {
    await kc.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace });
    return true;
  } catch {
    return false;
  }
}

describe('authentication and authorization', () => {
  let namespace: string;
  beforeEach(async () => {
    namespace = await createNamespace(cluster().kubeConfig, 'it-auth');
  });
  afterEach(async () => {
    await deleteNamespace(cluster().kubeConfig, namespace);
  });

  it('refuses a client-certificate user without bindings (403) and allows it after a RoleBinding', async () => {
    const admin = cluster().kubeConfig;
    const alice = await cluster().clientCert('alice', ['suture:testers']);
    expect(await whoAmI(alice)).to.include({ username: 'alice' });
    expect(await apiErrorCode(alice.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace }))).to.equal(403);

    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace, body: { metadata: { name: 'configmap-reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }] } });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'alice-reads-configmaps' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
      },
    });
    await eventually('alice may list configmaps', () => canListConfigMaps(alice, namespace), 30_000);
    // The binding grants exactly what the Role says: secrets stay forbidden, as does another namespace.
    expect(await apiErrorCode(alice.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace }))).to.equal(403);
    expect(await apiErrorCode(alice.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: 'default' }))).to.equal(403);
  });

  it('lets the admin impersonate a service account with groups, and the impersonated identity has only its own permissions', async () => {
    const admin = cluster().kubeConfig;
    const user = `system:serviceaccount:${namespace}:robot`;
    const groups = ['system:serviceaccounts', `system:serviceaccounts:${namespace}`];
    const response = await rawRequest(admin, { method: 'POST', path: selfSubjectReviews, impersonate: { user, groups }, body: reviewBody });
    expect(response.status).to.equal(201);
    const userInfo = (response.body as V1SelfSubjectReview).status?.userInfo;
    expect(userInfo?.username).to.equal(user);
    expect(userInfo?.groups).to.include.members(groups);

    // Same admin credentials, impersonating: the admin may list configmaps, the service account may not.
    expect(await canListConfigMaps(admin, namespace)).to.equal(true);
    expect(await apiErrorCode(impersonating(admin, user).makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace }))).to.equal(403);

    // A user without the impersonate verb cannot do the same.
    const alice = await cluster().clientCert('alice');
    const refused = await rawRequest(alice, { method: 'POST', path: selfSubjectReviews, impersonate: { user, groups: [] }, body: reviewBody });
    expect(refused.status).to.equal(403);
  });

  it('authenticates a service-account token from the TokenRequest API', async () => {
    const core = cluster().kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'robot' } } });
    const request = await core.createNamespacedServiceAccountToken({ name: 'robot', namespace, body: { spec: { audiences: [], expirationSeconds: 600 } } });
    const token = request.status?.token;
    expect(token).to.be.a('string').and.not.empty;

    const userInfo = await whoAmI(withToken(cluster().kubeConfig, 'robot', token ?? ''));
    expect(userInfo.username).to.equal(`system:serviceaccount:${namespace}:robot`);
    expect(userInfo.groups).to.include.members(['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated']);
  });
});
