// The world the simulated operators act on: namespaces, protected objects, floored workloads, leased objects, the
// Suture policies and leases that guard them. Pure data; setup.ts writes it to the control plane.

export const LABEL_PROTECTED = 'safety.suture.dev/protected';
export const LABEL_RUN = 'safety.suture.dev/run';
export const OPS_NAMESPACE = 'ops';
export const NAMESPACES = ['data', 'mq', 'shop', 'leased'] as const;

export type Manifest = Record<string, unknown> & { apiVersion: string; kind: string; metadata: Record<string, unknown> & { name: string; namespace?: string } };

export function operatorName(index: number): string {
  return `op-${index}`;
}

export function operatorUser(index: number): string {
  return `system:serviceaccount:${OPS_NAMESPACE}:${operatorName(index)}`;
}

/** An object of the world by kind, namespace and name (the generator aims at these). */
export interface ObjectRef {
  readonly kind: Kind;
  readonly namespace?: string;
  readonly name: string;
}

export type Kind = 'ConfigMap' | 'Secret' | 'PersistentVolumeClaim' | 'Pod' | 'StatefulSet' | 'Deployment' | 'ReplicaSet' | 'HorizontalPodAutoscaler' | 'Namespace';

export const API: Readonly<Record<Kind, { apiVersion: string; plural: string; namespaced: boolean }>> = {
  ConfigMap: { apiVersion: 'v1', plural: 'configmaps', namespaced: true },
  Secret: { apiVersion: 'v1', plural: 'secrets', namespaced: true },
  PersistentVolumeClaim: { apiVersion: 'v1', plural: 'persistentvolumeclaims', namespaced: true },
  Pod: { apiVersion: 'v1', plural: 'pods', namespaced: true },
  StatefulSet: { apiVersion: 'apps/v1', plural: 'statefulsets', namespaced: true },
  Deployment: { apiVersion: 'apps/v1', plural: 'deployments', namespaced: true },
  ReplicaSet: { apiVersion: 'apps/v1', plural: 'replicasets', namespaced: true },
  HorizontalPodAutoscaler: { apiVersion: 'autoscaling/v2', plural: 'horizontalpodautoscalers', namespaced: true },
  Namespace: { apiVersion: 'v1', plural: 'namespaces', namespaced: false },
};

export function objectPath(ref: { kind: Kind; namespace?: string; name?: string }, subresource?: string): string {
  const api = API[ref.kind];
  const group = api.apiVersion.includes('/') ? `/apis/${api.apiVersion}` : `/api/${api.apiVersion}`;
  const ns = api.namespaced ? `/namespaces/${ref.namespace ?? ''}` : '';
  const name = ref.name === undefined ? '' : `/${ref.name}`;
  return `${group}${ns}/${api.plural}${name}${subresource === undefined ? '' : `/${subresource}`}`;
}

// ------------------------------------------------------------------------------------------------ protected objects

export const PROTECTED: readonly ObjectRef[] = [
  { kind: 'ConfigMap', namespace: 'data', name: 'keep-cm-0' },
  { kind: 'ConfigMap', namespace: 'data', name: 'keep-cm-1' },
  { kind: 'ConfigMap', namespace: 'data', name: 'keep-cm-2' },
  { kind: 'Secret', namespace: 'data', name: 'keep-secret-0' },
  { kind: 'Secret', namespace: 'data', name: 'keep-secret-1' },
  { kind: 'PersistentVolumeClaim', namespace: 'data', name: 'keep-pvc-0' },
  { kind: 'PersistentVolumeClaim', namespace: 'data', name: 'keep-pvc-1' },
];

/** Unprotected owners of protected objects (set at setup): deleting them cascades onto what `protect` guards. */
export const HOLDERS: readonly ObjectRef[] = [
  { kind: 'ConfigMap', namespace: 'data', name: 'holder-0' },
  { kind: 'ConfigMap', namespace: 'data', name: 'holder-1' },
];
export const OWNED_BY: Readonly<Record<string, string>> = { 'keep-cm-0': 'holder-0', 'keep-pvc-0': 'holder-1', 'keep-secret-1': 'holder-1' };

// ------------------------------------------------------------------------------------------------ workloads and floors

