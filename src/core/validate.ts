// Validation of Suture's own objects. Collects every error with its path in Kubernetes field-path form
// (`spec.invariants[2].expression`), first against the TypeBox schemas of src/api/schema.ts (ajv: unknown fields,
// types, enums, patterns, formats, OpenAPI `nullable`), then the semantics a schema cannot say: exactly one kind per
// invariant and condition, conflicting fields, CEL that does not compile, cron schedules, time zones, durations,
// duplicate names, exception bounds. The admission edge (dry-run included) and the reconciler (status.errors) call
// the same functions, so both report the same list. Nothing invalid throws.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { TSchema } from '@sinclair/typebox';
import { API_VERSION, InvariantKinds, SutureExceptionSpec, SutureLeaseSpec, SuturePolicySpec } from '../api/schema.js';
import type { FieldError } from '../api/types.js';
import { CelResultTypes, compileCel, formatCelIssue, type CelResultType } from './cel.js';
import { isKnownTimeZone, parseCron } from './conditions.js';
import { formatDuration, parseDurationSeconds } from './units.js';

/** The default longest time an exception may stay active (docs/concepts.md, Exceptions: 24h). */
export const DEFAULT_MAX_EXCEPTION_SECONDS = 24 * 3600;

// ------------------------------------------------------------------------------------------------ schema (ajv)

const ajv = new Ajv({ allErrors: true, strict: false, logger: false, verbose: true });
addFormatsImport.default(ajv);
ajv.addKeyword({ keyword: 'x-kubernetes-validations' }); // enforced by the API server; their meaning is re-checked below

const validators = new Map<TSchema, ValidateFunction>();
function validatorOf(schema: TSchema): ValidateFunction {
  let v = validators.get(schema);
  if (v === undefined) {
    v = ajv.compile(schema);
    validators.set(schema, v);
  }
  return v;
}

/** A JSON pointer from ajv (`/invariants/2/name`) as a field path under `base` (`spec.invariants[2].name`). */
export function fieldPath(base: string, pointer: string): string {
  if (pointer === '') return base;
  let path = base;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^[0-9]+$/.test(seg)) path += `[${seg}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(seg)) path += path === '' ? seg : `.${seg}`;
    else path += `[${seg}]`;
  }
  return path;
}

const PATTERN_MEANINGS: Readonly<Record<string, string>> = {
  '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$': "a lowercase RFC 1123 label (a-z, 0-9 and '-', starting and ending with a letter or digit)",
  '^(/([^~/]|~[01])*)+$': 'a JSON pointer (RFC 6901) such as /spec/replicas',
  '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$': 'a duration such as 30s, 10m, 2h or 1h30m',
};

function shown(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

type Params = Record<string, unknown>;

const AJV_MESSAGES: Readonly<Record<string, (e: ErrorObject, p: Params) => string>> = {
  required: () => 'Required value',
  additionalProperties: (_e, p) => `unknown field "${String(p['additionalProperty'])}"`,
  enum: (e, p) => `Unsupported value: ${shown(e.data)}: supported values: ${(p['allowedValues'] as unknown[]).map((v) => shown(v)).join(', ')}`,
  type: (e, p) => `Invalid value: ${shown(e.data)}: must be of type ${String(p['type'])}`,
  pattern: (e, p) => `Invalid value: ${shown(e.data)}: must be ${PATTERN_MEANINGS[String(p['pattern'])] ?? `a string matching ${String(p['pattern'])}`}`,
  format: (e, p) => `Invalid value: ${shown(e.data)}: must be an RFC 3339 ${String(p['format'])}, e.g. 2026-11-23T10:00:00Z`,
  minLength: () => 'Required value: must not be empty',
  minItems: (_e, p) => `Required value: must have at least ${String(p['limit'])} item${p['limit'] === 1 ? '' : 's'}`,
  maxItems: (e, p) => `Too many: ${Array.isArray(e.data) ? e.data.length : '?'}: must have at most ${String(p['limit'])} items`,
  minimum: (e, p) => `Invalid value: ${shown(e.data)}: must be greater than or equal to ${String(p['limit'])}`,
  maximum: (e, p) => `Invalid value: ${shown(e.data)}: must be less than or equal to ${String(p['limit'])}`,
};

function ajvMessage(e: ErrorObject): string {
  const format = Object.hasOwn(AJV_MESSAGES, e.keyword) ? AJV_MESSAGES[e.keyword] : undefined;
  return format === undefined ? `Invalid value: ${shown(e.data)}: ${e.message ?? e.keyword}` : format(e, e.params as Params);
}

function ajvPath(base: string, e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  const path = fieldPath(base, e.instancePath);
  if (e.keyword === 'required') return `${path}.${String(p['missingProperty'])}`;
  if (e.keyword === 'additionalProperties') return `${path}.${String(p['additionalProperty'])}`;
  return path;
}

/** Schema errors of `value` against `schema`, with paths under `base`. */
export function schemaErrors(schema: TSchema, value: unknown, base: string): FieldError[] {
  const v = validatorOf(schema);
  if (v(value)) return [];
  return (v.errors ?? []).map((e) => ({ path: ajvPath(base, e), message: ajvMessage(e) }));
}

// ------------------------------------------------------------------------------------------------ helpers

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function arrayAt(o: Json, key: string): unknown[] {
  const v = o[key];
  return Array.isArray(v) ? v : [];
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const k = `${e.path}\u0000${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The top level of a Suture object: apiVersion and kind (when given), metadata, spec; unknown fields. */
function envelopeErrors(obj: unknown, kind: string): { errors: FieldError[]; spec: unknown } {
  if (!isObject(obj)) return { errors: [{ path: '', message: `Invalid value: ${shown(obj)}: a ${kind} is an object` }], spec: undefined };
  const errors: FieldError[] = [];
  if (obj['apiVersion'] !== undefined && obj['apiVersion'] !== API_VERSION) {
    errors.push({ path: 'apiVersion', message: `Unsupported value: ${shown(obj['apiVersion'])}: supported values: "${API_VERSION}"` });
  }
  if (obj['kind'] !== undefined && obj['kind'] !== kind) errors.push({ path: 'kind', message: `Unsupported value: ${shown(obj['kind'])}: supported values: "${kind}"` });
  if (obj['metadata'] !== undefined && !isObject(obj['metadata'])) errors.push({ path: 'metadata', message: `Invalid value: ${shown(obj['metadata'])}: must be of type object` });
  for (const key of Object.keys(obj)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(key)) errors.push({ path: key, message: `unknown field "${key}"` });
  }
  if (obj['spec'] === undefined) errors.push({ path: 'spec', message: 'Required value' });
  return { errors, spec: obj['spec'] };
}

