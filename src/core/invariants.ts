// Evaluating one compiled invariant against a request's impact. Pure: state comes in as snapshots (before and the
// projected after), budgets as a ledger, the clock as `now`. Three outcomes: pass, fail, error (could not decide).
import type { KubeObject } from '../api/types.js';
import { celVariables, evaluateBool, formatCelIssue, fromCelValue, type CelVariables } from './cel.js';
import type { CompiledAvertEntry, CompiledInvariant } from './policy.js';
import { escapePointerToken, jsonEqual, lookupPointer, pointerSegments, type Lookup } from './json.js';
import { isActivePod, isAvailablePod, podsOf } from './controllers.js';
import { removesUnpinned } from './evictions.js';
import { describeObject, objectKeyString } from './snapshot.js';
import type { Affected, AdmissionRequest, BudgetLedger, BudgetUse, FloorUse, Impact, JsonPatchOperation, PodRef, Snapshot } from './types.js';
import { formatDuration, parseQuantity } from './units.js';

export interface InvariantContext {
  /** The policy's name (for budgets and messages). */
  policy: string;
  request: AdmissionRequest;
  impact: Impact;
  /** The impact entries that match the policy's `match` with an effect in its `operations`. */
  matched: readonly Affected[];
  before: Snapshot;
  /** The projected state after the request. */
  after: Snapshot;
  /** Milliseconds since the epoch. */
  now: number;
  /** The requester's username (budget key for per: Subject). */
  subjectKey: string;
  budgets: BudgetLedger;
  /** Whether an object matches the policy's `match` (minAvailable counts matching pods outside the impact too). */
  matchesPolicy: (o: KubeObject) => boolean;
  /** The request's CEL variables (cel.ts celVariables); built from the fields above when absent. */
  vars?: CelVariables;
  /** The lease covering the target, for CEL's `lease`. */
  lease?: KubeObject | null;
}

export interface InvariantResult {
  result: 'pass' | 'fail' | 'error';
  message: string;
  /** What the request consumes of a budget invariant if it is let through; the edge records it. */
  budget?: BudgetUse;
  /** The removals a passing `minAvailable` makes against its floor; the edge reserves them across requests. */
  floors?: FloorUse[];
  /** On a failed CREATE/UPDATE with `avert`: the patch that would avert it; re-check `patched` before using it. */
  patch?: JsonPatchOperation[];
  patched?: KubeObject;
}

// ------------------------------------------------------------------------------------------------ object helpers

/** Up to `limit` objects by name, then "and N more". */
export function describeObjects(objects: readonly KubeObject[], limit = 3): string {
  const named = objects.slice(0, limit).map(describeObject).join(', ');
  return objects.length > limit ? `${named} and ${objects.length - limit} more` : named;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

const NOISE = new Set(['apiVersion', 'kind', 'metadata', 'status']);

/** A change in substance: spec, data or any other content field, or labels; status and metadata bookkeeping are noise. */
export function objectChanged(before: KubeObject, after: KubeObject): boolean {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)].filter((k) => !NOISE.has(k)));
  for (const k of keys) if (!jsonEqual(before[k], after[k])) return true;
  return !jsonEqual(before.metadata.labels ?? {}, after.metadata.labels ?? {});
}

// ------------------------------------------------------------------------------------------------ protect

function protect(ctx: InvariantContext): Pick<InvariantResult, 'result' | 'message'> {
  const removed = ctx.matched.filter((a) => a.effect === 'DELETE').map((a) => a.object);
  const changed = ctx.matched.filter((a) => a.effect === 'UPDATE' && a.statusOnly !== true && a.before !== undefined && objectChanged(a.before, a.object)).map((a) => a.object);
  if (removed.length === 0 && changed.length === 0) return { result: 'pass', message: 'no protected object removed or changed' };
  const parts: string[] = [];
  if (removed.length > 0) parts.push(`would delete ${plural(removed.length, 'protected object')}: ${describeObjects(removed)}`);
  if (changed.length > 0) parts.push(`would change ${plural(changed.length, 'protected object')}: ${describeObjects(changed)}`);
  return { result: 'fail', message: parts.join('; ') };
}

