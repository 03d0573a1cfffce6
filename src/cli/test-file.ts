// GitOps test files for `kubectl suture test` (suture-test.yaml, kind: Test): the file a repository keeps next to its
// policies, as kyverno-test.yaml and gator's suite.yaml are. It names the repository's Suture files (policies, leases,
// exceptions: files, folders or globs, relative to the test file), fixture objects (the cluster state the requests
// meet), and requests with the expected verdict. Every request is judged on its own against the fixtures (one does
// not change what the next one sees), by the same offline simulation as scenario files: each request becomes a
// one-step scenario (src/scenario/model.ts) run by runScenarioOffline.
//
//   apiVersion: cli.suture.dev/v1alpha1
//   kind: Test
//   metadata: {name: payments}
//   clock: "2026-11-23T09:45:00Z"          # optional: "now" for time windows
//   policies: [../policies/*.yaml]          # SuturePolicy / SutureLease / SutureException (other objects: fixtures)
//   resources: [fixtures/]                  # fixture objects (a folder: every *.yaml, *.yml, *.json in it, recursively)
//   requests:
//     - description: Argo CD may not prune the database volume
//       as: system:serviceaccount:argocd:argocd-application-controller
//       do: delete                           # create | update | patch | delete | deletecollection
//       apiVersion: v1
//       kind: PersistentVolumeClaim
//       namespace: payments
//       name: data-pg-0
//       expect: denied                       # allowed | denied | warned
//       messageIncludes: [keep-payment-volumes]
//     - {description: …, as: …, do: create, object: fixtures/new/deployment.yaml, expect: allowed}
//
// `object` (a file, or an inline object) gives a create or update its body and target in one go.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { GROUP } from '../api/schema.js';
import type { KubeObject } from '../api/types.js';
import type { Scenario } from '../scenario/model.js';
import { ScenarioFormatError, parseScenarioDocument } from '../scenario/parse.js';
import { ManifestError, parseManifest } from './what-if.js';

export const TEST_API_VERSION = 'cli.suture.dev/v1alpha1';
export const TEST_KIND = 'Test';
/** The name `kubectl suture test <folder>` looks for, at any depth. */
export const TEST_FILE_NAME = 'suture-test.yaml';

const TOP_KEYS = ['apiVersion', 'kind', 'metadata', 'clock', 'policies', 'resources', 'requests'];
const OWN_KEYS = ['description', 'object'];
const MANIFEST = /\.(ya?ml|json)$/;

export interface TestRequest {
  readonly description: string;
  readonly scenario: Scenario;
}

export interface TestFile {
  readonly file: string;
  readonly name: string;
  readonly requests: readonly TestRequest[];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Whether a parsed YAML document is a test file (and not a scenario). */
export function isTestDocument(doc: unknown): boolean {
  return isObject(doc) && doc.kind === TEST_KIND && doc.apiVersion === TEST_API_VERSION;
}

// ------------------------------------------------------------------------------------------------ paths

function globRegExp(segment: string): RegExp {
  const body = segment.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Every manifest under a folder, recursively, in path order. */
function manifestsUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => (e.isDirectory() ? manifestsUnder(join(dir, e.name)) : MANIFEST.test(e.name) ? [join(dir, e.name)] : []));
}

/** Matches `segments` (with `*`, `?`, `**`) below `dir`. */
function walk(dir: string, segments: readonly string[]): string[] {
  const [head, ...rest] = segments;
  if (head === undefined) return [dir];
  if (head === '**') {
    const deeper = isDir(dir) ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => walk(join(dir, e.name), segments)) : [];
    return [...walk(dir, rest), ...deeper];
  }
  if (!/[*?]/.test(head)) return exists(join(dir, head)) ? walk(join(dir, head), rest) : [];
  if (!isDir(dir)) return [];
  const re = globRegExp(head);
  return readdirSync(dir)
    .filter((name) => re.test(name))
    .sort()
    .flatMap((name) => walk(join(dir, name), rest));
}

