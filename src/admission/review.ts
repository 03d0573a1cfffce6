// AdmissionReview v1 on the wire: decode and check what the API server sends into the core's AdmissionRequest, and
// build the AdmissionReview it expects back from a Decision. Pure functions: no HTTP, no clock, no logging.
import type { KubeObject } from '../api/types.js';
import { plainDecision } from '../core/decide.js';
import type { AdmissionOperation, AdmissionRequest, Decision, GroupVersionKind, GroupVersionResource, UserInfo } from '../core/types.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';

export const Phases = { Mutate: 'mutate', Validate: 'validate' } as const;
export type Phase = (typeof Phases)[keyof typeof Phases];

const OPERATIONS: readonly AdmissionOperation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/**
 * The API server's limits on warnings (k8s.io/apiserver, endpoints/filters/warning.go and util/net NewWarningHeader):
 * a warning with control characters is dropped, and once all warnings exceed 4096 runes each is cut to 256 runes.
 * We send each within 256 runes and all within 4096, so what the user reads is what we wrote.
 */
export const MAX_WARNING_RUNES = 256;
export const MAX_WARNINGS_TOTAL_RUNES = 4096;
/** An audit annotation key is `<webhook name>/<key>` on the API server: the key must be a qualified-name part. */
const AUDIT_KEY_PATTERN = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** Audit annotation values land in every audit event; keep them bounded. */
export const MAX_AUDIT_VALUE_CHARS = 4096;

// ------------------------------------------------------------------------------------------------ decoding

export type DecodeResult = { ok: true; request: AdmissionRequest } | { ok: false; uid: string | undefined; errors: string[] };

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Collects every problem with its path, so a bad review is reported once and completely. */
class Problems {
  readonly errors: string[] = [];
  add(path: string, message: string): void {
    this.errors.push(`${path}: ${message}`);
  }
}

function str(value: Json, field: string, path: string, problems: Problems): string {
  const v = value[field];
  if (typeof v === 'string') return v;
  problems.add(`${path}.${field}`, v === undefined ? 'is required' : `must be a string, got ${typeof v}`);
  return '';
}

function optionalStr(value: Json, field: string, path: string, problems: Problems): string | undefined {
  const v = value[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return v;
  problems.add(`${path}.${field}`, `must be a string, got ${typeof v}`);
  return undefined;
}

function gvk(value: unknown, path: string, problems: Problems): GroupVersionKind {
  if (!isObject(value)) {
    problems.add(path, 'must be an object {group, version, kind}');
    return { group: '', version: '', kind: '' };
  }
  return { group: str(value, 'group', path, problems), version: str(value, 'version', path, problems), kind: str(value, 'kind', path, problems) };
}

function gvr(value: unknown, path: string, problems: Problems): GroupVersionResource {
  if (!isObject(value)) {
    problems.add(path, 'must be an object {group, version, resource}');
    return { group: '', version: '', resource: '' };
  }
  return {
    group: str(value, 'group', path, problems),
    version: str(value, 'version', path, problems),
    resource: str(value, 'resource', path, problems),
  };
}

function stringList(value: unknown, path: string, problems: Problems): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  problems.add(path, 'must be a list of strings');
  return undefined;
}

function extra(value: unknown, path: string, problems: Problems): Record<string, string[]> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) {
    problems.add(path, 'must be a map of string lists');
    return undefined;
  }
  const out: Record<string, string[]> = {};
  for (const [key, list] of Object.entries(value)) out[key] = stringList(list, `${path}.${key}`, problems) ?? [];
  return out;
}

function userInfo(value: unknown, path: string, problems: Problems): UserInfo {
  if (!isObject(value)) {
    problems.add(path, 'is required: the API server always sends the requester');
    return { username: '' };
  }
  const info: UserInfo = { username: str(value, 'username', path, problems) };
  const uid = optionalStr(value, 'uid', path, problems);
  const groups = stringList(value.groups, `${path}.groups`, problems);
  const extras = extra(value.extra, `${path}.extra`, problems);
  if (uid !== undefined) info.uid = uid;
  if (groups !== undefined) info.groups = groups;
  if (extras !== undefined && Object.keys(extras).length > 0) info.extra = extras;
  return info;
}

function operation(value: unknown, path: string, problems: Problems): AdmissionOperation {
  if (OPERATIONS.includes(value as AdmissionOperation)) return value as AdmissionOperation;
  problems.add(path, `must be one of ${OPERATIONS.join(', ')}, got ${JSON.stringify(value) ?? 'nothing'}`);
  return 'CREATE';
}

