// Credentials of a service account, as its pod would have them: a TokenRequest token (bound, short-lived) in a
// kubeconfig next to the cluster's address and CA. Used by `make demo` (Suture and the misbehaving operator run as
// their own service accounts) and by the integration test of config/rbac.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

export interface ServiceAccountRef {
  readonly namespace: string;
  readonly name: string;
}

/** `system:serviceaccount:<namespace>:<name>` */
export function serviceAccountUser(account: ServiceAccountRef): string {
  return `system:serviceaccount:${account.namespace}:${account.name}`;
}

/** A kubeconfig that authenticates as `account` with a fresh TokenRequest token valid for `seconds` (at least 600). */
export async function serviceAccountKubeConfig(admin: KubeConfig, account: ServiceAccountRef, seconds = 600): Promise<KubeConfig> {
  const token = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name: account.name,
    namespace: account.namespace,
    body: { spec: { expirationSeconds: seconds, audiences: [] } },
  });
  const cluster = admin.getCurrentCluster();
  if (cluster === null) throw new Error('the admin kubeconfig has no current cluster');
  const user = `${account.namespace}-${account.name}`;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: user, token: token.status?.token ?? '' }],
    contexts: [{ name: user, cluster: cluster.name, user }],
    currentContext: user,
  });
  return kc;
}