function celErrors(source: unknown, path: string, type: CelResultType): FieldError[] {
  if (typeof source !== 'string' || source === '') return [];
  const r = compileCel(source, type);
  return r.ok ? [] : [{ path, message: `Invalid value: invalid CEL: ${formatCelIssue(r.error, source)}` }];
}

function durationErrors(value: unknown, path: string): FieldError[] {
  if (typeof value !== 'string') return [];
  const seconds = parseDurationSeconds(value);
  if (seconds === undefined) return []; // the schema's pattern reported it
  return seconds > 0 ? [] : [{ path, message: `Invalid value: ${shown(value)}: must be longer than 0s` }];
}

function subjectErrors(subject: unknown, path: string, role: 'subject' | 'holder'): FieldError[] {
  if (!isObject(subject)) return [];
  const errors: FieldError[] = [];
  if (subject['kind'] === 'ServiceAccount' && (typeof subject['namespace'] !== 'string' || subject['namespace'] === '')) {
    errors.push({ path: `${path}.namespace`, message: 'Required value: a ServiceAccount is named with its namespace' });
  }
  if (role === 'holder' && subject['name'] === '*') errors.push({ path: `${path}.name`, message: 'Invalid value: "*": a lease holder is one identity, not a wildcard' });
  return errors;
}

function labelSelectorErrors(selector: unknown, path: string): FieldError[] {
  if (!isObject(selector)) return [];
  return arrayAt(selector, 'matchExpressions').flatMap((req, i) => {
    if (!isObject(req)) return [];
    const values = Array.isArray(req['values']) ? req['values'] : [];
    const p = `${path}.matchExpressions[${i}].values`;
    if ((req['operator'] === 'In' || req['operator'] === 'NotIn') && values.length === 0) return [{ path: p, message: `Required value: operator ${String(req['operator'])} needs at least one value` }];
    if ((req['operator'] === 'Exists' || req['operator'] === 'DoesNotExist') && values.length > 0) return [{ path: p, message: `Forbidden: operator ${String(req['operator'])} takes no values` }];
    return [];
  });
}

function objectSelectorErrors(selectors: unknown[], path: string): FieldError[] {
  return selectors.flatMap((s, i) => (isObject(s) ? [...labelSelectorErrors(s['selector'], `${path}[${i}].selector`), ...labelSelectorErrors(s['namespaceSelector'], `${path}[${i}].namespaceSelector`)] : []));
}

function exactlyOne(o: Json, kinds: readonly string[], path: string, what: string): FieldError[] {
  const present = kinds.filter((k) => o[k] !== undefined);
  if (present.length === 1) return [];
  const all = kinds.join(', ');
  if (present.length === 0) return [{ path, message: `Required value: ${what} has exactly one of ${all}` }];
  return [{ path, message: `Invalid value: ${what} has exactly one of ${all}; found ${present.join(' and ')}` }];
}