/** The files a path, folder or glob (relative to `base`) names; a folder gives every manifest in it. */
export function expandPath(pattern: string, base: string): string[] {
  const start = isAbsolute(pattern) ? sep : base;
  const matched = walk(start, pattern.split(/[\\/]/).filter((s) => s !== '' && s !== '.'));
  return [...new Set(matched.flatMap((p) => (isDir(p) ? manifestsUnder(p) : [p])))];
}

// ------------------------------------------------------------------------------------------------ the file

class Problems {
  readonly list: string[] = [];
  add(message: string): void {
    this.list.push(message);
  }
}

function stringList(doc: Json, key: string, problems: Problems): string[] {
  const value = doc[key];
  if (value === undefined) return [];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' && v !== '')) return value as string[];
  problems.add(`"${key}" must be a list of paths (files, folders or globs relative to the test file)`);
  return [];
}

function loadObjects(patterns: readonly string[], key: string, base: string, problems: Problems): { object: KubeObject; from: string }[] {
  const out: { object: KubeObject; from: string }[] = [];
  for (const pattern of patterns) {
    const files = expandPath(pattern, base);
    if (files.length === 0) problems.add(`${key}: "${pattern}" matches no file (paths are relative to the test file's folder, ${base})`);
    for (const file of files) {
      try {
        for (const object of parseManifest(readFileSync(file, 'utf8'), file)) out.push({ object, from: relative(base, file) });
      } catch (error) {
        problems.add(`${key}: ${error instanceof ManifestError ? error.message : `${file}: ${String(error)}`}`);
      }
    }
  }
  return out;
}

function isSuture(object: KubeObject): boolean {
  return object.apiVersion.startsWith(`${GROUP}/`);
}

/** A request's `object` (a file or an inline object) as the target and body of the step. */
function objectFields(value: unknown, where: string, base: string, problems: Problems): Json {
  let object: unknown = value;
  if (typeof value === 'string') {
    const files = expandPath(value, base);
    const first = files[0];
    if (files.length !== 1 || first === undefined) {
      problems.add(`${where}: "object" must name exactly one file, "${value}" matches ${files.length}`);
      return {};
    }
    const objects = parseManifest(readFileSync(first, 'utf8'), first);
    if (objects.length !== 1) problems.add(`${where}: "object" file ${value} must hold exactly one object, it holds ${objects.length}`);
    object = objects[0];
  }
  if (!isObject(object) || !isObject(object.metadata)) {
    problems.add(`${where}: "object" must be a Kubernetes object (apiVersion, kind, metadata) or the path of one`);
    return {};
  }
  const meta = object.metadata;
  return { apiVersion: object.apiVersion, kind: object.kind, ...(meta.namespace === undefined ? {} : { namespace: meta.namespace }), ...(meta.name === undefined ? {} : { name: meta.name }), body: object };
}

function stepOf(value: unknown, i: number, base: string, problems: Problems): { description: string; step: Json } | undefined {
  const where = `requests[${i}]`;
  if (!isObject(value)) {
    problems.add(`${where}: must be a request (as, do, apiVersion, kind, namespace, name, expect)`);
    return undefined;
  }
  const { description, object, ...rest } = value;
  if (description !== undefined && typeof description !== 'string') problems.add(`${where}: "description" must be a string`);
  const fromObject = object === undefined ? {} : objectFields(object, where, base, problems);
  return { description: typeof description === 'string' ? description : `request ${i + 1}`, step: { ...fromObject, ...rest } };
}

