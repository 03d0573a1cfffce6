// SutureLeases: what a lease covers, when two leases conflict, which leases are granted, which writes they deny, and
// the stamp label a holder's new objects get. Pure: time is a parameter.
import { LEASE_LABEL } from '../api/constants.js';
import type { KubeObject, LabelSelector, LeasePhase, LeaseResource, Subject, SutureLease } from '../api/types.js';
import { inRequestNamespace } from './impact.js';
import { escapePointerToken, jsonEqual, pointerSegments, valueAt } from './json.js';
import { describeObject } from './snapshot.js';
import { matchesObjectSelector, selectorGroupVerdict, subjectMatches, subjectName } from './selectors.js';
import { parseDurationSeconds } from './units.js';
import type { AdmissionRequest, Affected, CheckResult, Impact, JsonPatchOperation, LeaseState, Snapshot } from './types.js';

// ------------------------------------------------------------------------------------------------ names

/** `namespace/name` of a lease, as messages and grant maps name it. */
export function leaseName(lease: SutureLease): string {
  return `${lease.metadata.namespace ?? ''}/${lease.metadata.name ?? ''}`;
}

/** The value of the stamp label for a lease: `<namespace>.<name>`. */
export function stampValue(lease: SutureLease): string {
  return `${lease.metadata.namespace ?? ''}.${lease.metadata.name ?? ''}`;
}

/** Whether the lease is Exclusive (the default) rather than Shared. */
export function isExclusive(lease: SutureLease): boolean {
  return (lease.spec.access ?? 'Exclusive') === 'Exclusive';
}

// ------------------------------------------------------------------------------------------------ coverage

export interface LeaseCoverage {
  /** The first resource that matches; undefined when only the stamp label makes the object covered. */
  resource?: LeaseResource;
  /** The JSON pointers leased on this object; undefined = the whole object. */
  fields?: readonly string[];
  /** True when the object carries this lease's stamp label. */
  stamped: boolean;
}

/**
 * Whether the lease covers the object: a resource of the lease matches it, or it carries the lease's stamp label.
 * A resource without `fields`, or the stamp, covers the whole object; otherwise the coverage is the union of the
 * matching resources' fields.
 */
export function leaseCovers(lease: SutureLease, obj: KubeObject, snapshot: Snapshot): LeaseCoverage | undefined {
  const stamp = obj.metadata.labels?.[LEASE_LABEL];
  const stamped = stamp !== undefined && stamp === stampValue(lease);
  if (!stamped && !lease.spec.resources.some((r) => matchesObjectSelector(r, obj, snapshot))) return undefined;
  const matching = lease.spec.resources.filter((r) => matchesObjectSelector(r, obj, snapshot));
  const whole = stamped || matching.some((r) => r.fields === undefined || r.fields.length === 0);
  const coverage: LeaseCoverage = { stamped };
  if (matching[0] !== undefined) coverage.resource = matching[0];
  if (!whole) coverage.fields = [...new Set(matching.flatMap((r) => r.fields ?? []))];
  return coverage;
}

// ------------------------------------------------------------------------------------------------ conflicts

/** A reason when the two resources provably share no object (or no leased field), undefined when they may. */
type Disjointness = string | undefined;

function listsDisjoint(what: string, a: readonly string[] | undefined, b: readonly string[] | undefined): Disjointness {
  if (a === undefined || b === undefined || a.length === 0 || b.length === 0) return undefined;
  if (a.includes('*') || b.includes('*')) return undefined;
  return a.some((x) => b.includes(x)) ? undefined : `disjoint ${what}`;
}

function prefixesCompatible(p: string, q: string): boolean {
  return p.startsWith(q) || q.startsWith(p);
}

/** Whether some name satisfies both resources' names and namePrefixes (each an AND of its two fields). */
function namesDisjoint(a: LeaseResource, b: LeaseResource): Disjointness {
  const named = [a.names, b.names].filter((n): n is string[] => n !== undefined && n.length > 0 && !n.includes('*'));
  const prefixes = [a.namePrefixes, b.namePrefixes].filter((p): p is string[] => p !== undefined && p.length > 0);
  const fitsPrefixes = (name: string): boolean => prefixes.every((set) => set.some((p) => name.startsWith(p)));
  if (named.length > 0) {
    const [first, ...rest] = named;
    const candidates = (first ?? []).filter((n) => rest.every((set) => set.includes(n)) && fitsPrefixes(n));
    return candidates.length === 0 ? 'disjoint names' : undefined;
  }
  const [pa, pb] = prefixes;
  if (pa === undefined || pb === undefined) return undefined;
  return pa.some((p) => pb.some((q) => prefixesCompatible(p, q))) ? undefined : 'disjoint name prefixes';
}

