// The contracts of the decision core: what decide() reads and what it returns. Pure data, no behaviour.
import type { KubeObject, Operation, SutureException, SutureLease, Subject } from '../api/types.js';
import type { CelBudget } from './cel-cost.js';
import type { CompiledException, CompiledPolicy } from './policy.js';

// ------------------------------------------------------------------------------------------------ the request

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface UserInfo {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export type AdmissionOperation = Operation | 'CONNECT';

/** DeleteOptions as they arrive in an AdmissionReview's `options` for DELETE. */
export interface DeleteOptions {
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  dryRun?: string[];
}

/**
 * The part of an AdmissionReview v1 request the core reads. For a subresource (`scale`, `status`), `kind` is the
 * kind of the object sent (autoscaling/v1 Scale for scale), `resource` is the parent resource, and `subResource`
 * names the subresource. A deletecollection reaches admission as one DELETE per item.
 */
export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource?: string;
  requestKind?: GroupVersionKind;
  requestResource?: GroupVersionResource;
  name?: string;
  namespace?: string;
  operation: AdmissionOperation;
  userInfo: UserInfo;
  object?: KubeObject | null;
  oldObject?: KubeObject | null;
  dryRun?: boolean;
  options?: DeleteOptions & Record<string, unknown>;
}

// ------------------------------------------------------------------------------------------------ the snapshot

/** What discovery says about a kind. */
export interface KindInfo {
  group: string;
  version: string;
  kind: string;
  /** Plural resource name, e.g. statefulsets. */
  resource: string;
  namespaced: boolean;
}

/** A reference to one object: group (not apiVersion), kind, namespace ("" for cluster-scoped) and name. */
export interface ObjectKey {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/**
 * An indexed, read-only view of the cluster objects Suture caches. Built by `createSnapshot` (core/snapshot.ts)
 * from plain objects, by the admission edge from informer caches, and by tests from fixtures.
 */
/** A label selector compiled to a test, with a key that names it (kubectl's string form). */
export interface LabelTest {
  readonly key: string;
  matches(labels: Readonly<Record<string, string>>): boolean;
}

export interface Snapshot {
  /** Kind information by group and kind, or by group and resource. */
  kindOf(group: string, kind: string): KindInfo | undefined;
  kindOfResource(group: string, resource: string): KindInfo | undefined;
  get(key: ObjectKey): KubeObject | undefined;
  getByUid(uid: string): KubeObject | undefined;
  /** Objects of one kind; namespace undefined = all namespaces. */
  list(group: string, kind: string, namespace?: string): readonly KubeObject[];
  /**
   * Objects of one kind whose labels a selector matches (`key` names the selector: the same key, the same test). A
   * live snapshot keeps such a view up to date once asked for it, so asking again costs what the matches cost, not
   * the kind's size.
   */
  listMatching(group: string, kind: string, namespace: string | undefined, selector: LabelTest): readonly KubeObject[];
  /** Objects whose ownerReferences name this uid. */
  dependents(uid: string): readonly KubeObject[];
  /** Every namespaced object in the namespace, of every cached kind. */
  inNamespace(namespace: string): readonly KubeObject[];
  /** The labels of a namespace (for namespaceSelector); undefined when the namespace is not cached. */
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
  /** The number of objects held. */
  readonly size: number;
}

// ---------------------------------------------------------------------------------------------------- impact

export const Effects = { Create: 'CREATE', Update: 'UPDATE', Delete: 'DELETE' } as const;
export type Effect = (typeof Effects)[keyof typeof Effects];

/** One object a request affects, and why. */
export interface Affected {
  object: KubeObject;
  /** The object before the request (for UPDATE and DELETE). */
  before?: KubeObject;
  effect: Effect;
  /** How the request reaches it: "target", "ownerReference of apps/StatefulSet db/pg", "namespace db", … */
  via: string;
  /**
   * Only the object's ready count changes (its pods are removed): nothing writes to the object. Availability floors
   * judge it; leases, protect, immutable, monotonic, budgets and expressions do not count it as a write.
   */
  statusOnly?: boolean;
  /**
   * The request changes whether a pod counts as available (a status write: its Ready condition or phase), on this
   * pod's entry and on its workloads' `statusOnly` entries: `lowered` is judged by floors like the pod's removal,
   * `raised` is refused by the floors that would count the pod (invariants.ts, minAvailable). `relabelled`: an
   * available pod's labels change, which can take it out of a floor's label selector or out of its workload's
   * selector. Floors judge these for governed requesters only: for everyone else (the kubelet) a pod's status is the
   * truth they count.
   */
  podAvailability?: 'lowered' | 'raised' | 'relabelled';
}

export interface Impact {
  /** The target itself first, then cascades in breadth-first order. */
  affected: readonly Affected[];
  created: readonly KubeObject[];
  changed: readonly Affected[];
  deleted: readonly KubeObject[];
  /**
   * How many objects the request affects in all. The lists above may be capped (computeImpact's `maxObjects`);
   * these totals never are. Absent when whoever built the Impact did not count (then the lists are complete).
   */
  counts?: { created: number; changed: number; deleted: number };
}

// ------------------------------------------------------------------------------------------------- leases

/** A lease as the reconciler has judged it: the object, and whether it is currently granted. */
export interface LeaseState {
  lease: SutureLease;
  granted: boolean;
}

// ------------------------------------------------------------------------------------------------ the outcome

/**
 * Five outcomes, as Kyverno keeps them: a request is allowed, denied, allowed with a warning, allowed and recorded
 * (audit), or could not be decided (error), which the policy's failure policy then turns into allow or deny.
 */
export const Verdicts = { Allow: 'allow', Deny: 'deny', Warn: 'warn', Audit: 'audit', Error: 'error' } as const;
export type Verdict = (typeof Verdicts)[keyof typeof Verdicts];

/** What one check found: a lease rule, an invariant, a condition, an exception. */
export interface CheckResult {
  /** "policy/<name>/<invariant>", "lease/<namespace>/<name>", "condition/<policy>/relaxWhen[0]", "exception/<name>" */
  source: string;
  result: 'pass' | 'fail' | 'error' | 'skip' | 'relaxed' | 'excepted';
  message: string;
}

/** One stage of the admission pipeline and what it saw. */
export interface StageRecord {
  stage: 'exempt' | 'identities' | 'match' | 'leases' | 'impact' | 'invariants' | 'conditions' | 'exceptions' | 'respond';
  summary: string;
  checks: CheckResult[];
}

export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'test' | 'move' | 'copy';
  path: string;
  value?: unknown;
  from?: string;
}

