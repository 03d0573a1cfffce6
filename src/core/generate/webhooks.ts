// Suture's own ValidatingWebhookConfiguration and MutatingWebhookConfiguration, built from the compiled policies and
// the leases. Pure. The rules ask the API server only for what Suture judges:
//  - the kinds a policy matches, with its operations (no kinds: every resource of its groups); UPDATE adds the
//    scale and status subresources, which count as writes to their object;
//  - CREATE, UPDATE and DELETE of every kind a lease covers, with scale and status;
//  - DELETE of everything (`*/*`) as soon as any policy judges DELETE or any lease exists: removal by cascade counts
//    (a namespace, an owner, a CRD), and what a cascade reaches is only known from the request's impact.
// Kinds the catalog does not know (a CRD not installed yet) fall back to every resource of their group: intercepting
// too much is safe, too little is not.
// `matchConditions` (CEL on request.userInfo) keep ungoverned identities from ever reaching the governed webhooks.
// Exemptions are by requester, never by the object's namespace: no namespaceSelector, so a governed identity writing
// into kube-system is judged (docs/concepts.md, Identities). Wherever pods are judged, `pods/eviction` CREATE is too (an
// eviction removes its pod). Two more webhooks, each with tight rules and matchConditions:
//  - `identities.suture.dev`: governed identities creating or empowering an ungoverned one (anything that runs or
//    authenticates as a service account of an exempt namespace, bindings to exempt subjects); only requests into
//    exempt namespaces and RBAC bindings reach it. It asks the same /validate, which takes the whole decision, so
//    `validate.suture.dev` leaves these requests to it (matchCondition `not-for-identities`): each request reaches
//    at most one governed validating webhook, and is decided, counted and budgeted once;
//  - `effects.suture.dev`: the effect is guarded whoever performs it. DELETE (and evictions, and replica reductions
//    for floors) of the objects a `protect` or `minAvailable` policy matches, from every requester that is not governed
//    (the garbage collector, the namespace controller, workload controllers, admins, impersonated identities, and the
//    configured exempt users and groups); the matchConditions carry the policies' namespaces, names and labels, so
//    nothing else is ever sent. Where a target may be a custom resource, the DELETE of the CRD serving it too (the API
//    server removes a CRD's instances without admitting each).
// The mutating configuration holds `mutate.suture.dev` (lease stamps, averts; governed identities) and, wherever an
// eviction is judged by either validating webhook, `evictions.suture.dev`: every eviction, from anyone, gets the
// resourceVersion of its pod as delete precondition (core/evictions.ts), so the pod removed is the pod judged.
// With no policies and no leases the governed webhooks keep no rules; the objects webhook (Suture's own kinds, from
// everyone) is always there.
import { GROUP, KINDS } from '../../api/schema.js';
import type { FailurePolicy, KubeObject, ObjectSelector, Subject, SutureLease } from '../../api/types.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../api/constants.js';
import type { CompiledPolicy } from '../policy.js';
import { type KindCatalog, resolveResources } from './kinds.js';

export const VALIDATE_WEBHOOK = 'validate.suture.dev';
export const MUTATE_WEBHOOK = 'mutate.suture.dev';
export const OBJECTS_WEBHOOK = 'objects.suture.dev';
export const IDENTITIES_WEBHOOK = 'identities.suture.dev';
export const EFFECTS_WEBHOOK = 'effects.suture.dev';
export const EVICTIONS_WEBHOOK = 'evictions.suture.dev';
export const WebhookPaths = { validate: '/validate', mutate: '/mutate', objects: '/validate-objects' } as const;
export const DEFAULT_CONFIGURATION_NAME = 'suture';
export const DEFAULT_TIMEOUT_SECONDS = 10;
const ADMISSION_API_VERSION = 'admissionregistration.k8s.io/v1';

/** Where the API server reaches Suture: its Service in the cluster, or a URL (local runs: https://127.0.0.1:<port>). */
export type WebhookClient = { service: { name: string; namespace: string; port: number } } | { url: string };