interface KeyConstraint {
  mustExist: boolean;
  mustNotExist: boolean;
  /** Values allowed (intersection of In and matchLabels); undefined = any. */
  allowed?: Set<string>;
  forbidden: Set<string>;
}

function constrain(map: Map<string, KeyConstraint>, key: string): KeyConstraint {
  let c = map.get(key);
  if (c === undefined) {
    c = { mustExist: false, mustNotExist: false, forbidden: new Set() };
    map.set(key, c);
  }
  return c;
}

function allowOnly(c: KeyConstraint, values: readonly string[]): void {
  c.mustExist = true;
  c.allowed = new Set(c.allowed === undefined ? values : values.filter((v) => c.allowed?.has(v)));
}

type Requirement = NonNullable<LabelSelector['matchExpressions']>[number];

const CONSTRAIN: Record<Requirement['operator'], (c: KeyConstraint, values: readonly string[]) => void> = {
  In: (c, values) => allowOnly(c, values),
  NotIn: (c, values) => values.forEach((v) => c.forbidden.add(v)),
  Exists: (c) => {
    c.mustExist = true;
  },
  DoesNotExist: (c) => {
    c.mustNotExist = true;
  },
};

function addSelector(map: Map<string, KeyConstraint>, sel: LabelSelector | undefined): void {
  for (const [key, value] of Object.entries(sel?.matchLabels ?? {})) allowOnly(constrain(map, key), [value]);
  for (const req of sel?.matchExpressions ?? []) CONSTRAIN[req.operator]?.(constrain(map, req.key), req.values ?? []);
}

function unsatisfiable(c: KeyConstraint): boolean {
  if (c.mustExist && c.mustNotExist) return true;
  if (c.allowed === undefined) return false;
  return [...c.allowed].every((v) => c.forbidden.has(v));
}

/** Whether no set of labels satisfies both selectors (app=a vs app=b; app in (a) vs app notin (a); x vs !x). */
export function selectorsContradict(a: LabelSelector | undefined, b: LabelSelector | undefined): string | undefined {
  const map = new Map<string, KeyConstraint>();
  addSelector(map, a);
  addSelector(map, b);
  for (const [key, c] of map) if (unsatisfiable(c)) return `label ${key} cannot satisfy both selectors`;
  return undefined;
}

