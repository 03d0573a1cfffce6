// When a policy applies: `enforceWhen` (all must hold) and `relaxWhen` (any one relaxes). Pure: the clock is `now`,
// metrics come from a MetricReader the edge keeps fresh, expressions are compiled CEL.
//
// A condition that cannot be evaluated (an expression error, a metric that is missing, failed or stale) follows the
// policy's failurePolicy: Fail fails closed (an undecidable enforceWhen holds, an undecidable relaxWhen does not
// relax: the policy is enforced), Ignore fails open (the policy does not apply). Either way the result says so in
// `undecidable`, and the check is recorded with result 'error'.
import { CronExpression, CronExpressionParser, type CronFieldCollection } from 'cron-parser';
import type { FailurePolicy } from '../api/types.js';
import { evaluateBool, formatCelIssue, type CelProgram, type CelVariables } from './cel.js';
import type { CheckResult, MetricReader } from './types.js';
import { formatDuration } from './units.js';

// ------------------------------------------------------------------------------------------------ compiled shapes

export interface CompiledSchedule {
  kind: 'schedule';
  cron: string;
  fields: CronFieldCollection;
  durationSeconds: number;
  timeZone: string;
}

export interface CompiledExpressionCondition {
  kind: 'expression';
  program: CelProgram;
}

export interface CompiledMetricCondition {
  kind: 'metric';
  url: string;
  query: string;
  below?: number;
  above?: number;
  staleAfterSeconds: number;
}

export type CompiledCondition = CompiledSchedule | CompiledExpressionCondition | CompiledMetricCondition;

/** The default age after which a metric sample no longer counts. */
export const DEFAULT_STALE_AFTER_SECONDS = 120;

// ------------------------------------------------------------------------------------------------ schedules

const CRON_MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