export interface WebhookConfig {
  /** metadata.name of both configurations. Default "suture". */
  name?: string;
  client: WebhookClient;
  /** PEM of the CA that signed the serving certificate. */
  caBundle: string;
  /** Default Fail. */
  failurePolicy?: FailurePolicy;
  /** Default 10 (the API server allows 1-30). */
  timeoutSeconds?: number;
  /** Service accounts here are not governed (kube-system, Suture's own); their effects on protected objects still are. */
  exemptNamespaces: readonly string[];
  /** Users and groups never sent to the governed webhooks (break-glass admins); the effects webhook still judges their removals. */
  exemptUsers?: readonly string[];
  exemptGroups?: readonly string[];
}

export interface WebhookInputs {
  policies: readonly CompiledPolicy[];
  /** Leases that are or may become Granted (Pending, Granted, Conflicted); Invalid ones may be left out. */
  leases: readonly SutureLease[];
  catalog: KindCatalog;
}

export interface WebhookRule {
  apiGroups: string[];
  apiVersions: string[];
  operations: string[];
  resources: string[];
  scope: '*';
}

type Operation = 'CREATE' | 'UPDATE' | 'DELETE';
const ALL_OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE'];
const SUBRESOURCES = ['scale', 'status'];

// ------------------------------------------------------------------------------------------------ rules

/** group → resource → operations; resource "*" stands for every resource and subresource of the group. */
type RuleTable = Map<string, Map<string, Set<Operation>>>;

function add(table: RuleTable, group: string, resource: string, ops: Iterable<Operation>): void {
  const resources = table.get(group) ?? new Map<string, Set<Operation>>();
  const set = resources.get(resource) ?? new Set<Operation>();
  for (const op of ops) set.add(op);
  resources.set(resource, set);
  table.set(group, resources);
}

function groupsOf(sel: ObjectSelector): string[] {
  const groups = sel.apiGroups ?? [];
  return groups.length === 0 || groups.includes('*') ? ['*'] : [...new Set(groups)];
}

/** The subresources whose updates count as writes to an object: scale, status, and a pod's ephemeral containers. */
function subresourcesOf(r: { group: string; resource: string }): readonly string[] {
  // Ephemeral containers are added to a running pod through their own subresource (issue 9, item 9).
  return r.group === '' && r.resource === 'pods' ? [...SUBRESOURCES, 'ephemeralcontainers'] : SUBRESOURCES;
}

/** Adds what a selector reaches with `ops`; UPDATE also on scale and status. */
function addSelector(table: RuleTable, sel: ObjectSelector, ops: readonly Operation[], catalog: KindCatalog): void {
  const kinds = sel.kinds ?? [];
  const perKind = kinds.length === 0 || kinds.includes('*') ? [undefined] : [...new Set(kinds)];
  for (const kind of perKind) {
    const { resources } = resolveResources({ apiGroups: sel.apiGroups, kinds: kind === undefined ? [] : [kind] }, catalog);
    const reached = resources.length > 0 ? resources : groupsOf(sel).map((group) => ({ group, resource: '*' }));
    for (const r of reached) {
      add(table, r.group, r.resource, ops);
      if (r.resource !== '*' && ops.includes('UPDATE')) for (const s of subresourcesOf(r)) add(table, r.group, `${r.resource}/${s}`, ['UPDATE']);
    }
  }
}

function policyOperations(p: CompiledPolicy): Operation[] {
  return p.operations.length === 0 ? [...ALL_OPERATIONS] : [...p.operations];
}

/** Removes from every entry the operations a wildcard `*` of its group (or of every group) already intercepts. */
function dropCovered(table: RuleTable): void {
  const everywhere = table.get('*')?.get('*') ?? new Set<Operation>();
  for (const [group, resources] of table) {
    const inGroup = resources.get('*') ?? new Set<Operation>();
    for (const [resource, ops] of resources) {
      const covering = group === '*' && resource === '*' ? new Set<Operation>() : new Set([...everywhere, ...(resource === '*' ? [] : inGroup)]);
      for (const op of covering) ops.delete(op);
      if (ops.size === 0) resources.delete(resource);
    }
    if (resources.size === 0) table.delete(group);
  }
}

function rule(group: string, resources: string[], ops: Iterable<Operation>): WebhookRule {
  const operations = ALL_OPERATIONS.filter((op) => [...ops].includes(op));
  return { apiGroups: [group], apiVersions: ['*'], operations, resources, scope: '*' };
}