// ------------------------------------------------------------------------------------------------ SuturePolicy

function minAvailableErrors(m: unknown, path: string): FieldError[] {
  if (!isObject(m)) return [];
  if (m['count'] !== undefined && m['percent'] !== undefined) return [{ path, message: 'Invalid value: set count or percent, not both' }];
  if (m['count'] === undefined && m['percent'] === undefined) return [{ path, message: 'Required value: one of count or percent' }];
  return [];
}

function avertErrors(avert: unknown, path: string, operations: unknown): FieldError[] {
  if (!isObject(avert)) return [];
  const errors: FieldError[] = [];
  if (Array.isArray(operations) && !operations.includes('CREATE') && !operations.includes('UPDATE')) {
    errors.push({ path, message: `Forbidden: avert patches CREATE and UPDATE requests, but the policy's operations are ${shown(operations)}` });
  }
  arrayAt(avert, 'set').forEach((entry, j) => {
    if (!isObject(entry)) return;
    const p = `${path}.set[${j}]`;
    if (entry['value'] !== undefined && entry['valueExpression'] !== undefined) errors.push({ path: p, message: 'Invalid value: set value or valueExpression, not both' });
    if (entry['value'] === undefined && entry['valueExpression'] === undefined) errors.push({ path: p, message: 'Required value: one of value or valueExpression' });
    errors.push(...celErrors(entry['valueExpression'], `${p}.valueExpression`, CelResultTypes.Any));
  });
  return errors;
}

function invariantErrors(inv: unknown, path: string, operations: unknown): FieldError[] {
  if (!isObject(inv)) return [];
  return [
    ...exactlyOne(inv, InvariantKinds, path, 'an invariant'),
    ...minAvailableErrors(inv['minAvailable'], `${path}.minAvailable`),
    ...(isObject(inv['budget']) ? durationErrors(inv['budget']['window'], `${path}.budget.window`) : []),
    ...celErrors(inv['expression'], `${path}.expression`, CelResultTypes.Bool),
    ...celErrors(inv['messageExpression'], `${path}.messageExpression`, CelResultTypes.String),
    ...avertErrors(inv['avert'], `${path}.avert`, operations),
  ];
}

function duplicateNames(invariants: unknown[], path: string): FieldError[] {
  const seen = new Set<string>();
  const errors: FieldError[] = [];
  invariants.forEach((inv, i) => {
    if (!isObject(inv) || typeof inv['name'] !== 'string') return;
    if (seen.has(inv['name'])) errors.push({ path: `${path}[${i}].name`, message: `Duplicate value: ${shown(inv['name'])}` });
    seen.add(inv['name']);
  });
  return errors;
}

function scheduleErrors(s: unknown, path: string): FieldError[] {
  if (!isObject(s)) return [];
  const errors: FieldError[] = [];
  const tz = typeof s['timeZone'] === 'string' ? s['timeZone'] : 'UTC';
  if (!isKnownTimeZone(tz)) errors.push({ path: `${path}.timeZone`, message: `Invalid value: ${shown(tz)}: not a known IANA time zone (e.g. Europe/Berlin, UTC)` });
  if (typeof s['cron'] === 'string' && s['cron'] !== '') {
    const c = parseCron(s['cron'], tz);
    if (!c.ok) errors.push({ path: `${path}.cron`, message: c.message });
  }
  return [...errors, ...durationErrors(s['duration'], `${path}.duration`)];
}

function metricErrors(m: unknown, path: string): FieldError[] {
  if (!isObject(m)) return [];
  const errors: FieldError[] = [];
  if (m['below'] === undefined && m['above'] === undefined) errors.push({ path, message: 'Required value: one of below or above' });
  if (typeof m['url'] === 'string' && m['url'] !== '' && !/^https?:\/\/[^/\s]+/.test(m['url'])) {
    errors.push({ path: `${path}.url`, message: `Invalid value: ${shown(m['url'])}: must be an http or https URL` });
  }
  return [...errors, ...durationErrors(m['staleAfter'], `${path}.staleAfter`)];
}

function conditionErrors(c: unknown, path: string): FieldError[] {
  if (!isObject(c)) return [];
  return [
    ...exactlyOne(c, ['schedule', 'expression', 'metric'], path, 'a condition'),
    ...scheduleErrors(c['schedule'], `${path}.schedule`),
    ...celErrors(c['expression'], `${path}.expression`, CelResultTypes.Bool),
    ...metricErrors(c['metric'], `${path}.metric`),
  ];
}