/** A budget the request would consume if allowed; the edge records it (state lives outside the core). */
export interface BudgetUse {
  policy: string;
  invariant: string;
  /** The subject the budget counts for ("" when per: Policy). */
  key: string;
  count: number;
  windowSeconds: number;
  limit: number;
}

/**
 * The removals of available pods an allowed request makes against one floor (a `minAvailable` invariant it passed).
 * Each request is judged alone on the state it read; the edge reserves these removals across requests and replicas
 * (admission/floors.ts), and removals another request reserved that this state still counts lower what is left, so
 * requests sent at once (a drain's evictions) cannot together cross the floor.
 */
/** A pod named by uid, with where to read it. */
export interface PodRef {
  uid: string;
  namespace: string;
  name: string;
}

export interface FloorUse {
  policy: string;
  invariant: string;
  /** What is counted: a workload's object key (objectKeyString), or "pods" for the pods the policy matches. */
  scope: string;
  /** The same for people: "ready replicas of apps/StatefulSet mq/rabbit", "ready Pods the policy matches". */
  what: string;
  /** The available pods the request removes, by uid (by object key where the pod has none). */
  removes: string[];
  /**
   * The available pods `after` counts, by uid: a removal another request reserved lowers what is left only if this
   * decision counted that pod (the state it read had not yet seen the removal).
   */
  counted: string[];
  /**
   * The pods the request removes that this decision did not count as available but that are not leaving either (no
   * deletionTimestamp, not finished): one may turn ready between the verdict and its removal — an eviction reads its
   * pod only after admission, and a kubelet's Ready write can land in between. Their removals are reserved too, so a
   * decision that counts such a pod as available once it turned ready sees it leaving; and the request is held to the
   * floor after all when a read at reservation time finds one of them available. Only for an eviction not pinned to
   * the pod judged (core/evictions.ts `removesUnpinned`); empty otherwise.
   */
  leaving: PodRef[];
  /** How many available pods the request removes: before − after (at least removes.length, more for a scale-down). */
  count: number;
  /** Available before and after the request, as this decision counted them, and the floor. */
  before: number;
  after: number;
  /**
   * Where `after` is a cap — the controller of a ReplicaSet or Deployment keeps at most `spec.replicas` of its
   * available pods, whichever it removes — the available pods it was capped from. Removals reserved elsewhere come off
   * these first: what is left is min(uncapped − pending, after), not after − pending.
   */
  uncapped?: number;
  required: number;
}

