// The cost of a CEL expression, bounded twice, as Kubernetes bounds its own CEL (CRD validation rules and
// ValidatingAdmissionPolicy): @marcbachmann/cel-js has no cost model of its own.
//
// 1. At compile time, estimateCost() walks the checked AST and estimates the worst case: a list or string whose size
//    is not known when the expression compiles (a field of the object, impact.deleted, cluster.list(...)) is taken
//    to hold UNKNOWN_SIZE elements or characters, a comprehension costs its iterable's size times its step, a string
//    operation a tenth of its operands' sizes. Above ESTIMATED_COST_LIMIT the expression does not compile: the policy
//    is refused when it is applied, with a field error (nested comprehensions over unbounded lists, strings doubled
//    by cel.bind, …).
// 2. At run time, meter() wraps every node of the AST: each evaluation of a node costs 1, and a value a function or
//    operator reads or builds costs a tenth of its size (characters, elements, entries). Past RUNTIME_COST_LIMIT, or
//    past the caller's deadline (a clock the edge passes in: the core never reads one), the evaluation stops with a
//    CelLimitError; the caller's failurePolicy decides what that means, and the decision records why.
//
// 3. Regular expressions: `matches` runs on V8's linear-time engine (RegExp flag `l`, what RE2 — CEL's regex
//    dialect — guarantees) when the process enabled it (the operator does at start: --enable-experimental-regexp-engine);
//    without it, a pattern that can backtrack exponentially (a quantified group holding a quantifier or an
//    alternation, a backreference, a lookaround) is refused, at compile time when it is a constant.
//
// Pure: the meter is a per-program counter reset at each evaluation (evaluation is synchronous and never re-entered).

/** Kubernetes' StaticEstimatedCostLimit for CRD validation rules. */
export const ESTIMATED_COST_LIMIT = 10_000_000;
/** Kubernetes' per-call runtime limit (PerCallLimit) for one CEL evaluation. */
export const RUNTIME_COST_LIMIT = 1_000_000;
/** The elements of a list, characters of a string, entries of a map, assumed when they are unknown at compile time. */
export const UNKNOWN_SIZE = 10_000;
/** The deadline is read once every this many cost units (reading a clock costs more than evaluating a node). */
const DEADLINE_STRIDE = 1024;
/** A value read or built by a function or an operator costs one unit per this many characters, elements or entries. */
const SIZE_FACTOR = 10;

/** A wall-clock bound for one evaluation, given by the edge: the core calls `clock`, never a clock of its own. */
export interface CelDeadline {
  /** Monotonic milliseconds (e.g. performance.now). */
  clock: () => number;
  /** How long one evaluation may take. */
  perEvaluationMs: number;
}

/** The bounds of one evaluation. */
export interface CelBudget {
  /** Cost units one evaluation may spend (default RUNTIME_COST_LIMIT). */
  costLimit?: number;
  deadline?: CelDeadline;
}

/** Thrown inside an evaluation when its budget is spent; surfaces as an evaluation error naming the limit. */
export class CelLimitError extends Error {
  constructor(
    message: string,
    readonly range: { start: number; end: number } | undefined,
  ) {
    super(message);
  }
}

// ------------------------------------------------------------------------------------------------ the AST

type Evaluate = (this: unknown, ev: unknown, ast: unknown, ctx: unknown) => unknown;

interface CheckedType {
  kind?: string;
}

interface Macro {
  args?: unknown;
  var?: string;
  val?: AstNode;
  exp?: AstNode;
}

interface Comprehension {
  kind?: string;
  iterable: AstNode;
  init: AstNode;
  step: AstNode;
  iterVarName: string;
}

/** The parts of @marcbachmann/cel-js's ASTNode this module reads (lib/parser.js). */
interface AstNode {
  op: string;
  args: unknown;
  start: number;
  end: number;
  meta: { alternate?: AstNode; macro?: Macro; evaluate: Evaluate };
  checkedType?: CheckedType;
  evaluate: Evaluate;
}

function isAstNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && typeof (value as { op?: unknown }).op === 'string' && typeof (value as { meta?: unknown }).meta === 'object';
}