// The table as rules: `*` alone as `*/*` (every resource and subresource), the rest grouped by operations.
function renderRules(table: RuleTable): WebhookRule[] {
  const rules: WebhookRule[] = [];
  const groups = [...table.keys()].sort((a, b) => (a === '*' ? -1 : b === '*' ? 1 : a.localeCompare(b)));
  for (const group of groups) {
    const resources = table.get(group) ?? new Map<string, Set<Operation>>();
    const wildcard = resources.get('*');
    if (wildcard !== undefined) rules.push(rule(group, ['*/*'], wildcard));
    const bySignature = new Map<string, string[]>();
    for (const [resource, ops] of resources) {
      if (resource === '*') continue;
      const signature = ALL_OPERATIONS.filter((op) => ops.has(op)).join(',');
      bySignature.set(signature, [...(bySignature.get(signature) ?? []), resource]);
    }
    for (const signature of [...bySignature.keys()].sort()) rules.push(rule(group, (bySignature.get(signature) ?? []).sort(), signature.split(',') as Operation[]));
  }
  return rules;
}

/** Whether the table reaches pods (by name, or through a wildcard of the core group or of every group). */
function reachesPods(table: RuleTable): boolean {
  const core = table.get('');
  return core?.has('pods') === true || core?.has('*') === true || table.get('*')?.has('*') === true;
}

/** An eviction is a CREATE of pods/eviction that removes the pod: judged wherever pods are. */
function addEviction(table: RuleTable): void {
  if (reachesPods(table)) add(table, '', 'pods/eviction', ['CREATE']);
}

/**
 * Controllers act on what a request configures (core/impact.ts): an HPA sets its target's replicas, and a removed pod
 * lowers its workload's ready count. So wherever removals or floors are judged, HPAs reach Suture, and pod deletes
 * wherever a floor is. A pod's status write can make it unready (judged like its removal) or ready (refused where a
 * floor counts it): pods/status wherever a floor is (impact.ts availabilityChange).
 */
function addControllerEffects(table: RuleTable, inputs: WebhookInputs, deletes: boolean): void {
  const floors = inputs.policies.filter((p) => guardsEffects(p).floor);
  if (deletes || floors.length > 0) add(table, 'autoscaling', 'horizontalpodautoscalers', ['CREATE', 'UPDATE']);
  if (floors.length > 0) add(table, '', 'pods', ['DELETE']);
  if (floors.some((p) => policyOperations(p).some((op) => op === 'UPDATE' || op === 'DELETE'))) add(table, '', 'pods/status', ['UPDATE']);
}

/** The rules of the governed validating webhook. */
export function validatingRules(inputs: WebhookInputs): WebhookRule[] {
  const table: RuleTable = new Map();
  for (const p of inputs.policies) for (const sel of p.match) addSelector(table, sel, policyOperations(p), inputs.catalog);
  for (const lease of inputs.leases) for (const res of lease.spec.resources) addSelector(table, res, ALL_OPERATIONS, inputs.catalog);
  const deletes = inputs.leases.length > 0 || inputs.policies.some((p) => policyOperations(p).includes('DELETE'));
  // Before the DELETE wildcard (which is about cascades): pods judged by name, or through a floor on their owners.
  const floorsOnWorkloads = inputs.policies.some((p) => guardsEffects(p).floor && policyOperations(p).includes('DELETE') && p.match.some((sel) => targetsOf(sel, inputs.catalog).some(isWorkload)));
  if (floorsOnWorkloads) add(table, '', 'pods', ['DELETE']);
  addControllerEffects(table, inputs, deletes);
  addEviction(table); // after every way pods are reached (a floor's pod deletes included), before the cascade wildcard
  if (deletes) add(table, '*', '*', ['DELETE']);
  dropCovered(table);
  const rules = renderRules(table);
  // An UPDATE can remove objects too: a scale-down (pods, and PVCs under whenScaled: Delete), an ownerReference
  // change that hands an object to the garbage collector, the removal of a deleting object's last finalizer. So
  // wherever deletes matter, every update of a main resource and of a scale subresource reaches Suture (status
  // subresources cannot do any of that and stay out; a pod's, which can lower a floor, is added above).
  if (deletes) rules.push({ apiGroups: ['*'], apiVersions: ['*'], operations: ['UPDATE'], resources: ['*', '*/scale'], scope: '*' });
  return rules;
}

