// CEL for Suture's policies: a thin layer over @marcbachmann/cel-js (chosen against @bufbuild/cel by measurement,
// docs/performance.md). Compile once (parse + type-check against Suture's variables), evaluate many times. Every
// failure, at compile or evaluation time, is a value with a line and column, never a thrown exception.
//
// Variables (docs/concepts.md, Expressions): request, object, oldObject, impact{deleted,changed,created}, cluster (state
// after the request), before (state before), lease, now. `cluster` and `before` offer get/exists/list/count as
// receiver functions backed by a core Snapshot. JSON integers become CEL ints (BigInt) so that
// `object.spec.replicas >= 2` and `object.spec.replicas + 1` behave as in Kubernetes' own CEL.
import { Environment, Optional } from '@marcbachmann/cel-js';
import type { KubeObject } from '../api/types.js';
import { CelLimitError, ESTIMATED_COST_LIMIT, UNKNOWN_SIZE, estimateCost, meter, unboundedPattern, type CelBudget } from './cel-cost.js';
import { matchesLabelSelector, parseLabelSelector } from './selectors.js';
import { groupOf } from './snapshot.js';
import type { AdmissionRequest, Affected, Lookup, Snapshot } from './types.js';

// ------------------------------------------------------------------------------------------------ public types

/** What a compiled expression must produce: checked at compile time where the type is known, else at run time. */
export const CelResultTypes = { Bool: 'bool', String: 'string', Any: 'any' } as const;
export type CelResultType = (typeof CelResultTypes)[keyof typeof CelResultTypes];

/** A compile or evaluation error. line and column are 1-based; 0 when the library gave no position. */
export interface CelIssue {
  message: string;
  line: number;
  column: number;
}

export type CelOutcome<T = unknown> = { ok: true; value: T } | { ok: false; error: CelIssue };

/** A kind a CEL expression reads through `cluster`/`before`, known when it compiles (constant arguments). */
export interface LookupKind {
  apiVersion: string;
  kind: string;
}

export interface CelProgram {
  readonly source: string;
  /** The kinds the expression looks up with constant apiVersion and kind: the cache holds them in full. */
  readonly lookupKinds: readonly LookupKind[];
  /** True when some lookup's apiVersion or kind is computed: those are read live (never from a partial cache). */
  readonly dynamicLookups: boolean;
  readonly resultType: CelResultType;
  /** The type the checker inferred: bool, string, int, dyn, … */
  readonly checkedType: string;
  /** The estimated worst-case cost of one evaluation (core/cel-cost.ts); at most the compile-time limit. */
  readonly estimatedCost: number;
  /** Evaluates within the budget `vars` carry (celVariables' `budget`, else the default cost limit). */
  evaluate(vars: CelVariables): CelOutcome;
}

/** Options of compileCel: the limits of core/cel-cost.ts, overridable for tests and benchmarks. */
export interface CelCompileOptions {
  /** The estimated cost above which the expression does not compile (default ESTIMATED_COST_LIMIT). */
  estimatedCostLimit?: number;
}

/** The inputs of an evaluation, as the decision core holds them. Absent parts become null or empty. */
export interface CelInput {
  request?: AdmissionRequest;
  object?: KubeObject | null;
  oldObject?: KubeObject | null;
  impact?: { deleted?: readonly KubeObject[]; changed?: readonly (KubeObject | Affected)[]; created?: readonly KubeObject[] };
  /** The projected state after the request (CEL `cluster`). */
  after: Snapshot;
  /** The state before the request (CEL `before`). */
  before: Snapshot;
  lease?: KubeObject | null;
  /** Milliseconds since the epoch, or a Date. */
  now: number | Date;
  /** Where `cluster`/`before` record each read, by its key (the decision reports them; the edge re-reads them). */
  lookups?: Map<string, Lookup>;
  /** The bounds of each evaluation with these variables: cost units and a deadline (core/cel-cost.ts). */
  budget?: CelBudget;
}