function policySemantics(spec: Json): FieldError[] {
  const invariants = arrayAt(spec, 'invariants');
  return [
    ...arrayAt(spec, 'subjects').flatMap((s, i) => subjectErrors(s, `spec.subjects[${i}]`, 'subject')),
    ...objectSelectorErrors(arrayAt(spec, 'match'), 'spec.match'),
    ...invariants.flatMap((inv, i) => invariantErrors(inv, `spec.invariants[${i}]`, spec['operations'])),
    ...duplicateNames(invariants, 'spec.invariants'),
    ...arrayAt(spec, 'enforceWhen').flatMap((c, i) => conditionErrors(c, `spec.enforceWhen[${i}]`)),
    ...arrayAt(spec, 'relaxWhen').flatMap((c, i) => conditionErrors(c, `spec.relaxWhen[${i}]`)),
  ];
}

/** Every error of a SuturePolicy, with paths; [] when it is valid. */
export function validatePolicy(obj: unknown): FieldError[] {
  const { errors, spec } = envelopeErrors(obj, 'SuturePolicy');
  if (spec === undefined) return errors;
  errors.push(...schemaErrors(SuturePolicySpec, spec, 'spec'));
  if (isObject(spec)) errors.push(...policySemantics(spec));
  return dedupe(errors);
}

// ------------------------------------------------------------------------------------------------ SutureLease

/** Every error of a SutureLease, with paths; [] when it is valid. */
export function validateLease(obj: unknown): FieldError[] {
  const { errors, spec } = envelopeErrors(obj, 'SutureLease');
  if (spec === undefined) return errors;
  errors.push(...schemaErrors(SutureLeaseSpec, spec, 'spec'));
  if (isObject(spec)) {
    errors.push(...subjectErrors(spec['holder'], 'spec.holder', 'holder'));
    errors.push(...objectSelectorErrors(arrayAt(spec, 'resources'), 'spec.resources'));
    errors.push(...durationErrors(spec['duration'], 'spec.duration'));
  }
  return dedupe(errors);
}

// ------------------------------------------------------------------------------------------------ SutureException

function expiryErrors(expiresAt: unknown, now: number, maxSeconds: number, allowPast: boolean): FieldError[] {
  if (typeof expiresAt !== 'string') return [];
  const t = Date.parse(expiresAt);
  if (Number.isNaN(t)) return []; // the schema's format reported it
  if (t <= now && !allowPast) return [{ path: 'spec.expiresAt', message: `Invalid value: ${shown(expiresAt)}: is in the past (now is ${new Date(now).toISOString()})` }];
  if (t - now > maxSeconds * 1000) {
    return [{ path: 'spec.expiresAt', message: `Invalid value: ${shown(expiresAt)}: is more than ${formatDuration(maxSeconds)} from now; exceptions last at most ${formatDuration(maxSeconds)}` }];
  }
  return [];
}

function exceptionSemantics(spec: Json, now: number, maxSeconds: number, allowPast: boolean): FieldError[] {
  const errors: FieldError[] = [];
  if (arrayAt(spec, 'policies').length === 0 && arrayAt(spec, 'leases').length === 0) {
    errors.push({ path: 'spec.policies', message: 'Required value: an exception names at least one policy or lease' });
  }
  if (typeof spec['reason'] === 'string' && spec['reason'] !== '' && spec['reason'].trim() === '') {
    errors.push({ path: 'spec.reason', message: 'Required value: say why, e.g. the incident number' });
  }
  errors.push(...arrayAt(spec, 'subjects').flatMap((s, i) => subjectErrors(s, `spec.subjects[${i}]`, 'subject')));
  errors.push(...objectSelectorErrors(arrayAt(spec, 'match'), 'spec.match'));
  errors.push(...expiryErrors(spec['expiresAt'], now, maxSeconds, allowPast));
  return errors;
}

/**
 * Every error of a SutureException at `now`, with paths; [] when it is valid. `expiresAt` must lie in the future and
 * at most `maxDurationSeconds` (default 24h) from now. `allowExpired` (the reconciler, for an exception that was
 * valid when applied) accepts an expiresAt in the past.
 */
export function validateException(obj: unknown, now: Date | number, maxDurationSeconds = DEFAULT_MAX_EXCEPTION_SECONDS, allowExpired = false): FieldError[] {
  const { errors, spec } = envelopeErrors(obj, 'SutureException');
  if (spec === undefined) return errors;
  errors.push(...schemaErrors(SutureExceptionSpec, spec, 'spec'));
  if (isObject(spec)) errors.push(...exceptionSemantics(spec, typeof now === 'number' ? now : now.getTime(), maxDurationSeconds, allowExpired));
  return dedupe(errors);
}
