// decide(request, input, now) → Decision: the admission pipeline as named stages, each a small function that
// records what it saw (docs/development.md, Code principles 2). Pure: no I/O, no clock but `now`, no logging.
//
//   exempt → impact → identities → leases → match → conditions → invariants → exceptions → respond
//
// The exempt stage tells three kinds of requesters apart: exempt (configured users and groups: never judged),
// ungoverned (service accounts of exempt namespaces, and humans no policy names: the controllers, admins and whoever
// impersonates them) and governed. Ungoverned requesters are judged only by the effects that `protect` and
// availability floors guard — the removal of a protected object, the reduction of a floor — whoever performs them
// (docs/concepts.md, Identities); leases keep binding governed identities only.
import { AUDIT_DECISION, AUDIT_POLICY, AUDIT_VERDICT } from '../api/constants.js';
import type { Enforcement, KubeObject } from '../api/types.js';
import { celVariables, type CelVariables } from './cel.js';
import { evaluateConditions } from './conditions.js';
import { computeImpact, groupAffected } from './impact.js';
import { IDENTITIES_POLICY, launderingViolations } from './identities.js';
import { evaluateInvariant, type InvariantResult } from './invariants.js';
import { checkLeases, leaseCovers, leasesTouching, stampPatch, type LeaseViolation } from './leases.js';
import type { CompiledException, CompiledPolicy } from './policy.js';
import { indexFor, type SelectorIndex } from './selector-index.js';
import { matchesObjectSelector, selectorGroupVerdict, serviceAccountOf, subjectMatches } from './selectors.js';
import { describeObject, projectSnapshot } from './snapshot.js';
import {
  Verdicts,
  type Affected,
  type AdmissionRequest,
  type BudgetUse,
  type FloorUse,
  type CheckResult,
  type Decision,
  type DecisionInput,
  type Impact,
  type JsonPatchOperation,
  type LeaseState,
  type Lookup,
  type Snapshot,
  type StageRecord,
  type Verdict,
} from './types.js';

/** Objects listed per decision record (counts stay complete). */
export const IMPACT_SAMPLE = 10;
/** Objects kept in an impact's lists; beyond it only counted. Large enough that every lease and policy sees them all. */
const IMPACT_CAP = 200_000;

export interface DecideOptions {
  /** Internal: the re-check of an averted request must not avert again. */
  avert?: boolean;
}

/** One failed (or undecidable) invariant of a policy. */
interface Violation {
  policy: CompiledPolicy;
  invariant: string;
  enforcement: Enforcement;
  message: string;
  /** The affected objects the policy matched: what an exception's `match` narrows. */
  matched: readonly Affected[];
  error: boolean;
}

/** What the policy stage produced for one request. */
interface PolicyOutcome {
  violations: Violation[];
  budgets: BudgetUse[];
  /** Floors the passing minAvailable invariants of Deny policies lean on (Decision.floors). */
  floors: FloorUse[];
  averts: { policy: string; invariant: string; patch: JsonPatchOperation[]; patched: KubeObject }[];
  checks: CheckResult[];
  conditionChecks: CheckResult[];
  readsState: boolean;
  /** The policies whose invariants were evaluated. */
  consulted: CompiledPolicy[];
}

// ------------------------------------------------------------------------------------------------ stage: exempt

/** Why a request is not judged at all (CONNECT changes no object), or undefined. */
export function exemptReason(request: AdmissionRequest, _input: DecisionInput): string | undefined {
  if (request.operation === 'CONNECT') return 'CONNECT requests change no object';
  return undefined;
}

/**
 * Why a requester is governed only by the effects it performs, or undefined: configured exempt users and groups
 * (break-glass: the governed webhooks never see them, but the removal of a protected object or a floor's reduction is
 * judged whoever sends it) and service accounts of exempt namespaces.
 */
export function ungovernedReason(request: AdmissionRequest, input: DecisionInput): string | undefined {
  const user = request.userInfo;
  const ids = input.identities;
  if (ids.exemptUsers.includes(user.username)) return `${user.username} is exempt (only protect and floors judge its effects)`;
  const group = (user.groups ?? []).find((g) => ids.exemptGroups.includes(g));
  if (group !== undefined) return `group ${group} is exempt (only protect and floors judge its effects)`;
  const sa = serviceAccountOf(user);
  if (sa !== undefined && ids.exemptNamespaces.includes(sa.namespace)) return `service accounts of namespace ${sa.namespace} are not governed`;
  return undefined;
}