function nodesIn(value: unknown, out: AstNode[] = []): AstNode[] {
  if (isAstNode(value)) out.push(value);
  else if (Array.isArray(value)) for (const v of value) nodesIn(v, out);
  return out;
}

/** The nodes a node evaluates directly: its macro expansion, a macro's operands, or its arguments. */
function childrenOf(node: AstNode): AstNode[] {
  const { alternate, macro } = node.meta;
  if (alternate !== undefined) return [alternate];
  if (macro !== undefined) return nodesIn([macro.val, macro.exp, macro.args]);
  if (node.op === 'comprehension') {
    const c = node.args as Comprehension;
    return [c.iterable, c.init, c.step];
  }
  return nodesIn(node.args);
}

/** Operators and calls: they read their operands whole (a comparison, `in`, a string function). */
const READS_OPERANDS = new Set(['call', 'rcall', '+', '-', '*', '/', '%', '==', '!=', '<', '<=', '>', '>=', 'in']);
/** Operators and calls that build a new value (a concatenation, a function's result). */
const BUILDS_VALUE = new Set(['call', 'rcall', '+']);
const SCALAR_KINDS = new Set(['bool', 'int', 'uint', 'double', 'null', 'timestamp', 'duration', 'type']);

// ------------------------------------------------------------------------------------------------ static estimate

export interface CostEstimate {
  /** Estimated worst-case cost units of one evaluation. */
  cost: number;
  /** Estimated size of the value: elements, characters or entries (1 for a scalar). */
  size: number;
  /**
   * Whether the size is known from the expression (literals and what is built from them). A value read from the
   * request or the cluster has an unknown size: it is iterated as UNKNOWN_SIZE elements, but the estimate charges no
   * operand size for it (the runtime meter does) — `o.kind != 'Secret'` costs 3, not 1000.
   */
  exact: boolean;
}

/** The sizes of the variables bound around a node (comprehension variables, cel.bind). */
type Scope = ReadonlyMap<string, CostEstimate>;

const UNKNOWN: CostEstimate = { cost: 1, size: UNKNOWN_SIZE, exact: false };

function isScalar(node: AstNode): boolean {
  return SCALAR_KINDS.has(node.checkedType?.kind ?? 'dyn');
}

function literalSize(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (Array.isArray(value)) return value.length;
  return 1;
}

const LOOKUPS_THAT_READ_MANY = new Set(['list', 'count']);