// ------------------------------------------------------------------------------------------------ minAvailable

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'ReplicaSet', 'DaemonSet', 'ReplicationController']);

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function field(o: KubeObject | undefined, part: 'spec' | 'status', key: string): number | undefined {
  const p = o?.[part];
  return p !== null && typeof p === 'object' ? num((p as Record<string, unknown>)[key]) : undefined;
}

function readyOf(o: KubeObject | undefined): number {
  if (o?.kind === 'DaemonSet') return field(o, 'status', 'numberReady') ?? 0;
  return field(o, 'status', 'readyReplicas') ?? 0;
}

function desiredOf(o: KubeObject | undefined): number {
  if (o?.kind === 'DaemonSet') return field(o, 'status', 'desiredNumberScheduled') ?? 0;
  return field(o, 'spec', 'replicas') ?? 1;
}

function required(inv: { count?: number; percent?: number }, base: number): number {
  if (inv.count !== undefined) return inv.count;
  return Math.ceil(((inv.percent ?? 0) * base) / 100);
}

interface Availability {
  what: string;
  before: number;
  after: number;
  required: number;
  /** What is counted: a workload's object key, or "pods" for the pods the policy matches (FloorUse.scope). */
  scope: string;
  /** The available pods the request removes, by uid, where counted from pods (FloorUse.removes). */
  removes: string[];
  /** The available pods `after` counts, by uid (FloorUse.counted). */
  counted: string[];
  /** The pods not available yet that the request removes (FloorUse.leaving). */
  leaving: PodRef[];
  /** The available pods `after` was capped from, where the controller keeps fewer (FloorUse.uncapped). */
  uncapped?: number;
}

function uidsOf(pods: readonly KubeObject[]): string[] {
  return pods.flatMap((p) => (p.metadata.uid !== undefined && p.metadata.uid !== '' ? [p.metadata.uid] : []));
}

/** The uids of the available pods in `before` that `after` no longer holds available. */
function removedPods(before: readonly KubeObject[], after: readonly KubeObject[]): string[] {
  const still = new Set(after.map((p) => p.metadata.uid));
  return before.flatMap((p) => (p.metadata.uid !== undefined && p.metadata.uid !== '' && !still.has(p.metadata.uid) ? [p.metadata.uid] : []));
}

/**
 * The pods of `before` not available but not leaving either (they may turn ready any moment) that `after` lacks —
 * only where the request may remove another pod than the one judged (core/evictions.ts `removesUnpinned`).
 */
function leavingPods(ctx: InvariantContext, before: readonly KubeObject[], after: readonly KubeObject[]): PodRef[] {
  if (!removesUnpinned(ctx.request)) return [];
  const starting = before.filter((p) => !isAvailablePod(p) && isActivePod(p));
  const gone = new Set(removedPods(starting, after));
  return starting.filter((p) => gone.has(p.metadata.uid ?? '')).map((p) => ({ uid: p.metadata.uid ?? '', namespace: p.metadata.namespace ?? '', name: p.metadata.name ?? '' }));
}

/** The ready count a workload's status claims, or its projected count after the request's scale-down. */
function statusAvailability(a: Affected, old: KubeObject): { before: number; after: number } {
  const before = readyOf(old);
  if (a.effect === 'DELETE') return { before, after: 0 };
  // The ready count the object claims after the request: lowered by removed pods (statusOnly), or by a status write,
  // which a governed identity's request is judged by like any write. An object sent without status claims nothing.
  let after = a.object['status'] === undefined ? before : Math.min(before, readyOf(a.object));
  const replicas = field(a.object, 'spec', 'replicas');
  if (old.kind !== 'DaemonSet' && replicas !== undefined && replicas !== field(old, 'spec', 'replicas')) after = Math.min(after, replicas);
  return { before, after };
}

/**
 * Ready replicas of a workload before and after the request, counted from its pods wherever the snapshot holds any
 * (docs/concepts.md, "Pods count toward their owners": a forged status cannot open a floor; a pod already terminating is
 * not available, as for the disruption controller); from its status only when no pod of it is known. After the
 * request: the pods the projected state still holds, at most the new replica count.
 */