/** Service accounts are governed by default; humans only where a policy's subjects name them (docs/concepts.md, Identities). */
export function policyBinds(policy: CompiledPolicy, request: AdmissionRequest): boolean {
  if (policy.subjects.length === 0) return serviceAccountOf(request.userInfo) !== undefined;
  return policy.subjects.some((s) => subjectMatches(s, request.userInfo));
}

// ------------------------------------------------------------------------------------------------ stage: identities

/** Whether the no-laundering checks bind the requester: a governed service account, or a human some policy names. */
function launderingBinds(request: AdmissionRequest, input: DecisionInput): boolean {
  if (serviceAccountOf(request.userInfo) !== undefined) return true;
  return input.policies.some((p) => p.subjects.length > 0 && policyBinds(p, request));
}

// ------------------------------------------------------------------------------------------------ stage: match

function entryMatches(policy: CompiledPolicy, a: Affected, snapshot: Snapshot): boolean {
  return policy.match.some((sel) => matchesObjectSelector(sel, a.before ?? a.object, snapshot) || (a.before !== undefined && matchesObjectSelector(sel, a.object, snapshot)));
}

/**
 * The affected entries a policy matches with an effect in its operations. Selectors are judged once per group of
 * entries sharing group, kind and namespace; only groups some selector matches in part are tested object by object.
 */
function matchedBy(policy: CompiledPolicy, groups: readonly Affected[][], snapshot: Snapshot): Affected[] {
  const out: Affected[] = [];
  for (const group of groups) {
    const first = group[0];
    if (first === undefined) continue;
    const verdicts = policy.match.map((sel) => selectorGroupVerdict(sel, first.before ?? first.object, snapshot));
    if (verdicts.every((v) => v === 'none')) continue;
    const whole = verdicts.includes('all');
    for (const a of group) if (takesEffect(policy, a) && (whole || entryMatches(policy, a, snapshot))) out.push(a);
  }
  return out;
}

/**
 * Whether the policy's operations take in the entry: its effect; and a change in a pod's readiness (impact.ts) also
 * for a policy that judges DELETE, since it lowers a floor like a removal (availabilityViews keeps it to the floors).
 */
function takesEffect(policy: CompiledPolicy, a: Affected): boolean {
  return policy.operations.includes(a.effect) || (a.podAvailability !== undefined && policy.operations.includes('DELETE'));
}

/**
 * The policy as it binds a governed requester. Where it took in a change of a pod's readiness only because it judges
 * DELETE (takesEffect), only its minAvailable invariants see that change: its other invariants see the operations
 * they name.
 */
function availabilityViews(policy: CompiledPolicy, matched: Affected[]): { policy: CompiledPolicy; matched: Affected[] }[] {
  if (policy.operations.includes('UPDATE') || !matched.some((a) => a.podAvailability !== undefined)) return [{ policy, matched }];
  const floors = policy.invariants.filter((i) => i.kind === 'minAvailable');
  const others = policy.invariants.filter((i) => i.kind !== 'minAvailable');
  const rest = matched.filter((a) => a.podAvailability === undefined);
  const views: { policy: CompiledPolicy; matched: Affected[] }[] = [];
  if (others.length > 0 && rest.length > 0) views.push({ policy: { ...policy, invariants: others }, matched: rest });
  if (floors.length > 0) views.push({ policy: { ...policy, invariants: floors }, matched });
  return views;
}

// ------------------------------------------------------------------------------------------------ stage: invariants

interface RequestContext {
  request: AdmissionRequest;
  input: DecisionInput;
  impact: Impact;
  /** impact.affected grouped by group, kind and namespace. */
  groups: Affected[][];
  /** The leases that may cover something the request affects (the others cannot matter). */
  leases: LeaseState[];
  /** matchedBy results by policy match signature, for this decision. */
  matchedBySignature: Map<string, Affected[]>;
  /** Whether the impact holds `statusOnly` entries (workloads whose pods go), which only floors judge. */
  statusOnly: boolean;
  /** Matched lists without their statusOnly entries. */
  writes: WeakMap<Affected[], Affected[]>;
  before: Snapshot;
  after: Snapshot;
  now: number;
  vars: CelVariables;
  lease: KubeObject | null;
  /** The CEL reads of the cluster, recorded as the programs run. */
  lookups: Map<string, Lookup>;
  /** False for requesters judged only by the effects protect and floors guard. */
  governed: boolean;
}