export interface Workload extends ObjectRef {
  readonly kind: 'StatefulSet' | 'Deployment' | 'ReplicaSet';
  readonly namespace: string;
  readonly app: string;
  readonly replicas: number;
}

export const WORKLOADS: readonly Workload[] = [
  { kind: 'StatefulSet', namespace: 'mq', name: 'rabbit', app: 'rabbit', replicas: 3 },
  { kind: 'ReplicaSet', namespace: 'mq', name: 'cache', app: 'cache', replicas: 3 },
  { kind: 'Deployment', namespace: 'shop', name: 'api', app: 'api', replicas: 3 },
  { kind: 'ReplicaSet', namespace: 'shop', name: 'ledger', app: 'ledger', replicas: 2 },
  { kind: 'Deployment', namespace: 'shop', name: 'web', app: 'web', replicas: 2 },
];

/**
 * Availability floors. `owner`: the ready pods the workload controls (through its ReplicaSets for a Deployment), as
 * Suture counts them; `label`: every ready pod of the namespace with the label `app`.
 */
export interface Floor {
  readonly policy: string;
  readonly namespace: string;
  readonly app: string;
  readonly by: 'owner' | 'label';
  readonly workload?: Workload;
  readonly min: number;
}

function workload(name: string): Workload {
  const w = WORKLOADS.find((x) => x.name === name);
  if (w === undefined) throw new Error(`no workload ${name}`);
  return w;
}

export const FLOORS: readonly Floor[] = [
  { policy: 'rabbit-quorum', namespace: 'mq', app: 'rabbit', by: 'owner', workload: workload('rabbit'), min: 2 },
  { policy: 'api-floor', namespace: 'shop', app: 'api', by: 'owner', workload: workload('api'), min: 2 },
  { policy: 'cache-quorum', namespace: 'mq', app: 'cache', by: 'label', min: 2 },
];

/** Pods `protect` guards (their ReplicaSet makes them): the `ledger-pods` policy. */
export const PROTECTED_PODS = { namespace: 'shop', app: 'ledger' } as const;

// ------------------------------------------------------------------------------------------------ leases

/** Whole-object leases on ConfigMaps of `leased`, by holder index. */
export const LEASED_CONFIGMAPS: Readonly<Record<number, readonly string[]>> = { 0: ['lease0-cm-0', 'lease0-cm-1'], 1: ['lease1-cm-0'] };
/** op-0 leases `/spec/replicas` of shop/web; it writes replicas in [1, 3], every other operator tries [4, 6]. */
export const FIELD_LEASE = { holder: 0, namespace: 'shop', name: 'web', holderValues: [1, 2, 3], otherValues: [4, 5, 6] } as const;

export function leaseHolderOf(configMap: string): number | undefined {
  for (const [holder, names] of Object.entries(LEASED_CONFIGMAPS)) if (names.includes(configMap)) return Number(holder);
  return undefined;
}

// ------------------------------------------------------------------------------------------------ manifests

function podTemplate(app: string): Record<string, unknown> {
  return { metadata: { labels: { app, [LABEL_RUN]: 'true' } }, spec: { containers: [{ name: app, image: `registry.example/${app}:1` }], terminationGracePeriodSeconds: 0 } };
}

function workloadManifest(w: Workload): Manifest {
  const spec: Record<string, unknown> = { replicas: w.replicas, selector: { matchLabels: { app: w.app } }, template: podTemplate(w.app) };
  if (w.kind === 'StatefulSet') Object.assign(spec, { serviceName: w.name, podManagementPolicy: 'Parallel' });
  return { apiVersion: 'apps/v1', kind: w.kind, metadata: { name: w.name, namespace: w.namespace, labels: { app: w.app } }, spec };
}

function protectedManifest(ref: ObjectRef): Manifest {
  const metadata = { name: ref.name, namespace: ref.namespace as string, labels: { [LABEL_PROTECTED]: 'true' } };
  if (ref.kind === 'ConfigMap') return { apiVersion: 'v1', kind: 'ConfigMap', metadata, data: { value: ref.name } };
  if (ref.kind === 'Secret') return { apiVersion: 'v1', kind: 'Secret', metadata, stringData: { value: ref.name } };
  return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } };
}