/** The rules of the mutating webhook: CREATE and UPDATE of leased kinds (stamps) and of kinds a policy averts. */
export function mutatingRules(inputs: WebhookInputs): WebhookRule[] {
  const table: RuleTable = new Map();
  const writes: Operation[] = ['CREATE', 'UPDATE'];
  for (const lease of inputs.leases) for (const res of lease.spec.resources) addSelector(table, res, writes, inputs.catalog);
  for (const p of inputs.policies) {
    if (!p.invariants.some((i) => i.avert !== undefined && i.avert.length > 0)) continue;
    const ops = policyOperations(p).filter((op) => op !== 'DELETE');
    for (const sel of p.match) addSelector(table, sel, ops, inputs.catalog);
  }
  dropCovered(table);
  return renderRules(table);
}

/** What a governed identity may not write into an exempt namespace: whatever runs or authenticates as its accounts. */
const RUNS_AS: readonly { group: string; resources: string[]; ops: Operation[] }[] = [
  { group: '', resources: ['serviceaccounts', 'serviceaccounts/token', 'secrets'], ops: ['CREATE'] },
  { group: '', resources: ['pods', 'pods/ephemeralcontainers', 'podtemplates', 'replicationcontrollers'], ops: ['CREATE', 'UPDATE'] },
  { group: 'apps', resources: ['daemonsets', 'deployments', 'replicasets', 'statefulsets'], ops: ['CREATE', 'UPDATE'] },
  { group: 'batch', resources: ['cronjobs', 'jobs'], ops: ['CREATE', 'UPDATE'] },
  { group: 'rbac.authorization.k8s.io', resources: ['clusterrolebindings', 'rolebindings', 'roles'], ops: ['CREATE', 'UPDATE'] },
];

/** The rules of the identities webhook: the same whatever the policies say (it is built in, not a guardrail). */
export function identityRules(): WebhookRule[] {
  const table: RuleTable = new Map();
  for (const r of RUNS_AS) for (const resource of r.resources) add(table, r.group, resource, r.ops);
  return renderRules(table);
}

// ------------------------------------------------------------------------------------------------ effects

/** Workload kinds whose pods count toward a floor on them. */
const WORKLOAD_RESOURCES: Readonly<Record<string, readonly string[]>> = { apps: ['daemonsets', 'deployments', 'replicasets', 'statefulsets'], '': ['replicationcontrollers'] };
/** Kinds with a spec.replicas a floor can see reduced (main resource and scale subresource). */
const SCALABLE = new Set(['apps/deployments', 'apps/replicasets', 'apps/statefulsets', '/replicationcontrollers']);

/** One selector of a `protect` or floor policy and the resources it reaches: what the effects webhook must see. */
export interface EffectTarget {
  group: string;
  /** A resource, or "*" for every resource of the group (group "*": every group). */
  resource: string;
  selector: ObjectSelector;
  /** Only namespaces can be told (pods of a floored workload: their labels are the template's, not the selector's). */
  namespaceOnly?: boolean;
  /** The DELETE of the CustomResourceDefinition that serves this target's group and resource (removes every instance). */
  crdOf?: boolean;
}

function guardsEffects(p: CompiledPolicy): { protect: boolean; floor: boolean } {
  return { protect: p.invariants.some((i) => i.kind === 'protect'), floor: p.invariants.some((i) => i.kind === 'minAvailable') };
}

function targetsOf(sel: ObjectSelector, catalog: KindCatalog): EffectTarget[] {
  const kinds = sel.kinds ?? [];
  const { resources } = resolveResources({ apiGroups: sel.apiGroups, kinds: kinds.includes('*') ? [] : kinds }, catalog);
  const reached = resources.length > 0 ? resources : groupsOf(sel).map((group) => ({ group, resource: '*' }));
  return reached.map((r) => ({ group: r.group, resource: r.resource, selector: sel }));
}

function isWorkload(t: EffectTarget): boolean {
  return t.resource === '*' ? t.group === '*' || t.group === 'apps' : (WORKLOAD_RESOURCES[t.group] ?? []).includes(t.resource);
}

interface EffectsOut {
  table: RuleTable;
  targets: EffectTarget[];
}