const PODS_WENT: InvariantResult = { result: 'pass', message: 'only the ready count of a matched workload changes' };

function invariantsOf(policy: CompiledPolicy, matched: Affected[], ctx: RequestContext): { results: [string, InvariantResult][] } {
  const matchesPolicy = (o: KubeObject): boolean => policy.match.some((sel) => matchesObjectSelector(sel, o, ctx.before));
  const writes = writesOf(matched, ctx);
  const results: [string, InvariantResult][] = policy.invariants.map((inv) => [
    inv.name,
    inv.kind !== 'minAvailable' && writes.length === 0 ? PODS_WENT : evaluateInvariant(inv, {
      policy: policy.name,
      request: ctx.request,
      impact: ctx.impact,
      matched: inv.kind === 'minAvailable' ? matched : writes,
      before: ctx.before,
      after: ctx.after,
      now: ctx.now,
      subjectKey: ctx.request.userInfo.username,
      budgets: ctx.input.budgets,
      matchesPolicy,
      vars: ctx.vars,
      lease: ctx.lease,
    }),
  ]);
  return { results };
}

/** Files one invariant's result under pass, budget, avert or violation. */
function recordInvariant(policy: CompiledPolicy, entry: { name: string; r: InvariantResult; matched: Affected[] }, out: PolicyOutcome): void {
  const { name, r, matched } = entry;
  out.checks.push({ source: `policy/${policy.name}/${name}`, result: r.result, message: r.message });
  if (r.result === 'pass') {
    if (r.budget !== undefined) out.budgets.push(r.budget);
    // Only a floor that would deny is reserved: a Warn or Audit policy never refuses, so it need not serialize.
    if (r.floors !== undefined && policy.enforcement === 'Deny') out.floors.push(...r.floors);
    return;
  }
  if (r.result === 'error' && policy.failurePolicy === 'Ignore') return;
  if (r.result === 'fail' && r.patch !== undefined && r.patched !== undefined) {
    out.averts.push({ policy: policy.name, invariant: name, patch: r.patch, patched: r.patched });
    return;
  }
  const message = r.result === 'error' ? `could not be decided (failurePolicy Fail): ${r.message}` : r.message;
  out.violations.push({ policy, invariant: name, enforcement: policy.enforcement, message, matched, error: r.result === 'error' });
}

/** Policies with the same match and operations (tenants' copies of one rule) share one computation per decision. */
const matchSignatures = new WeakMap<CompiledPolicy, string>();

function signatureOf(policy: CompiledPolicy): string {
  let sig = matchSignatures.get(policy);
  if (sig === undefined) {
    sig = JSON.stringify([policy.match, policy.operations]);
    matchSignatures.set(policy, sig);
  }
  return sig;
}

function matchedFor(policy: CompiledPolicy, ctx: RequestContext): Affected[] {
  const sig = signatureOf(policy);
  let matched = ctx.matchedBySignature.get(sig);
  if (matched === undefined) {
    matched = matchedBy(policy, ctx.groups, ctx.before);
    ctx.matchedBySignature.set(sig, matched);
  }
  return matched;
}

/**
 * The policy as the effect guard applies it: its protect and minAvailable invariants, protect on removals only, floors
 * not on a pod's readiness (a status write by the kubelet or another ungoverned identity is the truth floors count).
 */
function effectView(policy: CompiledPolicy, matched: Affected[]): { policy: CompiledPolicy; matched: Affected[] }[] {
  const protect = policy.invariants.filter((i) => i.kind === 'protect');
  const floors = policy.invariants.filter((i) => i.kind === 'minAvailable');
  const removed = matched.filter((a) => a.effect === 'DELETE' && a.statusOnly !== true);
  const reduced = matched.some((a) => a.podAvailability !== undefined) ? matched.filter((a) => a.podAvailability === undefined) : matched;
  const views: { policy: CompiledPolicy; matched: Affected[] }[] = [];
  if (protect.length > 0 && removed.length > 0) views.push({ policy: { ...policy, invariants: protect }, matched: removed });
  if (floors.length > 0 && reduced.length > 0) views.push({ policy: { ...policy, invariants: floors }, matched: reduced });
  return views;
}