function isManyLookup(node: AstNode): boolean {
  return node.op === 'rcall' && LOOKUPS_THAT_READ_MANY.has(String((node.args as unknown[])[0]));
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/**
 * An element of an iterable. The elements of a value of unknown size share its UNKNOWN_SIZE between them: the verbs
 * of all rules of a Role are at most as many as the Role has parts, so `rules.all(r, r.verbs.all(v, …))` is linear.
 */
function elementOf(iterable: CostEstimate): CostEstimate {
  if (iterable.exact) return { cost: 1, size: 1, exact: false };
  return { cost: 1, size: Math.max(1, UNKNOWN_SIZE / Math.max(1, iterable.size)), exact: false };
}

function estimateComprehension(c: Comprehension, scope: Scope): CostEstimate {
  const iterable = estimateNode(c.iterable, scope);
  const init = estimateNode(c.init, scope);
  const step = estimateNode(c.step, new Map(scope).set(c.iterVarName, elementOf(iterable)));
  const cost = iterable.cost + init.cost + iterable.size * (step.cost + 1);
  return { cost, size: c.kind === 'quantifier' ? 1 : iterable.size, exact: c.kind === 'quantifier' || iterable.exact };
}

function estimateMacro(node: AstNode, macro: Macro, scope: Scope): CostEstimate {
  if (macro.val !== undefined && macro.exp !== undefined && typeof macro.var === 'string') {
    const val = estimateNode(macro.val, scope);
    const exp = estimateNode(macro.exp, new Map(scope).set(macro.var, val));
    return { cost: val.cost + exp.cost + 1, size: exp.size, exact: exp.exact };
  }
  const parts = childrenOf(node).map((n) => estimateNode(n, scope));
  return { cost: 1 + sum(parts.map((p) => p.cost)), size: 1, exact: true };
}

/** The size of a call's or operator's result: its operands' total, 1 for a scalar, unknown for a lookup or a field. */
function resultSize(node: AstNode, operands: readonly CostEstimate[]): Pick<CostEstimate, 'size' | 'exact'> {
  if (isScalar(node)) return { size: 1, exact: true };
  if (isManyLookup(node)) return { size: UNKNOWN_SIZE, exact: false };
  if (node.op === '?:') {
    const branches = operands.slice(1);
    return { size: Math.max(...branches.map((o) => o.size)), exact: branches.every((o) => o.exact) };
  }
  if (BUILDS_VALUE.has(node.op)) return { size: Math.max(1, sum(operands.map((o) => o.size))), exact: operands.every((o) => o.exact) };
  // A field or an index: part of its operand, as big as the operand at worst.
  return { size: operands[0]?.size ?? UNKNOWN_SIZE, exact: false };
}

function estimateOperation(node: AstNode, scope: Scope): CostEstimate {
  const operands = childrenOf(node).map((n) => estimateNode(n, scope));
  let cost = 1;
  if (node.op === '?:') cost += (operands[0]?.cost ?? 0) + Math.max(...operands.slice(1).map((o) => o.cost));
  else cost += sum(operands.map((o) => o.cost));
  const result = resultSize(node, operands);
  if (READS_OPERANDS.has(node.op)) cost += sum(operands.filter((o) => o.exact).map((o) => o.size)) / SIZE_FACTOR;
  if (BUILDS_VALUE.has(node.op) && result.exact) cost += result.size / SIZE_FACTOR;
  if (isManyLookup(node)) cost += UNKNOWN_SIZE / SIZE_FACTOR;
  return { cost, ...result };
}

function estimateNode(node: AstNode, scope: Scope): CostEstimate {
  const { alternate, macro } = node.meta;
  if (alternate !== undefined) return estimateNode(alternate, scope);
  if (macro !== undefined) return estimateMacro(node, macro, scope);
  switch (node.op) {
    case 'value':
      return { cost: 1, size: literalSize(node.args), exact: true };
    case 'id': {
      if (isScalar(node)) return { cost: 1, size: 1, exact: true };
      const bound = scope.get(String(node.args));
      return bound === undefined ? UNKNOWN : { cost: 1, size: bound.size, exact: bound.exact };
    }
    case 'comprehension':
      return estimateComprehension(node.args as Comprehension, scope);
    case 'list':
    case 'map': {
      const parts = childrenOf(node).map((n) => estimateNode(n, scope));
      return { cost: 1 + sum(parts.map((p) => p.cost)), size: Math.max(1, (node.args as unknown[]).length), exact: true };
    }
    default:
      return estimateOperation(node, scope);
  }
}

/** The worst-case cost of one evaluation of a checked AST (see the head of this file). */
export function estimateCost(ast: unknown): CostEstimate {
  if (!isAstNode(ast)) return { cost: 0, size: 0, exact: true };
  return estimateNode(ast, new Map());
}

// ------------------------------------------------------------------------------------------------ runtime meter

/** What one evaluation has spent. */
class Meter {
  used = 0;
  limit = RUNTIME_COST_LIMIT;
  deadline: CelDeadline | undefined;
  startedAt = 0;
  nextCheck = DEADLINE_STRIDE;

  reset(budget: CelBudget | undefined): void {
    this.used = 0;
    this.limit = budget?.costLimit ?? RUNTIME_COST_LIMIT;
    this.deadline = budget?.deadline;
    this.startedAt = this.deadline?.clock() ?? 0;
    this.nextCheck = DEADLINE_STRIDE;
  }

  spend(units: number, node: AstNode): void {
    this.used += units;
    if (this.used > this.limit) throw new CelLimitError(`CEL cost limit exceeded: the evaluation spent more than ${this.limit} cost units`, { start: node.start, end: node.end });
    if (this.deadline === undefined || this.used < this.nextCheck) return;
    this.nextCheck = this.used + DEADLINE_STRIDE;
    const elapsed = this.deadline.clock() - this.startedAt;
    if (elapsed > this.deadline.perEvaluationMs) {
      this.used = Number.POSITIVE_INFINITY; // every later node fails at once (quantifiers catch and go on)
      throw new CelLimitError(`CEL deadline exceeded: the evaluation ran longer than ${this.deadline.perEvaluationMs} ms`, { start: node.start, end: node.end });
    }
  }

  /** Whether the last evaluation hit its limit (a value it returned anyway is not trusted). */
  get exhausted(): boolean {
    return this.used > this.limit;
  }
}

function sizeOf(value: unknown): number {
  if (typeof value === 'string' || Array.isArray(value)) return value.length;
  if (value instanceof Map || value instanceof Set) return value.size;
  if (value instanceof Uint8Array) return value.length;
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) return Object.keys(value).length;
  return 0;
}