function workloadAvailability(a: Affected, inv: { count?: number; percent?: number }, ctx: InvariantContext): Availability | undefined {
  if (a.effect === 'CREATE') return undefined; // nothing was available yet
  const old = a.before ?? a.object;
  const what = `ready replicas of ${describeObject(old)}`;
  const need = required(inv, desiredOf(old));
  const scope = objectKeyString(old);
  const podsBefore = podsOf(old, ctx.before);
  if (podsBefore.length === 0) return { what, ...statusAvailability(a, old), required: need, scope, removes: [], counted: [], leaving: [] };
  const availableBefore = podsBefore.filter(isAvailablePod);
  const before = availableBefore.length;
  if (a.effect === 'DELETE') return { what, before, after: 0, required: need, scope, removes: removedPods(availableBefore, []), counted: [], leaving: leavingPods(ctx, podsBefore, []) };
  const podsAfter = podsOf(old, ctx.after);
  const availableAfter = podsAfter.filter(isAvailablePod);
  const replicas = old.kind === 'DaemonSet' ? undefined : (field(a.object, 'spec', 'replicas') ?? field(old, 'spec', 'replicas'));
  const kept = keptPods(a.object, availableAfter, replicas);
  const uncapped = kept.count < kept.pods.length ? { uncapped: kept.pods.length } : {};
  return { what, before, after: kept.count, ...uncapped, required: need, scope, removes: removedPods(availableBefore, availableAfter), counted: uidsOf(kept.pods), leaving: leavingPods(ctx, podsBefore, podsAfter) };
}

/**
 * The available pods a workload's controller keeps at `replicas`, whether the scale-down is this request's or one
 * allowed earlier that the controller has not carried out yet: a StatefulSet's ordinals below `replicas` (it removes
 * the highest first); at most `replicas` of anyone else's (which ones it removes is its choice: every pod stays
 * counted, so removals others reserved are taken from the capped count, which errs on the side of the floor).
 * Counting the pods a pending scale-down removes let a pod removal right after an allowed 3 → 2 take a floor of 2 to
 * 1 (found by the randomised safety test, test/safety).
 */
function keptPods(workload: KubeObject, available: readonly KubeObject[], replicas: number | undefined): { count: number; pods: readonly KubeObject[] } {
  if (replicas === undefined) return { count: available.length, pods: available };
  if (workload.kind !== 'StatefulSet') return { count: Math.min(available.length, replicas), pods: available };
  const spec = workload.spec as { ordinals?: { start?: unknown } } | undefined;
  const start = typeof spec?.ordinals?.start === 'number' ? spec.ordinals.start : 0;
  const prefix = `${workload.metadata.name ?? ''}-`;
  const kept = available.filter((p) => {
    const name = p.metadata.name ?? '';
    const ordinal = name.startsWith(prefix) ? Number(name.slice(prefix.length)) : Number.NaN;
    return !Number.isInteger(ordinal) || ordinal < start + replicas;
  });
  return { count: kept.length, pods: kept };
}

function podAvailability(ctx: InvariantContext, inv: { count?: number; percent?: number }): Availability {
  const gone = new Set(ctx.impact.deleted.filter((o) => o.kind === 'Pod').map(objectKeyString));
  const beforePods = ctx.before.list('', 'Pod').filter(ctx.matchesPolicy);
  const afterPods = ctx.after.list('', 'Pod').filter((p) => !gone.has(objectKeyString(p)) && ctx.matchesPolicy(p));
  const availableBefore = beforePods.filter(isAvailablePod);
  const availableAfter = afterPods.filter(isAvailablePod);
  return {
    what: 'ready Pods the policy matches',
    before: availableBefore.length,
    after: availableAfter.length,
    required: required(inv, beforePods.length),
    scope: 'pods',
    removes: removedPods(availableBefore, availableAfter),
    counted: uidsOf(availableAfter),
    leaving: leavingPods(ctx, beforePods, afterPods),
  };
}

/**
 * What a passing request leans on: each floor it lowers, with the removals it counts, and each floor whose pods it
 * removes before they were available (they may be by the time they go). The edge reserves them so that removals
 * admitted at once, each judged alone, cannot together cross the floor (admission/floors.ts).
 */