/** The policy (or the part of it) that judges this requester, with what it matched; empty when nothing does. */
function viewsFor(policy: CompiledPolicy, ctx: RequestContext): { binds: boolean; views: { policy: CompiledPolicy; matched: Affected[] }[] } {
  const binds = ctx.governed && policyBinds(policy, ctx.request);
  // A governed service account a policy's subjects leave out is not bound by it; everyone else who is not bound (the
  // controllers, admins, impersonated identities) still meets its protect and floors.
  if (!binds && ctx.governed && serviceAccountOf(ctx.request.userInfo) !== undefined) return { binds, views: [] };
  const all = relevantMatches(policy, matchedFor(policy, ctx), ctx);
  if (all.length === 0) return { binds, views: [] };
  return { binds, views: binds ? availabilityViews(policy, all) : effectView(policy, all) };
}

function evaluatePolicy(policy: CompiledPolicy, ctx: RequestContext, out: PolicyOutcome): void {
  const { binds, views } = viewsFor(policy, ctx);
  if (views.length === 0) return;
  const conditions = evaluateConditions(policy, { now: ctx.now, metrics: ctx.input.metrics, vars: ctx.vars });
  out.conditionChecks.push(...conditions.checks);
  if (!conditions.applies) {
    const why = conditions.relaxedBy !== undefined ? `relaxed by ${conditions.relaxedBy}` : 'enforceWhen does not hold';
    out.checks.push({ source: `policy/${policy.name}`, result: 'relaxed', message: why });
    return;
  }
  out.readsState = true;
  out.consulted.push(policy);
  for (const view of views) {
    for (const [name, r] of invariantsOf(view.policy, view.matched, ctx).results) {
      const guarded = binds || r.result !== 'fail' ? r : { ...r, message: `${r.message}; ${effectHint(policy, ctx.request)}` };
      recordInvariant(view.policy, { name, r: guarded, matched: view.matched }, out);
    }
  }
}

/** What a user reads on a removal the effect guard stopped: that it holds for everyone, and what lifts it. */
function effectHint(policy: CompiledPolicy, request: AdmissionRequest): string {
  const sa = serviceAccountOf(request.userInfo);
  const subject = sa !== undefined ? `{kind: ServiceAccount, namespace: ${sa.namespace}, name: ${sa.name}}` : `{kind: User, name: ${request.userInfo.username}}`;
  return `guarded whoever removes it (a controller, an admin, an impersonated identity); a SutureException with policies: [${policy.name}] and subjects: [${subject}] lifts it`;
}

/**
 * Entries that only lower a workload's ready count (its pods go, impact.ts `statusOnly`) concern availability floors
 * alone: a policy without minAvailable does not apply to them, and only its minAvailable invariants see them.
 */
function relevantMatches(policy: CompiledPolicy, matched: Affected[], ctx: RequestContext): Affected[] {
  if (!ctx.statusOnly) return matched;
  return policy.invariants.some((inv) => inv.kind === 'minAvailable') ? matched : writesOf(matched, ctx);
}

/** The entries that write to their object (not `statusOnly`), computed once per matched list. */
function writesOf(matched: Affected[], ctx: RequestContext): Affected[] {
  if (!ctx.statusOnly) return matched;
  let writes = ctx.writes.get(matched);
  if (writes === undefined) {
    writes = matched.filter((a) => a.statusOnly !== true);
    ctx.writes.set(matched, writes);
  }
  return writes;
}

const policyIndexes = new WeakMap<readonly CompiledPolicy[], SelectorIndex<CompiledPolicy>>();
const leaseIndexes = new WeakMap<readonly LeaseState[], SelectorIndex<LeaseState>>();

function evaluatePolicies(ctx: RequestContext): PolicyOutcome {
  const out: PolicyOutcome = { violations: [], budgets: [], floors: [], averts: [], checks: [], conditionChecks: [], readsState: false, consulted: [] };
  const candidates = indexFor(policyIndexes, ctx.input.policies, (p) => p.match).candidates(ctx.groups);
  for (const policy of candidates) evaluatePolicy(policy, ctx, out);
  return out;
}