/** The function a node runs when evaluated (after type checking, which may have replaced it). */
function innerEvaluate(node: AstNode): Evaluate {
  const { alternate, macro, evaluate } = node.meta;
  if (alternate !== undefined) return (ev, _ast, ctx) => alternate.evaluate(ev, alternate, ctx);
  if (macro !== undefined) return (ev, _ast, ctx) => (macro as unknown as AstNode).evaluate(ev, macro, ctx);
  return evaluate;
}

function wrap(node: AstNode, meter: Meter, sized: boolean): void {
  const builds = BUILDS_VALUE.has(node.op);
  const inner = matchesCall(node) ?? innerEvaluate(node);
  node.evaluate = function metered(ev: unknown, ast: unknown, ctx: unknown): unknown {
    meter.spend(1, node);
    const value = inner.call(this, ev, ast, ctx);
    if ((sized || builds) && !(value instanceof Promise)) {
      const size = sizeOf(value);
      if (size >= SIZE_FACTOR) meter.spend(Math.floor(size / SIZE_FACTOR) * (sized && builds ? 2 : 1), node);
    }
    return value;
  };
}

// ------------------------------------------------------------------------------------------------ regular expressions

interface Runner {
  run(node: AstNode, ctx: unknown): unknown;
}

/** RegExp's flag for V8's linear-time engine (a constant, so that linters do not take it for a typo). */
const LINEAR: string = 'l';

/** Whether this process enabled V8's linear-time regexp engine (the `l` flag); asked once, when first needed. */
let linearEngine: boolean | undefined;

function hasLinearEngine(): boolean {
  if (linearEngine === undefined) {
    try {
      linearEngine = new RegExp('a', LINEAR).test('a');
    } catch {
      linearEngine = false;
    }
  }
  return linearEngine;
}

interface Group {
  quantified: boolean;
  alternation: boolean;
}

const QUANTIFIERS = new Set(['*', '+', '{']);

/** Closes the innermost group; returns a risk when it is repeated and holds a quantifier or an alternation. */
function closeGroup(open: Group[], repeated: boolean): string | undefined {
  const group = open.pop();
  if (group === undefined) return undefined;
  if (repeated && (group.quantified || group.alternation)) return 'a repeated group that holds a quantifier or an alternation';
  const outer = open[open.length - 1];
  if (outer !== undefined && (group.quantified || repeated)) outer.quantified = true;
  return undefined;
}

/** Reads one character of a pattern into the open groups; returns a risk when a repeated group closes unsafely. */
function scan(pattern: string, i: number, open: Group[]): string | undefined {
  const ch = pattern[i] ?? '';
  const top = open[open.length - 1];
  if (ch === '(') open.push({ quantified: false, alternation: false });
  else if (ch === ')') return closeGroup(open, QUANTIFIERS.has(pattern[i + 1] ?? ''));
  else if (top !== undefined && ch === '|') top.alternation = true;
  else if (top !== undefined && QUANTIFIERS.has(ch)) top.quantified = true;
  return undefined;
}

