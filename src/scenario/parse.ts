// Reads and validates scenario files. Every problem of a file is collected and reported at once, each naming the
// file and the place (`steps[3]`, `setup[1]`), so a scenario author fixes them in one go.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseDurationMs } from '../core/units.js';
import { parseInstant } from './duration.js';
import type { CheckStep, RequestStep, Scenario, ScenarioObject, Step } from './model.js';
import { DEFAULT_WITHIN_MS, EXPECTATIONS, PATCH_TYPES, PROPAGATION_POLICIES, SUBRESOURCES, VERBS } from './model.js';

export class ScenarioFormatError extends Error {
  override readonly name = 'ScenarioFormatError';
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Json = Record<string, unknown>;

const TOP_KEYS = ['name', 'summary', 'source', 'clock', 'setup', 'suture', 'steps'];
const TARGET_KEYS = ['apiVersion', 'kind', 'namespace', 'name'];
const REQUEST_KEYS = [...TARGET_KEYS, 'as', 'do', 'propagationPolicy', 'labelSelector', 'subresource', 'patchType', 'body', 'expect', 'messageIncludes'];
const CHECK_KEYS = [...TARGET_KEYS, 'path', 'equals', 'exists', 'within'];
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Collects problems under a location prefix. */
class Problems {
  readonly list: string[] = [];
  add(where: string, message: string): void {
    this.list.push(where === '' ? message : `${where}: ${message}`);
  }
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function unknownKeys(obj: Json, allowed: readonly string[], where: string, problems: Problems): void {
  for (const key of Object.keys(obj)) if (!allowed.includes(key)) problems.add(where, `unknown field "${key}" (allowed: ${allowed.join(', ')})`);
}

function requireString(obj: Json, key: string, where: string, problems: Problems): string {
  const value = obj[key];
  if (typeof value === 'string' && value !== '') return value;
  problems.add(where, value === undefined ? `"${key}" is required` : `"${key}" must be a non-empty string, got ${describe(value)}`);
  return '';
}

function optionalString(obj: Json, key: string, where: string, problems: Problems): string | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value !== '') return value;
  problems.add(where, `"${key}" must be a non-empty string, got ${describe(value)}`);
  return undefined;
}

/** Where a field is read: the object, its location and the problem list. */
interface At {
  readonly obj: Json;
  readonly where: string;
  readonly problems: Problems;
}

function oneOf<T extends string>(at: At, key: string, allowed: readonly T[]): T | undefined {
  const { obj, where, problems } = at;
  const value = obj[key];
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  problems.add(where, `"${key}" must be one of ${allowed.join(' | ')}, got ${describe(value)}`);
  return undefined;
}

function parseObject(value: unknown, where: string, problems: Problems): ScenarioObject | undefined {
  if (!isObject(value)) {
    problems.add(where, `must be a Kubernetes object, got ${describe(value)}`);
    return undefined;
  }
  const before = problems.list.length;
  requireString(value, 'apiVersion', where, problems);
  requireString(value, 'kind', where, problems);
  if (!isObject(value.metadata)) problems.add(where, '"metadata" with a "name" is required');
  else requireString(value.metadata, 'name', `${where}.metadata`, problems);
  return problems.list.length === before ? (value as ScenarioObject) : undefined;
}

function parseObjects(value: unknown, key: string, problems: Problems): ScenarioObject[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.add(key, `must be a list of objects, got ${describe(value)}`);
    return [];
  }
  return value.flatMap((item, i) => parseObject(item, `${key}[${i}]`, problems) ?? []);
}

function parseMessageIncludes(obj: Json, where: string, problems: Problems): string[] {
  const value = obj.messageIncludes;
  if (value === undefined) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value;
  problems.add(where, `"messageIncludes" must be a list of strings, got ${describe(value)}`);
  return [];
}

/** One rule of a verb: a problem when `broken` holds for the step. */
interface VerbRule {
  readonly broken: (obj: Json, verb: string) => boolean;
  readonly problem: (verb: string) => string;
}

const takesBody = (verb: string): boolean => verb === 'create' || verb === 'update' || verb === 'patch';