function header(doc: Json, problems: Problems): { name: string; clock?: string } {
  for (const key of Object.keys(doc)) if (!TOP_KEYS.includes(key)) problems.add(`unknown field "${key}" (allowed: ${TOP_KEYS.join(', ')})`);
  const name = isObject(doc.metadata) && typeof doc.metadata.name === 'string' ? doc.metadata.name : '';
  if (name === '') problems.add('"metadata.name" is required');
  if (doc.clock !== undefined && typeof doc.clock !== 'string') problems.add('"clock" must be an RFC 3339 time such as "2026-11-23T09:45:00Z"');
  if (!Array.isArray(doc.requests) || doc.requests.length === 0) problems.add('"requests" must be a non-empty list');
  return { name, ...(typeof doc.clock === 'string' ? { clock: doc.clock } : {}) };
}

/** The scenario name of request i: a DNS label made from the test name. */
function scenarioName(test: string, i: number): string {
  const label = test.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50) || 'test';
  return `${label}-${i + 1}`;
}

/** Request-level problems of the scenario parser, renamed to the test file's places. */
function renamed(error: ScenarioFormatError, i: number): string[] {
  return error.problems.map((p) => `requests[${i}]${p.replace(/^steps\[0\] \(step 1\)/, '').replace(/^(setup|suture)\[\d+\]/, ' (fixtures/policies)')}`.replace(/^(requests\[\d+\])([^:])/, '$1: $2'));
}

/** Parses a test file document; throws ScenarioFormatError (listing every problem) when it is malformed. */
export function parseTestDocument(doc: unknown, file: string): TestFile {
  if (!isObject(doc)) throw new ScenarioFormatError(file, [`a test file is one mapping with apiVersion: ${TEST_API_VERSION}, kind: ${TEST_KIND}`]);
  const base = dirname(file);
  const problems = new Problems();
  const { name, clock } = header(doc, problems);
  const policyPatterns = stringList(doc, 'policies', problems);
  const policyObjects = loadObjects(policyPatterns, 'policies', base, problems);
  const fixtures = loadObjects(stringList(doc, 'resources', problems), 'resources', base, problems);
  const suture = policyObjects.filter((o) => isSuture(o.object)).map((o) => o.object);
  if (suture.length === 0 && policyPatterns.length > 0) problems.add('policies: no SuturePolicy, SutureLease or SutureException in the files named');
  const setup = [...fixtures.filter((o) => !isSuture(o.object)), ...policyObjects.filter((o) => !isSuture(o.object))].map((o) => o.object);
  const misplaced = fixtures.filter((o) => isSuture(o.object));
  for (const m of misplaced) problems.add(`resources: ${m.from} holds ${m.object.kind} ${m.object.metadata.name ?? ''}: Suture's objects go under "policies"`);
  const requests: TestRequest[] = [];
  (Array.isArray(doc.requests) ? doc.requests : []).forEach((value, i) => {
    const parsed = stepOf(value, i, base, problems);
    if (parsed === undefined) return;
    for (const key of OWN_KEYS) delete parsed.step[key];
    const scenarioDoc = { name: scenarioName(name, i), summary: parsed.description, source: file, ...(clock === undefined ? {} : { clock }), setup, suture, steps: [parsed.step] };
    try {
      requests.push({ description: parsed.description, scenario: parseScenarioDocument(scenarioDoc, file) });
    } catch (error) {
      if (!(error instanceof ScenarioFormatError)) throw error;
      for (const p of renamed(error, i)) problems.add(p);
    }
  });
  if (problems.list.length > 0) throw new ScenarioFormatError(file, [...new Set(problems.list)]);
  return { file, name, requests };
}

/** Reads a test file; throws ScenarioFormatError when it is not valid YAML or malformed. */
export function parseTestFile(file: string): TestFile {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ScenarioFormatError(file, [`not valid YAML: ${error instanceof Error ? error.message : String(error)}`]);
  }
  return parseTestDocument(doc, file);
}

/** Test files (suture-test.yaml) at any depth under a folder, in path order. */
export function testFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => (e.isDirectory() ? (e.name === 'node_modules' || e.name.startsWith('.') ? [] : testFilesUnder(join(dir, e.name))) : e.name === TEST_FILE_NAME ? [join(dir, e.name)] : []));
}
