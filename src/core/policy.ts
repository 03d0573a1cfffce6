// Compiling SuturePolicies and SutureExceptions: validate (core/validate.ts), apply defaults, compile every CEL
// program and cron schedule once. decide() only ever sees compiled objects.
import type { Enforcement, FailurePolicy, FieldError, ObjectSelector, Operation, Subject, SutureException, SuturePolicy } from '../api/types.js';
import { Operations } from '../api/schema.js';
import { CelResultTypes, compileCel, type CelProgram, type LookupKind } from './cel.js';
import { DEFAULT_STALE_AFTER_SECONDS, parseCron, type CompiledCondition } from './conditions.js';
import type { Invariant, PolicyCondition } from '../api/types.js';
import { parseDurationSeconds } from './units.js';
import { DEFAULT_MAX_EXCEPTION_SECONDS, validateException, validatePolicy } from './validate.js';

// ------------------------------------------------------------------------------------------------ shapes

export interface CompiledAvertEntry {
  path: string;
  /** A literal: `value` read as JSON when it parses (2, true, {"a":1}), else as the string itself. */
  value?: unknown;
  valueExpression?: CelProgram;
}

interface InvariantBase {
  name: string;
  message?: string;
  messageExpression?: CelProgram;
  avert?: CompiledAvertEntry[];
}

/** What each kind of invariant needs, defaults applied. */
export type InvariantKindPart =
  | { kind: 'protect' }
  | { kind: 'minAvailable'; count?: number; percent?: number }
  | { kind: 'monotonic'; paths: string[]; direction: 'Increase' | 'Decrease' }
  | { kind: 'immutable'; paths: string[] }
  | { kind: 'maxCascade'; count: number }
  | { kind: 'budget'; count: number; windowSeconds: number; per: 'Subject' | 'Policy' }
  | { kind: 'expression'; program: CelProgram };

export type CompiledInvariant = InvariantBase & InvariantKindPart;

export interface CompiledPolicy {
  name: string;
  uid?: string;
  generation?: number;
  /** The policy as applied, for records and status. */
  source: SuturePolicy;
  enforcement: Enforcement;
  failurePolicy: FailurePolicy;
  /** Empty: every governed identity. */
  subjects: Subject[];
  match: ObjectSelector[];
  operations: Operation[];
  invariants: CompiledInvariant[];
  enforceWhen: CompiledCondition[];
  relaxWhen: CompiledCondition[];
  /** The kinds its CEL reads with constant apiVersion and kind (the cache holds them in full). */
  lookupKinds: LookupKind[];
  /** True when some CEL read computes its kind: the edge reads those live. */
  dynamicLookups: boolean;
}


// ------------------------------------------------------------------------------------------------ policies

/** Thrown only inside this module when a piece that validation accepted fails to compile (never expected). */
class CompileFailure extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

function cel(source: string, path: string, type: (typeof CelResultTypes)[keyof typeof CelResultTypes]): CelProgram {
  const r = compileCel(source, type);
  if (!r.ok) throw new CompileFailure(path, r.error.message);
  return r.program;
}

