// Suture protects itself in-tree: a ValidatingAdmissionPolicy and its binding that let only Suture's own identity
// and cluster admins create, change or delete the objects Suture runs on. Pure.
//
// Why a policy and not the webhook: the API server never sends webhook configurations (or admission policies) to
// webhooks, so Suture's webhook cannot refuse their deletion, and while Suture is down nothing it serves answers at
// all. A ValidatingAdmissionPolicy is evaluated by the API server itself, in-process, and API-based policies *are*
// applied to webhook configurations (only policies and policy bindings are exempt from them). Static policies
// (`*.static.k8s.io`, loaded from the AdmissionConfiguration's `staticManifestsDir`, KEP-5793, beta in Kubernetes
// 1.37) are applied to policies and bindings too: the static variant also protects the API-based policy.
//
// What: the objects Suture runs on, by exact name (`protectedResources`), and Suture's state in its namespace, by name
// prefix or label (`protectedState`): the ConfigMaps of floor reservations and budget ledgers. Deleting or editing
// one would erase pending removals (a drain then crosses a floor) or reset a budget; creating a lookalike would forge
// them. A ConfigMap there counts as state when its name has a state prefix or it carries a state label, in the new
// object or in the old one: a lookalike created without the label, or an update that strips it, is covered too.
//
// Who may: Suture's service account (and the identity Suture runs as), the `system:masters` group (the API server's
// own loopback identity is in it), and the admin users and groups configured. Nothing else: being bound to the
// `cluster-admin` ClusterRole is not being an admin here, because governed operators often are. One exception keeps
// an admin's uninstall working: once an admin deleted Suture's namespace, the namespace controller may delete what is
// in it.
import { GROUP, KINDS } from '../../api/schema.js';
import type { KubeObject } from '../../api/types.js';
import { BUDGET_CONFIGMAP_PREFIX, BUDGET_LABEL, FLOOR_CONFIGMAP_PREFIX, FLOOR_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../api/constants.js';

/** The suffix the API server reserves for static (manifest-based) admission objects. */
export const STATIC_SUFFIX = '.static.k8s.io';
export const SELF_PROTECTION_NAME = 'suture-self-protection';
/** The group every client certificate of a cluster's break-glass admins carries; the API server's loopback client too. */
export const MASTERS_GROUP = 'system:masters';
const NAMESPACE_CONTROLLER = 'system:serviceaccount:kube-system:namespace-controller';
const ADMISSION_API_VERSION = 'admissionregistration.k8s.io/v1';

/** The names of what Suture runs on (config/: rbac, manager; the CRDs; what Suture writes itself). */
export interface SelfObjects {
  /** The ValidatingWebhookConfiguration and MutatingWebhookConfiguration. */
  webhookConfiguration: string;
  /** ServiceAccount, ClusterRole, ClusterRoleBinding, Role, RoleBinding, Deployment and PodDisruptionBudget. */
  workload: string;
  service: string;
  certSecret: string;
  leaderLease: string;
}

export const DEFAULT_SELF_OBJECTS: SelfObjects = {
  webhookConfiguration: 'suture',
  workload: 'suture',
  service: 'suture-webhook',
  certSecret: 'suture-webhook-cert',
  leaderLease: 'suture-leader',
};

export interface SelfProtectionConfig {
  /** Suture's namespace. */
  namespace: string;
  /** Suture's service account in `namespace`. */
  serviceAccount: string;
  /** Further users allowed to change Suture's objects (Suture's own identity when it is not the service account). */
  adminUsers: readonly string[];
  /** Further groups allowed besides system:masters. */
  adminGroups: readonly string[];
  objects?: SelfObjects;
  /** Static manifests: names end in `.static.k8s.io`, and the API-based policy and binding are protected too. */
  static?: boolean;
}

export interface ProtectedResource {
  group: string;
  resource: string;
  names: string[];
  /** False for cluster-scoped resources. */
  namespaced: boolean;
}

/** Every object the policy protects, by group, resource and name. */
export function protectedResources(config: SelfProtectionConfig): ProtectedResource[] {
  const o = config.objects ?? DEFAULT_SELF_OBJECTS;
  const rbac = 'rbac.authorization.k8s.io';
  const resources: ProtectedResource[] = [
    { group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations', names: [o.webhookConfiguration], namespaced: false },
    { group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', names: [o.webhookConfiguration], namespaced: false },
    { group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', names: KINDS.map((k) => `${k.plural}.${GROUP}`).sort(), namespaced: false },
    { group: rbac, resource: 'clusterroles', names: [o.workload], namespaced: false },
    { group: rbac, resource: 'clusterrolebindings', names: [o.workload], namespaced: false },
    { group: '', resource: 'namespaces', names: [config.namespace], namespaced: false },
    { group: rbac, resource: 'roles', names: [o.workload], namespaced: true },
    { group: rbac, resource: 'rolebindings', names: [o.workload], namespaced: true },
    { group: '', resource: 'serviceaccounts', names: [config.serviceAccount], namespaced: true },
    { group: 'apps', resource: 'deployments', names: [o.workload], namespaced: true },
    { group: 'policy', resource: 'poddisruptionbudgets', names: [o.workload], namespaced: true },
    { group: '', resource: 'services', names: [o.service], namespaced: true },
    { group: '', resource: 'secrets', names: [o.certSecret], namespaced: true },
    { group: 'coordination.k8s.io', resource: 'leases', names: [o.leaderLease], namespaced: true },
  ];
  if (config.static === true) {
    const apiNames = [SELF_PROTECTION_NAME];
    resources.push(
      { group: 'admissionregistration.k8s.io', resource: 'validatingadmissionpolicies', names: apiNames, namespaced: false },
      { group: 'admissionregistration.k8s.io', resource: 'validatingadmissionpolicybindings', names: apiNames, namespaced: false },
    );
  }
  return resources;
}

/** Objects of Suture's namespace that hold Suture's state: known by name prefix or label, not by a fixed name. */
export interface ProtectedState {
  group: string;
  resource: string;
  /** An object whose name starts with one of these is state. */
  namePrefixes: string[];
  /** An object carrying one of these label keys (any value) is state. */
  labels: string[];
}

/** Suture's state in its namespace: the ConfigMaps of floor reservations and budget ledgers. */
export function protectedState(): ProtectedState[] {
  return [{ group: '', resource: 'configmaps', namePrefixes: [FLOOR_CONFIGMAP_PREFIX, BUDGET_CONFIGMAP_PREFIX], labels: [BUDGET_LABEL, FLOOR_LABEL] }];
}

function celString(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

function celList(values: Iterable<string>): string {
  return `[${[...new Set(values)].sort().map(celString).join(', ')}]`;
}

/** The users allowed: Suture's service account and the admin users. */
export function allowedUsers(config: SelfProtectionConfig): string[] {
  return [...new Set([`system:serviceaccount:${config.namespace}:${config.serviceAccount}`, ...config.adminUsers])].sort();
}

/** The groups allowed: system:masters and the admin groups. */
export function allowedGroups(config: SelfProtectionConfig): string[] {
  return [...new Set([MASTERS_GROUP, ...config.adminGroups])].sort();
}

function name(config: SelfProtectionConfig): string {
  return config.static === true ? `${SELF_PROTECTION_NAME}${STATIC_SUFFIX}` : SELF_PROTECTION_NAME;
}

function metadata(config: SelfProtectionConfig): KubeObject['metadata'] {
  return { name: name(config), labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, 'app.kubernetes.io/name': 'suture' } };
}

function resourceRules(config: SelfProtectionConfig): Record<string, unknown>[] {
  const rule = (group: string, resource: string): Record<string, unknown> => ({ apiGroups: [group], apiVersions: ['*'], operations: ['CREATE', 'UPDATE', 'DELETE'], resources: [resource] });
  return [
    ...protectedResources(config).map((r) => ({ ...rule(r.group, r.resource), resourceNames: r.names, scope: r.namespaced ? 'Namespaced' : 'Cluster' })),
    // Every object of the resource in Suture's namespace (the namespaceSelector); the match condition keeps the state.
    ...protectedState().map((s) => ({ ...rule(s.group, s.resource), scope: 'Namespaced' })),
  ];
}

/** CEL: `o` (object or oldObject, null when absent) is state of `s`. */
function stateObject(s: ProtectedState, o: string): string {
  const byName = s.namePrefixes.map((p) => `${o}.metadata.name.startsWith(${celString(p)})`).join(' || ');
  return `(${o} != null && ((has(${o}.metadata.name) && (${byName})) || (has(${o}.metadata.labels) && ${celList(s.labels)}.exists(k, k in ${o}.metadata.labels))))`;
}

/**
 * The match condition: requests for a resource of `protectedState` are matched only when the new or the old object
 * is state; every other request the rules match (by exact name) is matched as it is.
 */
function stateCondition(): string {
  const states = protectedState();
  const of = (s: ProtectedState): string => `(request.resource.group == ${celString(s.group)} && request.resource.resource == ${celString(s.resource)})`;
  const none = `!(${states.map(of).join(' || ')})`;
  return [none, ...states.map((s) => `(${of(s)} && (${stateObject(s, 'object')} || ${stateObject(s, 'oldObject')}))`)].join(' || ');
}

/** The policy: who may write Suture's objects, and the message everyone else reads. */
export function buildSelfProtectionPolicy(config: SelfProtectionConfig): KubeObject {
  const users = allowedUsers(config);
  const groups = allowedGroups(config);
  const suture = `system:serviceaccount:${config.namespace}:${config.serviceAccount}`;
  const admins = [...groups.map((g) => `group ${g}`), ...users.filter((u) => u !== suture)];
  const who = `Suture (${suture}) and cluster admins (${admins.join(', ')})`;
  return {
    apiVersion: ADMISSION_API_VERSION,
    kind: 'ValidatingAdmissionPolicy',
    metadata: metadata(config),
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        matchPolicy: 'Equivalent',
        // Namespaced names count in Suture's namespace only; cluster-scoped objects (and the Namespace object itself,
        // matched by its own labels) are not filtered by this selector.
        namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [config.namespace] }] },
        objectSelector: {},
        resourceRules: resourceRules(config),
      },
      matchConditions: [{ name: 'suture-state', expression: stateCondition() }],
      variables: [
        { name: 'user', expression: 'request.userInfo.username' },
        { name: 'admin', expression: `variables.user in ${celList(users)} || (has(request.userInfo.groups) && request.userInfo.groups.exists(g, g in ${celList(groups)}))` },
        // An admin deleted Suture's namespace: the namespace controller empties it.
        { name: 'teardown', expression: `request.operation == 'DELETE' && variables.user == ${celString(NAMESPACE_CONTROLLER)} && namespaceObject != null && has(namespaceObject.metadata.deletionTimestamp)` },
      ],
      validations: [
        {
          expression: 'variables.admin || variables.teardown',
          reason: 'Forbidden',
          messageExpression: `'Suture protects its own objects: ' + variables.user + ' may not ' + request.operation + ' ' + request.resource.resource + ' ' + (has(request.name) ? request.name : '') + '; only ${who.replaceAll("'", "\\'")} may (ValidatingAdmissionPolicy ${name(config)}, docs/security.md)'`,
        },
      ],
    },
  };
}

/** The binding: every request the policy matches, denied when the validation fails. */
export function buildSelfProtectionBinding(config: SelfProtectionConfig): KubeObject {
  return {
    apiVersion: ADMISSION_API_VERSION,
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: metadata(config),
    spec: { policyName: name(config), validationActions: ['Deny'] },
  };
}

/** Policy and binding, in the order they must be created. */
export function buildSelfProtection(config: SelfProtectionConfig): KubeObject[] {
  return [buildSelfProtectionPolicy(config), buildSelfProtectionBinding(config)];
}