/** Whether an IANA time zone name is known to this runtime. */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** Parses a five-field cron expression (or a macro such as @daily); a message says what is wrong. */
export function parseCron(cron: string, timeZone: string): { ok: true; fields: CronFieldCollection } | { ok: false; message: string } {
  const text = cron.trim();
  const fieldCount = text.split(/\s+/).length;
  if (!CRON_MACROS.includes(text) && fieldCount !== 5) {
    return { ok: false, message: `Invalid value: ${JSON.stringify(cron)}: a cron schedule has 5 fields (minute hour day-of-month month day-of-week), found ${fieldCount}` };
  }
  try {
    const expr = CronExpressionParser.parse(text, { tz: isKnownTimeZone(timeZone) ? timeZone : 'UTC' });
    return { ok: true, fields: expr.fields };
  } catch (e) {
    return { ok: false, message: `Invalid value: ${JSON.stringify(cron)}: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** The most recent fire time at or before `now` (ms), or undefined when there is none. */
export function lastFire(schedule: CompiledSchedule, now: number): number | undefined {
  try {
    // cron-parser's prev() is strictly before currentDate: start just after now so a fire at `now` counts.
    const expr = new CronExpression(schedule.fields, { tz: schedule.timeZone, currentDate: new Date(now + 1) });
    let t = expr.prev().getTime();
    if (t > now) t = expr.prev().getTime();
    return t;
  } catch {
    return undefined;
  }
}

/**
 * A schedule window is active when the most recent fire time at or before now is less than `duration` ago. Fire
 * times are computed in the schedule's time zone, so "0 2 * * *" in Europe/Berlin fires at 00:00Z in summer and
 * 01:00Z in winter; the duration is elapsed time. A wall-clock time skipped by a DST change does not fire that day;
 * one repeated fires twice (cron-parser's behaviour).
 */
export function scheduleActive(schedule: CompiledSchedule, now: number): { active: boolean; message: string } {
  const fired = lastFire(schedule, now);
  const what = `schedule "${schedule.cron}" (${schedule.timeZone}) for ${formatDuration(schedule.durationSeconds)}`;
  if (fired === undefined) return { active: false, message: `${what}: has not fired` };
  const active = now - fired < schedule.durationSeconds * 1000;
  const since = new Date(fired).toISOString();
  return { active, message: `${what}: ${active ? 'in window' : 'outside window'}, last fired ${since}` };
}

// ------------------------------------------------------------------------------------------------ evaluation

export interface ConditionContext {
  /** Milliseconds since the epoch. */
  now: number;
  metrics: MetricReader;
  /** The CEL variables of the request (cel.ts celVariables), for expression conditions. */
  vars: CelVariables;
}

/** What one condition found: holds, does not hold, or could not be evaluated. */
export interface ConditionOutcome {
  state: 'true' | 'false' | 'unknown';
  message: string;
}

function metricOutcome(c: CompiledMetricCondition, metrics: MetricReader): ConditionOutcome {
  const what = `metric ${JSON.stringify(c.query)}`;
  const sample = metrics.read(c.url, c.query);
  if (sample === undefined) return { state: 'unknown', message: `${what}: no sample yet` };
  if ('error' in sample) return { state: 'unknown', message: `${what}: ${sample.error}` };
  if (sample.ageSeconds > c.staleAfterSeconds) {
    return { state: 'unknown', message: `${what}: sample is stale (${Math.round(sample.ageSeconds)}s old, staleAfter ${formatDuration(c.staleAfterSeconds)})` };
  }
  const below = c.below === undefined || sample.value < c.below;
  const above = c.above === undefined || sample.value > c.above;
  const bounds = [c.below === undefined ? '' : `below ${c.below}`, c.above === undefined ? '' : `above ${c.above}`].filter((s) => s !== '').join(' and ');
  const holds = below && above;
  return { state: holds ? 'true' : 'false', message: `${what} = ${sample.value}, ${holds ? 'is' : 'is not'} ${bounds}` };
}

/** Evaluates one condition. */
export function evaluateCondition(c: CompiledCondition, ctx: ConditionContext): ConditionOutcome {
  switch (c.kind) {
    case 'schedule': {
      const s = scheduleActive(c, ctx.now);
      return { state: s.active ? 'true' : 'false', message: s.message };
    }
    case 'expression': {
      const r = evaluateBool(c.program, ctx.vars);
      if (!r.ok) return { state: 'unknown', message: `expression ${JSON.stringify(c.program.source)}: ${formatCelIssue(r.error, c.program.source)}` };
      return { state: r.value ? 'true' : 'false', message: `expression ${JSON.stringify(c.program.source)} is ${r.value}` };
    }
    case 'metric':
      return metricOutcome(c, ctx.metrics);
  }
}

export interface ConditionsResult {
  /** Whether the policy's invariants are to be checked for this request. */
  applies: boolean;
  /** The relaxWhen condition that relaxed the policy, e.g. `relaxWhen[0]`. */
  relaxedBy?: string;
  checks: CheckResult[];
  /** Why a condition could not be evaluated; `applies` then followed the failure policy. */
  undecidable?: string;
}

/** What evaluateConditions needs of a compiled policy. */
export interface ConditionalPolicy {
  name: string;
  failurePolicy: FailurePolicy;
  enforceWhen: readonly CompiledCondition[];
  relaxWhen: readonly CompiledCondition[];
}

interface Evaluated {
  label: string;
  outcome: ConditionOutcome;
}

function evaluateAll(list: readonly CompiledCondition[], field: string, ctx: ConditionContext): Evaluated[] {
  return list.map((c, i) => ({ label: `${field}[${i}]`, outcome: evaluateCondition(c, ctx) }));
}

/**
 * Decides whether a policy applies: every enforceWhen must hold and no relaxWhen may hold. Conditions that cannot be
 * evaluated follow the policy's failurePolicy (see the head of this file).
 */
export function evaluateConditions(policy: ConditionalPolicy, ctx: ConditionContext): ConditionsResult {
  const failClosed = policy.failurePolicy !== 'Ignore';
  const enforce = evaluateAll(policy.enforceWhen, 'enforceWhen', ctx);
  const relax = evaluateAll(policy.relaxWhen, 'relaxWhen', ctx);
  const unknown = [...enforce, ...relax].filter((e) => e.outcome.state === 'unknown');
  const undecidable = unknown.length === 0 ? undefined : unknown.map((e) => `${e.label}: ${e.outcome.message}`).join('; ');

  const enforceHolds = enforce.every((e) => e.outcome.state === 'true' || (e.outcome.state === 'unknown' && failClosed));
  const relaxedBy = relax.find((e) => e.outcome.state === 'true')?.label;
  const relaxUnknown = relax.some((e) => e.outcome.state === 'unknown');
  const relaxed = relaxedBy !== undefined || (relaxUnknown && !failClosed);
  const applies = enforceHolds && !relaxed;

  const source = (label: string): string => `condition/${policy.name}/${label}`;
  const checks: CheckResult[] = [
    ...enforce.map((e) => ({ source: source(e.label), result: resultOf(e.outcome), message: e.outcome.message })),
    ...relax.map((e) => ({ source: source(e.label), result: e.label === relaxedBy ? ('relaxed' as const) : resultOf(e.outcome), message: e.outcome.message })),
  ];
  const out: ConditionsResult = { applies, checks };
  if (relaxedBy !== undefined && enforceHolds) out.relaxedBy = relaxedBy;
  if (undecidable !== undefined) {
    const policyText = failClosed ? 'failurePolicy Fail: the policy is enforced' : 'failurePolicy Ignore: the policy does not apply';
    out.undecidable = `${undecidable} (${policyText})`;
  }
  return out;
}

function resultOf(o: ConditionOutcome): CheckResult['result'] {
  if (o.state === 'unknown') return 'error';
  return o.state === 'true' ? 'pass' : 'fail';
}