/** The leases that may cover what the request affects. */
function touchingLeases(leases: readonly LeaseState[], groups: readonly Affected[][], snapshot: Snapshot): LeaseState[] {
  const candidates = indexFor(leaseIndexes, leases, (l) => l.lease.spec.resources).candidates(groups);
  return leasesTouching(leases, groups, snapshot, candidates);
}

// ------------------------------------------------------------------------------------------------ stage: exceptions

function exceptionCovers(ex: CompiledException, subjectOk: boolean, objects: readonly Affected[], snapshot: Snapshot): boolean {
  if (!subjectOk) return false;
  if (ex.match.length === 0) return true;
  return objects.every((a) => ex.match.some((sel) => matchesObjectSelector(sel, a.before ?? a.object, snapshot)));
}

function activeExceptions(request: AdmissionRequest, input: DecisionInput, now: number): { ex: CompiledException; subjectOk: boolean }[] {
  return input.exceptions
    .filter((ex) => ex.expiresAt > now)
    .map((ex) => ({ ex, subjectOk: ex.subjects.some((s) => subjectMatches(s, request.userInfo)) }));
}

// ------------------------------------------------------------------------------------------------ stage: respond

const VERBS: Record<string, string> = { CREATE: 'create', UPDATE: 'update', DELETE: 'delete', CONNECT: 'connect' };

/** The name a request acts on: its own, else its object's (a CREATE may carry only generateName). */
function requestName(request: AdmissionRequest): string {
  const meta = request.object?.metadata ?? request.oldObject?.metadata;
  return request.name ?? meta?.name ?? meta?.generateName ?? '';
}

/** "zk/data-0", or "zk" for a Namespace (the API server gives a Namespace its own name as namespace). */
function requestWhere(request: AdmissionRequest): string {
  const name = requestName(request);
  const isNamespace = request.kind.group === '' && request.kind.kind === 'Namespace';
  return request.namespace && !isNamespace ? `${request.namespace}/${name}` : name;
}

/** "delete PersistentVolumeClaim zk/data-0", "update scale of statefulsets mq/rabbit" */
export function describeRequest(request: AdmissionRequest): string {
  const verb = VERBS[request.operation] ?? request.operation.toLowerCase();
  const what = request.subResource ? `${request.subResource} of ${request.resource.resource}` : request.kind.kind;
  return `${verb} ${what} ${requestWhere(request)}`.trim();
}

function impactPhrase(impact: Impact): string {
  const counts = impact.counts ?? { created: impact.created.length, changed: impact.changed.length, deleted: impact.deleted.length };
  const parts: string[] = [];
  if (counts.deleted > 0) parts.push(`removes ${counts.deleted} object${counts.deleted === 1 ? '' : 's'}`);
  if (counts.changed > 0) parts.push(`changes ${counts.changed}`);
  if (counts.created > 0) parts.push(`creates ${counts.created}`);
  return parts.length > 0 ? `impact: ${parts.join(', ')}` : 'impact: none';
}

function violationText(v: Violation): string {
  return `SuturePolicy ${v.policy.name}, invariant ${v.invariant}: ${v.message}`;
}

function leaseText(v: LeaseViolation): string {
  return v.message;
}

interface Verdictable {
  leaseViolations: LeaseViolation[];
  violations: Violation[];
  /** What the request would do to create or empower an ungoverned identity. */
  identityViolations: string[];
}

function verdictOf(v: Verdictable): Verdict {
  if (v.leaseViolations.length > 0 || v.identityViolations.length > 0) return Verdicts.Deny;
  const denying = v.violations.filter((x) => x.enforcement === 'Deny');
  if (denying.some((x) => !x.error)) return Verdicts.Deny;
  if (denying.length > 0) return Verdicts.Error;
  if (v.violations.some((x) => x.enforcement === 'Warn')) return Verdicts.Warn;
  if (v.violations.length > 0) return Verdicts.Audit;
  return Verdicts.Allow;
}

