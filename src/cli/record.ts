// A decision record (GET /decisions/<id> on a Suture replica) as a person reads it: verdict and message first, then
// who asked for what, the impact in numbers with its sample, what each lease and policy said, and every stage of
// the pipeline with its checks. Pure: text in, lines out.
import type { DecisionRecord } from '../admission/recorder.js';
import type { CheckResult, Decision, StageRecord } from '../core/types.js';

const VERDICT_TEXT: Readonly<Record<Decision['verdict'], string>> = {
  allow: 'ALLOWED',
  deny: 'DENIED',
  warn: 'ALLOWED with a warning',
  audit: 'ALLOWED (recorded by an Audit policy)',
  error: 'DENIED: could not be decided (failurePolicy Fail)',
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Whether a parsed body is a decision record (enough of one to print). */
export function isDecisionRecord(value: unknown): value is DecisionRecord {
  if (!isRecord(value) || typeof value.id !== 'string' || !isRecord(value.decision)) return false;
  return typeof value.decision.verdict === 'string' && Array.isArray(value.decision.trace);
}

function field(label: string, value: string): string {
  return `${label.padEnd(11)}${value}`;
}

function verdictLine(d: Decision): string {
  const text = VERDICT_TEXT[d.verdict] ?? d.verdict;
  return d.averted === true ? `${text} (averted: the request was patched)` : text;
}

function impactLines(d: Decision): string[] {
  const { created, changed, deleted, sample } = d.impact;
  const lines = [field('Impact', `removes ${deleted}, changes ${changed}, creates ${created}`)];
  for (const s of sample) lines.push(`  - ${s}`);
  const total = created + changed + deleted;
  if (total > sample.length && sample.length > 0) lines.push(`  … and ${total - sample.length} more`);
  return lines;
}

function findingLines(d: Decision): string[] {
  const lines: string[] = [];
  if (d.leaseViolations.length > 0 || d.violations.length > 0) lines.push('Findings');
  for (const v of d.leaseViolations) lines.push(`  lease ${v.lease} (held by ${v.holder.kind} ${v.holder.namespace === undefined ? '' : `${v.holder.namespace}/`}${v.holder.name}): ${v.message}`);
  for (const v of d.violations) lines.push(`  SuturePolicy ${v.policy}, invariant ${v.invariant} [${v.enforcement}]: ${v.message}`);
  return lines;
}

const RESULT_MARK: Readonly<Record<CheckResult['result'], string>> = { pass: 'pass', fail: 'FAIL', error: 'ERROR', skip: 'skip', relaxed: 'relaxed', excepted: 'excepted' };

function stageLines(stage: StageRecord): string[] {
  const lines = [`  ${stage.stage.padEnd(11)}${stage.summary}`];
  for (const c of stage.checks) lines.push(`    ${(RESULT_MARK[c.result] ?? c.result).padEnd(9)}${c.source}: ${c.message}`);
  return lines;
}

function floorLine(f: Decision['floors'][number]): string {
  // Records written before pods not yet ready were reserved lack `leaving`.
  const leaving = f.leaving ?? [];
  const starting = leaving.length === 0 ? '' : `${f.count > 0 ? ', and' : ':'} removes ${leaving.length} not yet ready (${leaving.map((p) => p.name).join(', ')}), reserved in case they turn ready first`;
  return `${f.policy}/${f.invariant}${f.count > 0 ? `: removes ${f.count} of ${f.before} ${f.what}, at least ${f.required}` : ''}${starting}`;
}

function extraLines(d: Decision): string[] {
  const lines: string[] = [];
  for (const w of d.warnings) if (w !== d.message) lines.push(field('Warning', w));
  if (d.patch.length > 0) lines.push(field('Patch', d.patch.map((p) => `${p.op} ${p.path}${p.value === undefined ? '' : ` = ${JSON.stringify(p.value)}`}`).join('; ')));
  if (d.budgets.length > 0) lines.push(field('Budgets', d.budgets.map((b) => `${b.policy}/${b.invariant}: ${b.count} of ${b.limit} per ${b.windowSeconds}s${b.key === '' ? '' : ` for ${b.key}`}`).join('; ')));
  // Records written before floors were reserved lack the field.
  const floors = d.floors ?? [];
  if (floors.length > 0) lines.push(field('Floors', floors.map(floorLine).join('; ')));
  if (d.exceptionsUsed.length > 0) lines.push(field('Exceptions', d.exceptionsUsed.join(', ')));
  return lines;
}

/** The record as lines of text. */
export function formatRecord(record: DecisionRecord): string[] {
  const d = record.decision;
  return [
    field('Decision', `${record.id}${record.dryRun ? ' (dry run)' : ''}`),
    field('At', record.at),
    field('Verdict', verdictLine(d)),
    ...(d.message === '' ? [] : [field('Message', d.message)]),
    field('Requester', record.subject),
    field('Request', record.request),
    ...impactLines(d),
    ...findingLines(d),
    ...extraLines(d),
    'Stages',
    ...d.trace.flatMap(stageLines),
  ];
}