/** Verb-specific rules: what each verb needs and what it may not carry. */
const VERB_RULES: readonly VerbRule[] = [
  { broken: (obj, verb) => (verb === 'update' || verb === 'patch' || verb === 'delete') && obj.name === undefined, problem: (verb) => `"name" is required for ${verb}` },
  { broken: (obj, verb) => takesBody(verb) && obj.body === undefined, problem: (verb) => `"body" is required for ${verb}` },
  { broken: (obj, verb) => !takesBody(verb) && obj.body !== undefined, problem: (verb) => `"body" is not used by ${verb}` },
  { broken: (obj, verb) => obj.patchType !== undefined && verb !== 'patch', problem: () => '"patchType" is for patch only' },
  { broken: (obj, verb) => obj.propagationPolicy !== undefined && verb !== 'delete' && verb !== 'deletecollection', problem: () => '"propagationPolicy" is for delete and deletecollection only' },
  { broken: (obj, verb) => obj.labelSelector !== undefined && verb !== 'deletecollection', problem: () => '"labelSelector" is for deletecollection only' },
  { broken: (obj, verb) => verb === 'patch' && obj.patchType === 'json' && !Array.isArray(obj.body), problem: () => 'a json patch "body" must be a list of operations' },
  { broken: (obj, verb) => verb === 'create' && obj.body !== undefined && !isObject(obj.body), problem: () => '"body" of create must be an object' },
];

function checkVerbFields(obj: Json, verb: string, where: string, problems: Problems): void {
  for (const rule of VERB_RULES) if (rule.broken(obj, verb)) problems.add(where, rule.problem(verb));
}

function parseRequest(obj: Json, index: number, where: string, problems: Problems): RequestStep {
  const at: At = { obj, where, problems };
  unknownKeys(obj, REQUEST_KEYS, where, problems);
  const verb = oneOf(at, 'do', VERBS);
  if (obj.do === undefined) problems.add(where, `"do" is required (${VERBS.join(' | ')})`);
  const expect = oneOf(at, 'expect', EXPECTATIONS);
  if (obj.expect === undefined) problems.add(where, `"expect" is required (${EXPECTATIONS.join(' | ')})`);
  if (verb !== undefined) checkVerbFields(obj, verb, where, problems);
  return {
    type: 'request',
    index,
    as: requireString(obj, 'as', where, problems),
    do: verb ?? 'create',
    apiVersion: requireString(obj, 'apiVersion', where, problems),
    kind: requireString(obj, 'kind', where, problems),
    namespace: optionalString(obj, 'namespace', where, problems),
    name: optionalString(obj, 'name', where, problems),
    propagationPolicy: oneOf(at, 'propagationPolicy', PROPAGATION_POLICIES),
    labelSelector: optionalString(obj, 'labelSelector', where, problems),
    subresource: oneOf(at, 'subresource', SUBRESOURCES),
    patchType: oneOf(at, 'patchType', PATCH_TYPES) ?? (verb === 'patch' ? 'merge' : undefined),
    body: obj.body,
    expect: expect ?? 'allowed',
    messageIncludes: parseMessageIncludes(obj, where, problems),
  };
}

function parseWithin(obj: Json, where: string, problems: Problems): number {
  const value = obj.within;
  if (value === undefined) return DEFAULT_WITHIN_MS;
  const ms = typeof value === 'string' ? parseDurationMs(value) : undefined;
  if (ms === undefined) problems.add(where, `"within" must be a duration like "20s" or "2m", got ${describe(value)}`);
  return ms ?? DEFAULT_WITHIN_MS;
}

function parseCheck(value: unknown, index: number, where: string, problems: Problems): CheckStep {
  const obj = isObject(value) ? value : {};
  if (!isObject(value)) problems.add(where, `"check" must be an object, got ${describe(value)}`);
  unknownKeys(obj, CHECK_KEYS, where, problems);
  const path = optionalString(obj, 'path', where, problems);
  if (path !== undefined && !path.startsWith('/')) problems.add(where, `"path" must be a JSON pointer starting with "/", got "${path}"`);
  if (obj.exists !== undefined && typeof obj.exists !== 'boolean') problems.add(where, `"exists" must be true or false, got ${describe(obj.exists)}`);
  const hasEquals = Object.hasOwn(obj, 'equals');
  if (hasEquals && obj.exists === false) problems.add(where, '"equals" and "exists: false" exclude each other');
  return {
    type: 'check',
    index,
    apiVersion: requireString(obj, 'apiVersion', where, problems),
    kind: requireString(obj, 'kind', where, problems),
    namespace: optionalString(obj, 'namespace', where, problems),
    name: requireString(obj, 'name', where, problems),
    path,
    hasEquals,
    equals: obj.equals,
    exists: obj.exists !== false,
    withinMs: parseWithin(obj, where, problems),
  };
}