/** Where CelVariables carry their budget: not a CEL variable, invisible to expressions. */
export const CEL_BUDGET: unique symbol = Symbol('suture.celBudget');

/** The converted variables of one evaluation context; build once per request with celVariables(), reuse for every program. */
export interface CelVariables {
  readonly [name: string]: unknown;
  readonly [CEL_BUDGET]?: CelBudget;
}

/** Compiles a selector in kubectl's string form into a label-set test; throws on a malformed selector. */
export type SelectorMatcher = (selector: string) => (labels: Readonly<Record<string, string>>) => boolean;

// ------------------------------------------------------------------------------------------------ values

/** JSON → CEL: integral numbers become BigInt (CEL int), containers are converted deeply, the rest is kept. */
export function toCelValue(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCelValue);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toCelValue(v);
    return out;
  }
  return value;
}

/** CEL → JSON: ints become numbers, timestamps RFC 3339 strings, maps plain objects, optionals their value or null. */
export function fromCelValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(fromCelValue);
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Map) return Object.fromEntries([...value.entries()].map(([k, v]) => [String(k), fromCelValue(v)]));
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Optional) return value.hasValue() ? fromCelValue(value.value()) : null;
  if (Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromCelValue(v)]));
  }
  return (value as { toString(): string }).toString(); // durations, uints, types: their CEL text form
}

// ------------------------------------------------------------------------------------------------ the environment

/** `cluster` and `before`: a Snapshot seen through CEL, converting each object once. */
class ClusterView {
  readonly #snapshot: Snapshot;
  readonly #matches: SelectorMatcher;
  readonly #lookups: Map<string, Lookup> | undefined;
  readonly #converted = new WeakMap<KubeObject, unknown>();
  constructor(snapshot: Snapshot, matches: SelectorMatcher, lookups?: Map<string, Lookup>) {
    this.#snapshot = snapshot;
    this.#matches = matches;
    this.#lookups = lookups;
  }
  #record(lookup: Lookup): void {
    if (this.#lookups === undefined) return;
    const key = `${lookup.apiVersion}|${lookup.kind}|${lookup.namespace}|${lookup.name ?? ''}|${lookup.labelSelector ?? '\u0000'}`;
    const known = this.#lookups.get(key);
    if (known === undefined || known.found < lookup.found) this.#lookups.set(key, lookup);
  }
  convert(o: KubeObject): unknown {
    let c = this.#converted.get(o);
    if (c === undefined) {
      c = toCelValue(o);
      this.#converted.set(o, c);
    }
    return c;
  }
  get(apiVersion: string, kind: string, namespace: string, name: string): KubeObject | undefined {
    const found = this.#snapshot.get({ group: groupOf(apiVersion), kind, namespace, name });
    this.#record({ apiVersion, kind, namespace, name, found: found === undefined ? 0 : 1 });
    return found;
  }
  list(apiVersion: string, kind: string, namespace: string, selector: string): KubeObject[] {
    const all = this.#snapshot.list(groupOf(apiVersion), kind, namespace === '' ? undefined : namespace);
    const test = selector.trim() === '' ? undefined : this.#matches(selector);
    const found = test === undefined ? [...all] : all.filter((o) => test(o.metadata.labels ?? {}));
    this.#record({ apiVersion, kind, namespace, labelSelector: selector, found: found.length });
    return found;
  }
}

class CelRequest {
  operation = '';
  subResource = '';
  userInfo: unknown = { username: '', groups: [] };
  dryRun = false;
  kind: unknown = { group: '', version: '', kind: '' };
  namespace = '';
  name = '';
  constructor(init: Partial<CelRequest> = {}) {
    Object.assign(this, init);
  }
}

type ObjectList = readonly (KubeObject | Affected)[] | undefined;