function kubeObject(value: unknown, path: string, problems: Problems): KubeObject | null | undefined {
  if (value === undefined || value === null) return value;
  if (isObject(value)) return value as KubeObject;
  problems.add(path, 'must be an object or null');
  return undefined;
}

function options(value: unknown, path: string, problems: Problems): AdmissionRequest['options'] {
  if (value === undefined || value === null) return undefined;
  if (isObject(value)) return value;
  problems.add(path, 'must be an object (CreateOptions, UpdateOptions or DeleteOptions) or null');
  return undefined;
}

/** The optional scalar fields of a request: name, namespace, subResource, dryRun. */
function optionalFields(raw: Json, problems: Problems): Partial<AdmissionRequest> {
  const out: Partial<AdmissionRequest> = {};
  const name = optionalStr(raw, 'name', 'request', problems);
  const namespace = optionalStr(raw, 'namespace', 'request', problems);
  const subResource = optionalStr(raw, 'subResource', 'request', problems);
  if (name !== undefined) out.name = name;
  if (namespace !== undefined) out.namespace = namespace;
  if (subResource !== undefined) out.subResource = subResource;
  if (raw.dryRun !== undefined && raw.dryRun !== null) {
    if (typeof raw.dryRun === 'boolean') out.dryRun = raw.dryRun;
    else problems.add('request.dryRun', 'must be a boolean');
  }
  if (raw.requestKind !== undefined && raw.requestKind !== null) out.requestKind = gvk(raw.requestKind, 'request.requestKind', problems);
  if (raw.requestResource !== undefined && raw.requestResource !== null) {
    out.requestResource = gvr(raw.requestResource, 'request.requestResource', problems);
  }
  return out;
}

function objects(raw: Json, problems: Problems): Partial<AdmissionRequest> {
  const out: Partial<AdmissionRequest> = {};
  const object = kubeObject(raw.object, 'request.object', problems);
  const oldObject = kubeObject(raw.oldObject, 'request.oldObject', problems);
  const opts = options(raw.options, 'request.options', problems);
  if (object !== undefined) out.object = object;
  if (oldObject !== undefined) out.oldObject = oldObject;
  if (opts !== undefined) out.options = opts;
  return out;
}

function envelopeErrors(body: unknown): string[] {
  if (!isObject(body)) return ['the body must be a JSON object: an AdmissionReview'];
  const errors: string[] = [];
  if (body.apiVersion !== ADMISSION_API_VERSION) {
    errors.push(
      `apiVersion: must be ${ADMISSION_API_VERSION}, got ${JSON.stringify(body.apiVersion) ?? 'nothing'} ` +
        '(set admissionReviewVersions: ["v1"] in the webhook configuration)',
    );
  }
  if (body.kind !== ADMISSION_KIND) errors.push(`kind: must be ${ADMISSION_KIND}, got ${JSON.stringify(body.kind) ?? 'nothing'}`);
  if (!isObject(body.request)) errors.push('request: is required in an AdmissionReview sent to a webhook');
  return errors;
}

/** The request uid, if one can be found at all: echoed back even when the rest of the review is unusable. */
export function findUid(body: unknown): string | undefined {
  if (!isObject(body) || !isObject(body.request)) return undefined;
  const uid = body.request.uid;
  return typeof uid === 'string' && uid !== '' ? uid : undefined;
}

/** Decodes and checks a parsed AdmissionReview v1 body. Every problem is reported, each with its path. */
export function decodeAdmissionReview(body: unknown): DecodeResult {
  const uid = findUid(body);
  const envelope = envelopeErrors(body);
  if (envelope.length > 0) return { ok: false, uid, errors: envelope };
  const raw = (body as Json).request as Json;
  const problems = new Problems();
  if (uid === undefined) problems.add('request.uid', 'is required and must be a non-empty string');
  const request: AdmissionRequest = {
    uid: uid ?? '',
    kind: gvk(raw.kind, 'request.kind', problems),
    resource: gvr(raw.resource, 'request.resource', problems),
    operation: operation(raw.operation, 'request.operation', problems),
    userInfo: userInfo(raw.userInfo, 'request.userInfo', problems),
    ...optionalFields(raw, problems),
    ...objects(raw, problems),
  };
  if (problems.errors.length > 0) return { ok: false, uid, errors: problems.errors };
  return { ok: true, request };
}