function messageOf(request: AdmissionRequest, v: Verdictable & { verdict: Verdict; impact: Impact; id: string }): string {
  if (v.verdict === Verdicts.Allow) return '';
  const head = `${describeRequest(request)} by ${request.userInfo.username}`;
  const identities = v.identityViolations.map((x) => `Suture identities: ${x} (a SutureException with policies: [${IDENTITIES_POLICY}] lifts it)`);
  const reasons = [...identities, ...v.leaseViolations.map(leaseText), ...v.violations.filter((x) => x.enforcement === 'Deny').map(violationText)];
  const warned = v.violations.filter((x) => x.enforcement !== 'Deny').map(violationText);
  const all = reasons.length > 0 ? reasons : warned;
  const outcome = v.verdict === Verdicts.Deny || v.verdict === Verdicts.Error ? 'denied' : v.verdict === Verdicts.Warn ? 'warned' : 'audited';
  return `${head} ${outcome}: ${all.join('; ')} (${impactPhrase(v.impact)}) [decision ${v.id}]`;
}

// ------------------------------------------------------------------------------------------------ the pipeline

function leaseOfTarget(request: AdmissionRequest, leases: readonly LeaseState[], snapshot: Snapshot): KubeObject | null {
  const target = request.object ?? request.oldObject;
  if (target === undefined || target === null) return null;
  const found = leases.find((l) => l.granted && leaseCovers(l.lease, target, snapshot) !== undefined);
  return found?.lease ?? null;
}

function requestContext(request: AdmissionRequest, input: DecisionInput, now: number): RequestContext {
  const before = input.snapshot;
  const impact = computeImpact(request, before, { maxObjects: IMPACT_CAP });
  const after = projectSnapshot(before, impact);
  const groups = groupAffected(impact);
  const leases = touchingLeases(input.leases, groups, before);
  const lease = leaseOfTarget(request, leases, before);
  const lookups = new Map<string, Lookup>();
  const vars = celVariables({
    lookups,
    ...(input.cel === undefined ? {} : { budget: input.cel }),
    request,
    object: request.object ?? null,
    oldObject: request.oldObject ?? null,
    impact: { deleted: impact.deleted, changed: impact.changed, created: impact.created },
    before,
    after,
    lease,
    now,
  });
  const statusOnly = impact.affected.some((a) => a.statusOnly === true);
  return { request, input, impact, groups, leases, matchedBySignature: new Map(), statusOnly, writes: new WeakMap(), before, after, now, vars, lease, lookups, governed: true };
}

/**
 * A decision that looked at no impact: the request allowed (or, with `verdict`, refused) with `message` and one
 * trace record. The exempt stage uses it, and so do the edges for what they decide without the core.
 */
export function plainDecision(id: string, outcome: { verdict: Verdict; message: string; stage: StageRecord['stage']; summary: string }): Decision {
  return {
    id,
    verdict: outcome.verdict,
    allowed: outcome.verdict !== Verdicts.Deny && outcome.verdict !== Verdicts.Error,
    message: outcome.message,
    warnings: [],
    patch: [],
    auditAnnotations: {},
    budgets: [],
    floors: [],
    exceptionsUsed: [],
    violations: [],
    leaseViolations: [],
    readsClusterState: false,
    consulted: { policies: [], leases: [], lookups: [] },
    failurePolicy: 'Ignore',
    impact: { created: 0, changed: 0, deleted: 0, sample: [] },
    trace: [{ stage: outcome.stage, summary: outcome.summary, checks: [] }],
  };
}

function exemptDecision(request: AdmissionRequest, reason: string): Decision {
  return plainDecision(request.uid, { verdict: Verdicts.Allow, message: '', stage: 'exempt', summary: reason });
}