/** `impact`: its lists are converted on first use, so a request whose expressions never read them pays nothing. */
class CelImpact {
  readonly #raw: { deleted: ObjectList; changed: ObjectList; created: ObjectList };
  readonly #converted: Partial<Record<'deleted' | 'changed' | 'created', unknown[]>> = {};
  constructor(deleted: ObjectList, changed: ObjectList, created: ObjectList) {
    this.#raw = { deleted, changed, created };
  }
  #list(name: 'deleted' | 'changed' | 'created'): unknown[] {
    return (this.#converted[name] ??= objectsOf(this.#raw[name]));
  }
  get deleted(): unknown[] {
    return this.#list('deleted');
  }
  get changed(): unknown[] {
    return this.#list('changed');
  }
  get created(): unknown[] {
    return this.#list('created');
  }
}

/** A variable, a field or a parameter of Suture's CEL environment, with the description docs/cel.md shows. */
export interface CelDeclaration {
  readonly name: string;
  readonly type: string;
  readonly description: string;
}

const GVKN: readonly CelDeclaration[] = [
  { name: 'apiVersion', type: 'string', description: 'e.g. "v1", "apps/v1", "example.com/v1"' },
  { name: 'kind', type: 'string', description: 'e.g. "Deployment"' },
  { name: 'namespace', type: 'string', description: '"" for a cluster-scoped object' },
  { name: 'name', type: 'string', description: 'the object name' },
];
const GVKS: readonly CelDeclaration[] = [
  { name: 'apiVersion', type: 'string', description: 'e.g. "v1", "apps/v1"' },
  { name: 'kind', type: 'string', description: 'e.g. "Pod"' },
  { name: 'namespace', type: 'string', description: '"" = all namespaces' },
  { name: 'labelSelector', type: 'string', description: 'kubectl form, e.g. app=pg,tier in (a,b); "" = every object' },
];

/** The variables of every Suture expression (invariants, messages, conditions, avert values), in this order. */
export const CEL_VARIABLES: readonly CelDeclaration[] = [
  { name: 'object', type: 'dyn', description: 'The object of the request as it would be stored (null for DELETE): the new object for CREATE and UPDATE.' },
  { name: 'oldObject', type: 'dyn', description: 'The object before the request (null for CREATE).' },
  { name: 'request', type: 'Request', description: 'The admission request: who asks for what.' },
  { name: 'impact', type: 'Impact', description: 'The objects the request removes, changes and creates, its cascade included.' },
  { name: 'cluster', type: 'ClusterView', description: 'The cluster as it would be after the request (the impact applied).' },
  { name: 'before', type: 'ClusterView', description: 'The cluster before the request.' },
  { name: 'lease', type: 'dyn', description: 'The SutureLease covering the target object, or null.' },
  { name: 'now', type: 'google.protobuf.Timestamp', description: 'The time of the decision.' },
];

/** The fields of `request`. */
export const CEL_REQUEST_FIELDS: readonly CelDeclaration[] = [
  { name: 'operation', type: 'string', description: 'CREATE, UPDATE, DELETE or CONNECT.' },
  { name: 'subResource', type: 'string', description: 'e.g. "scale", "status", "eviction"; "" for the object itself.' },
  { name: 'userInfo', type: 'map<string, dyn>', description: 'The requester: username, uid, groups, extra.' },
  { name: 'dryRun', type: 'bool', description: 'Whether the request is a dry run (nothing will be stored).' },
  { name: 'kind', type: 'map<string, string>', description: 'The kind of the object: group, version, kind.' },
  { name: 'namespace', type: 'string', description: 'The namespace of the object; "" for cluster-scoped objects.' },
  { name: 'name', type: 'string', description: 'The name of the object.' },
];

/** The fields of `impact`: lists of objects, the request's own target included. */
export const CEL_IMPACT_FIELDS: readonly CelDeclaration[] = [
  { name: 'deleted', type: 'list<dyn>', description: 'Objects the request removes: the target of a DELETE and everything removed with it (owned objects, a namespace\'s contents, a CRD\'s resources, PVCs by retention policy).' },
  { name: 'changed', type: 'list<dyn>', description: 'Objects the request changes (as they would be after it), scale changes included.' },
  { name: 'created', type: 'list<dyn>', description: 'Objects the request creates.' },
];