/** A path and its prefixes overlap: /spec and /spec/replicas do; /spec/replicas and /spec/template do not. */
export function pathsOverlap(p: string, q: string): boolean {
  const a = pointerSegments(p);
  const b = pointerSegments(q);
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

function fieldsDisjoint(a: LeaseResource, b: LeaseResource): Disjointness {
  const fa = a.fields ?? [];
  const fb = b.fields ?? [];
  if (fa.length === 0 || fb.length === 0) return undefined;
  return fa.some((p) => fb.some((q) => pathsOverlap(p, q))) ? undefined : 'disjoint fields';
}

/** Why two lease resources cannot share an object (or a leased field of one), undefined when they may. */
export function resourcesDisjoint(a: LeaseResource, b: LeaseResource): Disjointness {
  return (
    listsDisjoint('apiGroups', a.apiGroups, b.apiGroups) ??
    listsDisjoint('kinds', a.kinds, b.kinds) ??
    listsDisjoint('namespaces', a.namespaces, b.namespaces) ??
    namesDisjoint(a, b) ??
    selectorsContradict(a.selector, b.selector) ??
    selectorsContradict(a.namespaceSelector, b.namespaceSelector) ??
    fieldsDisjoint(a, b)
  );
}

export interface LeaseConflict {
  conflict: boolean;
  reason: string;
}

function describeResource(r: LeaseResource): string {
  const parts: string[] = [];
  if (r.apiGroups !== undefined) parts.push(`apiGroups [${r.apiGroups.map((g) => (g === '' ? '""' : g)).join(', ')}]`);
  if (r.kinds !== undefined) parts.push(`kinds [${r.kinds.join(', ')}]`);
  if (r.namespaces !== undefined) parts.push(`namespaces [${r.namespaces.join(', ')}]`);
  if (r.names !== undefined) parts.push(`names [${r.names.join(', ')}]`);
  if (r.namePrefixes !== undefined) parts.push(`namePrefixes [${r.namePrefixes.join(', ')}]`);
  if (r.fields !== undefined) parts.push(`fields [${r.fields.join(', ')}]`);
  return parts.length === 0 ? 'any object' : parts.join(' ');
}

/** Objects a lease's resources can name without a full scan: resources with explicit apiGroups and kinds. */
function explicit(list: readonly string[] | undefined): readonly string[] {
  return list === undefined || list.includes('*') ? [] : list;
}

/** One list of the snapshot a lease's resources enumerate: a group, a kind, and a namespace (undefined = all). */
export interface EnumerableSlot {
  group: string;
  kind: string;
  namespace: string | undefined;
}

/** The snapshot lists in which conflicts look for an object both leases cover, in the order they are searched. */
export function enumerableSlots(lease: SutureLease): EnumerableSlot[] {
  const slots: EnumerableSlot[] = [];
  for (const r of lease.spec.resources) {
    const namespaces = explicit(r.namespaces).length === 0 ? [undefined] : explicit(r.namespaces);
    for (const group of explicit(r.apiGroups)) for (const kind of explicit(r.kinds)) for (const namespace of namespaces) slots.push({ group, kind, namespace });
  }
  return slots;
}

function enumerable(lease: SutureLease, snapshot: Snapshot): KubeObject[] {
  const found: KubeObject[] = [];
  for (const { group, kind, namespace } of enumerableSlots(lease)) found.push(...snapshot.list(group, kind, namespace));
  return found;
}

/** Whether two coverages of one object lease a common part of it: a whole-object coverage overlaps every field. */
export function coveragesOverlap(a: LeaseCoverage, b: LeaseCoverage): boolean {
  if (a.fields === undefined || b.fields === undefined) return true;
  return a.fields.some((p) => b.fields?.some((q) => pathsOverlap(p, q)) === true);
}

/**
 * An existing object both leases cover (through a resource or a stamp) in overlapping parts: proof that they
 * conflict. One lease on /spec/replicas and another on /spec/template of the same object do not.
 */
function sharedObject(a: SutureLease, b: SutureLease, snapshot: Snapshot): KubeObject | undefined {
  const both = (o: KubeObject): boolean => {
    const ca = leaseCovers(a, o, snapshot);
    if (ca === undefined) return false;
    const cb = leaseCovers(b, o, snapshot);
    return cb !== undefined && coveragesOverlap(ca, cb);
  };
  return enumerable(a, snapshot).find(both) ?? enumerable(b, snapshot).find(both);
}

/**
 * Whether two leases conflict: decided statically and conservatively (they conflict unless every pair of their
 * resources is provably disjoint by apiGroups, kinds, namespaces, names and prefixes, contradicting label or
 * namespace selectors, or non-overlapping fields), and by proof (an existing object covered by both in parts that
 * overlap, stamps included: two field leases on disjoint fields of one object coexist). Two Shared leases never
 * conflict; Shared and Exclusive do.
 */
export function leasesConflict(a: SutureLease, b: SutureLease, snapshot: Snapshot): LeaseConflict {
  if (leaseName(a) === leaseName(b)) return { conflict: false, reason: 'same lease' };
  if (!isExclusive(a) && !isExclusive(b)) return { conflict: false, reason: 'both leases are Shared' };
  for (const ra of a.spec.resources) {
    for (const rb of b.spec.resources) {
      if (resourcesDisjoint(ra, rb) === undefined) return { conflict: true, reason: `${describeResource(ra)} overlaps ${describeResource(rb)}` };
    }
  }
  const shared = sharedObject(a, b, snapshot);
  if (shared !== undefined) return { conflict: true, reason: `both cover ${describeObject(shared)}` };
  return { conflict: false, reason: 'resources are disjoint' };
}

// ------------------------------------------------------------------------------------------------ grants

/** What the reconciler writes to a lease's status. */
export interface LeaseGrant {
  phase: LeasePhase;
  conflictsWith: { namespace: string; name: string; holder: Subject }[];
  /** RFC 3339; set for Granted (and Expired) leases. */
  grantedAt?: string;
  expiresAt?: string;
  reason: string;
  message: string;
}

/** Milliseconds since the epoch of an RFC 3339 time; undefined when absent or unparseable. */
export function parseTime(text: string | null | undefined): number | undefined {
  if (text === undefined || text === null || text === '') return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

function shapeInvalid(lease: SutureLease): string | undefined {
  const { spec } = lease;
  if (spec === undefined || spec.holder === undefined) return 'spec.holder is required';
  if (!Array.isArray(spec.resources) || spec.resources.length === 0) return 'spec.resources must name at least one resource';
  if (spec.holder.kind === 'ServiceAccount' && (spec.holder.namespace ?? '') === '') return 'spec.holder: a ServiceAccount needs a namespace';
  return undefined;
}

/** Why a lease cannot be judged (its grant is Invalid), or undefined. */
export function invalidReason(lease: SutureLease): string | undefined {
  const shape = shapeInvalid(lease);
  if (shape !== undefined) return shape;
  const { spec } = lease;
  if (spec.duration !== undefined && parseDurationSeconds(spec.duration) === undefined) {
    return `spec.duration "${spec.duration}" is not a duration such as 30s, 10m, 2h or 1h30m`;
  }
  if (spec.renewTime !== undefined && spec.renewTime !== null && parseTime(spec.renewTime) === undefined) {
    return `spec.renewTime "${spec.renewTime}" is not an RFC 3339 time`;
  }
  return undefined;
}

/** What orders leases for granting (grantOrder), computed once per lease. */
export interface GrantOrderKey {
  /** 1 when the lease was Granted at the last reconcile (status.phase). */
  incumbent: number;
  /** creationTimestamp in ms; +Infinity when absent. */
  created: number;
  name: string;
  namespace: string;
}

export function grantOrderKey(lease: SutureLease): GrantOrderKey {
  return {
    incumbent: lease.status?.phase === 'Granted' ? 1 : 0,
    created: parseTime(lease.metadata.creationTimestamp) ?? Number.POSITIVE_INFINITY,
    name: lease.metadata.name ?? '',
    namespace: lease.metadata.namespace ?? '',
  };
}

/** String.prototype.localeCompare without arguments, as a reusable collator (the same order, much cheaper per call). */
const collator = new Intl.Collator();

/** Leases that held their grant at the last reconcile keep priority, then the oldest, then by name and namespace. */
export function compareGrantOrderKeys(a: GrantOrderKey, b: GrantOrderKey): number {
  const incumbent = b.incumbent - a.incumbent;
  if (incumbent !== 0) return incumbent;
  if (a.created !== b.created) return a.created < b.created ? -1 : 1;
  const byName = collator.compare(a.name, b.name);
  return byName !== 0 ? byName : collator.compare(a.namespace, b.namespace);
}

function grantOrder(a: SutureLease, b: SutureLease): number {
  return compareGrantOrderKeys(grantOrderKey(a), grantOrderKey(b));
}

/** The previous grant time: status.grantedAt of a lease that was Granted or Expired, else now (granted now). */
function grantTime(lease: SutureLease, now: Date): number {
  const phase = lease.status?.phase;
  const previous = phase === 'Granted' || phase === 'Expired' ? parseTime(lease.status?.grantedAt) : undefined;
  return previous ?? now.getTime();
}

/** The grant of a lease that conflicts with `rivals`, granted before it, for `reasons` (one per rival). */
export function conflicted(rivals: readonly SutureLease[], reasons: readonly string[]): LeaseGrant {
  const conflictsWith = rivals.map((r) => ({ namespace: r.metadata.namespace ?? '', name: r.metadata.name ?? '', holder: r.spec.holder }));
  const names = rivals.map((r) => `${leaseName(r)} held by ${subjectName(r.spec.holder)}`).join(', ');
  return {
    phase: 'Conflicted',
    conflictsWith,
    reason: 'Conflicted',
    message: `Conflicts with lease ${names} (${reasons.join('; ')}); granted automatically when it is deleted or expires`,
  };
}

/** The grant of a lease no granted lease conflicts with, at `now`: Granted, or Expired past its duration. */
export function granted(lease: SutureLease, now: Date): LeaseGrant {
  const grantedAt = grantTime(lease, now);
  const iso = new Date(grantedAt).toISOString();
  const holder = subjectName(lease.spec.holder);
  const seconds = lease.spec.duration === undefined ? undefined : parseDurationSeconds(lease.spec.duration);
  const duration = seconds === undefined ? undefined : seconds * 1000;
  if (duration === undefined) return { phase: 'Granted', conflictsWith: [], grantedAt: iso, reason: 'Granted', message: `Granted to ${holder}` };
  const start = Math.max(grantedAt, parseTime(lease.spec.renewTime) ?? grantedAt);
  const expiresAt = new Date(start + duration).toISOString();
  if (now.getTime() >= start + duration) {
    return { phase: 'Expired', conflictsWith: [], grantedAt: iso, expiresAt, reason: 'Expired', message: `Expired at ${expiresAt}; update spec.renewTime to renew` };
  }
  return { phase: 'Granted', conflictsWith: [], grantedAt: iso, expiresAt, reason: 'Granted', message: `Granted to ${holder} until ${expiresAt}` };
}

function judge(lease: SutureLease, holding: SutureLease[], opts: { snapshot: Snapshot; now: Date }): LeaseGrant {
  const invalid = invalidReason(lease);
  if (invalid !== undefined) return { phase: 'Invalid', conflictsWith: [], reason: 'InvalidSpec', message: invalid };
  const rivals: SutureLease[] = [];
  const reasons: string[] = [];
  for (const other of holding) {
    const c = leasesConflict(lease, other, opts.snapshot);
    if (c.conflict) {
      rivals.push(other);
      reasons.push(c.reason);
    }
  }
  return rivals.length > 0 ? conflicted(rivals, reasons) : granted(lease, opts.now);
}

/**
 * Decides every lease's phase, level-based: the result depends only on the leases (spec and last status), the
 * snapshot and `now`. Order: leases Granted at the last reconcile (status.phase) first, so that a renewed older
 * lease does not take back a scope handed over while it was expired; then oldest creationTimestamp, then name, then
 * namespace. A lease that conflicts with one already granted is Conflicted and names its rivals; once a rival is
 * deleted or expires, recomputing grants it. Leases being deleted (deletionTimestamp) hold nothing and are left out.
 *
 * Grant time: a lease whose status.phase is Granted or Expired keeps status.grantedAt; any other lease granted now
 * gets `now`. The reconciler writes the returned grantedAt back to status, which is how the next call learns it.
 * With spec.duration, a grant expires at max(grantedAt, spec.renewTime) + duration: phase Expired, scope freed.
 * Keys of the result: `namespace/name`.
 */
export function grantLeases(leases: readonly SutureLease[], snapshot: Snapshot, now: Date): Map<string, LeaseGrant> {
  const result = new Map<string, LeaseGrant>();
  const holding: SutureLease[] = [];
  const live = leases.filter((l) => l.metadata.deletionTimestamp === undefined).sort(grantOrder);
  for (const lease of live) {
    const grant = judge(lease, holding, { snapshot, now });
    result.set(leaseName(lease), grant);
    if (grant.phase === 'Granted') holding.push(lease);
  }
  return result;
}

// ------------------------------------------------------------------------------------------------ enforcement

export interface LeaseViolation {
  lease: string;
  holder: Subject;
  message: string;
}

/** Whether the lease binds this requester at all (enforce: ServiceAccounts binds only service accounts). */
function governs(lease: SutureLease, username: string): boolean {
  return lease.spec.enforce === 'Everyone' || username.startsWith('system:serviceaccount:');
}

/** The leased paths an effect changes: creation and removal change every path that has a value. */
function changedPaths(fields: readonly string[], a: Affected): string[] {
  const before = a.effect === 'CREATE' ? undefined : (a.before ?? (a.effect === 'DELETE' ? a.object : undefined));
  const after = a.effect === 'DELETE' ? undefined : a.object;
  return fields.filter((p) => !jsonEqual(valueAt(before, p), valueAt(after, p)));
}

function stampOf(obj: KubeObject | undefined): string | undefined {
  return obj?.metadata.labels?.[LEASE_LABEL];
}

const VERBS: Record<Affected['effect'], string> = { CREATE: 'created', UPDATE: 'changed', DELETE: 'removed' };

/** One affected object a lease denies: the leased paths it changes (fields), or that it moves the stamp label. */
interface Finding {
  affected: Affected;
  paths?: string[];
  restamped: boolean;
}

/** What the lease denies about one affected object, or undefined when it allows it. Cheap: formats nothing. */
function objectFinding(lease: SutureLease, a: Affected, ctx: { snapshot: Snapshot; stamp: string }): Finding | undefined {
  const { snapshot, stamp } = ctx;
  if (a.statusOnly === true) return undefined; // its pods went: no write to the object itself
  const restamped = a.effect === 'UPDATE' && (stampOf(a.before) === stamp) !== (stampOf(a.object) === stamp);
  if (restamped) return { affected: a, restamped };
  const other = a.before === undefined || a.before === a.object ? undefined : a.before;
  const coverage = leaseCovers(lease, a.object, snapshot) ?? (other === undefined ? undefined : leaseCovers(lease, other, snapshot));
  if (coverage === undefined) return undefined;
  if (coverage.fields === undefined) return { affected: a, restamped };
  const paths = changedPaths(coverage.fields, a);
  return paths.length === 0 ? undefined : { affected: a, paths, restamped };
}

function describeFinding(f: Finding): string {
  const what = describeObject(f.affected.object);
  if (f.restamped) return `${what} (label ${LEASE_LABEL} changed)`;
  const via = f.affected.via === 'target' ? '' : ` (${VERBS[f.affected.effect]} via ${f.affected.via})`;
  return f.paths === undefined ? `${what}${via}` : `${f.paths.join(', ')} of ${what}${via}`;
}

/** The first object the lease denies, and how many in all. */
function leaseFindings(lease: SutureLease, impact: Impact, snapshot: Snapshot): { first?: Finding; count: number } {
  const ctx = { snapshot, stamp: stampValue(lease) };
  let first: Finding | undefined;
  let count = 0;
  for (const a of impact.affected) {
    const f = objectFinding(lease, a, ctx);
    if (f === undefined) continue;
    first ??= f;
    count++;
  }
  return first === undefined ? { count } : { first, count };
}

function violationMessage(lease: SutureLease, first: Finding, count: number): string {
  const more = count > 1 ? ` and ${count - 1} more object${count > 2 ? 's' : ''}` : '';
  return `lease ${leaseName(lease)} held by ${subjectName(lease.spec.holder)} covers ${describeFinding(first)}${more}`;
}

function checkOne(lease: SutureLease, request: AdmissionRequest, opts: { impact: Impact; snapshot: Snapshot }): { check?: CheckResult; violation?: LeaseViolation } {
  const source = `lease/${leaseName(lease)}`;
  const { first, count } = leaseFindings(lease, opts.impact, opts.snapshot);
  if (first === undefined) return {};
  if (subjectMatches(lease.spec.holder, request.userInfo)) return { check: { source, result: 'pass', message: `${request.userInfo.username} holds the lease` } };
  if (!governs(lease, request.userInfo.username)) {
    return { check: { source, result: 'skip', message: `${request.userInfo.username} is not bound by the lease (enforce: ServiceAccounts)` } };
  }
  const message = violationMessage(lease, first, count);
  return { check: { source, result: 'fail', message }, violation: { lease: leaseName(lease), holder: lease.spec.holder, message } };
}

/**
 * The lease stage: a write by a governed identity other than the holder to an object a Granted Exclusive lease
 * covers is denied; with `fields`, only a change of those paths (before/after of every affected object, so a /scale
 * request changes /spec/replicas). Every object in the impact counts (a cascade is a write to what it removes;
 * a CREATE is a write to every path it sets). Changing, removing or adding a lease's stamp label counts as a write
 * to that lease. One violation per lease, naming the first object and how many more. A check per lease that covers
 * something the request affects: pass (holder), skip (requester not bound) or fail.
 * The impact should be uncapped: objects left out of a capped impact are not checked.
 */
export function checkLeases(
  request: AdmissionRequest,
  impact: Impact,
  leases: readonly LeaseState[],
  snapshot: Snapshot,
): { violations: LeaseViolation[]; checks: CheckResult[] } {
  const violations: LeaseViolation[] = [];
  const checks: CheckResult[] = [];
  for (const { lease, granted: isGranted } of leases) {
    if (!isGranted || !isExclusive(lease)) continue;
    const { check, violation } = checkOne(lease, request, { impact, snapshot });
    if (check !== undefined) checks.push(check);
    if (violation !== undefined) violations.push(violation);
  }
  return { violations, checks };
}

// ------------------------------------------------------------------------------------------------ stamping

function needsStamp(request: AdmissionRequest, obj: KubeObject): boolean {
  if (request.subResource !== undefined && request.subResource !== '') return false;
  if (request.operation === 'CREATE') return true;
  if (request.operation !== 'UPDATE') return false;
  return stampOf(request.oldObject ?? undefined) !== undefined && stampOf(obj) === undefined;
}

/** The lease whose stamp the object gets: granted, Exclusive, held by the requester, covering the whole object. */
function stampingLease(request: AdmissionRequest, obj: KubeObject, leases: readonly LeaseState[], snapshot: Snapshot): SutureLease | undefined {
  const dropped = stampOf(request.oldObject ?? undefined);
  for (const { lease, granted: isGranted } of leases) {
    if (!isGranted || !isExclusive(lease) || !subjectMatches(lease.spec.holder, request.userInfo)) continue;
    if (request.operation === 'UPDATE' && dropped !== stampValue(lease)) continue;
    const coverage = leaseCovers(lease, request.operation === 'UPDATE' ? (request.oldObject ?? obj) : obj, snapshot);
    if (coverage !== undefined && coverage.fields === undefined) return lease;
  }
  return undefined;
}

/**
 * For a CREATE by the holder of a granted Exclusive lease covering the new object (whole object, not fields only),
 * and for an UPDATE by that holder which drops the lease's stamp label: a JSON patch that sets
 * `metadata.labels["suture.dev/lease"] = "<namespace>.<name>"` (creating metadata.labels when absent).
 * Empty when nothing is to be stamped or the label is already right.
 */
export function stampPatch(request: AdmissionRequest, leases: readonly LeaseState[], snapshot: Snapshot): JsonPatchOperation[] {
  if (request.object === undefined || request.object === null) return [];
  const obj = inRequestNamespace(request.object, request);
  if (!needsStamp(request, obj)) return [];
  const lease = stampingLease(request, obj, leases, snapshot);
  if (lease === undefined) return [];
  const value = stampValue(lease);
  if (stampOf(obj) === value) return [];
  if (obj.metadata.labels === undefined) return [{ op: 'add', path: '/metadata/labels', value: { [LEASE_LABEL]: value } }];
  return [{ op: 'add', path: `/metadata/labels/${escapePointerToken(LEASE_LABEL)}`, value }];
}

/** Leases by their stamp value, one map per list of leases (the stores hand out one array until a lease changes). */
const stampIndexes = new WeakMap<readonly LeaseState[], Map<string, LeaseState>>();

function byStamp(leases: readonly LeaseState[]): Map<string, LeaseState> {
  let index = stampIndexes.get(leases);
  if (index === undefined) {
    index = new Map(leases.map((l) => [stampValue(l.lease), l]));
    stampIndexes.set(leases, index);
  }
  return index;
}

/** The stamp labels the affected entries carry, before or after the request. */
function stampsOf(groups: readonly (readonly Affected[])[]): Set<string> {
  const stamps = new Set<string>();
  for (const group of groups) {
    for (const a of group) {
      const before = a.before?.metadata.labels?.[LEASE_LABEL];
      const after = a.object.metadata.labels?.[LEASE_LABEL];
      if (before !== undefined) stamps.add(before);
      if (after !== undefined) stamps.add(after);
    }
  }
  return stamps;
}

/**
 * The leases that may cover something among the affected entries (grouped by group, kind and namespace, see
 * impact.ts groupAffected): among `candidates` (the leases whose resources can match, from a SelectorIndex), those
 * whose resources the groups do not exclude; and any lease whose stamp label an entry carries before or after.
 * A cheap filter before checkLeases, which then judges object by object. Order: that of `leases`.
 */
export function leasesTouching(
  leases: readonly LeaseState[],
  groups: readonly (readonly Affected[])[],
  snapshot: Snapshot,
  candidates: readonly LeaseState[] = leases,
): LeaseState[] {
  const representatives = groups.map((g) => (g[0]?.before ?? g[0]?.object) as KubeObject).filter((o) => o !== undefined);
  const found = new Set(candidates.filter((l) => l.lease.spec.resources.some((r) => representatives.some((rep) => selectorGroupVerdict(r, rep, snapshot) !== 'none'))));
  const stamped = byStamp(leases);
  for (const stamp of stampsOf(groups)) {
    const lease = stamped.get(stamp);
    if (lease !== undefined) found.add(lease);
  }
  if (found.size <= 1) return [...found];
  const order = new Map(leases.map((l, i) => [l, i]));
  return [...found].sort((x, y) => (order.get(x) ?? 0) - (order.get(y) ?? 0));
}