// ------------------------------------------------------------------------------------------------ encoding

export interface Status {
  code: number;
  reason?: string;
  message: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: Status;
  warnings?: string[];
  patch?: string;
  patchType?: 'JSONPatch';
  auditAnnotations?: Record<string, string>;
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: typeof ADMISSION_KIND;
  response: AdmissionResponse;
}

/** What the response needs to know about the request besides the decision. */
export interface ResponseContext {
  uid: string;
  phase: Phase;
  /**
   * Whether the request carries an object a patch can apply to (CREATE, UPDATE). The API server refuses a
   * patch for DELETE and CONNECT, and any patch from a validating webhook.
   */
  patchable: boolean;
}

/** Whether a patch may be sent for this request. */
export function isPatchable(request: AdmissionRequest): boolean {
  return (request.operation === 'CREATE' || request.operation === 'UPDATE') && request.object !== null && request.object !== undefined;
}

/** Cuts a string to at most `max` code points, marking the cut with an ellipsis. */
export function truncateRunes(text: string, max: number): string {
  const runes = Array.from(text);
  if (runes.length <= max) return text;
  return `${runes.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** Control characters (newlines included) make the API server drop a warning: turn them into spaces. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
}

/**
 * Warnings as the API server will show them: printable, de-duplicated, each ≤ 256 runes, all ≤ 4096 runes; what does
 * not fit is replaced by one closing warning that says how many were left out.
 */
export function sanitizeWarnings(warnings: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  let total = 0;
  const reserve = 64;
  let omitted = 0;
  for (const raw of warnings) {
    const text = truncateRunes(printable(raw), MAX_WARNING_RUNES);
    if (text === '' || seen.has(text)) continue;
    const runes = Array.from(text).length;
    if (total + runes > MAX_WARNINGS_TOTAL_RUNES - reserve) {
      omitted += 1;
      continue;
    }
    seen.add(text);
    out.push(text);
    total += runes;
  }
  if (omitted > 0) out.push(`…and ${omitted} more warning${omitted === 1 ? '' : 's'} (see the decision record)`);
  return out;
}

/**
 * Audit annotations for the wire. The API server stores each as `<webhook name>/<key>`, so a key may not carry its own
 * prefix: `suture.dev/decision` is sent as `decision` (and lands as e.g. `validate.suture.dev/decision`). Keys that
 * still are not a valid name part are dropped.
 */
export function sanitizeAuditAnnotations(annotations: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(annotations)) {
    const name = key.slice(key.lastIndexOf('/') + 1);
    if (!AUDIT_KEY_PATTERN.test(name)) continue;
    out[name] = truncateRunes(value, MAX_AUDIT_VALUE_CHARS);
  }
  return out;
}

function denialStatus(decision: Decision): Status {
  if (decision.verdict === 'error') {
    return { code: 500, reason: 'InternalError', message: decision.message || 'Suture could not decide on this request (internal error)' };
  }
  return { code: 403, reason: 'Forbidden', message: decision.message || `denied by Suture (decision ${decision.id})` };
}

/** The AdmissionReview response for a decision. The uid is the request's, whatever the decision says. */
export function encodeAdmissionReview(decision: Decision, context: ResponseContext): AdmissionReviewResponse {
  const response: AdmissionResponse = { uid: context.uid, allowed: decision.allowed };
  if (!decision.allowed) response.status = denialStatus(decision);
  const warnings = sanitizeWarnings(decision.warnings);
  if (warnings.length > 0) response.warnings = warnings;
  if (context.phase === Phases.Mutate && context.patchable && decision.allowed && decision.patch.length > 0) {
    response.patch = Buffer.from(JSON.stringify(decision.patch), 'utf8').toString('base64');
    response.patchType = 'JSONPatch';
  }
  const audit = sanitizeAuditAnnotations(decision.auditAnnotations);
  if (Object.keys(audit).length > 0) response.auditAnnotations = audit;
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}

/** A review that carries only an error status, for a request that could not be decoded (4xx) or decided (500). */
export function errorReview(uid: string, status: Status): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response: { uid, allowed: false, status } };
}

/** A Decision for a request the edge could not decide: verdict error, not allowed, with the message. */
export function errorDecision(uid: string, message: string): Decision {
  return plainDecision(uid, { verdict: 'error', message, stage: 'respond', summary: message });
}