function floorUses(name: string, checks: readonly Availability[], ctx: InvariantContext): FloorUse[] {
  return checks
    .filter((c) => c.after < c.before || c.leaving.length > 0)
    .map((c) => ({ policy: ctx.policy, invariant: name, scope: c.scope, what: c.what, removes: c.removes, counted: c.counted, leaving: c.leaving, count: Math.max(0, c.before - c.after), before: c.before, after: c.after, ...(c.uncapped === undefined ? {} : { uncapped: c.uncapped }), required: c.required }));
}

/**
 * Pods this request marks available (its status write sets Ready, Affected.podAvailability `raised`) that a floor would then
 * count: refused. A floor counts readiness as the kubelet reports it; a pod a governed identity marked Ready before its
 * kubelet did would let the next removal cross the floor (found by the randomised safety test, test/safety).
 */
function assertedReadiness(checks: readonly Availability[], ctx: InvariantContext): string[] {
  if (!ctx.matched.some((a) => a.podAvailability === 'raised')) return [];
  const raised = new Map<string, KubeObject>();
  for (const a of ctx.impact.affected) if (a.podAvailability === 'raised' && a.object.kind === 'Pod' && a.object.metadata.uid !== undefined) raised.set(a.object.metadata.uid, a.object);
  return checks.flatMap((c) =>
    c.counted.flatMap((uid) => {
      const pod = raised.get(uid);
      return pod === undefined ? [] : [`would count ${describeObject(pod)} among ${c.what} because this status write marks it ready; a floor takes a pod's readiness from its kubelet only`];
    }),
  );
}

function minAvailable(name: string, inv: { count?: number; percent?: number }, ctx: InvariantContext): Pick<InvariantResult, 'result' | 'message' | 'floors'> {
  const checks: Availability[] = ctx.matched
    .filter((a) => WORKLOAD_KINDS.has(a.object.kind))
    .map((a) => workloadAvailability(a, inv, ctx))
    .filter((x): x is Availability => x !== undefined);
  if (ctx.matched.some((a) => a.object.kind === 'Pod' && a.effect !== 'CREATE')) checks.push(podAvailability(ctx, inv));
  if (checks.length === 0) return { result: 'pass', message: 'no workload or pod availability affected' };
  const asserted = assertedReadiness(checks, ctx);
  if (asserted.length > 0) return { result: 'fail', message: asserted.join('; ') };
  // A request fails when it lowers availability below the minimum; one that does not lower it (a fix to an
  // already degraded workload) passes.
  const broken = checks.filter((c) => c.after < c.required && c.after < c.before);
  if (broken.length === 0) return { result: 'pass', message: checks.map((c) => `${c.after} ${c.what} after the request (at least ${c.required})`).join('; '), floors: floorUses(name, checks, ctx) };
  return {
    result: 'fail',
    message: broken.map((c) => `would leave ${c.what} at ${c.after} (${c.before} now); at least ${c.required} required`).join('; '),
  };
}

// ------------------------------------------------------------------------------------------------ immutable / monotonic

function updates(ctx: InvariantContext): { before: KubeObject; after: KubeObject }[] {
  return ctx.matched.filter((a) => a.effect === 'UPDATE' && a.statusOnly !== true && a.before !== undefined).map((a) => ({ before: a.before as KubeObject, after: a.object }));
}

function shown(v: Lookup): string {
  return v.found ? (typeof v.value === 'string' ? v.value : JSON.stringify(v.value) ?? 'undefined') : '(unset)';
}

function immutable(paths: readonly string[], ctx: InvariantContext): Pick<InvariantResult, 'result' | 'message'> {
  const violations: string[] = [];
  for (const u of updates(ctx)) {
    for (const p of paths) {
      const a = lookupPointer(u.before, p);
      const b = lookupPointer(u.after, p);
      if (a.found !== b.found || (a.found && b.found && !jsonEqual(a.value, b.value))) violations.push(`would change ${p} of ${describeObject(u.after)} from ${shown(a)} to ${shown(b)}`);
    }
  }
  return violations.length === 0 ? { result: 'pass', message: `${paths.join(', ')} unchanged` } : { result: 'fail', message: violations.join('; ') };
}

function magnitude(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return parseQuantity(v);
  return undefined;
}