const fieldTypes = (fields: readonly CelDeclaration[]): Record<string, string> => Object.fromEntries(fields.map((f) => [f.name, f.type]));

function buildEnvironment(): Environment {
  const env = new Environment({ enableOptionalTypes: true })
    .registerType('ClusterView', ClusterView)
    .registerType('Request', { ctor: CelRequest, fields: fieldTypes(CEL_REQUEST_FIELDS) })
    .registerType('Impact', { ctor: CelImpact, fields: fieldTypes(CEL_IMPACT_FIELDS) });
  for (const v of CEL_VARIABLES) env.registerVariable(v.name, v.type, { description: v.description });
  const get = (v: ClusterView, ...k: [string, string, string, string]): unknown => {
    const o = v.get(...k);
    return o === undefined ? null : v.convert(o);
  };
  const list = (v: ClusterView, ...k: [string, string, string, string]): unknown[] => v.list(...k).map((o) => v.convert(o));
  const params = (ps: readonly CelDeclaration[]): { name: string; type: string; description: string }[] => ps.map((p) => ({ ...p }));
  env
    .registerFunction({ name: 'get', receiverType: 'ClusterView', returnType: 'dyn', params: params(GVKN), handler: get, description: 'The object, or null when it does not exist.' })
    .registerFunction({
      name: 'exists',
      receiverType: 'ClusterView',
      returnType: 'bool',
      params: params(GVKN),
      handler: (v: ClusterView, ...k: [string, string, string, string]) => v.get(...k) !== undefined,
      description: 'Whether the object exists.',
    })
    .registerFunction({ name: 'list', receiverType: 'ClusterView', returnType: 'list<dyn>', params: params(GVKS), handler: list, description: 'The objects of a kind in a namespace that match a label selector.' })
    .registerFunction({
      name: 'count',
      receiverType: 'ClusterView',
      returnType: 'int',
      params: params(GVKS),
      handler: (v: ClusterView, ...k: [string, string, string, string]) => BigInt(v.list(...k).length),
      description: 'How many objects list() would return.',
    });
  return env;
}

// Built once: an Environment is expensive to create and immutable once expressions are parsed against it.
const ENV = buildEnvironment();

/** Every variable and function an expression can use, as the CEL library registered them (docs/cel.md is made from this). */
export function celDefinitions(): ReturnType<Environment['getDefinitions']> {
  return ENV.getDefinitions();
}

// ------------------------------------------------------------------------------------------------ errors

interface LibraryError {
  summary?: unknown;
  message?: unknown;
  range?: { start: number; end: number };
}