/** Groups of Kubernetes' own APIs: no CustomResourceDefinition serves them (`*.k8s.io` is reserved to Kubernetes). */
const BUILT_IN_GROUPS = new Set(['', 'apps', 'batch', 'autoscaling', 'policy', 'extensions']);

/** Whether a target may be a custom resource, which a CRD delete removes without any admission of its own. */
export function mayBeCustomResource(t: Pick<EffectTarget, 'group'>): boolean {
  return t.group === '*' || (!BUILT_IN_GROUPS.has(t.group) && !t.group.endsWith('.k8s.io') && !t.group.endsWith('.kubernetes.io'));
}

const CRDS = { group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' } as const;

/**
 * One target of a policy: its removals, its replica reductions (floors), and its pods' removals (floors on owners).
 * A custom resource is also removed by its CRD's delete: the API server then deletes every instance itself, with no
 * admission call per instance, so the CRD's DELETE is where the effect can be judged.
 */
function addTargetEffects(t: EffectTarget, how: { deletes: boolean; reductions: boolean; floor: boolean }, out: EffectsOut): void {
  out.targets.push(t);
  if (how.deletes) add(out.table, t.group, t.resource, ['DELETE']);
  if (how.deletes && mayBeCustomResource(t)) {
    add(out.table, CRDS.group, CRDS.resource, ['DELETE']);
    out.targets.push({ ...t, crdOf: true });
  }
  if (how.reductions && SCALABLE.has(`${t.group}/${t.resource}`)) {
    add(out.table, t.group, t.resource, ['UPDATE']);
    add(out.table, t.group, `${t.resource}/scale`, ['UPDATE']);
  }
  if (how.floor && how.deletes && isWorkload(t)) {
    // Removing or evicting a pod lowers its owner's ready count.
    out.targets.push({ group: '', resource: 'pods', selector: { namespaces: t.selector.namespaces }, namespaceOnly: true });
    add(out.table, '', 'pods', ['DELETE']);
  }
}

/** Adds what one protect or floor policy needs the effects webhook to see. */
function addPolicyEffects(p: CompiledPolicy, catalog: KindCatalog, out: EffectsOut): void {
  const g = guardsEffects(p);
  const ops = policyOperations(p);
  const how = { deletes: ops.includes('DELETE'), reductions: g.floor && ops.includes('UPDATE'), floor: g.floor };
  if (!(g.protect || g.floor) || !(how.deletes || how.reductions)) return;
  for (const sel of p.match) for (const t of targetsOf(sel, catalog)) addTargetEffects(t, how, out);
}

/** What the effects webhook intercepts: the targets (for its matchConditions) and the rules. */
export function effectTargets(inputs: WebhookInputs): { targets: EffectTarget[]; rules: WebhookRule[] } {
  const out: EffectsOut = { table: new Map(), targets: [] };
  for (const p of inputs.policies) addPolicyEffects(p, inputs.catalog, out);
  addEviction(out.table);
  dropCovered(out.table);
  return { targets: out.targets, rules: renderRules(out.table) };
}

// ------------------------------------------------------------------------------------------------ identities

function celString(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

function celList(values: Iterable<string>): string {
  return `[${[...new Set(values)].sort().map(celString).join(', ')}]`;
}

const USERNAME = 'request.userInfo.username';
const GROUPS = 'request.userInfo.groups';

/** Humans a policy or lease names: users, groups, or every human (a "*" subject or a lease with enforce: Everyone). */
interface Humans {
  users: Set<string>;
  groups: Set<string>;
  everyone: boolean;
}

function addHuman(humans: Humans, subject: Subject): void {
  if (subject.kind === 'ServiceAccount') return;
  if (subject.name === '*') humans.everyone = true;
  else if (subject.kind === 'User') humans.users.add(subject.name);
  else humans.groups.add(subject.name);
}

function governedHumans(inputs: WebhookInputs): Humans {
  const humans: Humans = { users: new Set(), groups: new Set(), everyone: false };
  for (const p of inputs.policies) for (const s of p.subjects) addHuman(humans, s);
  for (const lease of inputs.leases) if (lease.spec.enforce === 'Everyone') humans.everyone = true;
  return humans;
}

/**
 * The CEL of "this identity is governed": a service account outside the exempt namespaces, a user or group a policy
 * names, or (with a "*" subject or a lease with enforce: Everyone) any user but the control plane's own `system:`
 * identities.
 */
export function governedExpression(inputs: WebhookInputs, exemptNamespaces: readonly string[]): string {
  const exempt = [...new Set(exemptNamespaces)].sort().map((ns) => ` && !${USERNAME}.startsWith(${celString(`system:serviceaccount:${ns}:`)})`);
  const clauses = [`(${USERNAME}.startsWith('system:serviceaccount:')${exempt.join('')})`];
  const humans = governedHumans(inputs);
  if (humans.everyone) clauses.push(`!${USERNAME}.startsWith('system:')`);
  if (!humans.everyone && humans.users.size > 0) clauses.push(`${USERNAME} in ${celList(humans.users)}`);
  if (!humans.everyone && humans.groups.size > 0) clauses.push(`(has(${GROUPS}) && ${GROUPS}.exists(g, g in ${celList(humans.groups)}))`);
  return clauses.join(' || ');
}

interface MatchCondition {
  name: string;
  expression: string;
}

function exemptConditions(config: WebhookConfig): MatchCondition[] {
  const conditions: MatchCondition[] = [];
  const users = config.exemptUsers ?? [];
  const groups = config.exemptGroups ?? [];
  if (users.length > 0) conditions.push({ name: 'not-exempt-user', expression: `!(${USERNAME} in ${celList(users)})` });
  if (groups.length > 0) conditions.push({ name: 'not-exempt-group', expression: `!(has(${GROUPS}) && ${GROUPS}.exists(g, g in ${celList(groups)}))` });
  return conditions;
}

function matchConditions(inputs: WebhookInputs, config: WebhookConfig): MatchCondition[] {
  return [{ name: 'governed-identity', expression: governedExpression(inputs, config.exemptNamespaces) }, ...exemptConditions(config)];
}

/** What the identities webhook sees besides its rules: writes into an exempt namespace, and RBAC bindings anywhere. */
function identityScope(config: WebhookConfig): string {
  return `request.namespace in ${celList(config.exemptNamespaces)} || request.resource.resource in ['clusterrolebindings', 'rolebindings']`;
}

/** Identities: only writes into an exempt namespace, and RBAC bindings anywhere (their subjects may be exempt). */
function identityConditions(inputs: WebhookInputs, config: WebhookConfig): MatchCondition[] {
  return [...matchConditions(inputs, config), { name: 'into-exempt-namespace-or-binding', expression: identityScope(config) }];
}

/** The identities webhook's rules (RUNS_AS) as CEL on the request: group, resource, subresource and operation. */
function identityRulesCel(): string {
  const clauses = RUNS_AS.flatMap((r) => {
    const bySubresource = new Map<string, string[]>();
    for (const resource of r.resources) {
      const [main = resource, sub = ''] = resource.split('/');
      bySubresource.set(sub, [...(bySubresource.get(sub) ?? []), main]);
    }
    return [...bySubresource].map(([sub, mains]) => {
      const subresource = sub === '' ? `!${SUBRESOURCE}` : `(has(request.subResource) && request.subResource == ${celString(sub)})`;
      return `(request.resource.group == ${celString(r.group)} && request.resource.resource in ${celList(mains)} && ${subresource} && request.operation in ${celList(r.ops)})`;
    });
  });
  return `(${clauses.join(' || ')})`;
}

/**
 * validate.suture.dev: governed identities, but not what identities.suture.dev receives (its rules and its scope):
 * that webhook takes the same whole decision, and one request must be decided once (not twice in parallel, each
 * recording, counting and spending budgets). The scope is tested after the rules, whose fields every request has
 * (`request.namespace` is absent on cluster-scoped requests: `false && error` is false in CEL).
 */
function validateConditions(inputs: WebhookInputs, config: WebhookConfig): MatchCondition[] {
  return [...matchConditions(inputs, config), { name: 'not-for-identities', expression: `!(${identityRulesCel()} && (${identityScope(config)}))` }];
}

const SUBRESOURCE = "(has(request.subResource) && request.subResource != '')";
const TARGET = '(oldObject != null ? oldObject : object)';
const LABELS = `(has(${TARGET}.metadata.labels) ? ${TARGET}.metadata.labels : {})`;

function requirementCel(r: { key: string; operator: string; values?: string[] | undefined }): string {
  const key = celString(r.key);
  const values = celList(r.values ?? []);
  switch (r.operator) {
    case 'In':
      return `(${key} in ${LABELS} && ${LABELS}[${key}] in ${values})`;
    case 'NotIn':
      return `(!(${key} in ${LABELS}) || !(${LABELS}[${key}] in ${values}))`;
    case 'Exists':
      return `${key} in ${LABELS}`;
    case 'DoesNotExist':
      return `!(${key} in ${LABELS})`;
    default:
      return 'true';
  }
}

function nameCel(sel: ObjectSelector): string[] {
  const names = [...(sel.names ?? []).map((n) => `request.name == ${celString(n)}`), ...(sel.namePrefixes ?? []).map((n) => `request.name.startsWith(${celString(n)})`)];
  return names.length > 0 ? [`(${names.join(' || ')})`] : [];
}

function labelCel(sel: ObjectSelector): string[] {
  const labels = [
    ...Object.entries(sel.selector?.matchLabels ?? {}).map(([k, v]) => requirementCel({ key: k, operator: 'In', values: [v] })),
    ...(sel.selector?.matchExpressions ?? []).map(requirementCel),
  ];
  // A subresource (eviction, scale) carries no labels of its object: only its name and namespace can be told.
  return labels.length > 0 ? [`(${SUBRESOURCE} || (${labels.join(' && ')}))`] : [];
}

/** The CEL of "this is the DELETE of a CRD serving the target's group (and resource)": the old object's spec names them. */
function crdTargetCel(t: EffectTarget): string {
  const parts = [`request.resource.group == ${celString(CRDS.group)}`, `request.resource.resource == ${celString(CRDS.resource)}`];
  if (t.group !== '*') parts.push(`oldObject.spec.group == ${celString(t.group)}`);
  if (t.resource !== '*') parts.push(`oldObject.spec.names.plural == ${celString(t.resource)}`);
  return `(${parts.join(' && ')})`;
}

/** The CEL of "the request's object may match this target": group/resource, namespace, name and labels. */
function targetCel(t: EffectTarget): string {
  if (t.crdOf === true) return crdTargetCel(t);
  const parts: string[] = [];
  if (t.group !== '*') parts.push(`request.resource.group == ${celString(t.group)}`);
  if (t.resource !== '*') parts.push(`request.resource.resource == ${celString(t.resource)}`);
  const namespaces = t.selector.namespaces ?? [];
  if (namespaces.length > 0) parts.push(`request.namespace in ${celList(namespaces)}`);
  if (t.namespaceOnly !== true) parts.push(...nameCel(t.selector), ...labelCel(t.selector));
  return parts.length === 0 ? 'true' : `(${parts.join(' && ')})`;
}

/** Effects: everyone the governed webhook does not see, on objects a protect or floor policy may match. */
function effectConditions(inputs: WebhookInputs, config: WebhookConfig, targets: readonly EffectTarget[]): MatchCondition[] {
  const unique = [...new Set(targets.map(targetCel))];
  const reduces =
    "request.operation != 'UPDATE' || (has(object.spec) && has(oldObject.spec) && has(oldObject.spec.replicas) && " +
    '(!has(object.spec.replicas) || int(object.spec.replicas) < int(oldObject.spec.replicas)))';
  // Configured exempt users and groups are not left out: the governed webhooks never see them, this one does.
  return [
    { name: 'not-governed', expression: `!(${governedExpression(inputs, config.exemptNamespaces)})` },
    { name: 'protected-target', expression: unique.length === 0 ? 'false' : unique.includes('true') ? 'true' : unique.join(' || ') },
    { name: 'removes-or-reduces', expression: reduces },
  ];
}

// ------------------------------------------------------------------------------------------------ configurations

function clientConfig(config: WebhookConfig, path: string): Record<string, unknown> {
  const caBundle = Buffer.from(config.caBundle, 'utf8').toString('base64');
  if ('url' in config.client) return { url: `${config.client.url.replace(/\/+$/, '')}${path}`, caBundle };
  return { service: { ...config.client.service, path }, caBundle };
}

/** The fields the API server would default, set explicitly so that what Suture writes is what it reads back. */
function common(config: WebhookConfig, path: string): Record<string, unknown> {
  return {
    clientConfig: clientConfig(config, path),
    failurePolicy: config.failurePolicy ?? 'Fail',
    matchPolicy: 'Equivalent',
    objectSelector: {},
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    timeoutSeconds: config.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
  };
}

/** Every namespace: exemptions are by requester (matchConditions), never by the namespace of the object written. */
function governedWebhook(name: string, rules: WebhookRule[], conditions: MatchCondition[], config: WebhookConfig): Record<string, unknown> {
  return {
    name,
    ...common(config, name === MUTATE_WEBHOOK ? WebhookPaths.mutate : WebhookPaths.validate),
    ...(rules.length === 0 ? {} : { rules }),
    namespaceSelector: {},
    matchConditions: conditions,
  };
}

/** Whether rules send evictions (a CREATE of pods/eviction) to a webhook. */
function sendsEvictions(rules: readonly WebhookRule[]): boolean {
  return rules.some(
    (r) =>
      r.apiGroups.some((g) => g === '' || g === '*') &&
      r.operations.some((op) => op === 'CREATE' || op === '*') &&
      r.resources.some((res) => res === 'pods/eviction' || res === 'pods/*' || res === '*/*'),
  );
}

/**
 * evictions.suture.dev: every eviction, from anyone, wherever a validating webhook judges evictions; it only adds the
 * pod's resourceVersion as delete precondition (core/evictions.ts). No rules (it is never called) otherwise.
 */
function evictionsWebhook(judged: boolean, config: WebhookConfig): Record<string, unknown> {
  const rules: WebhookRule[] = judged ? [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods/eviction'], scope: '*' }] : [];
  return { name: EVICTIONS_WEBHOOK, ...common(config, WebhookPaths.mutate), ...(rules.length === 0 ? {} : { rules }), namespaceSelector: {}, reinvocationPolicy: 'Never' };
}

/** Suture's own kinds, from everyone: `kubectl apply --dry-run=server` of a bad policy fails with its errors. */
function objectsWebhook(config: WebhookConfig): Record<string, unknown> {
  const resources = KINDS.map((k) => k.plural).sort();
  return {
    name: OBJECTS_WEBHOOK,
    ...common(config, WebhookPaths.objects),
    rules: [{ apiGroups: [GROUP], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources, scope: '*' }],
    namespaceSelector: {},
  };
}

function metadata(config: WebhookConfig): KubeObject['metadata'] {
  return { name: config.name ?? DEFAULT_CONFIGURATION_NAME, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } };
}

export interface WebhookConfigurations {
  validating: KubeObject;
  mutating: KubeObject;
}

/**
 * Both configurations: validating (`validate.suture.dev`, `identities.suture.dev`, `effects.suture.dev`,
 * `objects.suture.dev`) and mutating (`mutate.suture.dev`).
 */
export function buildWebhookConfigurations(inputs: WebhookInputs, config: WebhookConfig): WebhookConfigurations {
  const effects = effectTargets(inputs);
  const governed = matchConditions(inputs, config);
  const validating = validatingRules(inputs);
  return {
    validating: {
      apiVersion: ADMISSION_API_VERSION,
      kind: 'ValidatingWebhookConfiguration',
      metadata: metadata(config),
      webhooks: [
        governedWebhook(VALIDATE_WEBHOOK, validating, validateConditions(inputs, config), config),
        governedWebhook(IDENTITIES_WEBHOOK, identityRules(), identityConditions(inputs, config), config),
        governedWebhook(EFFECTS_WEBHOOK, effects.rules, effectConditions(inputs, config, effects.targets), config),
        objectsWebhook(config),
      ],
    },
    mutating: {
      apiVersion: ADMISSION_API_VERSION,
      kind: 'MutatingWebhookConfiguration',
      metadata: metadata(config),
      webhooks: [{ ...governedWebhook(MUTATE_WEBHOOK, mutatingRules(inputs), governed, config), reinvocationPolicy: 'IfNeeded' }, evictionsWebhook(sendsEvictions(validating) || sendsEvictions(effects.rules), config)],
    },
  };
}
