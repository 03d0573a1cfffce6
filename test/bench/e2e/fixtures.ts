// What `make bench` puts into the cluster: the governed identity, the Suture policies and the equivalent
// ValidatingAdmissionPolicy, and the AdmissionReview posted to /validate. Plus small helpers over the admin client.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../../../src/api/types.js';
import { type ObjectClient, RawObjectApi } from '../../../src/kube/client.js';
import { kubeConfigYaml } from '../../controlplane/kubeconfig.js';
import { SUTURE_NAMESPACE } from '../../controlplane/suture-process.js';
import { serviceAccountKubeConfig } from '../../controlplane/service-account.js';

export const BENCH_NAMESPACE = 'bench';
export { SUTURE_NAMESPACE };
export const LEASE_NAMESPACE = 'bench-leases';
export const MEMORY_NAMESPACE = 'bench-mem';
export const GOVERNED_USER = `system:serviceaccount:${BENCH_NAMESPACE}:op`;
/** The data key the CEL policy (and the VAP) forbid. */
export const FORBIDDEN_KEY = 'forbidden';
/** Label of the namespaces the namespace-delete measurement deletes (a cascade-aware policy covers them). */
export const DOOMED_NAMESPACE_LABEL = { bench: 'namespace' } as const;

const subjects = [{ kind: 'ServiceAccount', namespace: BENCH_NAMESPACE, name: 'op' }];
const noForbiddenKey = `!has(object.data) || !('${FORBIDDEN_KEY}' in object.data)`;

/** The policies measured in issue 8, plus protect on the namespaces the namespace delete removes. */
export const suturePolicies: KubeObject[] = [
  {
    apiVersion: 'suture.dev/v1alpha1',
    kind: 'SuturePolicy',
    metadata: { name: 'bench-protect' },
    spec: {
      subjects,
      match: [{ apiGroups: [''], kinds: ['ConfigMap'], namespaces: [BENCH_NAMESPACE], selector: { matchLabels: { protected: 'true' } } }],
      operations: ['DELETE'],
      invariants: [{ name: 'keep-protected', protect: {} }],
    },
  },
  {
    apiVersion: 'suture.dev/v1alpha1',
    kind: 'SuturePolicy',
    metadata: { name: 'bench-no-forbidden-key' },
    spec: {
      subjects,
      match: [{ apiGroups: [''], kinds: ['ConfigMap'], namespaces: [BENCH_NAMESPACE] }],
      operations: ['CREATE', 'UPDATE'],
      invariants: [{ name: 'no-forbidden-key', expression: noForbiddenKey, message: `data.${FORBIDDEN_KEY} is not allowed` }],
    },
  },
  {
    apiVersion: 'suture.dev/v1alpha1',
    kind: 'SuturePolicy',
    metadata: { name: 'bench-protect-doomed-namespaces' },
    spec: {
      subjects,
      match: [{ apiGroups: [''], kinds: ['ConfigMap'], namespaceSelector: { matchLabels: DOOMED_NAMESPACE_LABEL }, selector: { matchLabels: { protected: 'true' } } }],
      operations: ['DELETE'],
      invariants: [{ name: 'keep-protected', protect: {} }],
    },
  },
];

/** The same rules as a ValidatingAdmissionPolicy: the data key on CREATE/UPDATE, the protected label on DELETE. */
export const equivalentVap: KubeObject[] = [
  {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: 'bench-equivalent' },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE', 'DELETE'], resources: ['configmaps'] }],
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': BENCH_NAMESPACE } },
      },
      matchConditions: [{ name: 'governed', expression: `request.userInfo.username == '${GOVERNED_USER}'` }],
      validations: [
        { expression: `request.operation == 'DELETE' || ${noForbiddenKey}`, message: `data.${FORBIDDEN_KEY} is not allowed` },
        { expression: "request.operation != 'DELETE' || !has(oldObject.metadata.labels) || !('protected' in oldObject.metadata.labels) || oldObject.metadata.labels['protected'] != 'true'", message: 'protected' },
      ],
    },
  },
  {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: 'bench-equivalent' },
    spec: { policyName: 'bench-equivalent', validationActions: ['Deny'] },
  },
];

/** An AdmissionReview a policy matches: the governed identity creates a ConfigMap in `bench` (allowed). */
export function matchingReview(): Record<string, unknown> {
  const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'webhook-bench', namespace: BENCH_NAMESPACE }, data: { app: 'bench' } };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '00000000-0000-0000-0000-00000000beef',
      kind: { group: '', version: 'v1', kind: 'ConfigMap' },
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      requestKind: { group: '', version: 'v1', kind: 'ConfigMap' },
      requestResource: { group: '', version: 'v1', resource: 'configmaps' },
      name: 'webhook-bench',
      namespace: BENCH_NAMESPACE,
      operation: 'CREATE',
      userInfo: { username: GOVERNED_USER, uid: 'op-uid', groups: ['system:serviceaccounts', `system:serviceaccounts:${BENCH_NAMESPACE}`, 'system:authenticated'] },
      object,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

async function ensure(client: ObjectClient, obj: KubeObject): Promise<void> {
  const ref = { apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name ?? '' };
  if ((await client.find(ref)) === undefined) await client.create(obj);
}

export async function applyAll(client: ObjectClient, objects: readonly KubeObject[]): Promise<void> {
  for (const obj of objects) await ensure(client, obj);
}

export async function deleteAll(client: ObjectClient, objects: readonly KubeObject[]): Promise<void> {
  for (const obj of objects) await client.delete({ apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name ?? '' });
}

export interface Identities {
  /** kubeconfig file of the cluster admin (system:masters): ungoverned. */
  readonly admin: string;
  /** kubeconfig file of ServiceAccount bench/op, bound to cluster-admin: governed. */
  readonly governed: string;
  readonly governedKubeConfig: KubeConfig;
}

/** Namespaces, the governed ServiceAccount with broad RBAC, and a kubeconfig file for each identity. */
export async function createIdentities(client: ObjectClient, admin: { kubeConfig: KubeConfig; kubeconfigPath: string }, dir: string): Promise<Identities> {
  for (const name of [BENCH_NAMESPACE, SUTURE_NAMESPACE, LEASE_NAMESPACE]) await ensure(client, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await ensure(client, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'op', namespace: BENCH_NAMESPACE } });
  await ensure(client, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'bench-op-cluster-admin' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name: 'op', namespace: BENCH_NAMESPACE }],
  });
  const governed = join(dir, 'governed.kubeconfig');
  const governedKubeConfig = await serviceAccountKubeConfig(admin.kubeConfig, { namespace: BENCH_NAMESPACE, name: 'op' }, 4 * 3600);
  writeFileSync(governed, kubeConfigYaml(governedKubeConfig), { mode: 0o600 });
  return { admin: admin.kubeconfigPath, governed, governedKubeConfig };
}

/** GET a path of the API server as the admin (e.g. /metrics), as text. */
export async function apiServerText(kc: KubeConfig, path: string): Promise<string> {
  const answer = await RawObjectApi.fromKubeConfig(kc).exchange({ method: 'GET', path, accept: 'text/plain' });
  if (answer.status !== 200) throw new Error(`GET ${path}: HTTP ${answer.status}`);
  return typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? '');
}