export interface Decision {
  /** Unique per request; the admission request uid. */
  id: string;
  verdict: Verdict;
  /** Whether the API server should let the request through. */
  allowed: boolean;
  /** One line a human can act on (denials, warnings); empty when allowed without remark. */
  message: string;
  warnings: string[];
  /** True when the request is allowed only because `patch` averts an invariant's failure (the warning says so). */
  averted?: boolean;
  /** For the mutating webhook: lease stamps and averts. */
  patch: JsonPatchOperation[];
  auditAnnotations: Record<string, string>;
  budgets: BudgetUse[];
  /** The floors an allowed decision leaned on and the removals it counts against each; the edge reserves them. */
  floors: FloorUse[];
  /** Exceptions that let this request through: the edge records their use. */
  exceptionsUsed: string[];
  /** Policies (by name) that failed, warned or audited, with the invariant. */
  violations: { policy: string; invariant: string; enforcement: 'Deny' | 'Warn' | 'Audit'; message: string }[];
  /** Leases (namespace/name) that denied the request. */
  leaseViolations: { lease: string; holder: Subject; message: string }[];
  /** True when the verdict read cluster state other than the request's own objects (see docs/concepts.md, Freshness). */
  readsClusterState: boolean;
  /** What the verdict rests on besides the request: the edge reads these fresh or live where it must. */
  consulted: Consulted;
  /**
   * The failure mode that applies when the state the verdict rests on cannot be had: Fail when a consulted policy
   * says Fail or a lease was consulted (leases always fail closed), else Ignore.
   */
  failurePolicy: 'Fail' | 'Ignore';
  impact: { created: number; changed: number; deleted: number; sample: string[] };
  trace: StageRecord[];
}

/** One CEL read of the cluster (`cluster`/`before` get, exists, list, count) and how many objects it returned. */
export interface Lookup {
  apiVersion: string;
  kind: string;
  /** "" for cluster-scoped (get) or all namespaces (list). */
  namespace: string;
  /** get and exists. */
  name?: string;
  /** list and count (kubectl form; "" = everything). */
  labelSelector?: string;
  found: number;
}

/** What a decision consulted besides the request's own objects. */
export interface Consulted {
  /** Policies whose invariants were evaluated (bound the requester, matched the impact, were not relaxed). */
  policies: string[];
  /** Leases (namespace/name) that cover something the request affects. */
  leases: string[];
  /** The CEL reads of the cluster, once each. */
  lookups: Lookup[];
}

// ------------------------------------------------------------------------------------------------ exceptions

export type { SutureException };

// ------------------------------------------------------------------------------------------------ the input

/** Budget usage recorded outside the core (a ledger the edge keeps consistent across replicas). */
export interface BudgetLedger {
  /** How many effects were recorded for this policy/invariant/key within the last `windowSeconds` before now. */
  used(policy: string, invariant: string, key: string, windowSeconds: number): number;
}

/** The last value of a Prometheus query, as the edge last fetched it. */
export type MetricSample = { value: number; ageSeconds: number } | { error: string };

export interface MetricReader {
  /** undefined: never fetched yet. */
  read(url: string, query: string): MetricSample | undefined;
}

/** Who is governed (docs/concepts.md, Identities). */
export interface IdentityConfig {
  /** Service accounts in these namespaces are not governed (kube-system, Suture's own namespace). */
  exemptNamespaces: readonly string[];
  /** Users and groups never governed (Suture's own identity, break-glass admins). */
  exemptUsers: readonly string[];
  exemptGroups: readonly string[];
}

/** Everything decide() reads besides the request and the clock. */
export interface DecisionInput {
  snapshot: Snapshot;
  /** Compiled policies (core/policy.ts). A policy whose newest version is invalid keeps its last valid version. */
  policies: readonly CompiledPolicy[];
  leases: readonly LeaseState[];
  /** Compiled exceptions (core/policy.ts); expired ones are ignored at `now`. */
  exceptions: readonly CompiledException[];
  budgets: BudgetLedger;
  metrics: MetricReader;
  identities: IdentityConfig;
  /** The bounds of each CEL evaluation (core/cel-cost.ts): a cost limit and a deadline whose clock the edge passes in. */
  cel?: CelBudget;
}