/** One path of one update: undefined when it moves the right way (or there is nothing to compare). */
function monotonicStep(u: { before: KubeObject; after: KubeObject }, p: string, direction: 'Increase' | 'Decrease'): { violation?: string; error?: string } | undefined {
  const a = lookupPointer(u.before, p);
  const b = lookupPointer(u.after, p);
  if (!a.found) return undefined; // nothing to compare with
  const what = `${p} of ${describeObject(u.after)}`;
  if (!b.found) return { violation: `would remove ${what} (was ${shown(a)})` };
  const x = magnitude(a.value);
  const y = magnitude(b.value);
  if (x === undefined || y === undefined) return { error: `cannot compare ${what}: ${shown(a)} and ${shown(b)} are not numbers or quantities` };
  if (direction === 'Increase' ? y < x : y > x) return { violation: `would ${direction === 'Increase' ? 'decrease' : 'increase'} ${what} from ${shown(a)} to ${shown(b)}` };
  return undefined;
}

function monotonic(paths: readonly string[], direction: 'Increase' | 'Decrease', ctx: InvariantContext): Pick<InvariantResult, 'result' | 'message'> {
  const steps = updates(ctx).flatMap((u) => paths.map((p) => monotonicStep(u, p, direction)));
  const violations = steps.flatMap((s) => (s?.violation === undefined ? [] : [s.violation]));
  const errors = steps.flatMap((s) => (s?.error === undefined ? [] : [s.error]));
  if (violations.length > 0) return { result: 'fail', message: violations.join('; ') };
  if (errors.length > 0) return { result: 'error', message: errors.join('; ') };
  return { result: 'pass', message: `${paths.join(', ')} ${direction === 'Increase' ? 'did not decrease' : 'did not increase'}` };
}

// ------------------------------------------------------------------------------------------------ maxCascade / budget

function maxCascade(count: number, ctx: InvariantContext): Pick<InvariantResult, 'result' | 'message'> {
  const n = ctx.impact.deleted.length;
  const what = `would remove ${plural(n, 'object')} in all${n > 0 ? ` (${describeObjects(ctx.impact.deleted)})` : ''}`;
  return n <= count ? { result: 'pass', message: `${what}; at most ${count} allowed` } : { result: 'fail', message: `${what}; at most ${count} allowed` };
}

function budget(inv: CompiledInvariant & { kind: 'budget' }, ctx: InvariantContext): InvariantResult {
  const key = inv.per === 'Policy' ? '' : ctx.subjectKey;
  const used = ctx.budgets.used(ctx.policy, inv.name, key, inv.windowSeconds);
  const n = ctx.matched.filter((a) => a.statusOnly !== true).length;
  const use: BudgetUse = { policy: ctx.policy, invariant: inv.name, key, count: n, windowSeconds: inv.windowSeconds, limit: inv.count };
  const whose = inv.per === 'Policy' ? 'for the policy' : `for ${key}`;
  const what = `${used} of ${inv.count} matching effects used in ${formatDuration(inv.windowSeconds)} ${whose}; this request makes ${n}`;
  return used + n <= inv.count ? { result: 'pass', message: what, budget: use } : { result: 'fail', message: `budget exhausted: ${what}`, budget: use };
}

// ------------------------------------------------------------------------------------------------ expression / avert

function varsOf(ctx: InvariantContext): CelVariables {
  if (ctx.vars !== undefined) return ctx.vars;
  return celVariables({
    request: ctx.request,
    object: ctx.request.object ?? null,
    oldObject: ctx.request.oldObject ?? null,
    impact: { deleted: ctx.impact.deleted, changed: ctx.impact.changed, created: ctx.impact.created },
    after: ctx.after,
    before: ctx.before,
    lease: ctx.lease ?? null,
    now: ctx.now,
  });
}

function failureMessage(inv: CompiledInvariant, vars: CelVariables, detail: string): string {
  if (inv.messageExpression !== undefined) {
    const m = inv.messageExpression.evaluate(vars);
    if (m.ok && typeof m.value === 'string') return m.value;
    const why = m.ok ? 'did not evaluate to a string' : formatCelIssue(m.error, inv.messageExpression.source);
    return `${inv.message ?? detail} (messageExpression failed: ${why})`;
  }
  return inv.message ?? detail;
}