/** Everything but the Suture objects, in creation order; ownerReferences to holders are added by setup (uids). */
export function worldManifests(operators: number): Manifest[] {
  const out: Manifest[] = [];
  for (const ns of [OPS_NAMESPACE, ...NAMESPACES]) out.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  for (let i = 0; i < operators; i++) out.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: operatorName(i), namespace: OPS_NAMESPACE } });
  out.push({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'safety-operators-cluster-admin' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: Array.from({ length: operators }, (_, i) => ({ kind: 'ServiceAccount', name: operatorName(i), namespace: OPS_NAMESPACE })),
  });
  for (const h of HOLDERS) out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: h.name, namespace: h.namespace }, data: { role: 'holder' } });
  for (const p of PROTECTED) out.push(protectedManifest(p));
  for (const w of WORKLOADS) out.push(workloadManifest(w));
  for (const names of Object.values(LEASED_CONFIGMAPS)) for (const name of names) out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'leased' }, data: { writer: 'initial' } });
  return out;
}

export function sutureManifests(operators: number): Manifest[] {
  const policies: Manifest[] = [
    {
      apiVersion: 'suture.dev/v1alpha1',
      kind: 'SuturePolicy',
      metadata: { name: 'keep-data' },
      spec: {
        match: [{ apiGroups: [''], kinds: ['ConfigMap', 'Secret', 'PersistentVolumeClaim'], selector: { matchLabels: { [LABEL_PROTECTED]: 'true' } } }],
        invariants: [{ name: 'keep', protect: {} }],
      },
    },
    {
      apiVersion: 'suture.dev/v1alpha1',
      kind: 'SuturePolicy',
      metadata: { name: 'ledger-pods' },
      spec: {
        match: [{ apiGroups: [''], kinds: ['Pod'], namespaces: [PROTECTED_PODS.namespace], selector: { matchLabels: { app: PROTECTED_PODS.app } } }],
        operations: ['DELETE'],
        invariants: [{ name: 'pods-survive', protect: {} }],
      },
    },
    ...FLOORS.map((f): Manifest => ({
      apiVersion: 'suture.dev/v1alpha1',
      kind: 'SuturePolicy',
      metadata: { name: f.policy },
      spec: {
        match: [f.by === 'owner' ? { apiGroups: ['apps'], kinds: [f.workload?.kind], namespaces: [f.namespace], selector: { matchLabels: { app: f.app } } } : { apiGroups: [''], kinds: ['Pod'], namespaces: [f.namespace], selector: { matchLabels: { app: f.app } } }],
        ...(f.by === 'label' ? { operations: ['DELETE'] } : {}),
        invariants: [{ name: 'floor', minAvailable: { count: f.min } }],
      },
    })),
  ];
  const leases: Manifest[] = Object.entries(LEASED_CONFIGMAPS)
    .filter(([holder]) => Number(holder) < operators)
    .map(([holder, names]) => ({
      apiVersion: 'suture.dev/v1alpha1',
      kind: 'SutureLease',
      metadata: { name: `${operatorName(Number(holder))}-configmaps`, namespace: OPS_NAMESPACE },
      spec: {
        holder: { kind: 'ServiceAccount', name: operatorName(Number(holder)), namespace: OPS_NAMESPACE },
        rbac: 'None',
        resources: [{ apiGroups: [''], kinds: ['ConfigMap'], namespaces: ['leased'], names }],
      },
    }));
  leases.push({
    apiVersion: 'suture.dev/v1alpha1',
    kind: 'SutureLease',
    metadata: { name: `${operatorName(FIELD_LEASE.holder)}-web-replicas`, namespace: OPS_NAMESPACE },
    spec: {
      holder: { kind: 'ServiceAccount', name: operatorName(FIELD_LEASE.holder), namespace: OPS_NAMESPACE },
      rbac: 'None',
      resources: [{ apiGroups: ['apps'], kinds: ['Deployment'], namespaces: [FIELD_LEASE.namespace], names: [FIELD_LEASE.name], fields: ['/spec/replicas'] }],
    },
  });
  return [...policies, ...leases];
}