function literal(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function compileAvert(inv: Invariant, path: string): CompiledAvertEntry[] | undefined {
  if (inv.avert === undefined) return undefined;
  return inv.avert.set.map((s, j) => {
    const entry: CompiledAvertEntry = { path: s.path };
    if (s.valueExpression !== undefined) entry.valueExpression = cel(s.valueExpression, `${path}.avert.set[${j}].valueExpression`, CelResultTypes.Any);
    else entry.value = literal(s.value ?? '');
    return entry;
  });
}

function durationOf(text: string, path: string): number {
  const s = parseDurationSeconds(text);
  if (s === undefined) throw new CompileFailure(path, `invalid duration ${text}`);
  return s;
}

function compileKind(inv: Invariant, path: string): InvariantKindPart {
  if (inv.protect !== undefined) return { kind: 'protect' };
  if (inv.minAvailable !== undefined) return { kind: 'minAvailable', ...inv.minAvailable };
  if (inv.monotonic !== undefined) return { kind: 'monotonic', paths: [...inv.monotonic.paths], direction: inv.monotonic.direction };
  if (inv.immutable !== undefined) return { kind: 'immutable', paths: [...inv.immutable.paths] };
  if (inv.maxCascade !== undefined) return { kind: 'maxCascade', count: inv.maxCascade.count };
  if (inv.budget !== undefined) {
    return { kind: 'budget', count: inv.budget.count, windowSeconds: durationOf(inv.budget.window, `${path}.budget.window`), per: inv.budget.per ?? 'Subject' };
  }
  if (inv.expression !== undefined) return { kind: 'expression', program: cel(inv.expression, `${path}.expression`, CelResultTypes.Bool) };
  throw new CompileFailure(path, 'no invariant kind');
}

function compileInvariant(inv: Invariant, path: string): CompiledInvariant {
  const base: InvariantBase = { name: inv.name };
  if (inv.message !== undefined) base.message = inv.message;
  if (inv.messageExpression !== undefined) base.messageExpression = cel(inv.messageExpression, `${path}.messageExpression`, CelResultTypes.String);
  const avert = compileAvert(inv, path);
  if (avert !== undefined) base.avert = avert;
  return { ...base, ...compileKind(inv, path) };
}

function compileCondition(c: PolicyCondition, path: string): CompiledCondition {
  if (c.schedule !== undefined) {
    const timeZone = c.schedule.timeZone ?? 'UTC';
    const cron = parseCron(c.schedule.cron, timeZone);
    if (!cron.ok) throw new CompileFailure(`${path}.schedule.cron`, cron.message);
    return { kind: 'schedule', cron: c.schedule.cron, fields: cron.fields, durationSeconds: durationOf(c.schedule.duration, `${path}.schedule.duration`), timeZone };
  }
  if (c.expression !== undefined) return { kind: 'expression', program: cel(c.expression, `${path}.expression`, CelResultTypes.Bool) };
  if (c.metric !== undefined) {
    const m = c.metric;
    const staleAfterSeconds = m.staleAfter === undefined ? DEFAULT_STALE_AFTER_SECONDS : durationOf(m.staleAfter, `${path}.metric.staleAfter`);
    return { kind: 'metric', url: m.url, query: m.query, staleAfterSeconds, ...(m.below === undefined ? {} : { below: m.below }), ...(m.above === undefined ? {} : { above: m.above }) };
  }
  throw new CompileFailure(path, 'no condition kind');
}

/**
 * Validates a SuturePolicy and compiles it: defaults applied (enforcement Deny, failurePolicy Fail, every operation,
 * budget per Subject, schedule time zone UTC, metric staleAfter 2m), CEL programs and cron schedules compiled.
 */
export function compilePolicy(policy: SuturePolicy): { ok: true; policy: CompiledPolicy } | { ok: false; errors: FieldError[] } {
  const errors = validatePolicy(policy);
  if (errors.length > 0) return { ok: false, errors };
  try {
    return { ok: true, policy: buildPolicy(policy) };
  } catch (e) {
    if (e instanceof CompileFailure) return { ok: false, errors: [{ path: e.path, message: e.message }] };
    return { ok: false, errors: [{ path: 'spec', message: `internal error while compiling: ${e instanceof Error ? e.message : String(e)}` }] };
  }
}

/** Every CEL program of a compiled policy. */
function programsOf(policy: CompiledPolicy): CelProgram[] {
  const out: CelProgram[] = [];
  for (const inv of policy.invariants) {
    if (inv.kind === 'expression') out.push(inv.program);
    if (inv.messageExpression !== undefined) out.push(inv.messageExpression);
    for (const a of inv.avert ?? []) if (a.valueExpression !== undefined) out.push(a.valueExpression);
  }
  for (const c of [...policy.enforceWhen, ...policy.relaxWhen]) if (c.kind === 'expression') out.push(c.program);
  return out;
}

function buildPolicy(policy: SuturePolicy): CompiledPolicy {
  const spec = policy.spec;
  const compiled: CompiledPolicy = {
    name: policy.metadata.name ?? '',
    source: policy,
    enforcement: spec.enforcement ?? 'Deny',
    failurePolicy: spec.failurePolicy ?? 'Fail',
    subjects: [...(spec.subjects ?? [])],
    match: [...spec.match],
    operations: spec.operations !== undefined && spec.operations.length > 0 ? [...new Set(spec.operations)] : [...Operations],
    invariants: spec.invariants.map((inv, i) => compileInvariant(inv, `spec.invariants[${i}]`)),
    enforceWhen: (spec.enforceWhen ?? []).map((c, i) => compileCondition(c, `spec.enforceWhen[${i}]`)),
    relaxWhen: (spec.relaxWhen ?? []).map((c, i) => compileCondition(c, `spec.relaxWhen[${i}]`)),
    lookupKinds: [],
    dynamicLookups: false,
  };
  const programs = programsOf(compiled);
  const kinds = new Map(programs.flatMap((p) => p.lookupKinds).map((k) => [`${k.apiVersion}|${k.kind}`, k]));
  compiled.lookupKinds = [...kinds.values()];
  compiled.dynamicLookups = programs.some((p) => p.dynamicLookups);
  if (policy.metadata.uid !== undefined) compiled.uid = policy.metadata.uid;
  if (policy.metadata.generation !== undefined) compiled.generation = policy.metadata.generation;
  return compiled;
}

// ------------------------------------------------------------------------------------------------ exceptions

export interface CompiledException {
  name: string;
  source: SutureException;
  policies: string[];
  /** Leases as namespace/name. */
  leases: string[];
  subjects: Subject[];
  /** Empty: every object the named policies and leases cover. */
  match: ObjectSelector[];
  /** Milliseconds since the epoch. */
  expiresAt: number;
  reason: string;
  /** Whether it is past its expiry at the `now` it was compiled with. */
  expired: boolean;
}

/**
 * Validates and compiles a SutureException at `now`. An exception whose expiresAt has passed compiles (expired:
 * true) so the reconciler can report it as expired; validateException refuses one at admission.
 */
export function compileException(ex: SutureException, now: Date | number, maxDurationSeconds = DEFAULT_MAX_EXCEPTION_SECONDS): { ok: true; exception: CompiledException } | { ok: false; errors: FieldError[] } {
  const errors = validateException(ex, now, maxDurationSeconds, true);
  if (errors.length > 0) return { ok: false, errors };
  const t = typeof now === 'number' ? now : now.getTime();
  const expiresAt = Date.parse(ex.spec.expiresAt);
  return {
    ok: true,
    exception: {
      name: ex.metadata.name ?? '',
      source: ex,
      policies: [...(ex.spec.policies ?? [])],
      leases: (ex.spec.leases ?? []).map((l) => `${l.namespace}/${l.name}`),
      subjects: [...ex.spec.subjects],
      match: [...(ex.spec.match ?? [])],
      expiresAt,
      reason: ex.spec.reason,
      expired: expiresAt <= t,
    },
  };
}