function parseStep(value: unknown, i: number, problems: Problems): Step | undefined {
  const where = `steps[${i}] (step ${i + 1})`;
  if (!isObject(value)) {
    problems.add(where, `must be a request or a check, got ${describe(value)}`);
    return undefined;
  }
  if (value.check !== undefined) {
    if (Object.keys(value).length > 1) problems.add(where, 'a check step holds only "check"');
    return parseCheck(value.check, i + 1, `${where}.check`, problems);
  }
  return parseRequest(value, i + 1, where, problems);
}

function parseSteps(value: unknown, problems: Problems): Step[] {
  if (!Array.isArray(value) || value.length === 0) {
    problems.add('steps', 'a non-empty list of steps is required');
    return [];
  }
  return value.flatMap((item, i) => parseStep(item, i, problems) ?? []);
}

function parseHeader(doc: Json, problems: Problems): Pick<Scenario, 'name' | 'summary' | 'source' | 'clock'> {
  unknownKeys(doc, TOP_KEYS, '', problems);
  const name = requireString(doc, 'name', '', problems);
  if (name !== '' && !DNS_LABEL.test(name)) problems.add('name', `"${name}" is not a DNS label (lower case letters, digits, "-", at most 63)`);
  const clock = optionalString(doc, 'clock', '', problems);
  if (clock !== undefined && parseInstant(clock) === undefined) problems.add('clock', `"${clock}" is not an RFC 3339 time such as "2026-11-23T09:45:00Z"`);
  return { name, summary: requireString(doc, 'summary', '', problems), source: requireString(doc, 'source', '', problems), clock };
}

/** Parses one scenario from YAML text; throws ScenarioFormatError listing every problem. */
export function parseScenario(text: string, file: string): Scenario {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new ScenarioFormatError(file, [`not valid YAML: ${error instanceof Error ? error.message : String(error)}`]);
  }
  return parseScenarioDocument(doc, file);
}

/** Validates an already-parsed scenario document (a GitOps test file builds them); throws ScenarioFormatError. */
export function parseScenarioDocument(doc: unknown, file: string): Scenario {
  if (!isObject(doc)) throw new ScenarioFormatError(file, ['the file must hold one mapping with name, summary, source, setup, suture and steps']);
  const problems = new Problems();
  const header = parseHeader(doc, problems);
  const scenario: Scenario = {
    file,
    ...header,
    setup: parseObjects(doc.setup, 'setup', problems),
    suture: parseObjects(doc.suture, 'suture', problems),
    steps: parseSteps(doc.steps, problems),
  };
  if (problems.list.length > 0) throw new ScenarioFormatError(file, problems.list);
  return scenario;
}

export function parseScenarioFile(file: string): Scenario {
  return parseScenario(readFileSync(file, 'utf8'), file);
}

/** The scenario files of a folder (or the file itself), in file-name order: *.yaml and *.yml. */
export function scenarioFiles(path: string): string[] {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path)
    .filter((entry) => /\.ya?ml$/.test(entry))
    .sort()
    .map((entry) => join(path, entry));
}

export interface LoadResult {
  readonly scenarios: Scenario[];
  readonly errors: ScenarioFormatError[];
}

/** Loads every scenario of the given folders, folder by folder; names must be unique across them. */
export function loadScenarios(paths: readonly string[]): LoadResult {
  const scenarios: Scenario[] = [];
  const errors: ScenarioFormatError[] = [];
  const seen = new Map<string, string>();
  for (const file of paths.flatMap(scenarioFiles)) {
    try {
      const scenario = parseScenarioFile(file);
      const first = seen.get(scenario.name);
      if (first !== undefined) throw new ScenarioFormatError(file, [`name "${scenario.name}" is already used by ${basename(first)}`]);
      seen.set(scenario.name, file);
      scenarios.push(scenario);
    } catch (error) {
      if (!(error instanceof ScenarioFormatError)) throw error;
      errors.push(error);
    }
  }
  return { scenarios, errors };
}
