// Matching objects and identities: label selectors (structured and kubectl's string form), Suture's object
// selectors, and RBAC-shaped subjects. Each check is a small named function that says why it did not match.
import type { KubeObject, LabelSelector, ObjectSelector, Subject } from '../api/types.js';
import { groupOf } from './snapshot.js';
import type { Snapshot, UserInfo } from './types.js';

type Labels = Readonly<Record<string, string>>;
type Requirement = NonNullable<LabelSelector['matchExpressions']>[number];

/** A reason when the check fails, undefined when it passes. */
export type Mismatch = string | undefined;

// ------------------------------------------------------------------------------------------------ label selectors

function valueIn(req: Requirement, labels: Labels): boolean {
  const value = labels[req.key];
  return Object.hasOwn(labels, req.key) && value !== undefined && (req.values ?? []).includes(value);
}

const REQUIREMENT_CHECKS: Record<Requirement['operator'], (req: Requirement, labels: Labels) => Mismatch> = {
  In: (req, labels) => (valueIn(req, labels) ? undefined : `label ${req.key} not in (${(req.values ?? []).join(',')})`),
  NotIn: (req, labels) => (valueIn(req, labels) ? `label ${req.key}=${labels[req.key] ?? ''} is excluded` : undefined),
  Exists: (req, labels) => (Object.hasOwn(labels, req.key) ? undefined : `label ${req.key} missing`),
  DoesNotExist: (req, labels) => (Object.hasOwn(labels, req.key) ? `label ${req.key} present` : undefined),
};

function requirementMismatch(req: Requirement, labels: Labels): Mismatch {
  const check = Object.hasOwn(REQUIREMENT_CHECKS, req.operator) ? REQUIREMENT_CHECKS[req.operator] : undefined;
  return check === undefined ? `unknown operator ${String(req.operator)}` : check(req, labels);
}

/**
 * Why the labels do not satisfy the selector (Kubernetes semantics: matchLabels and every matchExpression must hold;
 * NotIn also matches an absent label; an empty or absent selector matches everything).
 */
export function labelSelectorMismatch(selector: LabelSelector | undefined, labels: Labels | undefined): Mismatch {
  if (selector === undefined) return undefined;
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (have[key] !== value) return `label ${key} is not ${value}`;
  }
  for (const req of selector.matchExpressions ?? []) {
    const why = requirementMismatch(req, have);
    if (why !== undefined) return why;
  }
  return undefined;
}

export function matchesLabelSelector(selector: LabelSelector | undefined, labels: Labels | undefined): boolean {
  return labelSelectorMismatch(selector, labels) === undefined;
}

// -------------------------------------------------------------------------------------- kubectl string selectors

/** A selector string that does not parse; the message names the offending term and the expected forms. */
export class SelectorSyntaxError extends Error {
  override readonly name = 'SelectorSyntaxError';
}

/** Splits on commas outside parentheses: "a in (x,y),b" → ["a in (x,y)", "b"]. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms.map((t) => t.trim());
}

const KEY = String.raw`[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?`;
const VALUE = String.raw`([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const SET_TERM = new RegExp(String.raw`^(${KEY})\s+(in|notin)\s*\(([^()]*)\)$`);
const EQUALITY_TERM = new RegExp(String.raw`^(${KEY})\s*(==|=|!=)\s*(${VALUE})$`);
const EXISTS_TERM = new RegExp(String.raw`^(!?)\s*(${KEY})$`);

function parseValues(list: string, term: string): string[] {
  const values = list.split(',').map((v) => v.trim());
  const valueRe = new RegExp(`^${VALUE}$`);
  const bad = values.find((v) => !valueRe.test(v));
  if (bad !== undefined) throw new SelectorSyntaxError(`invalid label value "${bad}" in selector term "${term}"`);
  return values;
}

function parseTerm(term: string): Requirement {
  const set = SET_TERM.exec(term);
  if (set !== null) {
    return { key: set[1] ?? '', operator: set[3] === 'in' ? 'In' : 'NotIn', values: parseValues(set[4] ?? '', term) };
  }
  const eq = EQUALITY_TERM.exec(term);
  if (eq !== null) return { key: eq[1] ?? '', operator: eq[3] === '!=' ? 'NotIn' : 'In', values: [eq[4] ?? ''] };
  const exists = EXISTS_TERM.exec(term);
  if (exists !== null) return { key: exists[2] ?? '', operator: exists[1] === '!' ? 'DoesNotExist' : 'Exists' };
  throw new SelectorSyntaxError(
    `invalid selector term "${term}": expected key=value, key==value, key!=value, key in (a,b), key notin (a,b), key or !key`,
  );
}

/**
 * Parses kubectl's selector syntax (`app=pg,tier in (a,b),!x,y`) into a LabelSelector of matchExpressions.
 * "" (or only spaces) selects everything. Throws SelectorSyntaxError.
 */