/** A 1-based line and column of a character offset. */
function position(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, Math.max(0, Math.min(offset, source.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 };
}

function issueOf(source: string, e: unknown): CelIssue {
  const err = (typeof e === 'object' && e !== null ? e : { message: String(e) }) as LibraryError;
  const text = typeof err.summary === 'string' ? err.summary : typeof err.message === 'string' ? err.message.split('\n')[0] ?? '' : String(e);
  if (err.range === undefined) return { message: text, line: 0, column: 0 };
  return { message: text, ...position(source, err.range.start) };
}

/** "No such key: x at column 14" (single-line source) or "… at line 2, column 3". */
export function formatCelIssue(issue: CelIssue, source?: string): string {
  if (issue.column === 0) return issue.message;
  const multiline = source === undefined ? issue.line > 1 : source.includes('\n');
  return multiline ? `${issue.message} at line ${issue.line}, column ${issue.column}` : `${issue.message} at column ${issue.column}`;
}

// ------------------------------------------------------------------------------------------------ compile / evaluate

type Parsed = ReturnType<Environment['parse']>;

function typeMatches(expected: CelResultType, checked: string): boolean {
  return expected === CelResultTypes.Any || checked === 'dyn' || checked === expected;
}

function valueMatches(expected: CelResultType, value: unknown): boolean {
  if (expected === CelResultTypes.Bool) return typeof value === 'boolean';
  if (expected === CelResultTypes.String) return typeof value === 'string';
  return true;
}

function costIssue(cost: number, limit: number): CelIssue {
  const shown = cost >= 1e15 ? cost.toExponential(1) : String(Math.ceil(cost));
  return {
    message: `estimated cost ${shown} exceeds the CEL cost limit of ${limit} (a list or string of unknown size counts as ${UNKNOWN_SIZE} elements or characters: nest fewer comprehensions over such lists, or build fewer strings from them)`,
    line: 1,
    column: 1,
  };
}

/** Runs a parsed program within a budget; the meter turns a spent budget into an error, whatever the value. */
function run(parsed: Parsed, metered: ReturnType<typeof meter>, vars: CelVariables): { ok: true; value: unknown } | { ok: false; error: unknown } {
  metered.reset(vars[CEL_BUDGET]);
  try {
    const value = parsed(vars) as unknown;
    if (metered.exhausted) return { ok: false, error: new CelLimitError('CEL cost limit exceeded', undefined) };
    return { ok: true, value };
  } catch (e) {
    return { ok: false, error: e };
  }
}

/** Parses and type-checks an expression against Suture's variables, and bounds its cost (core/cel-cost.ts). */
export function compileCel(source: string, resultType: CelResultType = CelResultTypes.Bool, options: CelCompileOptions = {}): { ok: true; program: CelProgram } | { ok: false; error: CelIssue } {
  let parsed: Parsed;
  try {
    parsed = ENV.parse(source);
  } catch (e) {
    return { ok: false, error: issueOf(source, e) };
  }
  let checked: ReturnType<Parsed['check']>;
  try {
    checked = parsed.check();
  } catch (e) {
    return { ok: false, error: issueOf(source, e) };
  }
  if (!checked.valid) return { ok: false, error: issueOf(source, checked.error) };
  const checkedType = checked.type ?? 'dyn';
  if (!typeMatches(resultType, checkedType)) {
    return { ok: false, error: { message: `expression must evaluate to ${resultType}, but it evaluates to ${checkedType}`, line: 1, column: 1 } };
  }
  const estimatedCostLimit = options.estimatedCostLimit ?? ESTIMATED_COST_LIMIT;
  const { cost: estimatedCost } = estimateCost(parsed.ast);
  if (estimatedCost > estimatedCostLimit) return { ok: false, error: costIssue(estimatedCost, estimatedCostLimit) };
  const pattern = unboundedPattern(parsed.ast);
  if (pattern !== undefined) return { ok: false, error: { message: pattern.message, ...position(source, pattern.start) } };
  const metered = meter(parsed.ast);
  const { kinds: lookupKinds, dynamic: dynamicLookups } = lookupKindsOf(parsed.ast);
  const program: CelProgram = {
    source,
    lookupKinds,
    dynamicLookups,
    resultType,
    checkedType,
    estimatedCost,
    evaluate(vars: CelVariables): CelOutcome {
      const r = run(parsed, metered, vars);
      if (!r.ok) return { ok: false, error: issueOf(source, r.error) };
      const value = r.value;
      if (value instanceof Promise) return { ok: false, error: { message: 'expression is asynchronous', line: 0, column: 0 } };
      if (!valueMatches(resultType, value)) {
        return { ok: false, error: { message: `expression must evaluate to ${resultType}, but it evaluated to ${describe(value)}`, line: 1, column: 1 } };
      }
      return { ok: true, value };
    },
  };
  return { ok: true, program };
}

const LOOKUP_FUNCTIONS = new Set(['get', 'exists', 'list', 'count']);
const VIEWS = new Set(['cluster', 'before']);

interface AstNode {
  op: string;
  args: unknown;
}

function isNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && typeof (value as { op?: unknown }).op === 'string';
}

function constantString(value: unknown): string | undefined {
  return isNode(value) && value.op === 'value' && typeof value.args === 'string' ? value.args : undefined;
}