function setAt(doc: Record<string, unknown>, segments: string[], value: unknown, patch: JsonPatchOperation[]): void {
  let cur: Record<string, unknown> = doc;
  let path = '';
  segments.forEach((seg, i) => {
    path += `/${escapePointerToken(seg)}`;
    const last = i === segments.length - 1;
    if (last) {
      const exists = Object.prototype.hasOwnProperty.call(cur, seg);
      patch.push({ op: exists ? 'replace' : 'add', path, value });
      cur[seg] = value;
      return;
    }
    const next = cur[seg];
    if (next === null || typeof next !== 'object') {
      patch.push({ op: next === undefined ? 'add' : 'replace', path, value: {} });
      cur[seg] = {};
    }
    cur = cur[seg] as Record<string, unknown>;
  });
}

/**
 * Applies an invariant's `avert.set` to a copy of `object`: literal values, or valueExpression evaluated with the
 * request's CEL variables. Returns the patched copy and the JSON Patch (RFC 6902) that produces it.
 */
export function applyAvert(object: KubeObject, set: readonly CompiledAvertEntry[], vars: CelVariables): { ok: true; object: KubeObject; patch: JsonPatchOperation[] } | { ok: false; error: string } {
  const copy = structuredClone(object);
  const patch: JsonPatchOperation[] = [];
  for (const entry of set) {
    let value = entry.value;
    if (entry.valueExpression !== undefined) {
      const r = entry.valueExpression.evaluate(vars);
      if (!r.ok) return { ok: false, error: `valueExpression for ${entry.path}: ${formatCelIssue(r.error, entry.valueExpression.source)}` };
      value = fromCelValue(r.value);
    }
    const segments = pointerSegments(entry.path);
    if (segments.length === 0) return { ok: false, error: 'avert cannot replace the whole object' };
    setAt(copy, segments, value, patch);
  }
  return { ok: true, object: copy, patch };
}

function expression(inv: CompiledInvariant & { kind: 'expression' }, vars: CelVariables): Pick<InvariantResult, 'result' | 'message'> {
  const r = evaluateBool(inv.program, vars);
  if (!r.ok) return { result: 'error', message: `expression could not be evaluated: ${formatCelIssue(r.error, inv.program.source)}` };
  if (r.value) return { result: 'pass', message: `expression holds` };
  return { result: 'fail', message: failureMessage(inv, vars, `expression ${JSON.stringify(inv.program.source)} is false`) };
}

function evaluateKind(inv: CompiledInvariant, ctx: InvariantContext): InvariantResult {
  switch (inv.kind) {
    case 'protect':
      return protect(ctx);
    case 'minAvailable':
      return minAvailable(inv.name, inv, ctx);
    case 'immutable':
      return immutable(inv.paths, ctx);
    case 'monotonic':
      return monotonic(inv.paths, inv.direction, ctx);
    case 'maxCascade':
      return maxCascade(inv.count, ctx);
    case 'budget':
      return budget(inv, ctx);
    case 'expression':
      return expression(inv, varsOf(ctx));
  }
}

function withAvert(inv: CompiledInvariant, ctx: InvariantContext, r: InvariantResult): InvariantResult {
  const op = ctx.request.operation;
  const object = ctx.request.object;
  if (inv.avert === undefined || (op !== 'CREATE' && op !== 'UPDATE') || object === undefined || object === null) return r;
  const a = applyAvert(object, inv.avert, varsOf(ctx));
  if (!a.ok) return { ...r, message: `${r.message} (avert failed: ${a.error})` };
  return { ...r, patch: a.patch, patched: a.object };
}

/** Evaluates one invariant. Never throws: anything unexpected is an 'error' result. */
export function evaluateInvariant(inv: CompiledInvariant, ctx: InvariantContext): InvariantResult {
  let r: InvariantResult;
  try {
    r = evaluateKind(inv, ctx);
  } catch (e) {
    return { result: 'error', message: `invariant could not be evaluated: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (r.result !== 'fail') return r;
  if (inv.kind !== 'expression' && (inv.message !== undefined || inv.messageExpression !== undefined)) {
    r = { ...r, message: `${failureMessage(inv, varsOf(ctx), r.message)} (${r.message})` };
  }
  return withAvert(inv, ctx, r);
}