export function parseLabelSelector(text: string): LabelSelector {
  if (text.trim() === '') return {};
  return { matchExpressions: splitTerms(text).map(parseTerm) };
}

// --------------------------------------------------------------------------------------------- object selectors

function listMismatch(what: string, allowed: readonly string[] | undefined, value: string): Mismatch {
  if (allowed === undefined || allowed.length === 0 || allowed.includes('*') || allowed.includes(value)) return undefined;
  const show = (v: string): string => (v === '' ? '""' : v);
  return `${what} ${show(value)} not in [${allowed.map(show).join(', ')}]`;
}

function isNamespaceObject(obj: KubeObject): boolean {
  return obj.kind === 'Namespace' && groupOf(obj.apiVersion) === '';
}

/**
 * The namespace an object belongs to for `namespaces` and `namespaceSelector`: its own name for a Namespace (as
 * Gatekeeper and Kyverno do), "" for any other cluster-scoped object.
 */
export function namespaceForMatching(obj: KubeObject): string {
  if (isNamespaceObject(obj)) return obj.metadata.name ?? '';
  return obj.metadata.namespace ?? '';
}

function namespacesMismatch(sel: ObjectSelector, obj: KubeObject): Mismatch {
  if (sel.namespaces === undefined || sel.namespaces.length === 0) return undefined;
  const namespace = namespaceForMatching(obj);
  if (namespace === '') return 'cluster-scoped object, selector names namespaces';
  return listMismatch('namespace', sel.namespaces, namespace);
}

/**
 * A namespaced object is judged by its namespace's labels (none known: no labels), a Namespace by its own labels, any
 * other cluster-scoped object never matches a namespaceSelector.
 */
function namespaceSelectorMismatch(sel: ObjectSelector, obj: KubeObject, snapshot: Snapshot): Mismatch {
  if (sel.namespaceSelector === undefined) return undefined;
  let labels: Labels | undefined;
  if (isNamespaceObject(obj)) labels = obj.metadata.labels;
  else if ((obj.metadata.namespace ?? '') === '') return 'cluster-scoped object, selector has a namespaceSelector';
  else labels = snapshot.namespaceLabels(obj.metadata.namespace ?? '');
  const why = labelSelectorMismatch(sel.namespaceSelector, labels);
  return why === undefined ? undefined : `namespace ${namespaceForMatching(obj)}: ${why}`;
}

/** The name used for prefixes: the name, or for a CREATE with generateName only, the generateName. */
function nameForPrefix(obj: KubeObject): string {
  const name = obj.metadata.name ?? '';
  return name === '' ? (obj.metadata.generateName ?? '') : name;
}

function namePrefixesMismatch(sel: ObjectSelector, obj: KubeObject): Mismatch {
  const prefixes = sel.namePrefixes;
  if (prefixes === undefined || prefixes.length === 0) return undefined;
  const name = nameForPrefix(obj);
  return prefixes.some((p) => name.startsWith(p)) ? undefined : `name ${name} has none of the prefixes [${prefixes.join(', ')}]`;
}