/** Removes the violations an active exception lifts; returns the names of the exceptions used. */
function applyExceptions(ctx: RequestContext, v: Verdictable, checks: CheckResult[]): string[] {
  const used = new Set<string>();
  const active = activeExceptions(ctx.request, ctx.input, ctx.now);
  const liftPolicy = (x: Violation): boolean => {
    const ex = active.find((a) => a.ex.policies.includes(x.policy.name) && exceptionCovers(a.ex, a.subjectOk, x.matched, ctx.before));
    if (ex === undefined) return false;
    used.add(ex.ex.name);
    checks.push({ source: `exception/${ex.ex.name}`, result: 'excepted', message: `lifts policy ${x.policy.name} (${ex.ex.reason})` });
    return true;
  };
  const liftLease = (x: LeaseViolation): boolean => {
    const ex = active.find((a) => a.ex.leases.includes(x.lease) && exceptionCovers(a.ex, a.subjectOk, ctx.impact.affected, ctx.before));
    if (ex === undefined) return false;
    used.add(ex.ex.name);
    checks.push({ source: `exception/${ex.ex.name}`, result: 'excepted', message: `lifts lease ${x.lease} (${ex.ex.reason})` });
    return true;
  };
  v.violations = v.violations.filter((x) => !liftPolicy(x));
  v.leaseViolations = v.leaseViolations.filter((x) => !liftLease(x));
  const identities = active.find((a) => a.ex.policies.includes(IDENTITIES_POLICY) && exceptionCovers(a.ex, a.subjectOk, ctx.impact.affected, ctx.before));
  if (identities !== undefined && v.identityViolations.length > 0) {
    used.add(identities.ex.name);
    checks.push({ source: `exception/${identities.ex.name}`, result: 'excepted', message: `lifts ${IDENTITIES_POLICY} (${identities.ex.reason})` });
    v.identityViolations = [];
  }
  return [...used];
}

function sampleOf(impact: Impact): string[] {
  return impact.affected.slice(0, IMPACT_SAMPLE).map((a) => `${a.effect.toLowerCase()} ${describeObject(a.before ?? a.object)}${a.via === 'target' ? '' : ` (${a.via})`}`);
}

function auditAnnotationsOf(id: string, verdict: Verdict, violations: readonly Violation[]): Record<string, string> {
  const out: Record<string, string> = { [AUDIT_DECISION]: id, [AUDIT_VERDICT]: verdict };
  const policies = [...new Set(violations.map((v) => v.policy.name))];
  if (policies.length > 0) out[AUDIT_POLICY] = policies.join(',');
  return out;
}

/** Re-checks an averted request with the patches applied; the averts hold only if the patched request passes. */
function avertedDecision(request: AdmissionRequest, input: DecisionInput, now: Date, outcome: PolicyOutcome): Decision | undefined {
  const last = outcome.averts[outcome.averts.length - 1];
  if (last === undefined) return undefined;
  const patched = { ...request, object: last.patched };
  const recheck = decide(patched, input, now, { avert: false });
  if (!recheck.allowed) return undefined;
  const names = outcome.averts.map((a) => `SuturePolicy ${a.policy}, invariant ${a.invariant}: set ${a.patch.map((p) => p.path).join(', ')}`);
  const warning = `${describeRequest(request)} by ${request.userInfo.username} averted: ${names.join('; ')} [decision ${request.uid}]`;
  return { ...recheck, averted: true, patch: [...recheck.patch, ...outcome.averts.flatMap((a) => a.patch)], warnings: [warning, ...recheck.warnings], message: recheck.message || warning };
}

/** The verdict, message and record from the stages' findings. */
function respond(ctx: RequestContext, found: { state: Verdictable; outcome: PolicyOutcome; stamp: JsonPatchOperation[]; exceptionsUsed: string[] }, trace: StageRecord[]): Decision {
  const { state, outcome } = found;
  const verdict = verdictOf(state);
  const id = ctx.request.uid;
  const message = messageOf(ctx.request, { ...state, verdict, impact: ctx.impact, id });
  const allowed = verdict !== Verdicts.Deny && verdict !== Verdicts.Error;
  trace.push({ stage: 'respond', summary: `${verdict}${message ? `: ${message}` : ''}`, checks: [] });
  const counts = ctx.impact.counts ?? { created: ctx.impact.created.length, changed: ctx.impact.changed.length, deleted: ctx.impact.deleted.length };
  return {
    id,
    verdict,
    allowed,
    message,
    warnings: verdict === Verdicts.Warn ? [message] : [],
    patch: allowed ? found.stamp : [],
    auditAnnotations: auditAnnotationsOf(id, verdict, state.violations),
    budgets: allowed ? outcome.budgets : [],
    floors: allowed ? outcome.floors : [],
    exceptionsUsed: found.exceptionsUsed,
    violations: state.violations.map((v) => ({ policy: v.policy.name, invariant: v.invariant, enforcement: v.enforcement, message: v.message })),
    leaseViolations: state.leaseViolations,
    readsClusterState: outcome.readsState || ctx.impact.affected.length > 1,
    consulted: {
      policies: outcome.consulted.map((p) => p.name),
      leases: ctx.leases.map((l) => `${l.lease.metadata.namespace ?? ''}/${l.lease.metadata.name ?? ''}`),
      lookups: [...ctx.lookups.values()],
    },
    failurePolicy: outcome.consulted.some((p) => p.failurePolicy === 'Fail') || state.leaseViolations.length > 0 ? 'Fail' : 'Ignore',
    impact: { ...counts, sample: sampleOf(ctx.impact) },
    trace,
  };
}

