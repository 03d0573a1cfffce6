// What Suture must be allowed to do, asked of the API server as Suture itself (SelfSubjectAccessReview): a governed
// operator bound to cluster-admin could delete Suture's ClusterRoleBinding, and a Suture that cannot watch or write
// what it needs must say so on /readyz instead of answering "ok" while nothing it enforces can be repaired.
import { AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';

export interface Right {
  verb: string;
  group: string;
  /** `resource` or `resource/subresource`. */
  resource: string;
  /** Undefined: cluster-wide. */
  namespace?: string;
}

/** The rights Suture cannot work without (config/rbac), in its namespace `namespace`. */
export function neededRights(namespace: string, options: { selfProtection: boolean }): Right[] {
  const admission = 'admissionregistration.k8s.io';
  const rights: Right[] = [
    // The caches and quorum reads: every kind.
    { verb: 'list', group: '*', resource: '*' },
    { verb: 'watch', group: '*', resource: '*' },
    // Its webhook configurations.
    { verb: 'create', group: admission, resource: 'validatingwebhookconfigurations' },
    { verb: 'update', group: admission, resource: 'validatingwebhookconfigurations' },
    { verb: 'update', group: admission, resource: 'mutatingwebhookconfigurations' },
    // Generated RBAC for lease holders.
    { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'rolebindings' },
    { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
    // Events and the status of its objects.
    { verb: 'create', group: '', resource: 'events' },
    { verb: 'update', group: 'suture.dev', resource: 'sutureleases/status' },
    // Its namespace: certificate Secret, budget and floor ConfigMaps (created at a policy's first use), leader Lease.
    { verb: 'create', group: '', resource: 'secrets', namespace },
    { verb: 'create', group: '', resource: 'configmaps', namespace },
    { verb: 'update', group: '', resource: 'configmaps', namespace },
    { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace },
  ];
  if (options.selfProtection) {
    rights.push({ verb: 'create', group: admission, resource: 'validatingadmissionpolicies' }, { verb: 'update', group: admission, resource: 'validatingadmissionpolicybindings' });
  }
  return rights;
}

export function describeRight(right: Right): string {
  return `${right.verb} ${right.group === '' ? 'core' : right.group}/${right.resource}${right.namespace === undefined ? '' : ` in ${right.namespace}`}`;
}

/** Asks the API server, as the identity of `kubeConfig`, which of `rights` it lacks; a failed review counts as lacking. */
export async function missingRights(kubeConfig: KubeConfig, rights: readonly Right[]): Promise<string[]> {
  const api = kubeConfig.makeApiClient(AuthorizationV1Api);
  const answers = await Promise.all(
    rights.map(async (right) => {
      try {
        const [resource, subresource] = right.resource.split('/');
        const attributes = { verb: right.verb, group: right.group, resource, ...(subresource === undefined ? {} : { subresource }), ...(right.namespace === undefined ? {} : { namespace: right.namespace }) };
        const review = await api.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: attributes } } });
        return review.status?.allowed === true ? undefined : describeRight(right);
      } catch (error) {
        return `${describeRight(right)} (the review failed: ${error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)})`;
      }
    }),
  );
  return answers.filter((a): a is string => a !== undefined);
}