function selectorMismatch(sel: ObjectSelector, obj: KubeObject): Mismatch {
  const why = labelSelectorMismatch(sel.selector, obj.metadata.labels);
  return why === undefined ? undefined : `selector: ${why}`;
}

/**
 * Why an object does not match an object selector, or undefined when it does. Every field must hold; an empty field
 * matches any. apiGroups: "" = core, "*" = any; kinds, namespaces and names: "*" = any. See namespaceForMatching for
 * Namespaces and other cluster-scoped objects.
 */
export function objectSelectorMismatch(sel: ObjectSelector, obj: KubeObject, snapshot: Snapshot): Mismatch {
  return (
    listMismatch('apiGroup', sel.apiGroups, groupOf(obj.apiVersion)) ??
    listMismatch('kind', sel.kinds, obj.kind) ??
    namespacesMismatch(sel, obj) ??
    listMismatch('name', sel.names, obj.metadata.name ?? '') ??
    namePrefixesMismatch(sel, obj) ??
    selectorMismatch(sel, obj) ??
    namespaceSelectorMismatch(sel, obj, snapshot)
  );
}

export function matchesObjectSelector(sel: ObjectSelector, obj: KubeObject, snapshot: Snapshot): boolean {
  return objectSelectorMismatch(sel, obj, snapshot) === undefined;
}

// ---------------------------------------------------------------------------------------------------- subjects

const SA_PREFIX = 'system:serviceaccount:';

/** The service account behind a username `system:serviceaccount:<namespace>:<name>`, if it is one. */
export function serviceAccountOf(user: UserInfo): { namespace: string; name: string } | undefined {
  if (!user.username.startsWith(SA_PREFIX)) return undefined;
  const rest = user.username.slice(SA_PREFIX.length);
  const colon = rest.indexOf(':');
  if (colon <= 0 || colon === rest.length - 1) return undefined;
  return { namespace: rest.slice(0, colon), name: rest.slice(colon + 1) };
}

function serviceAccountMismatch(subject: Subject, user: UserInfo): Mismatch {
  const sa = serviceAccountOf(user);
  if (sa === undefined) return `${user.username} is not a service account`;
  if (sa.namespace !== subject.namespace) return `service account ${user.username} is not in namespace ${subject.namespace ?? '(none)'}`;
  return subject.name === '*' || subject.name === sa.name ? undefined : `${user.username} is not ${subjectName(subject)}`;
}

function userMismatch(subject: Subject, user: UserInfo): Mismatch {
  return subject.name === '*' || subject.name === user.username ? undefined : `${user.username} is not user ${subject.name}`;
}

function groupMismatch(subject: Subject, user: UserInfo): Mismatch {
  return subject.name === '*' || (user.groups ?? []).includes(subject.name) ? undefined : `${user.username} is not in group ${subject.name}`;
}

/** Why the user is not the subject, or undefined when it is. */
export function subjectMismatch(subject: Subject, user: UserInfo): Mismatch {
  if (subject.kind === 'ServiceAccount') return serviceAccountMismatch(subject, user);
  if (subject.kind === 'User') return userMismatch(subject, user);
  if (subject.kind === 'Group') return groupMismatch(subject, user);
  return `unknown subject kind ${String(subject.kind)}`;
}

/**
 * Whether the user is the subject: a ServiceAccount by its username `system:serviceaccount:<ns>:<name>` (name "*" =
 * any service account of the namespace), a User by name, a Group by membership ("*" = any user / any group).
 */
export function subjectMatches(subject: Subject, user: UserInfo): boolean {
  return subjectMismatch(subject, user) === undefined;
}

/** A subject as a user would read it: `system:serviceaccount:ns:name`, `user alice`, `group ops`. */
export function subjectName(subject: Subject): string {
  if (subject.kind === 'ServiceAccount') return `${SA_PREFIX}${subject.namespace ?? ''}:${subject.name}`;
  return `${subject.kind === 'User' ? 'user' : 'group'} ${subject.name}`;
}