/** The arguments of a `cluster`/`before` lookup call, or undefined for any other node. */
function lookupParams(node: AstNode): unknown[] | undefined {
  const args = node.args;
  if (node.op !== 'rcall' || !Array.isArray(args) || !LOOKUP_FUNCTIONS.has(String(args[0]))) return undefined;
  const receiver: unknown = args[1];
  if (!isNode(receiver) || receiver.op !== 'id' || !VIEWS.has(String(receiver.args))) return undefined;
  return Array.isArray(args[2]) ? (args[2] as unknown[]) : [];
}

/**
 * The kinds an expression looks up: every `cluster`/`before` get, exists, list and count call whose apiVersion and
 * kind are constants; `dynamic` when some call computes them (e.g. from an ownerReference).
 */
export function lookupKindsOf(ast: unknown): { kinds: LookupKind[]; dynamic: boolean } {
  const kinds = new Map<string, LookupKind>();
  let dynamic = false;
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) visit(v);
      return;
    }
    if (!isNode(value)) return;
    const params = lookupParams(value);
    if (params !== undefined) {
      const apiVersion = constantString(params[0]);
      const kind = constantString(params[1]);
      if (apiVersion === undefined || kind === undefined) dynamic = true;
      else kinds.set(`${apiVersion}|${kind}`, { apiVersion, kind });
    }
    visit(value.args);
  };
  visit(ast);
  return { kinds: [...kinds.values()], dynamic };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return `int ${value}`;
  if (typeof value === 'number') return `double ${value}`;
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a map' : typeof value;
}

// ------------------------------------------------------------------------------------------------ variables

function objectsOf(list: ObjectList): unknown[] {
  return (list ?? []).map((x) => toCelValue('effect' in x && 'object' in x ? x.object : x));
}

function celRequest(r: AdmissionRequest | undefined): CelRequest {
  if (r === undefined) return new CelRequest();
  return new CelRequest({
    operation: r.operation,
    subResource: r.subResource ?? '',
    userInfo: toCelValue({ groups: [], ...r.userInfo }),
    dryRun: r.dryRun === true,
    kind: { ...r.kind },
    namespace: r.namespace ?? '',
    name: r.name ?? '',
  });
}

/**
 * Converts the inputs of one request into CEL variables. Build once per request and reuse for every program.
 * `matches` parses and applies a kubectl-form label selector (core/selectors.ts).
 */
export function celVariables(input: CelInput, matches: SelectorMatcher = matchSelectorString): CelVariables {
  const now = input.now instanceof Date ? input.now : new Date(input.now);
  return {
    ...(input.budget === undefined ? {} : { [CEL_BUDGET]: input.budget }),
    request: celRequest(input.request),
    object: toCelValue(input.object ?? null),
    oldObject: toCelValue(input.oldObject ?? null),
    impact: new CelImpact(input.impact?.deleted, input.impact?.changed, input.impact?.created),
    cluster: new ClusterView(input.after, matches, input.lookups),
    before: new ClusterView(input.before, matches, input.lookups),
    lease: toCelValue(input.lease ?? null),
    now,
  };
}

/** Evaluates a program and requires a boolean. */
export function evaluateBool(program: CelProgram, vars: CelVariables): CelOutcome<boolean> {
  const r = program.evaluate(vars);
  if (!r.ok) return r;
  if (typeof r.value !== 'boolean') return { ok: false, error: { message: `expression must evaluate to bool, but it evaluated to ${describe(r.value)}`, line: 1, column: 1 } };
  return { ok: true, value: r.value };
}

// ------------------------------------------------------------------------------------------------ label selectors

/** Default SelectorMatcher: kubectl's selector syntax (core/selectors.ts), parsed once per call. Throws SelectorSyntaxError. */
export function matchSelectorString(selector: string): (labels: Readonly<Record<string, string>>) => boolean {
  const parsed = parseLabelSelector(selector);
  return (labels) => matchesLabelSelector(parsed, labels);
}