/**
 * Decides one admission request. `input` holds the cluster state as the caches saw it, the compiled policies, the
 * judged leases and the exceptions; `now` is the only clock. Never throws for any input a caller can build.
 */
export function decide(request: AdmissionRequest, input: DecisionInput, now: Date, options: DecideOptions = {}): Decision {
  const exempt = exemptReason(request, input);
  if (exempt !== undefined) return exemptDecision(request, exempt);
  const ungoverned = ungovernedReason(request, input);
  const ctx = { ...requestContext(request, input, now.getTime()), governed: ungoverned === undefined };
  const trace: StageRecord[] = [
    { stage: 'exempt', summary: ungoverned ?? `${request.userInfo.username} is governed`, checks: [] },
    { stage: 'impact', summary: impactPhrase(ctx.impact), checks: [] },
  ];
  const { identityViolations, leases, stamp } = governedStages(ctx, trace);

  const outcome = evaluatePolicies(ctx);
  trace.push({ stage: 'conditions', summary: `${outcome.conditionChecks.length} condition(s) evaluated`, checks: outcome.conditionChecks });
  trace.push({ stage: 'invariants', summary: `${outcome.violations.length} violation(s)`, checks: outcome.checks });

  const onlyAverts = outcome.averts.length > 0 && outcome.violations.length === 0 && leases.violations.length === 0 && identityViolations.length === 0;
  const averted = options.avert !== false && onlyAverts ? avertedDecision(request, input, now, outcome) : undefined;
  if (averted !== undefined) return { ...averted, patch: [...stamp, ...averted.patch] };

  const state: Verdictable = { violations: outcome.violations, leaseViolations: leases.violations, identityViolations };
  // Reached with averts only when re-checking, when the re-check failed, or when something else denies anyway.
  state.violations.push(...outcome.averts.map((a) => unavertable(a, input)));
  const exceptionChecks: CheckResult[] = [];
  const exceptionsUsed = applyExceptions(ctx, state, exceptionChecks);
  trace.push({ stage: 'exceptions', summary: `${exceptionsUsed.length} exception(s) used`, checks: exceptionChecks });
  return respond(ctx, { state, outcome, stamp, exceptionsUsed }, trace);
}

/** The stages that bind governed identities only: identities (no laundering) and leases. */
function governedStages(ctx: RequestContext, trace: StageRecord[]): { identityViolations: string[]; leases: ReturnType<typeof checkLeases>; stamp: JsonPatchOperation[] } {
  const { request, input } = ctx;
  if (!ctx.governed) {
    trace.push({ stage: 'identities', summary: 'not governed', checks: [] });
    trace.push({ stage: 'leases', summary: 'leases bind governed identities only', checks: [] });
    return { identityViolations: [], leases: { violations: [], checks: [] }, stamp: [] };
  }
  const identityViolations = launderingBinds(request, input) ? launderingViolations(request, input.identities) : [];
  trace.push({ stage: 'identities', summary: `${identityViolations.length} identity violation(s)`, checks: identityViolations.map((m) => ({ source: IDENTITIES_POLICY, result: 'fail', message: m })) });
  const leases = checkLeases(request, ctx.impact, ctx.leases, ctx.before);
  trace.push({ stage: 'leases', summary: `${leases.violations.length} lease violation(s)`, checks: leases.checks });
  return { identityViolations, leases, stamp: stampPatch(request, ctx.leases, ctx.before) };
}

/** An avert that re-checking could not confirm counts as the failure it tried to avert. */
function unavertable(a: PolicyOutcome['averts'][number], input: DecisionInput): Violation {
  const policy = input.policies.find((p) => p.name === a.policy) as CompiledPolicy;
  return { policy, invariant: a.invariant, enforcement: policy.enforcement, message: 'the averted object still breaks the invariant', matched: [], error: false };
}