/** Why a pattern could backtrack exponentially on the backtracking engine, or undefined when it cannot (a heuristic). */
export function backtrackingRisk(pattern: string): string | undefined {
  if (/\\[1-9]|\\k</.test(pattern)) return 'a backreference';
  if (/\(\?<?[=!]/.test(pattern)) return 'a lookaround';
  const open: Group[] = [];
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '\\') {
      i++;
      continue;
    }
    const risk = scan(pattern, i, open);
    if (risk !== undefined) return risk;
  }
  return undefined;
}

const compiledPatterns = new Map<string, RegExp | string>();
const PATTERN_CACHE = 256;

/** A RegExp for a CEL pattern that runs in bounded time, or why there is none. */
export function boundedRegExp(pattern: string): RegExp | string {
  let re = compiledPatterns.get(pattern);
  if (re !== undefined) return re;
  re = compilePattern(pattern);
  if (compiledPatterns.size >= PATTERN_CACHE) compiledPatterns.clear();
  compiledPatterns.set(pattern, re);
  return re;
}

function compilePattern(pattern: string): RegExp | string {
  try {
    if (hasLinearEngine()) return new RegExp(pattern, LINEAR);
    const risk = backtrackingRisk(pattern);
    if (risk !== undefined) return `regular expression ${JSON.stringify(pattern)} could take exponential time (${risk}); this process runs without a linear-time regexp engine`;
    return new RegExp(pattern);
  } catch (e) {
    return `invalid regular expression ${JSON.stringify(pattern)}: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** `s.matches(p)` evaluated here, not by the library: with a bounded RegExp, and its input charged to the meter. */
function matchesCall(node: AstNode): Evaluate | undefined {
  const args = node.args as unknown[];
  if (node.op !== 'rcall' || args[0] !== 'matches' || node.meta.alternate !== undefined || node.meta.macro !== undefined) return undefined;
  const receiver = args[1] as AstNode;
  const pattern = (args[2] as AstNode[])[0] as AstNode;
  return (ev, _ast, ctx) => {
    const runner = ev as Runner;
    const s = runner.run(receiver, ctx);
    const p = runner.run(pattern, ctx);
    if (typeof s !== 'string' || typeof p !== 'string') throw new CelLimitError(`found no matching overload for '${typeof s}.matches(${typeof p})'`, { start: node.start, end: node.end });
    const re = boundedRegExp(p);
    if (typeof re === 'string') throw new CelLimitError(re, { start: pattern.start, end: pattern.end });
    return re.test(s);
  };
}

/** The first constant `matches` pattern of an AST that cannot run in bounded time, with why. */
export function unboundedPattern(ast: unknown): { message: string; start: number } | undefined {
  const seen = new Set<AstNode>();
  const visit = (node: AstNode): { message: string; start: number } | undefined => {
    if (seen.has(node)) return undefined;
    seen.add(node);
    const args = node.args as unknown[];
    if (node.op === 'rcall' && args[0] === 'matches') {
      const p = (args[2] as AstNode[] | undefined)?.[0];
      if (p !== undefined && p.op === 'value' && typeof p.args === 'string') {
        const re = boundedRegExp(p.args);
        if (typeof re === 'string') return { message: re, start: p.start };
      }
    }
    for (const child of childrenOf(node)) {
      const found = visit(child);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return isAstNode(ast) ? visit(ast) : undefined;
}

// ------------------------------------------------------------------------------------------------ metering

/** A metered evaluation: reset(budget) before each evaluation, then `exhausted` after it. */
export interface ProgramMeter {
  reset(budget: CelBudget | undefined): void;
  readonly exhausted: boolean;
  readonly used: number;
}

/** Wraps every node of a checked AST so that its evaluations spend from one meter (call once per compiled program). */
export function meter(ast: unknown): ProgramMeter {
  const m = new Meter();
  const seen = new Set<AstNode>();
  const visit = (node: AstNode, sized: boolean): void => {
    if (seen.has(node)) return;
    seen.add(node);
    wrap(node, m, sized);
    const reads = READS_OPERANDS.has(node.op);
    for (const child of childrenOf(node)) visit(child, reads);
  };
  if (isAstNode(ast)) visit(ast, false);
  return m;
}
